"""Live request figures: counted per process, added up across replicas through Redis, and
still counted (for this process) while Redis is away."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest

from snapscale.config import Settings
from snapscale.core import redis as redis_clients
from snapscale.core.live_stats import (
    LATENCY_CEILING_SECONDS,
    LiveStats,
    MinuteCounts,
    bucket_of,
    bucket_upper_seconds,
)
from snapscale.core.runtime import Runtime
from tests.support.servers import RedisServer

# Mid-minute, so a slow test run cannot cross into the next minute.
NOW = 1_800_000_030.0
MINUTE = int(NOW // 60)


def live_stats(redis_url: str | None, prefix: str, **options: float) -> LiveStats:
    """A LiveStats as a replica makes it: the project's Redis client, short timeouts."""
    client = redis_clients.sync_client(Settings(redis_url=redis_url)) if redis_url else None
    return LiveStats(client, prefix=prefix, clock=lambda: NOW, **options)


@pytest.fixture
def prefix() -> str:
    return f"live-test-{uuid.uuid4().hex[:8]}:"


def this_minute(series_minutes: list[tuple[int, MinuteCounts]]) -> MinuteCounts:
    minute, counts = series_minutes[-1]
    assert minute == MINUTE
    return counts


async def test_two_replicas_sharing_redis_add_up(private_redis: RedisServer, prefix: str) -> None:
    first = live_stats(private_redis.url, prefix)
    second = live_stats(private_redis.url, prefix)
    try:
        for status in (200, 200, 500):
            first.record_request(status=status, seconds=0.02)
        for _ in range(4):
            second.record_request(status=201, seconds=0.03)
        assert first.flush() and second.flush()

        for replica in (first, second):
            series = await replica.series(5)
            assert series.shared is True
            assert len(series.minutes) == 5
            counts = this_minute(series.minutes)
            assert (counts.requests, counts.errors) == (7, 1)
            assert all(c.requests == 0 for _, c in series.minutes[:-1])
    finally:
        await first.aclose()
        await second.aclose()


async def test_unflushed_requests_count_at_once_on_their_own_replica(
    private_redis: RedisServer, prefix: str
) -> None:
    first = live_stats(private_redis.url, prefix)
    second = live_stats(private_redis.url, prefix)
    try:
        first.record_request(status=200, seconds=0.01)
        first.flush()
        second.record_request(status=200, seconds=0.01)  # not flushed yet

        assert this_minute((await second.series(1)).minutes).requests == 2
        assert this_minute((await first.series(1)).minutes).requests == 1
    finally:
        await first.aclose()
        await second.aclose()


async def test_the_background_flusher_sends_counts_without_being_asked(
    private_redis: RedisServer, prefix: str
) -> None:
    replica = live_stats(private_redis.url, prefix, flush_interval_seconds=0.05)
    reader = live_stats(private_redis.url, prefix)
    try:
        for _ in range(3):
            replica.record_request(status=200, seconds=0.01)
        seen = 0
        for _ in range(100):  # bounded: up to ~5 s
            seen = this_minute((await reader.series(1)).minutes).requests
            if seen == 3:
                break
            await asyncio.sleep(0.05)
        assert seen == 3
    finally:
        await replica.aclose()
        await reader.aclose()


async def test_with_redis_stopped_requests_still_count_in_memory(
    private_redis: RedisServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    replica = live_stats(private_redis.url, prefix)
    try:
        replica.record_request(status=200, seconds=0.01)
        assert replica.flush() is True

        private_redis.stop()
        with caplog.at_level(logging.DEBUG, logger="snapscale.core.live_stats"):
            replica.record_request(status=503, seconds=0.2)
            replica.record_request(status=200, seconds=0.01)
            assert replica.flush() is False  # dropped, not raised
            series = await replica.series(3)

        assert series.shared is False
        counts = this_minute(series.minutes)
        assert (counts.requests, counts.errors) == (3, 1)
        # One warning when Redis goes away, not one per flush or read.
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert warnings[0].startswith("live stats: dropped a flush of 2 requests")

        private_redis.start()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="snapscale.core.live_stats"):
            replica.record_request(status=200, seconds=0.01)
            assert replica.flush() is True
        assert "Redis answers again" in caplog.text
        # The shared totals lack the dropped flush (and this Redis, restarted without
        # persistence, forgot the first one): only what was sent since counts there.
        series = await replica.series(3)
        assert series.shared is True
        assert this_minute(series.minutes).requests == 1
    finally:
        await replica.aclose()


async def test_without_redis_the_process_figures_are_the_whole_truth(prefix: str) -> None:
    replica = live_stats(None, prefix)
    for _ in range(5):
        replica.record_request(status=200, seconds=0.004)
    assert replica.flush() is True

    series = await replica.series(30)
    assert series.shared is False
    assert this_minute(series.minutes).requests == 5
    await replica.aclose()


async def test_p99_comes_from_the_histogram(prefix: str) -> None:
    replica = live_stats(None, prefix)
    for _ in range(990):
        replica.record_request(status=200, seconds=0.010)
    for _ in range(10):
        replica.record_request(status=200, seconds=2.0)

    # 1,000 requests: the 990th slowest is a 10 ms one.
    p99 = this_minute((await replica.series(1)).minutes).p99_seconds
    assert p99 is not None and 0.010 <= p99 < 0.010 * 1.19

    # One more slow request moves the 99th percentile into the slow ones.
    replica.record_request(status=200, seconds=2.0)
    p99 = this_minute((await replica.series(1)).minutes).p99_seconds
    assert p99 is not None and 2.0 <= p99 < 2.0 * 1.19
    await replica.aclose()


def test_no_requests_means_no_p99_or_error_rate() -> None:
    assert MinuteCounts().p99_seconds is None
    assert MinuteCounts().error_rate is None


@pytest.mark.parametrize("seconds", [0.0, 0.0004, 0.001, 0.0011, 0.0173, 0.25, 1.0, 3.7, 42.0])
def test_a_latency_lands_in_a_bucket_at_most_19_percent_wider(seconds: float) -> None:
    upper = bucket_upper_seconds(bucket_of(seconds))
    assert seconds <= upper
    assert upper <= max(seconds, 0.001) * 1.19


def test_latencies_beyond_the_histogram_share_its_last_bucket() -> None:
    assert bucket_of(600.0) == bucket_of(LATENCY_CEILING_SECONDS)


async def test_the_runtime_flushes_at_shutdown(
    private_redis: RedisServer, prefix: str, tmp_path: Path
) -> None:
    runtime = Runtime(Settings(data_dir=tmp_path, redis_url=private_redis.url, redis_prefix=prefix))
    for _ in range(2):
        runtime.live_stats.record_request(status=200, seconds=0.01)
    await runtime.aclose()

    reader = LiveStats(
        redis_clients.sync_client(Settings(redis_url=private_redis.url)), prefix=prefix
    )
    try:
        series = await reader.series(2)
        assert series.shared is True
        assert sum(counts.requests for _, counts in series.minutes) == 2
    finally:
        await reader.aclose()
