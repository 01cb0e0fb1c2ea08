"""Live request figures for the admin dashboard, added up across every replica.

Each process counts its requests per minute in memory (count, 5xx count and a latency
histogram); a background thread adds the counts to per-minute Redis hashes every few
seconds in one pipelined round trip, so the dashboard of any replica reads the whole
fleet. Recording a request only takes a lock for a few dictionary updates: it never
waits for Redis. When Redis is missing (embedded mode) the process's own figures are the
whole truth; when Redis is unreachable a flush is dropped (those requests are missing
from the shared totals) and the dashboard falls back to this process's figures.

Latency resolution: histogram buckets grow by a factor of 2^(1/4) from 1 ms, so a
reported percentile is the upper edge of the bucket holding it, at most 19% above the
true value. Requests of 1 ms or less share the first bucket; those of
``LATENCY_CEILING_SECONDS`` (about 55 s) or more share the last.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 5.0
# Shared minute hashes outlive the longest window anyone reads, then Redis drops them.
RETENTION_MINUTES = 120
BUCKETS_PER_DOUBLING = 4
FIRST_BUCKET_SECONDS = 0.001
LATENCY_BUCKETS = 64
LATENCY_CEILING_SECONDS = FIRST_BUCKET_SECONDS * 2 ** ((LATENCY_BUCKETS - 1) / BUCKETS_PER_DOUBLING)
LATENCY_RESOLUTION = "p99 is the upper edge of its latency bucket: at most 19% above the true value"

_REQUESTS = "requests"
_ERRORS = "errors"
_BUCKET = "latency:"


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a request that took ``seconds``."""
    if seconds <= FIRST_BUCKET_SECONDS:
        return 0
    index = math.ceil(math.log2(seconds / FIRST_BUCKET_SECONDS) * BUCKETS_PER_DOUBLING - 1e-9)
    return min(index, LATENCY_BUCKETS - 1)


def bucket_upper_seconds(index: int) -> float:
    return FIRST_BUCKET_SECONDS * 2 ** (index / BUCKETS_PER_DOUBLING)


@dataclass
class MinuteCounts:
    """What one minute saw: requests, server errors and the latency histogram."""

    requests: int = 0
    errors: int = 0
    latency: Counter[int] = field(default_factory=Counter)

    def add(self, other: MinuteCounts) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.latency.update(other.latency)

    def copy(self) -> MinuteCounts:
        return MinuteCounts(self.requests, self.errors, Counter(self.latency))

    @property
    def error_rate(self) -> float | None:
        """The share of requests that failed on our side (5xx); None without requests."""
        return self.errors / self.requests if self.requests else None

    def percentile_seconds(self, fraction: float) -> float | None:
        total = sum(self.latency.values())
        if not total:
            return None
        rank = math.ceil(fraction * total)
        seen = 0
        for index in sorted(self.latency):
            seen += self.latency[index]
            if seen >= rank:
                return bucket_upper_seconds(index)
        return bucket_upper_seconds(max(self.latency))  # unreachable: seen ends at total

    @property
    def p99_seconds(self) -> float | None:
        return self.percentile_seconds(0.99)

    def as_hash(self) -> dict[str, int]:
        fields = {_REQUESTS: self.requests, _ERRORS: self.errors}
        fields.update({f"{_BUCKET}{index}": n for index, n in self.latency.items() if n})
        return fields

    @classmethod
    def from_hash(cls, raw: Mapping[bytes, bytes]) -> MinuteCounts:
        counts = cls()
        for key, value in raw.items():
            name, number = key.decode(), int(value)
            if name == _REQUESTS:
                counts.requests = number
            elif name == _ERRORS:
                counts.errors = number
            elif name.startswith(_BUCKET) and name[len(_BUCKET) :].isdigit():
                counts.latency[int(name[len(_BUCKET) :])] = number
        return counts


def combine(minutes: Iterable[MinuteCounts]) -> MinuteCounts:
    """One set of counts for several minutes (for a figure over a window)."""
    total = MinuteCounts()
    for counts in minutes:
        total.add(counts)
    return total


@dataclass(frozen=True)
class RequestSeries:
    """The last minutes' counts, oldest first, each keyed by its epoch minute."""

    minutes: list[tuple[int, MinuteCounts]]
    now: float  # the clock reading the series ends at (seconds since the epoch)
    # True when the counts are every replica's (read from Redis); False when they are
    # only this process's (no Redis configured, or Redis unreachable right now).
    shared: bool


