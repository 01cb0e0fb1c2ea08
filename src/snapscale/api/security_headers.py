"""Security headers on every API response (pure ASGI, so errors and refusals get them too).

JSON needs no browser capabilities at all, so its policy is `default-src 'none'`. The
docs pages are the exception: FastAPI's Swagger UI and ReDoc load their scripts, styles,
fonts and icon from CDNs and bootstrap with a small inline script, so they get a policy
naming those sources, and the hash of exactly the inline script the page carries.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Collection

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STRICT_POLICY = "default-src 'none'; frame-ancestors 'none'"

# The assets FastAPI's docs pages load by default (swagger-ui-dist and redoc from
# jsDelivr, Google Fonts for ReDoc, the favicon from fastapi.tiangolo.com). ReDoc styles
# itself with injected <style> elements and searches in a worker made from a blob.
DOCS_POLICY = (
    "default-src 'none'; "
    "script-src 'self' https://cdn.jsdelivr.net{hashes}; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
# Sent only on responses that came over HTTPS (as the trusted proxy reported it): over
# plain HTTP the header is meaningless and would pin a development host to HTTPS.
HSTS = "max-age=31536000"

# FastAPI writes its inline bootstrap as a bare <script>; external scripts carry src=.
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, docs_paths: Collection[str]) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._docs_page(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(message, scope, STRICT_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs_page(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold the (small, generated) page until its inline scripts can be hashed.

        Nothing from the request reaches these pages (FastAPI builds them from the app's
        own settings), so hashing what they carry allows FastAPI's script and no other."""
        start: Message | None = None
        body = bytearray()

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            add_headers(start, scope, docs_policy(bytes(body)))
            await send(start)
            await send({"type": "http.response.body", "body": bytes(body)})

        await self.app(scope, receive, hold)


def add_headers(start: Message, scope: Scope, policy: str) -> None:
    headers = MutableHeaders(scope=start)
    for name, value in COMMON_HEADERS.items():
        headers.setdefault(name, value)
    headers.setdefault("Content-Security-Policy", policy)
    if scope.get("scheme") == "https":
        headers.setdefault("Strict-Transport-Security", HSTS)


def docs_policy(page: bytes) -> str:
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return DOCS_POLICY.format(hashes=hashes)
