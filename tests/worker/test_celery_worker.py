"""A real Celery worker against a real Redis broker and PostgreSQL processes uploads, and
a photo survives the worker being killed mid-job: it still ends ready, exactly once."""

from __future__ import annotations

import os
import signal

import pytest

from tests.support import images, workers
from tests.support.factories import signed_in_user
from tests.support.photos import upload
from tests.support.workers import (
    attempts_of,
    slow_job,
    start_worker,
    stop_worker,
    wait_until_settled,
)

pytestmark = pytest.mark.parametrize("stack", ["postgresql"], indirect=True)

# An API on PostgreSQL and Redis that sends its jobs to a private Redis broker.
production = workers.production
api = workers.api


async def test_a_real_worker_processes_an_upload(api, production, tmp_path):
    worker = start_worker(production, tmp_path, ["-m", "snapscale", "worker", "-c", "1"])
    try:
        user = await signed_in_user(api)
        response = await upload(api, user.headers, images.jpeg(1600, 1200, gps=True))
        assert response.status_code == 202
        photo = await wait_until_settled(api, response.json()["id"], user.headers)
    finally:
        stop_worker(worker)

    assert photo["status"] == "ready", (tmp_path / "worker.log").read_text()
    keys = await api.runtime.storage.list_keys(f"photos/{photo['id']}/")
    assert len(keys) == 4


async def test_killing_the_worker_mid_job_still_ends_ready_exactly_once(api, production, tmp_path):
    async with slow_job(api, production, tmp_path) as job:
        first_pid, marker, photo_id = job.pool_child, job.marker, job.photo_id
        os.kill(first_pid, signal.SIGKILL)  # the pool child running the job, mid-job
        photo = await wait_until_settled(api, photo_id, job.user.headers)

    log = (tmp_path / "worker.log").read_text()
    assert photo["status"] == "ready", log
    pids = marker.read_text().split()
    assert len(pids) == 2, log  # killed once, then run again once by a fresh child
    assert pids[1] != str(first_pid)
    assert await attempts_of(api, photo_id) == 2
    keys = sorted(await api.runtime.storage.list_keys(f"photos/{photo_id}/"))
    assert keys == [
        f"photos/{photo_id}/{n}" for n in ("large.webp", "medium.webp", "original", "thumb.webp")
    ]
