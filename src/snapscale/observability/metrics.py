"""Prometheus metrics: what every process counts, and the text served at ``/metrics``.

Names follow Prometheus conventions (base units, ``_total`` counters, ``_seconds``,
``_bytes``). Every label has a bounded set of values: routes are templates, never raw
paths; unknown HTTP methods are one value; cache keys are reduced to their family.

Multiprocess mode: a server with several worker processes (gunicorn, or the Celery
worker's prefork pool) sets ``PROMETHEUS_MULTIPROC_DIR`` to a folder the processes share,
BEFORE this module is imported: prometheus-client decides at import whether samples live
in process memory or in files there. A scrape, answered by any one process, then reads
every process's files, so counters are sums over all workers.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

from snapscale.observability.processes import MULTIPROC_ENV

CONTENT_TYPE = CONTENT_TYPE_LATEST

if os.environ.get(MULTIPROC_ENV) and values.ValueClass is values.MutexValue:
    # Samples would silently stay in each process's memory and scrapes would show one
    # worker's share. Fail at start instead.
    raise RuntimeError(
        f"{MULTIPROC_ENV} was set after prometheus_client was imported; "
        "set it before the process imports Snapscale"
    )

# A "<name>_created" series per counter and histogram doubles what Prometheus stores and
# the classic text format gives it no meaning.
disable_created_metrics()  # type: ignore[no-untyped-call]

UNMATCHED_ROUTE = "<unmatched>"
OTHER = "other"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CACHE_FAMILY = re.compile(r"[a-z][a-z0-9_]{0,31}")

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by front end, method, route template and status.",
    ["app", "method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from receiving a request to finishing its response.",
    ["app", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CACHE_HITS = Counter(
    "snapscale_cache_hits_total", "Cache lookups that found a value, by key family.", ["family"]
)
CACHE_MISSES = Counter(
    "snapscale_cache_misses_total",
    "Cache lookups that found nothing (or could not reach the cache), by key family.",
    ["family"],
)
UPLOAD_BYTES = Counter(
    "snapscale_upload_bytes_total", "Bytes of photo files received by the upload path."
)
DB_CONNECTIONS_IN_USE = Gauge(
    "snapscale_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live processes).",
    multiprocess_mode="livesum",
)
REDIS_FAILURES = Counter(
    "snapscale_redis_failures_total",
    "Redis calls that failed or timed out, after which the caller went on without Redis "
    "(and, for the cache and rate limits, skipped it for a few seconds), by use.",
    ["use"],
)
JOBS_STARTED = Counter("snapscale_jobs_started_total", "Job attempts started.", ["job"])
JOBS_SUCCEEDED = Counter("snapscale_jobs_succeeded_total", "Job attempts that succeeded.", ["job"])
JOBS_FAILED = Counter("snapscale_jobs_failed_total", "Job attempts that failed for good.", ["job"])
JOBS_RETRIED = Counter(
    "snapscale_jobs_retried_total", "Job attempts that failed and will be retried.", ["job"]
)
JOBS_TIMED_OUT = Counter(
    "snapscale_jobs_timed_out_total",
    "Job attempts stopped at the job time limit (SNAPSCALE_JOB_TIME_LIMIT_SECONDS); each "
    "job goes back to the queue for its next attempt.",
    ["job"],
)
JOB_DURATION = Histogram(
    "snapscale_job_duration_seconds",
    "Time a job attempt ran, whatever its outcome.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)


def method_label(method: str) -> str:
    return method if method in _KNOWN_METHODS else OTHER


class _Children:
    """A metric's labelled children, looked up once per label set.

    ``labels()`` takes a lock and validates the values on every call, a good part of a
    cached read's cost; the label sets are few (every label is bounded), so each child is
    kept after its first use."""

    def __init__(self, metric: Counter | Histogram) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *labels: str) -> Any:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._metric.labels(*labels)
        return child


_request_counter = _Children(HTTP_REQUESTS)
_request_timer = _Children(HTTP_REQUEST_DURATION)
_cache_hit_counter = _Children(CACHE_HITS)
_cache_miss_counter = _Children(CACHE_MISSES)


def observe_request(
    *, front_end: str, method: str, route: str, status: int, duration_seconds: float
) -> None:
    method = method_label(method)
    _request_counter(front_end, method, route, str(status)).inc()
    _request_timer(front_end, method, route).observe(duration_seconds)
    publish_process_gauges()


def count_cache_lookups(keys: Sequence[str], found: Sequence[bytes | None]) -> None:
    if len(keys) == 1:  # the usual case, without the tallies
        counter = _cache_miss_counter if found[0] is None else _cache_hit_counter
        counter(cache_family(keys[0])).inc()
        return
    hits: Tally[str] = Tally()
    misses: Tally[str] = Tally()
    for key, value in zip(keys, found, strict=True):
        (misses if value is None else hits)[cache_family(key)] += 1
    for family, count in hits.items():
        _cache_hit_counter(family).inc(count)
    for family, count in misses.items():
        _cache_miss_counter(family).inc(count)


def cache_family(key: str) -> str:
    """``profile:alice`` -> ``profile``: the key's first segment, a bounded label."""
    family = key.partition(":")[0]
    return family if _CACHE_FAMILY.fullmatch(family) else OTHER


