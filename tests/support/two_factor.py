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

from tests.support.factories import SignedIn

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
