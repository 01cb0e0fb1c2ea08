"""Rate limits in the API, seen from outside: a 429 problem with Retry-After and the
RateLimit headers, counted per address, per account and per account name, shared by
every replica through Redis, and still applied while Redis is down or hung."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from snapscale.api.app import create_api
from snapscale.config import Settings
from tests.support.factories import register, sign_in, signed_in_user
from tests.support.photos import upload

WRONG = "wrong-password-9"
PROBLEM = "application/problem+json"
DEFAULT_ADDRESS = "192.0.2.10"


class Replicas:
    """API apps on the test's settings (with changes), and clients connecting from a
    chosen address."""

    def __init__(self, settings: Settings, stack: AsyncExitStack) -> None:
        self.settings = settings
        self._stack = stack

    async def start(self, **changes: object) -> FastAPI:
        app = create_api(self.settings.model_copy(update=changes))
        # Shutting down waits for uploaded photos' processing, slow on a busy machine.
        lifespan = LifespanManager(app, startup_timeout=30, shutdown_timeout=120)
        manager = await self._stack.enter_async_context(lifespan)
        app.state.served = manager.app
        return app

    async def client(
        self,
        app: FastAPI,
        address: str | None = DEFAULT_ADDRESS,
        *,
        base_url: str = "http://testserver",
    ) -> httpx.AsyncClient:
        """A client connecting from ``address``; None is a peer on a unix socket."""
        peer = (address, 50_000) if address is not None else None
        transport = httpx.ASGITransport(app=app.state.served, client=peer)  # type: ignore[arg-type]
        client = httpx.AsyncClient(transport=transport, base_url=base_url)
        client.runtime = app.state.runtime  # type: ignore[attr-defined]
        return await self._stack.enter_async_context(client)


@pytest.fixture
async def replicas(settings: Settings) -> AsyncIterator[Replicas]:
    async with AsyncExitStack() as stack:
        yield Replicas(settings, stack)


def rate_headers(response: httpx.Response) -> tuple[str, str]:
    return response.headers["RateLimit-Limit"], response.headers["RateLimit-Remaining"]


async def test_the_log_in_attempt_after_the_limit_is_a_429_problem(replicas: Replicas) -> None:
    api = await replicas.client(await replicas.start(rate_limit_login="3/minute"))
    user = await register(api)

    attempts = [await sign_in(api, user["username"], WRONG) for _ in range(3)]
    refused = await sign_in(api, user["username"])  # the right password no longer helps

    assert [attempt.status_code for attempt in attempts] == [401, 401, 401]
    assert [rate_headers(attempt) for attempt in attempts] == [("3", "2"), ("3", "1"), ("3", "0")]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["type"] == "urn:snapscale:problem:rate-limited"
    assert problem["status"] == 429
    assert problem["detail"].startswith("Too many log-in attempts from your address")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Reset"] == refused.headers["Retry-After"]
    assert rate_headers(refused) == ("3", "0")


async def test_a_successful_log_in_carries_the_rate_limit_headers(replicas: Replicas) -> None:
    api = await replicas.client(await replicas.start(rate_limit_login="5/minute"))
    user = await register(api)

    response = await sign_in(api, user["username"])

    assert response.status_code == 200
    assert rate_headers(response) == ("5", "4")
    assert 1 <= int(response.headers["RateLimit-Reset"]) <= 60
    assert "Retry-After" not in response.headers


async def test_one_account_attacked_from_many_addresses_is_throttled(replicas: Replicas) -> None:
    app = await replicas.start(
        rate_limit_login="100/minute", rate_limit_login_per_account="3/minute"
    )
    attackers = [await replicas.client(app, f"203.0.113.{n}") for n in range(1, 5)]
    target = await register(attackers[0])
    bystander = await register(attackers[0])

    statuses = [(await sign_in(a, target["email"], WRONG)).status_code for a in attackers]
    # The name is counted however it is typed.
    shouted = await sign_in(attackers[0], target["email"].upper(), WRONG)

    assert statuses == [401, 401, 401, 429]
    assert shouted.status_code == 429
    assert "log-in attempts for this account" in shouted.json()["detail"]
    assert (await sign_in(attackers[1], bystander["username"])).status_code == 200


async def test_sign_ups_are_limited_per_address(replicas: Replicas) -> None:
    app = await replicas.start(rate_limit_register="2/hour")
    api = await replicas.client(app)
    elsewhere = await replicas.client(app, "198.51.100.20")

    await register(api)
    await register(api)
    refused = await api.post(
        "/api/v1/auth/register",
        json={"username": "third", "email": "third@example.com", "password": "tulip-garden-42"},
    )

    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert "sign-ups from your address" in refused.json()["detail"]
    assert 3000 < int(refused.headers["Retry-After"]) <= 3600
    assert (await api.get("/api/v1/users/third")).status_code == 404
    await register(elsewhere)


async def test_token_refreshes_are_limited_per_address(replicas: Replicas) -> None:
    api = await replicas.client(await replicas.start(rate_limit_refresh="2/minute"))
    user = await signed_in_user(api)

    token = user.refresh_token
    for _ in range(2):
        response = await api.post("/api/v1/auth/refresh", json={"refresh_token": token})
        assert response.status_code == 200
        token = response.json()["refresh_token"]
    refused = await api.post("/api/v1/auth/refresh", json={"refresh_token": token})

    assert refused.status_code == 429
    assert "token refreshes" in refused.json()["detail"]


async def test_every_request_counts_per_address_but_probes_do_not(replicas: Replicas) -> None:
    app = await replicas.start(rate_limit_per_ip="5/minute")
    api = await replicas.client(app, "198.51.100.7")
    neighbour = await replicas.client(app, "198.51.100.8")

    statuses = [(await api.get("/api/v1/users")).status_code for _ in range(6)]
    refused = await api.get("/openapi.json")

    assert statuses == [200] * 5 + [429]
    assert refused.status_code == 429
    assert "requests from your address" in refused.json()["detail"]
    assert (await api.get("/healthz")).status_code == 200
    assert "RateLimit-Limit" not in (await api.get("/healthz")).headers
    assert (await neighbour.get("/api/v1/users")).status_code == 200


async def test_an_account_is_limited_across_addresses(replicas: Replicas) -> None:
    app = await replicas.start(rate_limit_per_account="4/minute")
    home = await replicas.client(app, "192.0.2.1")
    away = await replicas.client(app, "192.0.2.2")
    user = await signed_in_user(home)

    statuses = [
        (await client.get("/api/v1/users/me", headers=user.headers)).status_code
        for client in (home, away, home, away, home)
    ]

    assert statuses == [200, 200, 200, 200, 429]
    assert (await away.get("/api/v1/users")).status_code == 200  # signed out, own address


async def test_uploads_past_the_quota_are_refused(replicas: Replicas) -> None:
    api = await replicas.client(await replicas.start(rate_limit_uploads="2/hour"))
    user = await signed_in_user(api)
    other = await signed_in_user(api)

    accepted = [await upload(api, user.headers) for _ in range(2)]
    refused = await upload(api, user.headers)

    assert [response.status_code for response in accepted] == [202, 202]
    assert rate_headers(accepted[-1]) == ("2", "0")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert "photo uploads for your account" in refused.json()["detail"]
    assert 3000 < int(refused.headers["Retry-After"]) <= 3600
    mine = await api.get(f"/api/v1/users/{user.username}/photos", headers=user.headers)
    assert len(mine.json()["items"]) == 2
    assert (await upload(api, other.headers)).status_code == 202


async def test_ipv6_clients_are_counted_per_subscriber_prefix(replicas: Replicas) -> None:
    app = await replicas.start(rate_limit_per_ip="2/minute", forwarded_allow_ips="10.0.0.1")
    proxy = await replicas.client(app, "10.0.0.1")

    async def from_client(address: str) -> int:
        response = await proxy.get("/api/v1/users", headers={"X-Forwarded-For": address})
        return response.status_code

    # One /64 is one subscriber: rotating addresses inside it buys nothing.
    same_prefix = [await from_client(f"2001:db8:0:7::{n}") for n in (1, 2, 3)]
    assert same_prefix == [200, 200, 429]
    assert await from_client("2001:db8:0:8::1") == 200


async def test_limits_can_be_turned_off(replicas: Replicas) -> None:
    app = await replicas.start(rate_limits_enabled=False, rate_limit_login="1/minute")
    api = await replicas.client(app)
    user = await register(api)

    attempts = [await sign_in(api, user["username"], WRONG) for _ in range(4)]

    assert [attempt.status_code for attempt in attempts] == [401] * 4
    assert all("RateLimit-Limit" not in attempt.headers for attempt in attempts)


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
async def test_replicas_sharing_redis_share_the_count(replicas: Replicas) -> None:
    one = await replicas.client(await replicas.start(rate_limit_login="4/minute"))
    two = await replicas.client(await replicas.start(rate_limit_login="4/minute"))
    user = await register(one)

    statuses = [(await sign_in(api, user["username"], WRONG)).status_code for api in (one, two)]
    statuses += [(await sign_in(api, user["username"], WRONG)).status_code for api in (one, two)]
    refused_by_the_other = await sign_in(one, user["username"])

    assert statuses == [401] * 4
    assert refused_by_the_other.status_code == 429


def _rate_limit_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "snapscale.core.ratelimit"]


async def test_with_redis_stopped_the_api_answers_and_still_throttles(
    replicas: Replicas, private_redis, caplog: pytest.LogCaptureFixture
) -> None:
    app = await replicas.start(redis_url=private_redis.url, rate_limit_login="3/minute")
    api = await replicas.client(app)
    user = await register(api)
    private_redis.stop()

    with caplog.at_level(logging.WARNING, logger="snapscale.core.ratelimit"):
        statuses = [(await sign_in(api, user["username"], WRONG)).status_code for _ in range(4)]
        profile = await api.get(f"/api/v1/users/{user['username']}")

    # Counted in this process meanwhile: the fourth attempt is refused all the same.
    assert statuses == [401, 401, 401, 429]
    assert profile.status_code == 200
    assert rate_headers(profile)[0] == "1200"
    assert "counting in-process" in _rate_limit_warnings(caplog)[0].getMessage()


async def test_with_redis_hung_the_api_answers_and_still_throttles(
    replicas: Replicas, private_redis, caplog: pytest.LogCaptureFixture
) -> None:
    app = await replicas.start(redis_url=private_redis.url, rate_limit_login="3/minute")
    api = await replicas.client(app)
    user = await register(api)

    private_redis.pause()
    try:
        with caplog.at_level(logging.WARNING, logger="snapscale.core.ratelimit"):
            statuses = [(await sign_in(api, user["username"], WRONG)).status_code for _ in range(4)]
            reads = [(await api.get("/api/v1/users")).status_code for _ in range(6)]
    finally:
        private_redis.resume()

    assert statuses == [401, 401, 401, 429]
    assert reads == [200] * 6
    # The breaker: after a timeout Redis is skipped for a while, not waited on per request.
    assert 1 <= len(_rate_limit_warnings(caplog)) < 3
