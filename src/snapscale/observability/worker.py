"""The Celery worker's observability: per-job metrics and log lines from Celery signals,
the request id carried over from the request that sent the job, and a metrics port
served by the worker's main process on behalf of its pool processes.

The prefork pool runs jobs in child processes, so their samples are written to a shared
folder (multiprocess mode, prepared by ``prepare_worker_process`` before anything
imports prometheus-client) and the main process's metrics port reads them all.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Celery, Task, signals
from celery.exceptions import TimeLimitExceeded
from celery.utils.log import get_multiprocessing_logger

from snapscale.config import Settings
from snapscale.core.jobs import Backlog
from snapscale.observability import metrics
from snapscale.observability.backlog import BrokerBacklog
from snapscale.observability.context import Binding, bind_job, sane_request_id
from snapscale.observability.jobs import Outcome, job_finished, job_started
from snapscale.worker.sender import REQUEST_ID_HEADER, queue_backlog

log = logging.getLogger(__name__)

METRICS_ADDRESS = "0.0.0.0"  # noqa: S104 (scraped from other hosts, like any exporter)  # nosec B104

_OUTCOMES: dict[str, Outcome] = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}
# Attempts running in this process: when each started, and what its log lines were bound to.
_running: dict[str, tuple[float, Binding]] = {}


def install(app: Celery, settings: Settings) -> None:
    """Connect the signal handlers. Signals are global, so each is connected once per
    process, for the first app made in it: a worker process makes exactly one."""
    signals.setup_logging.connect(_keep_our_logging, weak=False, dispatch_uid="snapscale-logs")
    signals.task_prerun.connect(_attempt_started, weak=False, dispatch_uid="snapscale-prerun")
    signals.task_postrun.connect(_attempt_finished, weak=False, dispatch_uid="snapscale-postrun")
    signals.task_failure.connect(_attempt_killed, weak=False, dispatch_uid="snapscale-killed")

    def serve_metrics(**_: Any) -> None:
        start_metrics_server(app, settings.worker_metrics_port)

    signals.worker_init.connect(serve_metrics, weak=False, dispatch_uid="snapscale-metrics")


def _keep_our_logging(**_: Any) -> None:
    # A receiver of this signal tells Celery not to install its own handlers or take
    # over stdout: the process entry point has already configured logging. Only the
    # pool's own logger needs a word: it does not propagate, so its reports (a pool
    # process that died) would be printed as bare text.
    pool_logger = get_multiprocessing_logger()
    if pool_logger is not None:
        pool_logger.propagate = True
        pool_logger.setLevel(logging.ERROR)  # Celery's choice: below that it is chatter


def _attempt_started(task_id: str, task: Task, **_: Any) -> None:
    request_id = sane_request_id(task.request.get(REQUEST_ID_HEADER))
    binding = bind_job(task.name, request_id=request_id, job_id=task_id)
    _running[task_id] = (time.perf_counter(), binding)
    job_started(task.name)


def _attempt_finished(task_id: str, task: Task, state: str | None = None, **_: Any) -> None:
    started = _running.pop(task_id, None)
    if started is None:
        return
    began, binding = started
    try:
        outcome = _OUTCOMES.get(state or "")
        if outcome is not None:
            job_finished(task.name, outcome, time.perf_counter() - began)
    finally:
        binding.undo()


def _attempt_killed(
    sender: Task, task_id: str, exception: BaseException | None = None, **_: Any
) -> None:
    """A pool process killed at the job time limit never reaches task_postrun: the main
    process, which killed it, counts the attempt and logs it with the job's id."""
    if not isinstance(exception, TimeLimitExceeded):
        return  # an ordinary failure: counted by the pool process that ran the job
    limit = float(exception.args[0]) if exception.args else 0.0
    binding = bind_job(sender.name, request_id=None, job_id=task_id)
    try:
        job_finished(sender.name, "timed_out", limit)
    finally:
        binding.undo()


def start_metrics_server(app: Celery, port: int) -> None:
    if port == 0:
        return
    from prometheus_client import start_http_server

    def read_backlog() -> Backlog:
        return queue_backlog(app)

    try:
        start_http_server(port, METRICS_ADDRESS, metrics.registry(BrokerBacklog(read_backlog)))
    except OSError as exc:
        # Jobs matter more than their metrics: keep working, and say why loudly.
        log.error("cannot serve worker metrics on port %d: %s", port, exc)
        return
    log.info("worker metrics on port %d", port)
