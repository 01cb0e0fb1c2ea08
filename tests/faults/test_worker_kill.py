"""A worker killed outright (SIGKILL: the out-of-memory killer, a node lost) mid-job, be it
the pool child running the job or the worker's main process: another worker finishes the
job, and the photo ends ready exactly once: one set of renditions, no file left over,
counted once in its owner's profile, and once in a follower's feed.

Two slow workers run side by side, as in any deployment with more than one, so the test
finds out which one took the job (the pid it writes) and kills that one."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest

from snapscale.config import Settings
from tests.support import workers
from tests.support.factories import SignedIn, signed_in_user
from tests.support.processes import alive, parent_of
from tests.support.servers import RedisServer
from tests.support.workers import (
    WAIT_SECONDS,
    attempts_of,
    slow_job,
    start_worker,
    stop_worker,
    wait_until_settled,
)

pytestmark = [pytest.mark.chaos, pytest.mark.parametrize("stack", ["postgresql"], indirect=True)]

# The broker gives an unacknowledged job to another worker after this long: longer than
# the slowed-down job (3 s), short enough for a test.
VISIBILITY_SECONDS = 10
TIME_LIMIT_SECONDS = 8  # below the visibility timeout, as the settings require
RENDITIONS = ("large.webp", "medium.webp", "original", "thumb.webp")


@pytest.fixture
def production(settings: Settings, private_redis: RedisServer) -> Settings:
    return settings.model_copy(
        update={
            "broker_url": private_redis.url,
            "job_visibility_timeout_seconds": VISIBILITY_SECONDS,
            "job_time_limit_seconds": TIME_LIMIT_SECONDS,
        }
    )


api = workers.api


async def _feed_ids(api: httpx.AsyncClient, reader: SignedIn) -> list[str]:
    response = await api.get("/api/v1/feed", headers=reader.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def _wait_for_feed(api: httpx.AsyncClient, reader: SignedIn, photo_id: str) -> list[str]:
    """The reader's feed once the photo is in it (fan-out is a job of its own)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while photo_id not in (ids := await _feed_ids(api, reader)):
        assert time.monotonic() < deadline, f"photo {photo_id} never reached the feed: {ids}"
        await asyncio.sleep(0.25)
    return ids


@pytest.mark.parametrize("victim", ["pool child", "main process"])
async def test_a_worker_killed_mid_job_leaves_the_photo_ready_exactly_once(
    api, production, tmp_path, victim
):
    owner = await signed_in_user(api)
    follower = await signed_in_user(api)
    followed = await api.put(f"/api/v1/users/{owner.username}/follow", headers=follower.headers)
    assert followed.status_code == 204
    assert await _feed_ids(api, follower) == []  # the follower's timeline now exists

    marker = tmp_path / "attempts.log"
    slow = {"SLOW_WORKER_MARKER": str(marker), "SLOW_WORKER_SECONDS": "3"}
    other = start_worker(
        production, tmp_path, ["-m", "tests.support.slow_worker"], slow, log_name="other.log"
    )
    try:
        async with slow_job(api, production, tmp_path, user=owner) as job:
            child = job.pool_child  # whichever worker took the job, its child is mid-way
            main = parent_of(child)
            assert main in (job.worker.pid, other.pid)
            os.kill(child if victim == "pool child" else main, signal.SIGKILL)
            photo = await wait_until_settled(api, job.photo_id, owner.headers)
            feed = await _wait_for_feed(api, follower, job.photo_id)
            photo_id = job.photo_id
    finally:
        stop_worker(other)

    logs = "\n".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("*.log")))
    assert photo["status"] == "ready", logs
    assert not alive(child), "the killed job's process lives on"
    # Killed once, then done once more by a worker still standing; never a third time.
    assert await attempts_of(api, photo_id) == 2, logs
    assert len(marker.read_text().split()) == 2, logs
    # One set of renditions, and no file of any other photo left behind.
    assert sorted(await api.runtime.storage.list_keys("photos/")) == [
        f"photos/{photo_id}/{name}" for name in RENDITIONS
    ]
    for name, rendition in photo["renditions"].items():
        assert rendition["url"], name
    # Counted once: in the owner's profile and in the follower's feed.
    profile = (await api.get(f"/api/v1/users/{owner.username}")).json()
    assert profile["photos_count"] == 1
    assert feed == [photo_id]
    listed = (await api.get(f"/api/v1/users/{owner.username}/photos")).json()["items"]
    assert [item["id"] for item in listed] == [photo_id]