class LiveStats:
    def __init__(
        self,
        client: redis.Redis | None,
        *,
        prefix: str,
        flush_interval_seconds: float = FLUSH_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._prefix = f"{prefix}live:"
        self._flush_interval = flush_interval_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # Everything this process counted (the fallback view), and what Redis lacks yet.
        self._local: dict[int, MinuteCounts] = {}
        self._unflushed: dict[int, MinuteCounts] = {}
        self._flusher: threading.Thread | None = None
        self._stop = threading.Event()
        self._redis_failing = False  # log when Redis goes away and comes back, not each time

    def record_request(self, *, status: int, seconds: float) -> None:
        """Count one finished request. Cheap, and never waits on the network."""
        minute = int(self._clock() // 60)
        bucket = bucket_of(seconds)
        failed = status >= 500
        sharing = self._client is not None and not self._stop.is_set()
        with self._lock:
            for counts_by_minute in (self._local, self._unflushed) if sharing else (self._local,):
                counts = counts_by_minute.get(minute)
                if counts is None:
                    counts = counts_by_minute[minute] = MinuteCounts()
                counts.requests += 1
                counts.errors += failed
                counts.latency[bucket] += 1
            if len(self._local) > RETENTION_MINUTES:
                oldest_kept = minute - RETENTION_MINUTES
                for old in [m for m in self._local if m < oldest_kept]:
                    del self._local[old]
            if sharing and not self._flusher_running():
                self._start_flusher()

    def flush(self) -> bool:
        """Add the unflushed counts to Redis in one round trip. On failure they are
        dropped from the shared totals (this process's own figures keep them)."""
        if self._client is None:
            return True
        with self._lock:
            pending, self._unflushed = self._unflushed, {}
        if not pending:
            return True
        pipeline = self._client.pipeline(transaction=False)
        for minute, counts in pending.items():
            key = self._key(minute)
            for name, amount in counts.as_hash().items():
                if amount:
                    pipeline.hincrby(key, name, amount)
            pipeline.expire(key, RETENTION_MINUTES * 60)
        try:
            pipeline.execute()
        except (RedisError, OSError) as exc:
            requests = sum(counts.requests for counts in pending.values())
            self._redis_failed("dropped a flush of %d requests: %s", requests, exc)
            return False
        self._redis_answered()
        return True

    async def series(self, minutes: int) -> RequestSeries:
        """The last ``minutes`` minutes up to the current one (which is still filling)."""
        now = self._clock()
        now_minute = int(now // 60)
        wanted = list(range(now_minute - minutes + 1, now_minute + 1))
        shared = await asyncio.to_thread(self._read_shared, wanted) if self._client else None
        with self._lock:
            if shared is None:
                mine = {m: self._local[m].copy() for m in wanted if m in self._local}
            else:
                # Redis has every replica's flushed counts; add what we have not sent yet.
                mine = shared
                for minute in wanted:
                    if minute in self._unflushed:
                        mine.setdefault(minute, MinuteCounts()).add(self._unflushed[minute])
        return RequestSeries(
            minutes=[(m, mine.get(m) or MinuteCounts()) for m in wanted],
            now=now,
            shared=shared is not None,
        )

    def _read_shared(self, minutes: list[int]) -> dict[int, MinuteCounts] | None:
        assert self._client is not None
        pipeline = self._client.pipeline(transaction=False)
        for minute in minutes:
            pipeline.hgetall(self._key(minute))
        try:
            hashes = pipeline.execute()
        except (RedisError, OSError) as exc:
            self._redis_failed("Redis unreachable, showing this process only: %s", exc)
            return None
        self._redis_answered()
        return {m: MinuteCounts.from_hash(raw) for m, raw in zip(minutes, hashes, strict=True)}

    def close(self) -> None:
        """Stop the flusher and send what is left (a blocking call: at shutdown)."""
        self._stop.set()
        flusher = self._flusher
        if flusher is not None and flusher.is_alive():
            flusher.join(timeout=self._flush_interval + 5)
        self.flush()
        if self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def _redis_failed(self, message: str, *args: object) -> None:
        level = logging.DEBUG if self._redis_failing else logging.WARNING
        self._redis_failing = True
        log.log(level, "live stats: " + message, *args)

    def _redis_answered(self) -> None:
        if self._redis_failing:
            self._redis_failing = False
            log.info("live stats: Redis answers again; figures add up every replica")

    def _key(self, minute: int) -> str:
        return f"{self._prefix}{minute}"

    def _flusher_running(self) -> bool:
        # After a fork (a pre-forking server) the parent's thread is not alive here.
        return self._flusher is not None and self._flusher.is_alive()

    def _start_flusher(self) -> None:
        self._flusher = threading.Thread(target=self._flush_forever, name="live-stats", daemon=True)
        self._flusher.start()

    def _flush_forever(self) -> None:
        while not self._stop.wait(self._flush_interval):
            try:
                self.flush()
            except Exception:  # the flusher must outlive any surprise; the next one retries
                log.exception("live stats: flush failed")
