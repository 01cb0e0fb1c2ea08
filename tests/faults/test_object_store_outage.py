"""The object store goes away: an upload is refused with a 503 and leaves nothing behind,
and a photo whose processing meets the outage waits it out and still ends ready.

Each test runs its own S3 endpoint (moto's server), so stopping it touches no other test.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr
from sqlalchemy import update

from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Registration
from snapscale.core.models import Photo
from snapscale.core.photos import jobs as photo_jobs
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import Upload
from snapscale.core.runtime import Runtime
from snapscale.core.storage import StorageUnavailable
from tests.support import images
from tests.support.factories import PASSWORD, signed_in_user
from tests.support.photos import finish_jobs, upload
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from tests.support.servers import RedisServer
from tests.support.workers import start_worker, stop_worker, wait_until_settled

pytestmark = [pytest.mark.chaos, pytest.mark.parametrize("stack", ["postgresql"], indirect=True)]

FAIL_FAST_SECONDS = 5.0
WAIT_SECONDS = 60.0  # for the worker's first failed attempts
RENDITIONS = ("large.webp", "medium.webp", "original", "thumb.webp")


@pytest.fixture
def store() -> Iterator[S3Server]:
    """An S3 endpoint of this test's own, which the test may stop and start again."""
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def bucket(store: S3Server) -> str:
    # Buckets outlive the endpoint (moto keeps them per process): a fresh name each time.
    return store.create_bucket(f"fault-photos-{uuid.uuid4().hex[:12]}")


def on_store(settings: Settings, store: S3Server, bucket: str, **extra: object) -> Settings:
    return settings.model_copy(
        update={
            "storage_url": f"s3://{bucket}/media",
            "s3_endpoint_url": store.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SecretStr(SECRET_KEY),
            **extra,
        }
    )


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(settings)
    async with LifespanManager(app) as manager:
        # As a server would: an unhandled error becomes a 500 answer, which the test sees.
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.runtime = app.state.runtime  # type: ignore[attr-defined]
            yield client


def bucket_keys(store: S3Server, bucket: str) -> list[str]:
    listing = store.client().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def photo_keys(photo_id: str) -> list[str]:
    return [f"media/photos/{photo_id}/{name}" for name in RENDITIONS]


@pytest.fixture
async def api(settings: Settings, store: S3Server, bucket: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the private store, running its jobs in process (embedded style)."""
    async with serving(on_store(settings, store, bucket)) as client:
        yield client


async def test_upload_while_the_store_is_down_is_a_503_and_leaves_nothing_behind(
    api: httpx.AsyncClient, store: S3Server, bucket: str
) -> None:
    user = await signed_in_user(api)
    first = (await upload(api, user.headers, images.jpeg(640, 480))).json()
    await finish_jobs(api)  # the store's client now holds open connections to it

    store.stop()
    started = time.monotonic()
    refused = await upload(api, user.headers, images.jpeg(800, 600), caption="lost")
    seconds = time.monotonic() - started

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["status"] == 503 and "storage" in problem["detail"].lower()
    assert SECRET_KEY not in refused.text and store.endpoint_url not in refused.text
    assert seconds < FAIL_FAST_SECONDS
    mine = await api.get(f"/api/v1/users/{user.username}/photos", headers=user.headers)
    assert [photo["id"] for photo in mine.json()["items"]] == [first["id"]]

    store.start()
    assert bucket_keys(store, bucket) == photo_keys(first["id"])  # no orphan original
    # Once the store answers again, so do uploads: nothing stayed broken.
    again = await upload(api, user.headers, images.jpeg(800, 600), caption="again")
    assert again.status_code == 202, again.text
    await finish_jobs(api)
    ready = (await api.get(f"/api/v1/photos/{again.json()['id']}")).json()
    assert ready["status"] == "ready"


async def test_a_store_outage_while_processing_is_retried_until_the_photo_is_ready(
    settings: Settings,
    store: S3Server,
    bucket: str,
    private_redis: RedisServer,
    tmp_path: Path,
) -> None:
    # Two attempts allowed: an outage that counted against them would fail the photo
    # after the third failed try, well within the outage below.
    production = on_store(settings, store, bucket, broker_url=private_redis.url, job_max_attempts=2)
    async with serving(production) as api:
        user = await signed_in_user(api)
        accepted = await upload(api, user.headers, images.jpeg(1200, 900))
        assert accepted.status_code == 202, accepted.text
        photo_id = accepted.json()["id"]
        # The original is stored; the job waits on the broker, as no worker runs yet.
        assert bucket_keys(store, bucket) == [f"media/photos/{photo_id}/original"]

        store.stop()
        log = tmp_path / "worker.log"
        worker = start_worker(
            production,
            tmp_path,
            ["-m", "snapscale", "worker", "-c", "1"],
            {
                # settings_env masks secrets it does not know; the worker needs this one.
                "SNAPSCALE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
                "SNAPSCALE_LOG_FORMAT": "json",
                "SNAPSCALE_WORKER_METRICS_PORT": "0",
            },
        )
        try:
            await wait_for_failed_attempts(log, at_least=3)
            status = (await api.get(f"/api/v1/photos/{photo_id}", headers=user.headers)).json()
            assert status["status"] == "processing", status
            store.start()
            photo = await wait_until_settled(api, photo_id, user.headers)
        finally:
            stop_worker(worker)

    assert photo["status"] == "ready", tail(log)
    assert bucket_keys(store, bucket) == photo_keys(photo_id)


async def test_attempts_that_meet_a_store_outage_do_not_use_up_the_photo(
    settings: Settings, store: S3Server, bucket: str
) -> None:
    """The job itself, run again and again through an outage, as retries would."""
    runtime = Runtime(on_store(settings, store, bucket, job_max_attempts=2))
    try:
        owner = await runtime.run(
            account_service.register,
            data=Registration(username="owner", email="owner@example.com", password=PASSWORD),
        )
        photo, _ = await runtime.run(
            photo_service.upload, owner_id=owner.id, data=Upload(data=images.jpeg(900, 600))
        )
        await runtime.jobs.wait_idle(limit_seconds=60)  # type: ignore[attr-defined]
        async with runtime.unit_of_work() as uow:  # as if its job had not run yet
            await uow.session.execute(
                update(Photo)
                .where(Photo.id == photo.id)
                .values(status="processing", attempts=0, renditions=None)
            )
            await uow.commit()

        store.stop()
        for _ in range(runtime.settings.job_max_attempts + 2):
            with pytest.raises(StorageUnavailable):
                await photo_jobs.process_photo(runtime, photo_id=photo.id)
        assert await status_and_attempts(runtime, photo.id) == ("processing", 0)

        store.start()
        await photo_jobs.process_photo(runtime, photo_id=photo.id)
        assert await status_and_attempts(runtime, photo.id) == ("ready", 1)
    finally:
        await runtime.aclose()


async def status_and_attempts(runtime: Runtime, photo_id: int) -> tuple[str, int]:
    async with runtime.unit_of_work(read_only=True) as uow:
        photo = await uow.session.get(Photo, photo_id)
        assert photo is not None
        return str(photo.status), int(photo.attempts)


def failed_attempts(log: Path) -> int:
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "job" and entry.get("job") == "photos.process":
            count += entry.get("outcome") in ("retried", "failed")
    return count


async def wait_for_failed_attempts(log: Path, *, at_least: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while failed_attempts(log) < at_least:
        assert time.monotonic() < deadline, tail(log)
        await asyncio.sleep(0.2)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]
