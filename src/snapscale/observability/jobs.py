"""One place that counts and logs job attempts, for Celery workers and embedded mode's
in-process queue alike."""

from __future__ import annotations

import logging
from typing import Literal

from snapscale.observability import metrics
from snapscale.observability.logs import JOBS_LOGGER

Outcome = Literal["succeeded", "failed", "retried", "timed_out"]

_log = logging.getLogger(JOBS_LOGGER)
_COUNTERS = {
    "succeeded": metrics.JOBS_SUCCEEDED,
    "failed": metrics.JOBS_FAILED,
    "retried": metrics.JOBS_RETRIED,
    "timed_out": metrics.JOBS_TIMED_OUT,
}


def job_started(job: str) -> None:
    metrics.JOBS_STARTED.labels(job).inc()


def job_finished(job: str, outcome: Outcome, duration_seconds: float) -> None:
    """Count the attempt and write its one log line (the request id and job id, when
    known, come from the context: see context.bind_job)."""
    _COUNTERS[outcome].labels(job).inc()
    metrics.JOB_DURATION.labels(job).observe(duration_seconds)
    metrics.publish_process_gauges()
    _log.log(
        logging.INFO if outcome == "succeeded" else logging.WARNING,
        "job",
        extra={"job": job, "outcome": outcome, "duration_ms": round(duration_seconds * 1000, 2)},
    )
