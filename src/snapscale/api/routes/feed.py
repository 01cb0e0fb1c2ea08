from __future__ import annotations

from fastapi import APIRouter, Response

from snapscale.api.deps import CurrentUser, Cursor, Limit, OptionalUser, UoW
from snapscale.api.problems import problem_responses
from snapscale.api.serialized import as_json
from snapscale.core.feed import explore as explore_service
from snapscale.core.feed import service as feed_service
from snapscale.core.pagination import DEFAULT_LIMIT, Page
from snapscale.core.photos.schemas import PhotoOut

router = APIRouter(tags=["feed"])


@router.get(
    "/feed",
    response_model=Page[PhotoOut],
    responses=problem_responses(401, 422),
    summary="Your home feed",
    description="Ready photos of the accounts you follow and your own, newest first. "
    "Cursors are stable: photos posted while you page never shift later pages.",
)
async def feed(
    user: CurrentUser, uow: UoW, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Response:
    page = await feed_service.read_feed(uow, reader_id=user.id, cursor=cursor, limit=limit)
    return as_json(page)


@router.get(
    "/explore",
    response_model=Page[PhotoOut],
    responses=problem_responses(422),
    summary="Popular recent photos from everyone",
    description="Recent photos ranked by likes and age; the ranking is refreshed every minute.",
)
async def explore(
    uow: UoW, viewer: OptionalUser, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Response:
    page = await explore_service.explore(
        uow, viewer_id=viewer.id if viewer else None, cursor=cursor, limit=limit
    )
    return as_json(page)
