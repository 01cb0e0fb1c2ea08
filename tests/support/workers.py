"""Real `snapscale worker` processes for tests: an API that sends its jobs to a private
Redis broker, workers started against it (slowed down when a test must catch one
mid-job, see tests/support/slow_worker.py), and waiting for a photo to settle.

Test modules use the fixtures by assigning them to module names:
``production = workers.production`` and ``api = workers.api``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
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
from tests.support.servers import RedisServer, settings_env

WAIT_SECONDS = 90
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def production(settings: Settings, private_redis: RedisServer) -> Settings:
    """The test's settings, with jobs going to a private Redis broker."""
    return settings.model_copy(update={"broker_url": private_redis.url})


@pytest.fixture
async def api(production: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(production)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.runtime = app.state.runtime  # type: ignore[attr-defined]
            yield client


def start_worker(
    settings: Settings,
    tmp_path: Path,
    module: list[str],
    extra_env: Mapping[str, str] | None = None,
    *,
    log_name: str = "worker.log",
) -> subprocess.Popen[bytes]:
    """``python <module...>`` with these settings, in a session of its own (so stopping
    it reaches its pool children and nothing else), logging to ``tmp_path / log_name``."""
    with (tmp_path / log_name).open("wb") as log:
        return subprocess.Popen(
            [sys.executable, *module],
            env=settings_env(settings) | dict(extra_env or {}),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


async def wait_until_settled(
    api: httpx.AsyncClient, photo_id: str, headers: Mapping[str, str]
) -> dict[str, object]:
    """The photo, as its owner sees it, once it is no longer processing."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        photo: dict[str, object] = (
            await api.get(f"/api/v1/photos/{photo_id}", headers=headers)
        ).json()
        if photo["status"] != "processing":
            return photo
        await asyncio.sleep(0.25)
    raise AssertionError(f"photo {photo_id} still processing after {WAIT_SECONDS}s")


async def attempts_of(api: httpx.AsyncClient, photo_id: str) -> int:
    """How many processing attempts the photo's row records."""
    async with api.runtime.unit_of_work() as uow:  # type: ignore[attr-defined]
        photo = await uow.session.get(Photo, int(photo_id))
        assert photo is not None
        return int(photo.attempts)


@dataclass
class SlowJob:
    worker: subprocess.Popen[bytes]
    user: SignedIn
    photo_id: str
    marker: Path  # the slow worker writes the pid of each pool child that starts the job
    pool_child: int


@asynccontextmanager
async def slow_job(
    api: httpx.AsyncClient,
    production: Settings,
    tmp_path: Path,
    *,
    user: SignedIn | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[SlowJob]:
    """A slow worker (see tests/support/slow_worker.py) whose pool child is mid-way through
    processing a fresh upload (by ``user``, or a new account); the worker is stopped at
    the end."""
    marker = tmp_path / "attempts.log"
    worker = start_worker(
        production,
        tmp_path,
        ["-m", "tests.support.slow_worker"],
        {"SLOW_WORKER_MARKER": str(marker), "SLOW_WORKER_SECONDS": "3", **(extra_env or {})},
    )
    try:
        user = user or await signed_in_user(api)
        photo_id = (await upload(api, user.headers, images.jpeg(1600, 1200))).json()["id"]
        deadline = time.monotonic() + WAIT_SECONDS
        while not (marker.exists() and marker.read_text().strip()):
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            await asyncio.sleep(0.1)
        yield SlowJob(worker, user, photo_id, marker, int(marker.read_text().split()[0]))
    finally:
        stop_worker(worker)
