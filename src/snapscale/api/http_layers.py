"""The API's HTTP layers around the routes, in the one order that works.

From the outside in: the trusted-proxy rewrite first, so that everything below sees the
real client address and scheme (a proxy on a unix socket is first given a name to be
trusted by); compression, over the finished response; security headers, on every
response, refusals included; CORS, so that a browser can read even a 429; then the rate
limits, before the body limit and the routes.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from snapscale.api.ratelimit import RateLimit
from snapscale.api.security_headers import SecurityHeaders
from snapscale.config import Settings
from snapscale.core.ratelimit import UNIX_SOCKET_PEER

# Smaller bodies gain little and cost a compression each; level 6 is most of level 9's
# saving for a fraction of its CPU.
COMPRESS_MIN_BYTES = 500
COMPRESS_LEVEL = 6

CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
CORS_EXPOSED_HEADERS = [
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Idempotent-Replayed",
]
CORS_MAX_AGE_SECONDS = 600


def install(app: FastAPI, settings: Settings, *, upload_path: str) -> None:
    # add_middleware puts each layer outside the ones added before it: innermost first.
    app.add_middleware(RateLimit, upload_path=upload_path)
    if settings.cors_origin_list:
        # Bearer tokens, not cookies: no credentials are ever allowed, so even an origin
        # list of "*" cannot expose an account to a foreign page.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_credentials=False,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=CORS_MAX_AGE_SECONDS,
        )
    docs_paths = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.add_middleware(SecurityHeaders, docs_paths={path for path in docs_paths if path})
    # Images are excluded by default (already compressed); uploads are requests, which
    # this never touches.
    app.add_middleware(
        GZipMiddleware, minimum_size=COMPRESS_MIN_BYTES, compresslevel=COMPRESS_LEVEL
    )
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    if UNIX_SOCKET_PEER in settings.trusted_proxies:
        app.add_middleware(NameUnixSocketPeer)


class NameUnixSocketPeer:
    """A peer on a unix socket has no address (uvicorn leaves the client empty); give it
    the name SNAPSCALE_FORWARDED_ALLOW_IPS uses for it, so that the proxy-headers layer
    can trust it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("client"):
            scope["client"] = (UNIX_SOCKET_PEER, 0)
        await self.app(scope, receive, send)
