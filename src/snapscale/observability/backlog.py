"""Queue depth and the age of the oldest waiting job, computed when a scrape asks.

Embedded mode's queue lives inside the server, so the server's ``/metrics`` reports it;
a Celery queue lives in the broker, and the worker's metrics port reports it (the API
and site processes would only repeat the same numbers once per replica).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from snapscale.core.jobs import Backlog, InProcessJobs, JobSender

log = logging.getLogger(__name__)


def backlog_metrics(backlog: Backlog) -> list[Metric]:
    metrics: list[Metric] = [
        GaugeMetricFamily(
            "snapscale_job_queue_depth", "Jobs sent and not started yet.", value=backlog.depth
        )
    ]
    # Unknown when the broker cannot tell (AMQP); an empty queue has waited for nothing.
    age = backlog.oldest_age_seconds if backlog.depth else 0.0
    if age is not None:
        metrics.append(
            GaugeMetricFamily(
                "snapscale_job_queue_oldest_age_seconds",
                "How long the oldest job not started yet has waited.",
                value=age,
            )
        )
    return metrics


class Snapshot:
    """Metrics computed before the scrape began (an async read, done by the caller)."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics


async def in_process_backlog(jobs: JobSender) -> list[Collector]:
    """The queue's metrics if jobs run in this process, else nothing."""
    if not isinstance(jobs, InProcessJobs):
        return []
    return [Snapshot(backlog_metrics(await jobs.backlog()))]


class BrokerBacklog:
    """The broker's queue, read at each scrape; while the broker is unreachable the
    scrape goes on without these two gauges."""

    def __init__(self, read: Callable[[], Backlog]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        try:
            backlog = self._read()
        except Exception as exc:
            log.warning("cannot read the job queue's backlog from the broker: %s", exc)
            return []
        return backlog_metrics(backlog)
