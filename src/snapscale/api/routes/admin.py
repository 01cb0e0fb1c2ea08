"""Administration: the dashboard's figures and moderation, for administrators' tokens
only (anyone else gets a 403). The site's /admin pages call the same services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from snapscale.api.deps import CurrentUser, UoW, get_runtime
from snapscale.api.problems import problem_responses
from snapscale.core.accounts import service as account_service
from snapscale.core.admin import service as admin_service
from snapscale.core.admin.schemas import Dashboard, ModeratedUser
from snapscale.core.ids import PublicId
from snapscale.core.photos import service as photo_service

router = APIRouter(prefix="/admin", tags=["admin"])

Username = Annotated[str, Path(min_length=1, max_length=64, description="The account's name.")]


@router.get(
    "/stats",
    responses=problem_responses(401, 403),
    summary="The dashboard's figures",
    description="Requests, errors and p99 latency (across every replica when Redis is "
    "configured), uploads, accounts, photos and the job queue; `series` has one point per "
    "minute for the last 30 minutes.",
)
async def read_stats(user: CurrentUser, uow: UoW, request: Request) -> Dashboard:
    return await admin_service.dashboard(
        uow, admin_id=user.id, live_stats=get_runtime(request).live_stats
    )


@router.get(
    "/users",
    responses=problem_responses(401, 403, 422),
    summary="Find accounts by the start of their username",
)
async def find_users(
    user: CurrentUser,
    uow: UoW,
    prefix: Annotated[str, Query(max_length=31, description="Start of the username.")] = "",
) -> list[ModeratedUser]:
    return await admin_service.find_users(uow, admin_id=user.id, prefix=prefix)


@router.post(
    "/users/{username}/deactivate",
    responses=problem_responses(401, 403, 404, 422),
    summary="Deactivate an account",
    description="Ends every session and token of the account at once, refuses its sign-in "
    "(as a wrong password would be), and hides its profile and photos. Administrators "
    "cannot deactivate themselves (422).",
)
async def deactivate(username: Username, user: CurrentUser, uow: UoW) -> ModeratedUser:
    target = await admin_service.moderated_user(uow, admin_id=user.id, username=username)
    await account_service.deactivate(uow, user_id=target.id, admin_id=user.id)
    return await admin_service.moderated_user(uow, admin_id=user.id, username=username)


@router.post(
    "/users/{username}/reactivate",
    responses=problem_responses(401, 403, 404, 422),
    summary="Reactivate an account",
    description="It may sign in again; sessions and tokens ended by the deactivation stay ended.",
)
async def reactivate(username: Username, user: CurrentUser, uow: UoW) -> ModeratedUser:
    target = await admin_service.moderated_user(uow, admin_id=user.id, username=username)
    await account_service.reactivate(uow, user_id=target.id, admin_id=user.id)
    return await admin_service.moderated_user(uow, admin_id=user.id, username=username)


@router.delete(
    "/photos/{photo_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
    summary="Remove anyone's photo",
    description="As its owner's deletion: gone for everyone at once, files removed in the "
    "background.",
)
async def remove_photo(
    photo_id: Annotated[PublicId, Path(description="The photo's id.")], user: CurrentUser, uow: UoW
) -> None:
    await photo_service.remove_photo(uow, photo_id=photo_id, admin_id=user.id)
