"""Server-side site sessions in Redis, with a deliberate policy for when Redis is away.

Policy: if the session store cannot be reached, pages still render, as for a signed-out
visitor, with a notice; nothing is written and no cookie is changed, so people are signed
in again as soon as Redis answers. Actions that need a session (log in, forms) answer a
503 page meanwhile. The alternative, a 500 on every page, would turn a cache outage
into a whole-site outage.
"""

from __future__ import annotations

import logging

from flask import Flask, Request, Response, g, has_request_context
from flask import request as current_request
from flask_session.base import ServerSideSession
from flask_session.cachelib import CacheLibSessionInterface
from flask_session.redis import RedisSessionInterface
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


def session_store_is_down() -> bool:
    return bool(g.get("session_store_down"))


class SecureOverHttps:
    """The session cookie is Secure whenever it is set over HTTPS, even where cookie_secure
    was left off: a browser would otherwise send it along on any plain-HTTP request to the
    host (one http:// link, or a network attacker's redirect), in clear text."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = bool(app.config["SESSION_COOKIE_SECURE"])
        return configured or (has_request_context() and current_request.is_secure)


class LocalSessionInterface(SecureOverHttps, CacheLibSessionInterface):
    """Sessions in a local cachelib store (embedded mode)."""


class ResilientRedisSessionInterface(SecureOverHttps, RedisSessionInterface):
    def open_session(self, app: Flask, request: Request) -> ServerSideSession:
        try:
            return super().open_session(app, request)
        except RedisError as exc:
            log.warning("session store unreachable, serving signed out: %s", exc)
            g.session_store_down = True
            return self.session_class(sid=self._generate_sid(self.sid_length), permanent=False)

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        if session_store_is_down():
            return
        try:
            super().save_session(app, session, response)
        except RedisError as exc:
            log.warning("session store unreachable, session not saved: %s", exc)
