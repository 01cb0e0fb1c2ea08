"""Two-factor sign-in for your own account: turn it on, see it, renew recovery codes,
turn it off. Signing in with it is `POST /auth/token` with `otp`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from snapscale.api.deps import CurrentUser, UoW, get_runtime
from snapscale.api.problems import problem_responses
from snapscale.core.accounts import two_factor
from snapscale.core.accounts.schemas import (
    RecoveryCodes,
    TwoFactorCode,
    TwoFactorDisable,
    TwoFactorEnrolment,
    TwoFactorStatus,
)
from snapscale.core.ratelimit import RateLimiter, limiter_for

router = APIRouter(prefix="/users/me/two-factor", tags=["two-factor"])

# Secrets and recovery codes must not be kept by a browser or proxy.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _limiter(request: Request) -> RateLimiter | None:
    return limiter_for(get_runtime(request))


@router.get("", responses=problem_responses(401), summary="Whether two-factor sign-in is on")
async def read_status(user: CurrentUser, uow: UoW) -> TwoFactorStatus:
    return await two_factor.status(uow, user_id=user.id)


@router.post(
    "/enrolment",
    responses=problem_responses(401, 409),
    summary="Start turning two-factor sign-in on",
    description="Returns a new secret for an authenticator app. Sign-in does not change "
    "until `POST /users/me/two-factor/confirm` proves the app has it; starting again "
    "replaces an unconfirmed secret. A 409 if two-factor sign-in is already on.",
)
async def start_enrolment(user: CurrentUser, uow: UoW, response: Response) -> TwoFactorEnrolment:
    response.headers.update(_NO_STORE)
    return await two_factor.start_enrolment(uow, user_id=user.id)


@router.delete(
    "/enrolment",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401),
    summary="Abandon an unconfirmed enrolment",
)
async def cancel_enrolment(user: CurrentUser, uow: UoW) -> None:
    await two_factor.cancel_enrolment(uow, user_id=user.id)


@router.post(
    "/confirm",
    responses=problem_responses(401, 409, 415, 422),
    summary="Turn two-factor sign-in on with a code from the app",
    description="Returns the recovery codes: the only time they are shown. A wrong code is "
    "a 422; code attempts are limited per account.",
)
async def confirm(
    body: TwoFactorCode, user: CurrentUser, uow: UoW, request: Request, response: Response
) -> RecoveryCodes:
    response.headers.update(_NO_STORE)
    return await two_factor.confirm_enrolment(
        uow, user_id=user.id, code=body.code, limiter=_limiter(request)
    )


@router.post(
    "/recovery-codes",
    responses=problem_responses(401, 409, 415, 422),
    summary="Replace the recovery codes",
    description="Needs the code the app shows now; the previous recovery codes stop working.",
)
async def regenerate_recovery_codes(
    body: TwoFactorCode, user: CurrentUser, uow: UoW, request: Request, response: Response
) -> RecoveryCodes:
    response.headers.update(_NO_STORE)
    return await two_factor.regenerate_recovery_codes(
        uow, user_id=user.id, code=body.code, limiter=_limiter(request)
    )


@router.post(
    "/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 409, 415, 422),
    summary="Turn two-factor sign-in off",
    description="Needs the password and a code from the app or a recovery code.",
)
async def disable(body: TwoFactorDisable, user: CurrentUser, uow: UoW, request: Request) -> None:
    await two_factor.disable(
        uow, user_id=user.id, password=body.password, code=body.code, limiter=_limiter(request)
    )
