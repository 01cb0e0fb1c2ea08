"""The API's side of observability: every response passes one outermost middleware, and
``/metrics`` serves the process's (or all workers') metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Scope

from snapscale.core.live_stats import LiveStats
from snapscale.observability import metrics
from snapscale.observability.asgi import ROUTE_TEMPLATE, RequestObservability
from snapscale.observability.backlog import in_process_backlog

FRONT_END = "api"


class ObservedFastAPI(FastAPI):
    """FastAPI with RequestObservability around its whole middleware stack.

    ``add_middleware`` would place it inside Starlette's ServerErrorMiddleware, which
    answers an unhandled exception's 500 itself: that response would carry no request id
    and never be counted."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestObservability(
            super().build_middleware_stack(),
            front_end=FRONT_END,
            route_of=RouteTemplates(self),
            live_stats_of=self._live_stats,
        )

    def _live_stats(self) -> LiveStats | None:
        runtime = getattr(self.state, "runtime", None)
        return runtime.live_stats if runtime is not None else None


class RouteTemplates:
    """The template of the route that answered (``/api/v1/users/{username}``), read from
    the scope after routing; ``<unmatched>`` when no route did."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._plain_routes: dict[Any, str] | None = None

    def __call__(self, scope: Scope) -> str:
        # Since FastAPI 0.137, routes of an included router keep their own path in
        # scope["route"] (without the include's prefix); the full template is in the
        # route context FastAPI records for the request.
        answered_before_routing = scope.get(ROUTE_TEMPLATE)
        if answered_before_routing is not None:
            return str(answered_before_routing)
        context = scope.get("fastapi", {}).get("effective_route_context")
        template = getattr(context, "path_format", None)
        if template is None:
            template = getattr(scope.get("route"), "path_format", None)
        if template is None and "endpoint" in scope:
            # Plain Starlette routes (the docs pages) set only the endpoint.
            template = self._plain_route_templates().get(scope["endpoint"])
        return template if isinstance(template, str) else metrics.UNMATCHED_ROUTE

    def _plain_route_templates(self) -> dict[Any, str]:
        if self._plain_routes is None:
            self._plain_routes = {
                route.endpoint: route.path_format
                for route in self._app.router.routes
                if isinstance(route, Route)
            }
        return self._plain_routes


def add_metrics_route(app: FastAPI) -> None:
    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        extra = await in_process_backlog(request.app.state.runtime.jobs)
        # Reading every worker's sample files is file I/O: keep it off the event loop.
        body = await asyncio.to_thread(metrics.exposition, *extra)
        return Response(body, media_type=metrics.CONTENT_TYPE)
