"""Guessing passwords through the API is throttled per account, however the account is
named (its username or its email, any case) and whichever door is used (the token
endpoint, or a password change with a stolen token), without telling anyone whether a
name belongs to an account. Guessing whether an email is in use is throttled as tightly
on an email change as on sign-up.

The basic 429 (per address, Retry-After, problem+json) is proved in test_ratelimit.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest

from snapscale.config import Settings
from snapscale.core.accounts import service as account_service
from tests.api.test_ratelimit import Replicas, rate_headers
from tests.support.factories import PASSWORD, register, sign_in, signed_in_user

WRONG = "wrong-password-9"
PROBLEM = "application/problem+json"
ACCOUNT_LIMIT = "log-in attempts for this account"


@pytest.fixture
async def replicas(settings: Settings) -> AsyncIterator[Replicas]:
    async with AsyncExitStack() as stack:
        yield Replicas(settings, stack)


async def test_every_spelling_of_an_account_draws_on_one_budget(replicas: Replicas) -> None:
    app = await replicas.start(
        rate_limit_login="100/minute", rate_limit_login_per_account="3/minute"
    )
    attackers = [await replicas.client(app, f"203.0.113.{n}") for n in range(1, 5)]
    target = await register(attackers[0], email="Target.Person@Example.com")
    bystander = await register(attackers[0])
    spellings = [
        target["username"],
        target["email"],
        target["email"].upper(),
        f"  {target['username'].upper()}  ",
    ]

    attempts = [
        await sign_in(attacker, login, WRONG)
        for attacker, login in zip(attackers, spellings, strict=True)
    ]
    with_the_password = await sign_in(attackers[1], target["email"].lower())

    assert [attempt.status_code for attempt in attempts] == [401, 401, 401, 429]
    for refused in (attempts[-1], with_the_password):
        assert refused.status_code == 429
        assert refused.headers["content-type"] == PROBLEM
        assert ACCOUNT_LIMIT in refused.json()["detail"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert (await sign_in(attackers[2], bystander["email"])).status_code == 200


async def test_a_name_without_an_account_is_throttled_the_same_way(replicas: Replicas) -> None:
    app = await replicas.start(
        rate_limit_login="100/minute", rate_limit_login_per_account="3/minute"
    )
    target = await register(await replicas.client(app, "198.51.100.1"))

    async def attack(login: str, first_address: int) -> list[httpx.Response]:
        clients = [await replicas.client(app, f"203.0.113.{first_address + n}") for n in range(4)]
        return [await sign_in(client, login, WRONG) for client in clients]

    real = await attack(target["email"], 10)
    ghost = await attack("nobody.here@example.com", 20)

    digits = re.compile(r"\d+")  # the seconds left may tick between the two attacks

    def seen(responses: list[httpx.Response]) -> list[tuple[object, ...]]:
        return [
            (
                r.status_code,
                rate_headers(r),
                digits.sub("N", r.json()["detail"]),
                r.headers.get("WWW-Authenticate"),
            )
            for r in responses
        ]

    assert [r.status_code for r in real] == [401, 401, 401, 429]
    assert seen(real) == seen(ghost)


async def test_the_headers_do_not_tell_that_two_names_are_one_account(
    replicas: Replicas,
) -> None:
    app = await replicas.start(rate_limit_login="5/minute", rate_limit_login_per_account="3/minute")
    target = await register(await replicas.client(app, "198.51.100.1"))
    first = await replicas.client(app, "203.0.113.1")
    for _ in range(2):
        await sign_in(first, target["username"], WRONG)  # the account has one try left

    # From fresh addresses: is this email the same account? Compare with an email of
    # nobody's: the answers must not differ.
    same_account = await sign_in(await replicas.client(app, "203.0.113.2"), target["email"], WRONG)
    nobody = await sign_in(await replicas.client(app, "203.0.113.3"), "x.y@example.net", WRONG)

    assert same_account.status_code == nobody.status_code == 401
    assert rate_headers(same_account) == rate_headers(nobody) == ("5", "4")
    assert same_account.json() == nobody.json()


async def test_guessing_the_current_password_with_a_stolen_token_is_throttled(
    replicas: Replicas,
) -> None:
    app = await replicas.start(
        rate_limit_login="100/minute", rate_limit_login_per_account="3/minute"
    )
    victim = await signed_in_user(await replicas.client(app, "198.51.100.1"))
    thief = await replicas.client(app, "203.0.113.66")

    async def change(current: str) -> httpx.Response:
        return await thief.post(
            "/api/v1/users/me/password",
            headers=victim.headers,
            json={"current_password": current, "new_password": "stolen-account-77"},
        )

    guesses = [await change(f"guess-number-{n}") for n in range(2)]
    refused = await change(PASSWORD)  # the right one, too late
    owner_at_home = await sign_in(await replicas.client(app, "198.51.100.1"), victim.email)

    # The victim signed in once, so two guesses are left in this window.
    assert [guess.status_code for guess in guesses] == [422, 422]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert ACCOUNT_LIMIT in refused.json()["detail"]
    assert owner_at_home.status_code == 429  # one budget for every way of guessing
    # Nothing changed: the old password still opens the account (checked in the core,
    # past the throttle), and the token the thief holds still works.
    runtime = app.state.runtime
    assert await runtime.run(account_service.authenticate, login=victim.username, password=PASSWORD)
    me = await thief.get("/api/v1/users/me", headers=victim.headers)
    assert me.status_code == 200


async def test_probing_emails_through_an_email_change_is_throttled_like_sign_up(
    replicas: Replicas,
) -> None:
    app = await replicas.start(rate_limit_register="3/hour")
    home = await replicas.client(app, "198.51.100.1")
    taken = [await register(home) for _ in range(3)]
    prober = await signed_in_user(await replicas.client(app, "198.51.100.2"))
    api = await replicas.client(app, "203.0.113.9")

    async def change_email(email: str) -> httpx.Response:
        return await api.patch("/api/v1/users/me", headers=prober.headers, json={"email": email})

    answers = [await change_email(account["email"]) for account in taken]
    # Edits that cannot tell anything about another account are not counted.
    unchanged = await change_email(prober.email.upper())
    bio = await api.patch("/api/v1/users/me", headers=prober.headers, json={"bio": "hi"})
    refused = await change_email("fresh.address@example.com")
    sign_up_from_there = await api.post(
        "/api/v1/auth/register",
        json={"username": "late.one", "email": "late@example.com", "password": PASSWORD},
    )

    assert [answer.status_code for answer in answers] == [409, 409, 409]
    assert unchanged.status_code == bio.status_code == 200
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert "email changes from your address" in refused.json()["detail"]
    assert 3000 < int(refused.headers["Retry-After"]) <= 3600
    assert sign_up_from_there.status_code == 429  # one budget for both ways of asking
    me = (await api.get("/api/v1/users/me", headers=prober.headers)).json()
    assert me["email"].lower() == prober.email.lower()
