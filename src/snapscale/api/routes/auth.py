from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from snapscale.api.deps import UoW, get_runtime
from snapscale.api.problems import problem_responses
from snapscale.api.ratelimit import limit_log_in, limit_refresh, limit_registration
from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Account, RefreshRequest, Registration, TokenPair
from snapscale.core.ratelimit import limiter_for

router = APIRouter(prefix="/auth", tags=["auth"])

# Token responses must never be stored by a browser or proxy (RFC 6749 section 5.1).
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
OTP_DESCRIPTION = (
    "Accounts with two-factor sign-in only: the 6-digit code from the authenticator app, "
    "or a recovery code."
)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 415, 422),
    dependencies=[Depends(limit_registration)],
    summary="Create an account",
)
async def register(data: Registration, uow: UoW, response: Response) -> Account:
    account = await account_service.register(uow, data=data)
    response.headers["Location"] = f"/api/v1/users/{account.username}"
    return account


@router.post(
    "/token",
    responses=problem_responses(401, 422),
    dependencies=[Depends(limit_log_in)],
    summary="Sign in with username (or email) and password",
    description="For an account with two-factor sign-in, also send `otp`: the code from "
    "the authenticator app, or a recovery code. Once the password is right, a missing code "
    "is a 401 of type `urn:snapscale:problem:two-factor-required`, a wrong or reused one a "
    "401 of type `urn:snapscale:problem:two-factor-failed`.",
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    uow: UoW,
    request: Request,
    response: Response,
    otp: Annotated[str | None, Form(max_length=64, description=OTP_DESCRIPTION)] = None,
) -> TokenPair:
    response.headers.update(_NO_STORE)
    return await account_service.log_in(
        uow,
        login=form.username,
        password=form.password,
        otp=otp,
        limiter=limiter_for(get_runtime(request)),
    )


@router.post(
    "/refresh",
    responses=problem_responses(401, 415, 422),
    dependencies=[Depends(limit_refresh)],
    summary="Trade a refresh token for a new token pair",
)
async def refresh(body: RefreshRequest, uow: UoW, response: Response) -> TokenPair:
    response.headers.update(_NO_STORE)
    return await account_service.refresh(uow, refresh_token=body.refresh_token)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(415, 422),
    summary="End the session a refresh token belongs to",
)
async def logout(body: RefreshRequest, uow: UoW) -> None:
    await account_service.log_out(uow, refresh_token=body.refresh_token)
