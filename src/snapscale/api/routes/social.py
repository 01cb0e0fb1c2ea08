from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from snapscale.api.deps import CurrentUser, Cursor, Limit, OptionalUser, UoW
from snapscale.api.problems import problem_responses
from snapscale.core.accounts.schemas import PublicProfile
from snapscale.core.ids import PublicId
from snapscale.core.pagination import DEFAULT_LIMIT, Page
from snapscale.core.social import service as social_service
from snapscale.core.social.schemas import CommentOut, NewComment

router = APIRouter(tags=["social"])

Username = Annotated[str, Path(min_length=1, max_length=64)]
PhotoId = Annotated[PublicId, Path(description="The photo's id.")]
CommentId = Annotated[PublicId, Path(description="The comment's id.")]


@router.put(
    "/users/{username}/follow",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 422),
    summary="Follow someone (idempotent)",
)
async def follow(username: Username, user: CurrentUser, uow: UoW) -> None:
    await social_service.follow(uow, follower_id=user.id, username=username)


@router.delete(
    "/users/{username}/follow",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 422),
    summary="Stop following someone (idempotent)",
)
async def unfollow(username: Username, user: CurrentUser, uow: UoW) -> None:
    await social_service.unfollow(uow, follower_id=user.id, username=username)


@router.get(
    "/users/{username}/followers",
    responses=problem_responses(404, 422),
    summary="Who follows this account, newest first",
)
async def followers(
    username: Username, uow: UoW, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[PublicProfile]:
    return await social_service.list_followers(uow, username=username, cursor=cursor, limit=limit)


@router.get(
    "/users/{username}/following",
    responses=problem_responses(404, 422),
    summary="Whom this account follows, newest first",
)
async def following(
    username: Username, uow: UoW, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[PublicProfile]:
    return await social_service.list_following(uow, username=username, cursor=cursor, limit=limit)


@router.put(
    "/photos/{photo_id}/like",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 422),
    summary="Like a photo (idempotent)",
)
async def like(photo_id: PhotoId, user: CurrentUser, uow: UoW) -> None:
    await social_service.like(uow, photo_id=photo_id, user_id=user.id)


@router.delete(
    "/photos/{photo_id}/like",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 422),
    summary="Take a like back (idempotent)",
)
async def unlike(photo_id: PhotoId, user: CurrentUser, uow: UoW) -> None:
    await social_service.unlike(uow, photo_id=photo_id, user_id=user.id)


@router.post(
    "/photos/{photo_id}/comments",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 404, 415, 422),
    summary="Comment on a photo",
)
async def add_comment(
    photo_id: PhotoId, comment: NewComment, user: CurrentUser, uow: UoW
) -> CommentOut:
    return await social_service.add_comment(
        uow, photo_id=photo_id, author_id=user.id, comment=comment
    )


@router.get(
    "/photos/{photo_id}/comments",
    responses=problem_responses(404, 422),
    summary="A photo's comments, oldest first",
)
async def list_comments(
    photo_id: PhotoId,
    uow: UoW,
    viewer: OptionalUser,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[CommentOut]:
    return await social_service.list_comments(
        uow,
        photo_id=photo_id,
        viewer_id=viewer.id if viewer else None,
        cursor=cursor,
        limit=limit,
    )


@router.delete(
    "/comments/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
    summary="Delete a comment (its author or the photo's owner)",
)
async def delete_comment(comment_id: CommentId, user: CurrentUser, uow: UoW) -> None:
    await social_service.delete_comment(uow, comment_id=comment_id, user_id=user.id)
