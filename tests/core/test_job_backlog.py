"""How many jobs wait and for how long: what the queue metrics and the admin page show."""

from __future__ import annotations

import asyncio

from snapscale.core.jobs import InProcessJobs
from snapscale.worker.celery_app import create_celery
from snapscale.worker.sender import CeleryJobs
from tests.support.servers import RedisServer


async def test_redis_broker_backlog_counts_waiting_jobs_and_ages_the_oldest(
    private_redis: RedisServer, settings
) -> None:
    jobs = CeleryJobs(create_celery(settings.model_copy(update={"broker_url": private_redis.url})))
    try:
        empty = await jobs.backlog()
        assert (empty.depth, empty.oldest_age_seconds) == (0, None)

        await jobs.send("photos.sweep", {"stuck_after_seconds": 60})
        await asyncio.sleep(0.2)
        await jobs.send("photos.sweep", {"stuck_after_seconds": 60})
        backlog = await jobs.backlog()
    finally:
        await jobs.aclose()

    assert backlog.depth == 2
    assert backlog.oldest_age_seconds is not None
    assert 0.2 <= backlog.oldest_age_seconds < 30


async def test_in_process_backlog_counts_jobs_not_yet_started() -> None:
    release = asyncio.Event()
    started: list[int] = []

    async def slow(runtime: object, *, n: int) -> None:
        started.append(n)
        await release.wait()

    jobs = InProcessJobs({"slow": slow})
    jobs.bind(object())  # type: ignore[arg-type]
    for n in range(3):
        await jobs.send("slow", {"n": n})
    await asyncio.sleep(0.05)

    backlog = await jobs.backlog()
    assert started == [0]  # one at a time: the first runs, two wait
    assert backlog.depth == 2
    assert backlog.oldest_age_seconds is not None

    release.set()
    await jobs.wait_idle(limit_seconds=5)
    assert (await jobs.backlog()).depth == 0
