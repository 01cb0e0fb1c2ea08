"""/healthz says the process answers; /readyz checks each dependency and names what failed,
within the readiness timeout, without leaking a password."""

import asyncio

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from snapscale.api.app import create_api
from snapscale.embedded import EmbeddedApp
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY
from tests.support.servers import RedisServer, free_port

# Far longer than any readiness answer may take: reaching it means the probe hung.
HANG_GUARD_SECONDS = 30
# Where every dependency is up, a busy test machine must not turn a slow answer
# (a first connection, a PING) into a failed check.
PATIENT = {"ready_timeout_seconds": 8.0, "redis_timeout_seconds": 5.0}


async def _probe(
    settings, path: str = "/readyz", *, app_factory=create_api, hung: RedisServer | None = None
) -> httpx.Response:
    """One probe of a fresh app; ``hung`` is a Redis paused for the probe only (the app's
    shutdown, which flushes to Redis, finds it answering again)."""
    app = app_factory(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            if hung is not None:
                hung.pause()
            try:
                async with asyncio.timeout(HANG_GUARD_SECONDS):
                    return await client.get(path)
            finally:
                if hung is not None:
                    hung.resume()


def _assert_not_ready(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    problem = response.json()
    assert problem["title"] == "Not ready"
    assert problem["instance"] == "/readyz"
    # Other checks may fail too on a busy machine; the one under test must be named.
    assert detail in problem["detail"].split("; ")


async def test_ready_when_every_dependency_answers(settings, stack):
    response = await _probe(settings.model_copy(update=PATIENT))

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    expected = {"database": "ok", "storage": "ok"}
    if stack == "postgresql":
        expected["redis"] = "ok"  # checked only where it is configured
    assert response.json() == {"status": "ready", "checks": expected}


async def test_healthz_answers_even_with_every_dependency_down(settings, private_redis, tmp_path):
    (tmp_path / "not-a-folder").write_bytes(b"")
    private_redis.stop()
    broken = settings.model_copy(
        update={
            "database_url": f"postgresql+asyncpg://someone@127.0.0.1:{free_port()}/nowhere",
            "redis_url": private_redis.url,
            "data_dir": tmp_path / "not-a-folder",
        }
    )

    response = await _probe(broken, "/healthz")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


def _assert_degraded(response: httpx.Response, redis_detail: str) -> None:
    """Still ready (200): Redis down leaves every replica serving, so none is taken out."""
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"] == redis_detail
    assert body["checks"]["database"] == "ok"


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
async def test_redis_stopped_is_degraded_not_unready_naming_redis(settings, private_redis):
    password = "redis-password-never-shown"
    port = private_redis.port
    private_redis.stop()
    configured = settings.model_copy(
        update={"redis_url": f"redis://:{password}@127.0.0.1:{port}/0", **PATIENT}
    )

    response = await _probe(configured)

    _assert_degraded(response, "connection refused")
    assert password not in response.text


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("redis_timeout", "ready_timeout", "reported"),
    [
        (0.25, 1.0, "0.25s"),  # the Redis client's own short timeout fires first
        (5.0, 0.5, "0.5s"),  # the readiness limit cuts a slower client short
    ],
)
async def test_hung_redis_is_degraded_within_the_timeout(
    settings, private_redis, redis_timeout, ready_timeout, reported
):
    configured = settings.model_copy(
        update={
            "redis_url": private_redis.url,
            "redis_timeout_seconds": redis_timeout,
            "ready_timeout_seconds": ready_timeout,
        }
    )
    response = await _probe(configured, hung=private_redis)

    _assert_degraded(response, f"timed out after {reported}")


async def test_unwritable_media_folder_is_not_ready_naming_storage(settings):
    (settings.data_dir / "media").write_bytes(b"a file where the media folder should be")

    response = await _probe(settings)

    assert response.status_code == 503
    storage = [part for part in response.json()["detail"].split("; ") if "storage" in part]
    assert storage, response.text
    assert storage[0].startswith("storage: Media folder ")
    assert storage[0].endswith("is not writable: File exists.")


def _on_s3(settings, s3_server, bucket: str):
    return settings.model_copy(
        update={
            **PATIENT,
            "storage_url": f"s3://{bucket}",
            "s3_endpoint_url": s3_server.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SecretStr(SECRET_KEY),
        }
    )


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
async def test_s3_bucket_that_exists_is_ready(settings, s3_server, s3_bucket):
    response = await _probe(_on_s3(settings, s3_server, s3_bucket))

    assert response.status_code == 200, response.text
    assert response.json()["checks"]["storage"] == "ok"


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
async def test_missing_s3_bucket_is_not_ready_naming_storage(settings, s3_server):
    response = await _probe(_on_s3(settings, s3_server, "no-such-bucket"))

    _assert_not_ready(response, "storage: Bucket 'no-such-bucket' does not exist.")
    assert SECRET_KEY not in response.text


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
async def test_unreachable_database_is_not_ready_naming_the_database(settings):
    unreachable = settings.model_copy(
        update={
            "database_url": f"postgresql+asyncpg://snapscale:hunter22@127.0.0.1:{free_port()}/db"
        }
    )

    response = await _probe(unreachable)

    _assert_not_ready(response, "database: connection refused")
    assert "hunter22" not in response.text


async def test_embedded_mode_answers_readyz_from_the_api(settings):
    response = await _probe(settings.model_copy(update=PATIENT), app_factory=EmbeddedApp)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == "ready"
