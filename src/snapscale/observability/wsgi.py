"""The site's side of observability: a WSGI wrapper gives every response (error pages,
404s and 413s included) its request id, counts it and writes its access line; ``/metrics``
serves the process's (or all workers') metrics.

A wrapper around ``app.wsgi_app`` rather than before/after-request hooks: it does not
depend on the order hooks were registered in, and sees the status that was really sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, request

from snapscale.observability import metrics
from snapscale.observability.backlog import in_process_backlog
from snapscale.observability.context import REQUEST_ID_HEADER, request_id_from, request_scope
from snapscale.observability.requests import request_finished

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from snapscale.core.live_stats import LiveStats
    from snapscale.web.core_access import SiteCore

FRONT_END = "site"
_ROUTE_KEY = "snapscale.route"
_ENVIRON_HEADER = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")


class ObservedSite:
    def __init__(self, app: WSGIApplication, live_stats: LiveStats) -> None:
        self.app = app
        self.live_stats = live_stats

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id = request_id_from(environ.get(_ENVIRON_HEADER))
        started = time.perf_counter()
        status = 500

        def start_with_request_id(
            status_line: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            nonlocal status
            status = int(status_line.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != REQUEST_ID_HEADER.lower()]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        # Threads of a WSGI server serve one request after another: the scope is undone
        # when the view returns, so nothing of one request is left for the next.
        with request_scope(request_id) as activity:
            try:
                return self.app(environ, start_with_request_id)
            finally:
                request_finished(
                    front_end=FRONT_END,
                    activity=activity,
                    method=environ.get("REQUEST_METHOD", ""),
                    route=environ.get(_ROUTE_KEY, metrics.UNMATCHED_ROUTE),
                    path=environ.get("PATH_INFO", ""),
                    status=status,
                    duration_seconds=time.perf_counter() - started,
                    live_stats=self.live_stats,
                )


def _remember_route(_error: BaseException | None) -> None:
    # Teardown runs for every request, whatever failed; the wrapper reads it afterwards.
    rule = request.url_rule
    if rule is not None:
        request.environ[_ROUTE_KEY] = rule.rule


def install(app: Flask, core: SiteCore) -> None:
    app.wsgi_app = ObservedSite(app.wsgi_app, core.runtime.live_stats)  # type: ignore[method-assign]
    app.teardown_request(_remember_route)

    def prometheus_metrics() -> Response:
        extra = core.bridge.call(in_process_backlog, core.runtime.jobs)
        return Response(metrics.exposition(*extra), content_type=metrics.CONTENT_TYPE)

    app.add_url_rule("/metrics", "prometheus_metrics", prometheus_metrics, methods=["GET"])
