"""A real Celery worker against a real Redis broker and PostgreSQL processes uploads, and
a photo survives the worker being killed mid-job: it still ends ready, exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.core.models import Photo
from tests.support import images
from tests.support.factories import SignedIn, signed_in_user
from tests.support.photos import upload
from tests.support.servers import settings_env

pytestmark = pytest.mark.parametrize("stack", ["postgresql"], indirect=True)

WAIT_SECONDS = 90


@pytest.fixture
def production(settings: Settings, private_redis) -> Settings:
    return settings.model_copy(update={"broker_url": private_redis.url})


@pytest.fixture
async def api(production: Settings):
    app = create_api(production)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.runtime = app.state.runtime
            yield client


def _start_worker(settings: Settings, tmp_path: Path, module: list[str], extra_env=None):
    log = (tmp_path / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, *module],
        env=settings_env(settings) | (extra_env or {}),
        cwd=Path(__file__).resolve().parents[2],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


async def _wait_until_settled(api, photo_id: str, headers) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        photo = (await api.get(f"/api/v1/photos/{photo_id}", headers=headers)).json()
        if photo["status"] != "processing":
            return photo
        await asyncio.sleep(0.25)
    raise AssertionError(f"photo {photo_id} still processing after {WAIT_SECONDS}s")


async def _attempts(api, photo_id: str) -> int:
    async with api.runtime.unit_of_work() as uow:
        return (await uow.session.get(Photo, int(photo_id))).attempts


async def test_a_real_worker_processes_an_upload(api, production, tmp_path):
    worker = _start_worker(production, tmp_path, ["-m", "snapscale", "worker", "-c", "1"])
    try:
        user = await signed_in_user(api)
        response = await upload(api, user.headers, images.jpeg(1600, 1200, gps=True))
        assert response.status_code == 202
        photo = await _wait_until_settled(api, response.json()["id"], user.headers)
    finally:
        _stop_worker(worker)

    assert photo["status"] == "ready", (tmp_path / "worker.log").read_text()
    keys = await api.runtime.storage.list_keys(f"photos/{photo['id']}/")
    assert len(keys) == 4


@dataclass
class SlowJob:
    worker: subprocess.Popen[bytes]
    user: SignedIn
    photo_id: str
    marker: Path  # the slow worker writes the pid of each pool child that starts the job
    pool_child: int


@asynccontextmanager
async def slow_job(api, production: Settings, tmp_path: Path) -> AsyncIterator[SlowJob]:
    """A slow worker (see tests/support/slow_worker.py) whose pool child is mid-way through
    processing a fresh upload; the worker is stopped at the end."""
    marker = tmp_path / "attempts.log"
    worker = _start_worker(
        production,
        tmp_path,
        ["-m", "tests.support.slow_worker"],
        {"SLOW_WORKER_MARKER": str(marker), "SLOW_WORKER_SECONDS": "3"},
    )
    try:
        user = await signed_in_user(api)
        photo_id = (await upload(api, user.headers, images.jpeg(1600, 1200))).json()["id"]
        deadline = time.monotonic() + WAIT_SECONDS
        while not (marker.exists() and marker.read_text().strip()):
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            await asyncio.sleep(0.1)
        yield SlowJob(worker, user, photo_id, marker, int(marker.read_text().split()[0]))
    finally:
        _stop_worker(worker)


async def test_killing_the_worker_mid_job_still_ends_ready_exactly_once(api, production, tmp_path):
    async with slow_job(api, production, tmp_path) as job:
        first_pid, marker, photo_id = job.pool_child, job.marker, job.photo_id
        os.kill(first_pid, signal.SIGKILL)  # the pool child running the job, mid-job
        photo = await _wait_until_settled(api, photo_id, job.user.headers)

    log = (tmp_path / "worker.log").read_text()
    assert photo["status"] == "ready", log
    pids = marker.read_text().split()
    assert len(pids) == 2, log  # killed once, then run again once by a fresh child
    assert pids[1] != str(first_pid)
    assert await _attempts(api, photo_id) == 2
    keys = sorted(await api.runtime.storage.list_keys(f"photos/{photo_id}/"))
    assert keys == [
        f"photos/{photo_id}/{n}" for n in ("large.webp", "medium.webp", "original", "thumb.webp")
    ]
