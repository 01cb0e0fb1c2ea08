"""The job broker is down when a photo is uploaded: the upload is still accepted (its data
is committed before the job is sent), quickly and without a 500, and the photo is not
forgotten: once the broker is back, the periodic sweep re-sends its job and it ends ready.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.core.photos.jobs import STUCK_AFTER_SECONDS
from snapscale.worker.sender import QUEUE
from tests.support import images
from tests.support.factories import signed_in_user
from tests.support.photos import upload
from tests.support.servers import RedisServer
from tests.support.workers import start_worker, stop_worker, wait_until_settled

pytestmark = [pytest.mark.chaos, pytest.mark.parametrize("stack", ["postgresql"], indirect=True)]

FAIL_FAST_SECONDS = 5.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    """The broker: a Redis of its own, apart from the cache's, so stopping it breaks only
    the sending of jobs."""
    server = RedisServer(tmp_path / "broker").start()
    yield server
    server.stop()


@pytest.fixture
def production(settings: Settings, broker: RedisServer) -> Settings:
    return settings.model_copy(update={"broker_url": broker.url})


@pytest.fixture
async def api(production: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(production)
    async with LifespanManager(app) as manager:
        # As a server would: an unhandled error becomes a 500 answer, which the test sees.
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.runtime = app.state.runtime  # type: ignore[attr-defined]
            yield client


def queued_jobs(broker: RedisServer) -> int:
    client = redis.Redis.from_url(broker.url)
    try:
        return int(client.llen(QUEUE))
    finally:
        client.close()


async def age(api: httpx.AsyncClient, photo_id: str, *, seconds: int) -> None:
    """Make the photo look untouched for ``seconds``, as if that much time had passed."""
    async with api.runtime.unit_of_work() as uow:  # type: ignore[attr-defined]
        await uow.session.execute(
            text(
                "UPDATE photos SET updated_at = updated_at - make_interval(secs => :s)"
                " WHERE id = :id"
            ),
            {"s": seconds, "id": int(photo_id)},
        )
        await uow.commit()


async def test_an_upload_while_the_broker_is_down_is_kept_and_processed_once_it_is_back(
    api: httpx.AsyncClient, production: Settings, broker: RedisServer, tmp_path: Path
) -> None:
    user = await signed_in_user(api)
    broker.stop()

    started = time.monotonic()
    accepted = await upload(api, user.headers, images.jpeg(1200, 900), caption="kept")
    seconds = time.monotonic() - started

    # The photo and its original were committed before the job could not be sent: the
    # upload stands, and says so, rather than a 500 for data that is in fact saved.
    assert accepted.status_code == 202, accepted.text
    assert seconds < FAIL_FAST_SECONDS
    photo_id = accepted.json()["id"]
    mine = await api.get(f"/api/v1/users/{user.username}/photos", headers=user.headers)
    assert [(p["id"], p["status"]) for p in mine.json()["items"]] == [(photo_id, "processing")]

    broker.start()
    assert queued_jobs(broker) == 0  # the job really was lost with the outage
    worker = start_worker(production, tmp_path, ["-m", "snapscale", "worker", "-c", "1"])
    try:
        # What `snapscale beat` sends every minute, once the photo has sat untouched for
        # longer than any real job takes (the clock is moved, rather than waited for).
        await age(api, photo_id, seconds=STUCK_AFTER_SECONDS + 60)
        await api.runtime.jobs.send("photos.sweep", {})  # type: ignore[attr-defined]
        photo = await wait_until_settled(api, photo_id, user.headers)
    finally:
        stop_worker(worker)

    assert photo["status"] == "ready", (tmp_path / "worker.log").read_text()[-3000:]
    assert photo["caption"] == "kept"
    keys = await api.runtime.storage.list_keys(f"photos/{photo_id}/")  # type: ignore[attr-defined]
    assert len(keys) == 4  # the original and three renditions
