"""The near cache: hot entries are served from process memory, and an invalidation made
by any replica reaches every replica through Redis pub/sub."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from snapscale.config import Settings
from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import ProfileUpdate, Registration
from snapscale.core.near_cache import NearCache
from snapscale.core.runtime import Runtime
from tests.support.factories import PASSWORD
from tests.support.servers import RedisServer

pytestmark = pytest.mark.parametrize("stack", ["postgresql"], indirect=True)


async def _until(condition: Callable[[], bool], seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition was not reached in time")


async def _trusted(cache: NearCache) -> None:
    await cache.get("warm-up")  # starts the listener
    await _until(lambda: cache.trusted)


def _near(runtime: Runtime) -> NearCache:
    assert isinstance(runtime.cache, NearCache)
    return runtime.cache


async def test_a_hot_entry_is_served_without_a_redis_round_trip(runtime, monkeypatch):
    cache = _near(runtime)
    await _trusted(cache)
    await cache.set("greeting", b"hello", 60)

    calls = 0
    original = runtime.redis.execute_command  # type: ignore[union-attr]

    async def counted(*args, **kwargs):
        nonlocal calls
        calls += 1
        return await original(*args, **kwargs)

    monkeypatch.setattr(runtime.redis, "execute_command", counted)
    assert await cache.get_many(["greeting", "greeting"]) == [b"hello", b"hello"]
    assert calls == 0


async def test_an_edit_on_one_replica_is_seen_by_the_other(settings: Settings):
    first, second = Runtime(settings), Runtime(settings)
    try:
        await _trusted(_near(first))
        await _trusted(_near(second))
        data = Registration(username="irene", email="irene@example.com", password=PASSWORD)
        account = await first.run(account_service.register, data=data)
        for replica in (first, second):  # both now hold the profile in memory
            await replica.read(account_service.get_public_profile, username="irene")

        await first.run(
            account_service.update_profile, user_id=account.id, changes=ProfileUpdate(bio="new")
        )

        # The broadcast is on its way as soon as the edit's response would be: give it the
        # moment a message takes on loopback, no more.
        async with asyncio.timeout(2):
            while True:
                seen = await second.read(account_service.get_public_profile, username="irene")
                if seen.bio == "new":
                    break
                await asyncio.sleep(0.005)
    finally:
        await first.aclose()
        await second.aclose()


async def test_without_redis_the_near_cache_steps_aside_and_comes_back(
    settings: Settings, private_redis: RedisServer
):
    runtime = Runtime(settings.model_copy(update={"redis_url": private_redis.url}))
    cache = _near(runtime)
    try:
        await _trusted(cache)
        await cache.set("k", b"v", 60)
        private_redis.stop()
        await _until(lambda: not cache.trusted)
        # Not trusted: nothing is served from memory that an unseen invalidation may have
        # made stale; Redis being down, this is a miss and callers read the database.
        assert await cache.get("k") is None

        private_redis.start()
        async with asyncio.timeout(10):
            while not cache.trusted:
                await cache.get("k")
                await asyncio.sleep(0.05)
        await cache.set("k", b"again", 60)
        assert await cache.get("k") == b"again"
    finally:
        await runtime.aclose()


async def test_a_value_read_while_it_was_invalidated_is_not_kept(settings: Settings):
    """Replica A reads "k" from Redis; replica B changes it while A's read is on its way.
    A answers with what it read, but must not keep that copy in memory."""
    reader, writer = Runtime(settings), Runtime(settings)
    try:
        cache, other = _near(reader), _near(writer)
        await _trusted(cache)
        await _trusted(other)
        await other.set("k", b"old", 60)
        remote = cache._remote
        fetch = remote.get_many

        async def slow_fetch(keys: list[str]) -> list[bytes | None]:
            found = await fetch(keys)
            await other.set("k", b"new", 60)
            await other.delete("k")  # the edit's invalidation, broadcast to A
            await _until(lambda: cache._invalidations > 0)
            return found

        remote.get_many = slow_fetch  # type: ignore[method-assign]
        assert await cache.get("k") == b"old"
        remote.get_many = fetch  # type: ignore[method-assign]

        await other.set("k", b"new", 60)
        assert await cache.get("k") == b"new"  # not the stale copy, for any max_age
    finally:
        await reader.aclose()
        await writer.aclose()
