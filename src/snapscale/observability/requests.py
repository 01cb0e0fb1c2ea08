"""What both front ends do when a request ends: count it, write its access line, and add
it to the live figures of the admin dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapscale.observability import metrics
from snapscale.observability.context import Activity
from snapscale.observability.logs import log_request

if TYPE_CHECKING:
    from snapscale.core.live_stats import LiveStats


def request_finished(
    *,
    front_end: str,
    activity: Activity,
    method: str,
    route: str,
    path: str,
    status: int,
    duration_seconds: float,
    live_stats: LiveStats | None,
) -> None:
    if live_stats is not None:
        live_stats.record_request(status=status, seconds=duration_seconds)
    metrics.observe_request(
        front_end=front_end,
        method=method,
        route=route,
        status=status,
        duration_seconds=duration_seconds,
    )
    log_request(
        front_end=front_end,
        request_id=activity.request_id,
        method=method,
        route=route,
        path=path,
        status=status,
        duration_seconds=duration_seconds,
        user_id=activity.user_id,
    )
