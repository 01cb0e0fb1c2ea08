"""Profile reads are cache-aside, writes invalidate, and a dead or hung Redis only costs speed."""

import asyncio
import time

import pytest
from sqlalchemy import update

from snapscale.config import Settings
from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import ProfileUpdate, Registration
from snapscale.core.models import User
from snapscale.core.runtime import Runtime
from tests.support.factories import PASSWORD
from tests.support.servers import RedisServer


async def _new_user(runtime: Runtime, username: str = "marie") -> int:
    data = Registration(username=username, email=f"{username}@example.com", password=PASSWORD)
    account = await runtime.run(account_service.register, data=data)
    return account.id


async def _set_bio_behind_the_cache(runtime: Runtime, user_id: int, bio: str) -> None:
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(update(User).where(User.id == user_id).values(bio=bio))
        await uow.commit()


async def test_a_read_is_served_from_the_cache(runtime):
    user_id = await _new_user(runtime)
    first = await runtime.run(account_service.get_public_profile, username="marie")
    await _set_bio_behind_the_cache(runtime, user_id, "changed without invalidation")

    second = await runtime.run(account_service.get_public_profile, username="marie")

    assert second == first  # still the cached copy: the database was not asked


async def test_a_profile_edit_invalidates_the_cached_copy(runtime):
    user_id = await _new_user(runtime)
    await runtime.run(account_service.get_public_profile, username="marie")

    await runtime.run(
        account_service.update_profile, user_id=user_id, changes=ProfileUpdate(bio="Radium")
    )

    profile = await runtime.run(account_service.get_public_profile, username="marie")
    assert profile.bio == "Radium"


async def test_a_rolled_back_edit_leaves_the_cache_alone(runtime):
    user_id = await _new_user(runtime)
    cached = await runtime.run(account_service.get_public_profile, username="marie")

    async def edit_then_fail() -> None:
        async with runtime.unit_of_work() as uow:
            await account_service.update_profile(
                uow, user_id=user_id, changes=ProfileUpdate(bio="never saved")
            )
            raise RuntimeError("request failed before commit")

    with pytest.raises(RuntimeError):
        await edit_then_fail()

    assert await runtime.run(account_service.get_public_profile, username="marie") == cached


@pytest.fixture
def redis_backed_settings(settings: Settings, private_redis: RedisServer) -> Settings:
    # The shared Redis layer itself, without the near cache in front (tested on its own).
    return settings.model_copy(
        update={
            "redis_url": private_redis.url,
            "redis_prefix": "outage-test:",
            "near_cache_max_age_seconds": 0,
        }
    )


@pytest.fixture
async def redis_backed(redis_backed_settings):
    runtime = Runtime(redis_backed_settings)
    yield runtime
    await runtime.aclose()


async def test_profile_reads_answer_from_the_database_when_redis_is_stopped(
    redis_backed, private_redis
):
    user_id = await _new_user(redis_backed)
    await redis_backed.run(account_service.get_public_profile, username="marie")

    private_redis.stop()
    await redis_backed.run(
        account_service.update_profile, user_id=user_id, changes=ProfileUpdate(bio="offline edit")
    )
    profile = await redis_backed.run(account_service.get_public_profile, username="marie")

    assert profile.bio == "offline edit"


async def test_profile_reads_stay_fast_when_redis_hangs(redis_backed, private_redis):
    await _new_user(redis_backed)
    private_redis.pause()
    try:
        started = time.monotonic()
        for _ in range(20):
            profile = await redis_backed.run(account_service.get_public_profile, username="marie")
            assert profile.username == "marie"
        elapsed = time.monotonic() - started
    finally:
        private_redis.resume()
    # redis-py's default timeouts would block each read for seconds; ours give up after
    # 0.25 s once, then the circuit breaker skips Redis. A generous bound, not a benchmark.
    assert elapsed < 5


async def test_the_cache_is_used_again_once_redis_is_back(redis_backed_settings, private_redis):
    settings = redis_backed_settings.model_copy(update={"redis_timeout_seconds": 0.1})
    runtime = Runtime(settings)
    runtime.cache._breaker.cooldown = 0.2  # type: ignore[attr-defined]
    try:
        user_id = await _new_user(runtime)
        private_redis.stop()
        await runtime.run(account_service.get_public_profile, username="marie")
        private_redis.start()
        await asyncio.sleep(0.3)
        await runtime.run(account_service.get_public_profile, username="marie")  # re-fills
        await _set_bio_behind_the_cache(runtime, user_id, "behind the cache")
        profile = await runtime.run(account_service.get_public_profile, username="marie")
        assert profile.bio == ""  # served from Redis again
    finally:
        await runtime.aclose()
