"""The API's hottest read, a public profile, answered from the cache's bytes.

`GET /api/v1/users/{username}` is read far more than anything else and its answer is the
same for everyone, so the cache keeps it as the finished JSON. Through FastAPI a cached
profile would still pay for routing, the dependency graph, a unit of work, parsing the
JSON into a model and serialising it back: about nine tenths of the request's CPU
(docs/profiles/). This layer sits innermost among the HTTP layers, so every request still
passes the proxy, compression, security-header, CORS, rate-limit and observability
layers, and sends the cached bytes as they are. Anything it cannot answer from the cache
(a miss, a name no account can have, any other route) goes on to the routes, which fill
the cache on the way back.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from snapscale.core.accounts import service as account_service
from snapscale.core.runtime import Runtime
from snapscale.observability.asgi import ROUTE_TEMPLATE

JSON_HEADERS = [(b"content-type", b"application/json")]
# Set in the scope when the cache was asked and had nothing: the route need not ask again.
CACHE_MISSED = "snapscale.profile_cache_missed"


def cache_missed(scope: Scope) -> bool:
    return bool(scope.get(CACHE_MISSED, False))


class CachedProfileReads:
    def __init__(self, app: ASGIApp, *, users_path: str) -> None:
        self.app = app
        self.prefix = users_path.rstrip("/") + "/"
        self.template = self.prefix + "{username}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        username = self._username(scope)
        if username is not None:
            runtime: Runtime = scope["app"].state.runtime
            body = await account_service.cached_public_profile_json(
                runtime.cache, username=username
            )
            if body is not None:
                scope[ROUTE_TEMPLATE] = self.template
                headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            scope[CACHE_MISSED] = True
        await self.app(scope, receive, send)

    def _username(self, scope: Scope) -> str | None:
        """The name in `GET {users_path}/{username}`; None for any other request."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        path: str = scope["path"]
        if not path.startswith(self.prefix):
            return None
        username = path[len(self.prefix) :]
        # "/users/me" is the caller's own account, not a profile called "me".
        if not username or "/" in username or username == "me":
            return None
        return username