# -- database pools ---------------------------------------------------------------------
# Every engine of the process announces its pool on its first connection; the gauge is
# read from the pools themselves (what is checked out right now), so it cannot drift.
# Weak references: a disposed engine's pool is forgotten. The tuple is replaced, never
# changed in place, so that reading it (once per request) needs no lock.
_pools: tuple[weakref.ref[Pool], ...] = ()
_pools_lock = threading.Lock()


@event.listens_for(Engine, "engine_connect")
def _remember_pool(connection: Connection) -> None:
    global _pools
    pool = connection.engine.pool
    # Pools without a checkout count (NullPool, StaticPool) hold nothing between uses.
    if not hasattr(pool, "checkedout") or any(known() is pool for known in _pools):
        return
    with _pools_lock:
        alive = tuple(known for known in _pools if known() is not None)
        if not any(known() is pool for known in alive):
            alive += (weakref.ref(pool),)
        _pools = alive


def connections_in_use() -> int:
    in_use = 0
    for known in _pools:
        pool: Any = known()
        if pool is not None:
            in_use += pool.checkedout()
    return in_use


def publish_process_gauges() -> None:
    """In multiprocess mode, write this process's gauges where a scrape answered by
    another process finds them. Called when a request or job ends, when what it held
    has just been given back."""
    global _published_in_use
    if _MULTIPROCESS:
        in_use = connections_in_use()
        if in_use != _published_in_use:  # most requests change nothing: skip the write
            DB_CONNECTIONS_IN_USE.set(in_use)
            _published_in_use = in_use


# Whether samples live in files: decided, as prometheus-client decides it, at import.
_MULTIPROCESS = bool(os.environ.get(MULTIPROC_ENV))
_published_in_use: int | None = None


# -- exposition -------------------------------------------------------------------------


def multiprocess_dir() -> Path | None:
    configured = os.environ.get(MULTIPROC_ENV)
    return Path(configured) if configured else None


def worker_exited(pid: int) -> None:
    """Forget a dead worker's live gauges (its counters keep counting in the sums)."""
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def _forget_dead_processes(directory: Path) -> None:
    """A worker killed outright (out of memory, SIGKILL) never reports its exit; its
    live gauges would be summed for ever."""
    pids = {
        int(found.group(1))
        for name in os.listdir(directory)
        if (found := _LIVE_GAUGE_FILE.fullmatch(name))
    }
    for pid in pids - {os.getpid()}:
        if not _is_alive(pid):
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


class ScrapeTime:
    """Everything one scrape shows: this process's metrics, or every worker's in
    multiprocess mode, plus values computed at the moment of the scrape."""

    def __init__(self, extra: Iterable[Collector] = ()) -> None:
        self._extra = list(extra)

    def collect(self) -> Iterable[Metric]:
        DB_CONNECTIONS_IN_USE.set(connections_in_use())
        directory = multiprocess_dir()
        if directory is None:
            yield from REGISTRY.collect()
        else:
            _forget_dead_processes(directory)
            every_worker = multiprocess.MultiProcessCollector(None, str(directory))  # type: ignore[no-untyped-call]
            yield from every_worker.collect()  # type: ignore[no-untyped-call]
        for collector in self._extra:
            yield from collector.collect()


def registry(*extra: Collector) -> CollectorRegistry:
    """A registry for prometheus-client's own HTTP server (the worker's metrics port)."""
    scrape = CollectorRegistry()
    scrape.register(ScrapeTime(extra))
    return scrape


def exposition(*extra: Collector) -> bytes:
    """The text a scrape of ``/metrics`` returns."""
    return generate_latest(ScrapeTime(extra))
