from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from snapscale.api.cached_reads import cache_missed
from snapscale.api.deps import CurrentUser, Cursor, Limit, UoW
from snapscale.api.problems import problem_responses
from snapscale.api.ratelimit import limit_email_change, limit_password_check
from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import (
    Account,
    PasswordChange,
    ProfileUpdate,
    PublicProfile,
    TokenPair,
)
from snapscale.core.pagination import DEFAULT_LIMIT, Page

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", responses=problem_responses(422), summary="List accounts, newest first")
async def list_users(
    uow: UoW, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[PublicProfile]:
    return await account_service.list_users(uow, cursor=cursor, limit=limit)


@router.get("/me", responses=problem_responses(401), summary="Your own account")
async def read_me(user: CurrentUser, uow: UoW) -> Account:
    return await account_service.get_account(uow, user_id=user.id)


@router.patch(
    "/me", responses=problem_responses(401, 409, 415, 422), summary="Edit your own account"
)
async def update_me(
    changes: ProfileUpdate, user: CurrentUser, uow: UoW, request: Request
) -> Account:
    if changes.email is not None and changes.email.lower() != user.email.lower():
        await limit_email_change(request)
    return await account_service.update_profile(uow, user_id=user.id, changes=changes)


@router.post(
    "/me/password",
    responses=problem_responses(401, 415, 422),
    dependencies=[Depends(limit_password_check)],
    summary="Change your password",
    description="Ends every other session and token of the account and returns a new "
    "token pair for this client.",
)
async def change_password(change: PasswordChange, user: CurrentUser, uow: UoW) -> TokenPair:
    return await account_service.change_password(uow, user_id=user.id, change=change)


@router.get("/{username}", responses=problem_responses(404, 422), summary="A public profile")
async def read_profile(
    username: Annotated[str, Path(min_length=1, max_length=64)], uow: UoW, request: Request
) -> PublicProfile:
    # Cached profiles were answered before routing (api/cached_reads.py).
    return await account_service.get_public_profile(
        uow, username=username, cache_just_missed=cache_missed(request.scope)
    )
