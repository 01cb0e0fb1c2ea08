from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from snapscale.api import upload_form
from snapscale.api.deps import CurrentUser, Cursor, Limit, OptionalUser, UoW
from snapscale.api.problems import problem_responses
from snapscale.api.serialized import as_json
from snapscale.api.upload_form import UploadBody
from snapscale.core.ids import PublicId
from snapscale.core.pagination import DEFAULT_LIMIT, Page
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import (
    PhotoOut,
    PhotoUpdate,
)

router = APIRouter(tags=["photos"])

PhotoId = Annotated[PublicId, Path(description="The photo's id.")]


@router.post(
    "/photos",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(401, 404, 409, 413, 415, 422, 503),
    summary="Upload a photo",
    description="Stores the original and answers at once with the photo `processing`; "
    "the renditions are made in the background. JPEG, PNG and WebP are accepted. Send an "
    "`Idempotency-Key` to make a retried upload return the same photo (a 404 once that "
    "photo is deleted).",
    openapi_extra=upload_form.OPENAPI_BODY,
)
async def upload_photo(
    upload: UploadBody, user: CurrentUser, uow: UoW, response: Response
) -> PhotoOut:
    photo, replayed = await photo_service.upload(uow, owner_id=user.id, data=upload)
    response.headers["Location"] = f"/api/v1/photos/{photo.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return photo


@router.get("/photos/{photo_id}", responses=problem_responses(404, 422), summary="A photo")
async def read_photo(photo_id: PhotoId, uow: UoW, viewer: OptionalUser) -> PhotoOut:
    return await photo_service.get_photo(
        uow, photo_id=photo_id, viewer_id=viewer.id if viewer else None
    )


@router.patch(
    "/photos/{photo_id}",
    responses=problem_responses(401, 403, 404, 415, 422),
    summary="Edit your photo's caption",
)
async def update_photo(
    photo_id: PhotoId, changes: PhotoUpdate, user: CurrentUser, uow: UoW
) -> PhotoOut:
    return await photo_service.update_photo(
        uow, photo_id=photo_id, user_id=user.id, changes=changes
    )


@router.delete(
    "/photos/{photo_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
    summary="Delete your photo",
)
async def delete_photo(photo_id: PhotoId, user: CurrentUser, uow: UoW) -> None:
    await photo_service.delete_photo(uow, photo_id=photo_id, user_id=user.id)


@router.get(
    "/users/{username}/photos",
    response_model=Page[PhotoOut],
    responses=problem_responses(404, 422),
    summary="A user's photos, newest first",
)
async def list_user_photos(
    username: Annotated[str, Path(min_length=1, max_length=64)],
    uow: UoW,
    viewer: OptionalUser,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    page = await photo_service.list_user_photos(
        uow,
        username=username,
        viewer_id=viewer.id if viewer else None,
        cursor=cursor,
        limit=limit,
    )
    return as_json(page)
