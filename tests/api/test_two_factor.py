"""Two-factor sign-in through the API: turning it on with a code from the app, signing in
with a code or a recovery code (each good once), renewing recovery codes, turning it off,
and code attempts throttled per account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.core.models import RecoveryCode
from tests.support.factories import PASSWORD, sign_in, signed_in_user
from tests.support.two_factor import (
    TWO_FACTOR,
    code_now,
    next_code,
    sign_in_with_code,
    turn_on,
    wrong_code,
)

PROBLEM = "application/problem+json"
REQUIRED = "urn:snapscale:problem:two-factor-required"
FAILED = "urn:snapscale:problem:two-factor-failed"
BAD_CREDENTIALS = "urn:snapscale:problem:authentication-failed"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Room for many code attempts: throttling has a test of its own below."""
    return settings.model_copy(update={"rate_limit_two_factor": "100/minute"})


async def status_of(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, object]:
    response = await api.get(TWO_FACTOR, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_enrolment_hands_out_a_secret_and_a_code_from_it_turns_two_factor_on(api):
    user = await signed_in_user(api)
    assert await status_of(api, user.headers) == {
        "enabled": False,
        "pending": False,
        "enabled_at": None,
        "recovery_codes_left": 0,
    }

    started = await api.post(f"{TWO_FACTOR}/enrolment", headers=user.headers)

    assert started.status_code == 200
    assert started.headers["cache-control"] == "no-store"
    secret = started.json()["secret"]
    uri = urlsplit(started.json()["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == f"/Snapscale:{user.username}"
    assert parse_qs(uri.query)["secret"] == [secret]
    assert parse_qs(uri.query)["issuer"] == ["Snapscale"]
    pending = await status_of(api, user.headers)
    assert (pending["enabled"], pending["pending"]) == (False, True)
    # Until confirmed, signing in is unchanged.
    assert (await sign_in(api, user.username)).status_code == 200

    refused = await api.post(
        f"{TWO_FACTOR}/confirm", json={"code": wrong_code(secret)}, headers=user.headers
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["errors"][0]["field"] == "code"
    assert (await status_of(api, user.headers))["enabled"] is False

    confirmed = await api.post(
        f"{TWO_FACTOR}/confirm", json={"code": code_now(secret)}, headers=user.headers
    )

    assert confirmed.status_code == 200
    assert confirmed.headers["cache-control"] == "no-store"
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code) == 14 and code.count("-") == 2 for code in codes)
    on = await status_of(api, user.headers)
    assert (on["enabled"], on["pending"], on["recovery_codes_left"]) == (True, False, 10)
    assert on["enabled_at"] is not None
    again = await api.post(f"{TWO_FACTOR}/enrolment", headers=user.headers)
    assert again.status_code == 409
    assert "already on" in again.json()["detail"]


async def test_starting_again_replaces_an_unconfirmed_secret(api):
    user = await signed_in_user(api)
    first = (await api.post(f"{TWO_FACTOR}/enrolment", headers=user.headers)).json()["secret"]
    second = (await api.post(f"{TWO_FACTOR}/enrolment", headers=user.headers)).json()["secret"]

    stale = await api.post(
        f"{TWO_FACTOR}/confirm", json={"code": code_now(first)}, headers=user.headers
    )
    fresh = await api.post(
        f"{TWO_FACTOR}/confirm", json={"code": code_now(second)}, headers=user.headers
    )

    assert first != second
    assert stale.status_code == 422
    assert fresh.status_code == 200


async def test_abandoning_an_enrolment_and_confirming_without_one(api):
    user = await signed_in_user(api)
    secret = (await api.post(f"{TWO_FACTOR}/enrolment", headers=user.headers)).json()["secret"]

    cancelled = await api.delete(f"{TWO_FACTOR}/enrolment", headers=user.headers)
    confirm = await api.post(
        f"{TWO_FACTOR}/confirm", json={"code": code_now(secret)}, headers=user.headers
    )

    assert cancelled.status_code == 204
    assert confirm.status_code == 409
    assert "first" in confirm.json()["detail"]
    assert (await status_of(api, user.headers))["pending"] is False


async def test_signing_in_needs_a_code_only_once_the_password_is_right(api):
    user = await signed_in_user(api)
    app = await turn_on(api, user)

    no_code = await sign_in_with_code(api, user.username, PASSWORD, None)
    blank_code = await sign_in_with_code(api, user.username, PASSWORD, "")
    wrong_password = await sign_in_with_code(api, user.username, "wrong-password-1", None)
    wrong_password_right_code = await sign_in_with_code(
        api, user.username, "wrong-password-1", next_code(app.secret)
    )
    unknown = await sign_in_with_code(api, "nobody-here", PASSWORD, None)

    assert no_code.status_code == blank_code.status_code == 401
    assert no_code.headers["content-type"] == PROBLEM
    assert no_code.headers["www-authenticate"] == "Bearer"
    assert no_code.json()["type"] == blank_code.json()["type"] == REQUIRED
    assert "otp" in no_code.json()["detail"]
    # A wrong password says nothing about a second factor: the same answer as no account.
    assert wrong_password.json() == wrong_password_right_code.json() == unknown.json()
    assert wrong_password.json()["type"] == BAD_CREDENTIALS

    signed_in = await sign_in_with_code(api, user.email, PASSWORD, next_code(app.secret))

    assert signed_in.status_code == 200
    tokens = signed_in.json()
    me = await api.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["username"] == user.username
    # Refresh tokens were issued after the second factor: they need no code.
    refreshed = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200


async def test_wrong_and_replayed_codes_are_refused(api):
    user = await signed_in_user(api)
    app = await turn_on(api, user)

    replay_of_confirm = await sign_in_with_code(api, user.username, PASSWORD, app.confirmed_with)
    wrong = await sign_in_with_code(api, user.username, PASSWORD, wrong_code(app.secret))
    garbage = await sign_in_with_code(api, user.username, PASSWORD, "let me in")
    code = next_code(app.secret)
    first_use = await sign_in_with_code(api, user.username, PASSWORD, code)
    replay = await sign_in_with_code(api, user.username, PASSWORD, code)
    too_long = await sign_in_with_code(api, user.username, PASSWORD, "1" * 65)

    assert first_use.status_code == 200
    for refused in (replay_of_confirm, wrong, garbage, replay):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["type"] == FAILED
        assert refused.json()["detail"] == "That code is wrong, expired or already used."
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "otp"


async def test_a_recovery_code_signs_in_once(api):
    user = await signed_in_user(api)
    app = await turn_on(api, user)
    code = app.recovery_codes[0]

    # However it is typed: capitals, spaces, without the dashes.
    first = await sign_in_with_code(api, user.username, PASSWORD, f" {code.upper()} ")
    again = await sign_in_with_code(api, user.username, PASSWORD, code.replace("-", ""))
    another = await sign_in_with_code(api, user.username, PASSWORD, app.recovery_codes[1])

    assert first.status_code == 200
    assert again.status_code == 401
    assert again.json()["type"] == FAILED
    assert another.status_code == 200
    assert (await status_of(api, user.headers))["recovery_codes_left"] == 8


async def test_recovery_codes_are_stored_only_as_hashes(api):
    user = await signed_in_user(api)
    app = await turn_on(api, user)

    async with api.runtime.unit_of_work(read_only=True) as uow:
        stored = (await uow.session.execute(select(RecoveryCode.code_hash))).scalars().all()

    assert len(stored) == 10
    kept = " ".join(stored)
    for code in app.recovery_codes:
        assert code not in kept and code.replace("-", "") not in kept


async def test_new_recovery_codes_need_a_current_code_and_retire_the_old_ones(api):
    user = await signed_in_user(api)
    app = await turn_on(api, user)

    wrong = await api.post(
        f"{TWO_FACTOR}/recovery-codes", json={"code": wrong_code(app.secret)}, headers=user.headers
    )
    with_recovery_code = await api.post(
        f"{TWO_FACTOR}/recovery-codes", json={"code": app.recovery_codes[0]}, headers=user.headers
    )
    renewed = await api.post(
        f"{TWO_FACTOR}/recovery-codes", json={"code": next_code(app.secret)}, headers=user.headers
    )

    assert wrong.status_code == with_recovery_code.status_code == 422
    assert renewed.status_code == 200
    assert renewed.headers["cache-control"] == "no-store"
    new_codes = renewed.json()["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(app.recovery_codes)
    old = await sign_in_with_code(api, user.username, PASSWORD, app.recovery_codes[0])
    new = await sign_in_with_code(api, user.username, PASSWORD, new_codes[0])
    assert old.status_code == 401
    assert new.status_code == 200
    assert (await status_of(api, user.headers))["recovery_codes_left"] == 9


async def test_turning_it_off_needs_the_password_and_a_code(api):
    user = await signed_in_user(api)
    app = await turn_on(api, user)
    disable = f"{TWO_FACTOR}/disable"

    wrong_password = await api.post(
        disable,
        json={"password": "wrong-password-1", "code": app.recovery_codes[0]},
        headers=user.headers,
    )
    wrong_code_ = await api.post(
        disable, json={"password": PASSWORD, "code": wrong_code(app.secret)}, headers=user.headers
    )
    missing_code = await api.post(disable, json={"password": PASSWORD}, headers=user.headers)

    assert wrong_password.status_code == wrong_code_.status_code == missing_code.status_code == 422
    assert wrong_password.json()["errors"][0]["field"] == "password"
    assert wrong_code_.json()["errors"][0]["field"] == "code"
    assert missing_code.json()["errors"][0]["field"] == "code"
    assert (await status_of(api, user.headers))["enabled"] is True

    # The recovery code tried with the wrong password was not spent.
    off = await api.post(
        disable, json={"password": PASSWORD, "code": app.recovery_codes[0]}, headers=user.headers
    )

    assert off.status_code == 204
    assert await status_of(api, user.headers) == {
        "enabled": False,
        "pending": False,
        "enabled_at": None,
        "recovery_codes_left": 0,
    }
    assert (await sign_in(api, user.username)).status_code == 200
    again = await api.post(
        disable, json={"password": PASSWORD, "code": app.recovery_codes[1]}, headers=user.headers
    )
    assert again.status_code == 409


async def test_turning_it_off_with_a_code_from_the_app(api):
    user = await signed_in_user(api)
    app = await turn_on(api, user)

    off = await api.post(
        f"{TWO_FACTOR}/disable",
        json={"password": PASSWORD, "code": next_code(app.secret)},
        headers=user.headers,
    )

    assert off.status_code == 204
    assert (await sign_in(api, user.username)).status_code == 200


async def test_accounts_without_two_factor_sign_in_as_before(api):
    user = await signed_in_user(api)

    plain = await sign_in(api, user.username)
    with_a_stray_code = await sign_in_with_code(api, user.username, PASSWORD, "123456")

    assert plain.status_code == with_a_stray_code.status_code == 200


async def test_two_factor_settings_need_a_signed_in_account(api):
    responses = [
        await api.get(TWO_FACTOR),
        await api.post(f"{TWO_FACTOR}/enrolment"),
        await api.post(f"{TWO_FACTOR}/confirm", json={"code": "123456"}),
        await api.post(f"{TWO_FACTOR}/recovery-codes", json={"code": "123456"}),
        await api.post(f"{TWO_FACTOR}/disable", json={"password": PASSWORD, "code": "123456"}),
    ]

    assert {response.status_code for response in responses} == {401}
    assert {response.headers["content-type"] for response in responses} == {PROBLEM}


async def test_the_openapi_document_describes_two_factor_sign_in(api):
    document = (await api.get("/openapi.json")).json()

    token_body = document["paths"]["/api/v1/auth/token"]["post"]["requestBody"]
    schema_ref = token_body["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"]
    token_form = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert "otp" in token_form["properties"]
    assert "otp" not in token_form.get("required", [])
    paths = document["paths"]
    assert set(paths[TWO_FACTOR]) == {"get"}
    assert set(paths[f"{TWO_FACTOR}/enrolment"]) == {"post", "delete"}
    for action in ("confirm", "recovery-codes", "disable"):
        assert set(paths[f"{TWO_FACTOR}/{action}"]) == {"post"}
    schemas = document["components"]["schemas"]
    assert set(schemas["TwoFactorStatus"]["properties"]) == {
        "enabled",
        "pending",
        "enabled_at",
        "recovery_codes_left",
    }
    assert set(schemas["TwoFactorEnrolment"]["properties"]) == {"secret", "otpauth_uri"}
    assert set(schemas["RecoveryCodes"]["properties"]) == {"recovery_codes"}


@pytest.fixture
async def strict_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An API allowing 3 code attempts a minute per account (and plenty of log-ins)."""
    strict = settings.model_copy(
        update={
            "rate_limit_two_factor": "3/minute",
            "rate_limit_login": "100/minute",
            "rate_limit_login_per_account": "100/minute",
        }
    )
    app = create_api(strict)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.runtime = app.state.runtime  # type: ignore[attr-defined]
            yield client


async def test_code_attempts_are_throttled_per_account(strict_api):
    api = strict_api
    user = await signed_in_user(api)
    bystander = await signed_in_user(api)
    app = await turn_on(api, user)  # the confirming code was attempt 1
    other = await turn_on(api, bystander)

    # Typed as username or as email, it is the same account's budget.
    second = await sign_in_with_code(api, user.username, PASSWORD, wrong_code(app.secret))
    third = await sign_in_with_code(api, user.email, PASSWORD, wrong_code(app.secret))
    refused = await sign_in_with_code(api, user.username, PASSWORD, next_code(app.secret))
    disable = await api.post(
        f"{TWO_FACTOR}/disable",
        json={"password": PASSWORD, "code": app.recovery_codes[0]},
        headers=user.headers,
    )

    assert second.status_code == third.status_code == 401
    assert refused.status_code == disable.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert "sign-in code attempts for this account" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # A missing code is no attempt, and the right password alone still asks for one.
    assert (await sign_in_with_code(api, user.username, PASSWORD, None)).status_code == 401
    # Other accounts are not held back.
    elsewhere = await sign_in_with_code(api, bystander.username, PASSWORD, next_code(other.secret))
    assert elsewhere.status_code == 200
