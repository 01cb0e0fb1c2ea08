"""With Redis stopped or hung, the API still answers profile reads from the database, and
its metrics say Redis is failing (readiness stays up: see tests/api/test_health.py)."""

import time

import httpx
import pytest
from asgi_lifespan import LifespanManager

from snapscale.api.app import create_api
from tests.observability.scraping import parse, value
from tests.support.factories import register, signed_in_user


@pytest.fixture
async def api_on_private_redis(settings, private_redis):
    app = create_api(settings.model_copy(update={"redis_url": private_redis.url}))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_profile_reads_answer_200_with_redis_stopped(api_on_private_redis, private_redis):
    api = api_on_private_redis
    data = await register(api, display_name="Before")
    assert (await api.get(f"/api/v1/users/{data['username']}")).status_code == 200  # cached

    private_redis.stop()
    responses = [await api.get(f"/api/v1/users/{data['username']}") for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 5
    assert responses[-1].json()["display_name"] == "Before"


async def test_writes_and_reads_work_with_redis_stopped(api_on_private_redis, private_redis):
    api = api_on_private_redis
    failures_before = await _redis_failures(api)
    private_redis.stop()

    user = await signed_in_user(api)
    edit = await api.patch("/api/v1/users/me", headers=user.headers, json={"bio": "still here"})
    profile = await api.get(f"/api/v1/users/{user.username}")

    assert edit.status_code == 200
    assert profile.status_code == 200
    assert profile.json()["bio"] == "still here"
    assert await _redis_failures(api) > failures_before


async def _redis_failures(api: httpx.AsyncClient) -> float:
    samples = parse((await api.get("/metrics")).text)
    return value(samples, "snapscale_redis_failures_total", use="cache")


async def test_profile_reads_answer_with_redis_hung(api_on_private_redis, private_redis):
    api = api_on_private_redis
    data = await register(api)
    private_redis.pause()
    try:
        started = time.monotonic()
        statuses = [
            (await api.get(f"/api/v1/users/{data['username']}")).status_code for _ in range(10)
        ]
        elapsed = time.monotonic() - started
    finally:
        private_redis.resume()
    assert statuses == [200] * 10
    assert elapsed < 5  # a hung Redis must not hold requests for its full default timeout
