"""Codes as a person's authenticator app would show them, from the secret given at enrolment.

A code is accepted once, and never one of an earlier time step than the last accepted, so
a test gets two app codes from one secret without waiting: the current step's
(``code_now``) and then the next step's (``next_code``, which the server takes as the
step after its own, a phone running a little fast). Further codes come from recovery codes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx
import pyotp

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts import two_factor
from snapscale.core.accounts.schemas import Registration
from snapscale.core.errors import AuthenticationFailed
from snapscale.core.runtime import Runtime
from tests.support.factories import PASSWORD, SignedIn

STEP_SECONDS = 30
TWO_FACTOR = "/api/v1/users/me/two-factor"


def code_now(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def next_code(secret: str) -> str:
    return pyotp.TOTP(secret).at(time.time() + STEP_SECONDS)


def wrong_code(secret: str) -> str:
    """Six digits that are none of the codes the server would accept right now."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    near = {totp.at(now + offset * STEP_SECONDS) for offset in range(-2, 3)}
    return next(code for code in ("000000", "123456", "999999", "424242") if code not in near)


@dataclass
class TwoFactorOn:
    secret: str
    confirmed_with: str  # the app code that turned it on: already used
    recovery_codes: list[str] = field(default_factory=list)


async def turn_on(api: httpx.AsyncClient, user: SignedIn) -> TwoFactorOn:
    """Enrol and confirm with the current code, as a person with their phone would."""
    started = await api.post(f"{TWO_FACTOR}/enrolment", headers=user.headers)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    code = code_now(secret)
    confirmed = await api.post(f"{TWO_FACTOR}/confirm", json={"code": code}, headers=user.headers)
    assert confirmed.status_code == 200, confirmed.text
    return TwoFactorOn(secret, code, confirmed.json()["recovery_codes"])


async def sign_in_with_code(
    api: httpx.AsyncClient, login: str, password: str, otp: str | None
) -> httpx.Response:
    data = {"username": login, "password": password}
    if otp is not None:
        data["otp"] = otp
    return await api.post("/api/v1/auth/token", data=data)


@dataclass(frozen=True)
class EnrolledAccount:
    user_id: int
    secret: str
    recovery_codes: list[str]


async def enrolled_account(runtime: Runtime, username: str) -> EnrolledAccount:
    """A new account with two-factor sign-in on, made through the core (no HTTP)."""
    data = Registration(username=username, email=f"{username}@example.com", password=PASSWORD)
    account = await runtime.run(account_service.register, data=data)
    enrolment = await runtime.run(two_factor.start_enrolment, user_id=account.id)
    codes = await runtime.run(
        two_factor.confirm_enrolment,
        user_id=account.id,
        code=code_now(enrolment.secret),
        limiter=None,
    )
    return EnrolledAccount(account.id, enrolment.secret, codes.recovery_codes)


async def logs_in(runtime: Runtime, username: str, otp: str) -> bool:
    """Whether the core signs ``username`` in with the password and ``otp``."""
    try:
        await runtime.run(account_service.log_in, login=username, password=PASSWORD, otp=otp)
    except AuthenticationFailed:
        return False
    return True
