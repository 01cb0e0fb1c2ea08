"""Request ids, RED metrics and the access line for an ASGI app (pure ASGI: the response
body streams through untouched, never buffered)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from snapscale.observability.context import REQUEST_ID_HEADER, request_id_from, request_scope
from snapscale.observability.requests import request_finished

if TYPE_CHECKING:
    from snapscale.core.live_stats import LiveStats

_HEADER = REQUEST_ID_HEADER.lower().encode()
# nginx's convention for "the client went away before an answer".
CLIENT_CLOSED_REQUEST = 499
# Where a layer that answers before routing names the route it answered for.
ROUTE_TEMPLATE = "snapscale.route"


class RequestObservability:
    def __init__(
        self,
        app: ASGIApp,
        *,
        front_end: str,
        route_of: Callable[[Scope], str],
        live_stats_of: Callable[[], LiveStats | None],
    ) -> None:
        self.app = app
        self.front_end = front_end
        # Reads the matched route's template from the scope, after routing.
        self.route_of = route_of
        # The process's live figures, once its runtime exists (after start-up).
        self.live_stats_of = live_stats_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(_header(scope, _HEADER))
        started = time.perf_counter()
        status: int | None = None

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != _HEADER]
                message["headers"] = [*headers, (_HEADER, request_id.encode())]
            await send(message)

        with request_scope(request_id) as activity:
            try:
                await self.app(scope, receive, send_with_request_id)
            except asyncio.CancelledError:
                status = status or CLIENT_CLOSED_REQUEST
                raise
            finally:
                request_finished(
                    front_end=self.front_end,
                    activity=activity,
                    method=scope["method"],
                    route=self.route_of(scope),
                    path=scope["path"],
                    # No response started means the app failed before answering.
                    status=status or 500,
                    duration_seconds=time.perf_counter() - started,
                    live_stats=self.live_stats_of(),
                )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None
