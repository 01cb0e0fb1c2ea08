"""A timeline write Redis does not take (hung or down) is not lost for good: the timelines
that missed it are dropped as soon as Redis answers again (even by a process that does
nothing else), so their next read rebuilds them from the database; timelines that missed
nothing are kept. Past the number of
readers a process remembers, every timeline is dropped instead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from snapscale.config import Settings
from snapscale.core import redis as redis_clients
from snapscale.core.feed.timelines import RedisTimelines
from tests.conftest import TEST_SECRET
from tests.support.servers import RedisServer

PREFIX = "missed-writes:"
# The process retries every second; Redis answers within its 0.2 s timeout.
DROPPED_WITHIN_SECONDS = 5


@pytest.fixture
async def timelines(private_redis: RedisServer, tmp_path: Path) -> AsyncIterator[RedisTimelines]:
    settings = Settings(
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
        redis_url=private_redis.url,
        redis_timeout_seconds=0.2,
    )
    client = redis_clients.async_client(settings)
    timelines = RedisTimelines(client, prefix=PREFIX, capacity=10, ttl_seconds=600)
    yield timelines
    await timelines.aclose()
    await client.aclose()


def _timeline(server: RedisServer, user_id: int) -> list[int]:
    """The photo ids in a reader's timeline as Redis holds it ([] when there is none)."""
    client = redis.Redis.from_url(server.url)
    try:
        members = client.zrange(f"{PREFIX}timeline:{user_id}", 0, -1)
    finally:
        client.close()
    return [int(m) for m in members if int(m) != 0]


def _snapshot(server: RedisServer) -> None:
    client = redis.Redis.from_url(server.url)
    try:
        client.save()
    finally:
        client.close()


async def _built(timelines: RedisTimelines, *user_ids: int) -> None:
    for user_id in user_ids:
        await timelines.build(user_id, [100])


async def test_timelines_that_missed_a_write_are_dropped_once_redis_answers(
    timelines, private_redis
):
    await _built(timelines, 1, 2, 3)

    private_redis.pause()
    try:
        await timelines.add([1, 2], [200])  # does not raise: the follow or job goes on
        await timelines.remove([2], [100])
    finally:
        private_redis.resume()

    # Redis answers again: with no further use of timelines, the process drops them.
    deadline = time.monotonic() + DROPPED_WITHIN_SECONDS
    while _timeline(private_redis, 1) or _timeline(private_redis, 2):
        assert time.monotonic() < deadline, "the timelines that missed a write are still there"
        await asyncio.sleep(0.1)
    page = await timelines.page(1, before_id=None, limit=10)

    assert not page.built  # so the reader's feed is rebuilt from the database
    assert _timeline(private_redis, 3) == [100]  # missed nothing, kept
    await timelines.add([3], [300])
    assert _timeline(private_redis, 3) == [100, 300]


async def test_past_the_readers_it_remembers_every_timeline_is_dropped(timelines, private_redis):
    await _built(timelines, 1, 2, 3, 4)
    timelines.max_missed = 2

    _snapshot(private_redis)
    private_redis.stop()
    await timelines.add([1, 2, 3], [200])
    private_redis.start()  # back from its snapshot, as a persistent Redis comes back
    assert [_timeline(private_redis, n) for n in (1, 2, 3, 4)] == [[100]] * 4

    page = await timelines.page(4, before_id=None, limit=10)

    assert not page.built
    assert [_timeline(private_redis, n) for n in (1, 2, 3, 4)] == [[]] * 4
