"""Photos: upload, read, list, edit, delete. Called by the API and the site alike.

The request path only checks and stores the original; all image work happens in the
``photos.process`` job (see jobs.py), sent after the upload's transaction commits.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from snapscale.core.accounts import repository as account_repository
from snapscale.core.accounts import service as account_service
from snapscale.core.admin import audit
from snapscale.core.db import UnitOfWork, utcnow
from snapscale.core.errors import Conflict, NotFound, PayloadTooLarge, PermissionDenied
from snapscale.core.ids import new_id
from snapscale.core.jobs import enqueue
from snapscale.core.models import Photo, PhotoStatus, User
from snapscale.core.pagination import Page, decode_cursor, encode_cursor
from snapscale.core.photos import imaging, repository
from snapscale.core.photos.keys import original_key, rendition_key
from snapscale.core.photos.schemas import (
    Owner,
    PhotoOut,
    PhotoPage,
    PhotoUpdate,
    Placeholder,
    RenditionOut,
    Upload,
)
from snapscale.observability import metrics

PROCESS_JOB = "photos.process"
DELETE_FILES_JOB = "photos.delete_files"
FEED_FAN_OUT_JOB = "feed.fan_out"
FEED_REMOVE_JOB = "feed.remove"


async def upload(uow: UnitOfWork, *, owner_id: int, data: Upload) -> tuple[PhotoOut, bool]:
    """Store the original and record the photo as processing.

    Returns the photo and whether it is a replay of an earlier upload with the same
    Idempotency-Key (then nothing new is stored)."""
    # Counted here, where the API and the site meet, so each upload counts once.
    metrics.UPLOAD_BYTES.inc(len(data.data))
    limit = uow.settings.upload_max_bytes
    if len(data.data) > limit:
        raise PayloadTooLarge(f"The file is larger than the {_size(limit)} limit.")
    if data.idempotency_key is not None:
        earlier = await repository.get_by_idempotency_key(
            uow.session, owner_id, data.idempotency_key
        )
        if earlier is not None:
            if earlier.original_sha256 != await _sha256(data.data):
                raise Conflict("This Idempotency-Key was already used for a different file.")
            if earlier.deleted_at is not None:
                raise NotFound("The photo made with this Idempotency-Key was deleted.")
            return await present(uow, earlier, viewer_id=owner_id), True

    image = imaging.inspect_upload(data.data, max_pixels=uow.settings.image_max_pixels)
    photo_id = new_id()
    key = original_key(photo_id)
    # Stored before the row: if the store is down the request fails with nothing recorded.
    # If the transaction then fails, the stored file is deleted again. The digest is
    # computed meanwhile, on another thread: both release the GIL, and together they are
    # most of an upload's answer time (docs/profiles/upload.txt).
    storage = uow.storage

    async def forget_original() -> None:
        await storage.delete([key])

    uow.after_rollback(forget_original)
    storing = storage.put(key, data.data, content_type=imaging.MEDIA_TYPES[image.format])
    digest, _ = await asyncio.gather(_sha256(data.data), storing)
    photo = Photo(
        id=photo_id,
        owner_id=owner_id,
        status=PhotoStatus.PROCESSING,
        caption=data.caption,
        original_format=image.format.value,
        original_bytes=len(data.data),
        original_sha256=digest,
        idempotency_key=data.idempotency_key,
        width=image.width,
        height=image.height,
        attempts=0,
    )
    uow.session.add(photo)
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        # Another request with the same Idempotency-Key won the race and is still running.
        raise Conflict(
            "An upload with this Idempotency-Key is in progress; retry in a moment."
        ) from exc
    enqueue(uow, PROCESS_JOB, photo_id=str(photo.id))
    return await present(uow, photo, viewer_id=owner_id), False


async def _sha256(data: bytes) -> str:
    return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):.3g} MB"
    return f"{limit / 1024:.3g} KB"


async def get_photo(uow: UnitOfWork, *, photo_id: int, viewer_id: int | None) -> PhotoOut:
    photo = await visible_photo(uow, photo_id=photo_id, viewer_id=viewer_id)
    return await present(uow, photo, viewer_id=viewer_id)


async def list_user_photos(
    uow: UnitOfWork, *, username: str, viewer_id: int | None, cursor: str | None, limit: int
) -> Page[PhotoOut]:
    """A user's photos, newest first; the owner also sees those processing or failed."""
    owner = await account_repository.get_user_by_username(uow.session, username.lower())
    if owner is None or not owner.is_active:
        raise NotFound(f"There is no user called {username!r}.")
    before_id = int(decode_cursor(cursor, int)[0]) if cursor else None
    photos = await repository.list_for_owner(
        uow.session,
        owner.id,
        ready_only=viewer_id != owner.id,
        before_id=before_id,
        limit=limit + 1,
    )
    items = await present_many(uow, photos[:limit], viewer_id=viewer_id, owners={owner.id: owner})
    next_cursor = encode_cursor(items[-1].id) if len(photos) > limit else None
    return PhotoPage(items=items, next_cursor=next_cursor)


async def update_photo(
    uow: UnitOfWork, *, photo_id: int, user_id: int, changes: PhotoUpdate
) -> PhotoOut:
    photo = await _owned(uow, photo_id, user_id)
    photo.caption = changes.caption
    photo.updated_at = utcnow()
    await uow.session.flush()
    invalidate_card(uow, photo.id)
    return await present(uow, photo, viewer_id=user_id)


async def delete_photo(uow: UnitOfWork, *, photo_id: int, user_id: int) -> None:
    """Gone for every reader at once; the files are removed by a background job."""
    await _delete(uow, await _owned(uow, photo_id, user_id))


async def remove_photo(uow: UnitOfWork, *, photo_id: int, admin_id: int) -> None:
    """Moderation: an administrator removes anyone's photo, as its owner would delete it."""
    await account_service.require_admin(uow, user_id=admin_id)
    photo = await repository.get_any(uow.session, photo_id)
    if photo is None or photo.deleted_at is not None:
        raise NotFound("There is no such photo.")
    await _delete(uow, photo)
    audit.record(
        uow, "removed photo", admin_id=admin_id, photo_id=photo.id, target_user_id=photo.owner_id
    )


async def _delete(uow: UnitOfWork, photo: Photo) -> None:
    photo.deleted_at = utcnow()
    if photo.status == PhotoStatus.READY:
        await repository.change_photos_count(uow.session, photo.owner_id, -1)
        account_service.invalidate_profile(uow, (await _owner_of(uow, photo)).username)
    invalidate_card(uow, photo.id)
    enqueue(uow, DELETE_FILES_JOB, photo_id=str(photo.id))
    enqueue(uow, FEED_REMOVE_JOB, photo_id=str(photo.id), owner_id=str(photo.owner_id))


def _card_key(photo_id: int) -> str:
    return f"photo:{photo_id}"


def invalidate_card(uow: UnitOfWork, photo_id: int) -> None:
    """Drop the cached card of a photo once the unit of work commits."""
    cache = uow.cache

    async def invalidate() -> None:
        await cache.delete(_card_key(photo_id))

    uow.after_commit(invalidate)


async def present_ids(
    uow: UnitOfWork, photo_ids: Sequence[int], *, viewer_id: int | None
) -> list[PhotoOut]:
    """Ready photos by id, in that order, for feeds: one cache multi-get, one query for
    the misses, one query for the reader's likes; never a query per photo. Ids of photos
    deleted since they were listed are skipped."""
    found = await cards(uow, photo_ids)
    liked = (
        await repository.liked_among(uow.session, viewer_id, list(found))
        if viewer_id is not None
        else None
    )
    return with_likes([found[i] for i in photo_ids if i in found], liked)


async def cards(uow: UnitOfWork, photo_ids: Sequence[int]) -> dict[int, PhotoOut]:
    """The shared part of ready photos (everything but ``liked_by_me``), by id, from the
    cache, with one query for the misses. Deleted and unfinished photos are left out."""
    cached = await uow.cache.get_many([_card_key(photo_id) for photo_id in photo_ids])
    found = {
        photo_id: PhotoOut.model_validate_json(raw)
        for photo_id, raw in zip(photo_ids, cached, strict=True)
        if raw is not None
    }
    misses = [photo_id for photo_id in photo_ids if photo_id not in found]
    if misses:
        fresh = {
            photo.id: _shape(uow, photo, owner, None, set())
            for photo, owner in await repository.shown_with_owners(uow.session, misses)
        }
        await uow.cache.set_many(
            {_card_key(i): card.model_dump_json().encode() for i, card in fresh.items()},
            uow.settings.photo_cache_ttl_seconds,
        )
        found |= fresh
    return found


def with_likes(items: Sequence[PhotoOut], liked: set[int] | None) -> list[PhotoOut]:
    """Cards as one reader sees them; ``liked`` None means nobody is signed in.

    The cards are changed in place: they must be the caller's own, as every call of
    ``cards`` makes new ones (a copy each was a tenth of a feed read's CPU)."""
    if liked is not None:
        for item in items:
            item.liked_by_me = item.id in liked
    return list(items)


async def present(uow: UnitOfWork, photo: Photo, *, viewer_id: int | None) -> PhotoOut:
    return (await present_many(uow, [photo], viewer_id=viewer_id))[0]


async def present_many(
    uow: UnitOfWork,
    photos: Sequence[Photo],
    *,
    viewer_id: int | None,
    owners: dict[int, User] | None = None,
) -> list[PhotoOut]:
    """The public shape of photos, with their owners loaded in one query."""
    owners = dict(owners or {})
    missing = {photo.owner_id for photo in photos} - owners.keys()
    owners |= await repository.owners(uow.session, missing)
    liked = (
        await repository.liked_among(uow.session, viewer_id, [p.id for p in photos])
        if viewer_id is not None
        else set()
    )
    return [_shape(uow, photo, owners[photo.owner_id], viewer_id, liked) for photo in photos]


def _shape(
    uow: UnitOfWork, photo: Photo, owner: User, viewer_id: int | None, liked: set[int]
) -> PhotoOut:
    is_owner = viewer_id == photo.owner_id
    ready = photo.status == PhotoStatus.READY
    renditions = None
    placeholder = None
    if ready and photo.renditions:
        renditions = {
            name: RenditionOut(
                url=uow.storage.url(rendition_key(photo.id, name)),
                width=size["width"],
                height=size["height"],
            )
            for name, size in photo.renditions.items()
        }
    if ready and photo.blurhash and photo.dominant_color:
        placeholder = Placeholder(blurhash=photo.blurhash, color=photo.dominant_color)
    return PhotoOut(
        id=photo.id,
        status=photo.status,
        caption=photo.caption,
        owner=Owner(id=owner.id, username=owner.username, display_name=owner.display_name),
        created_at=photo.created_at,
        width=photo.width,
        height=photo.height,
        placeholder=placeholder,
        renditions=renditions,
        like_count=photo.like_count,
        comment_count=photo.comment_count,
        liked_by_me=(photo.id in liked) if viewer_id is not None else None,
        failure_reason=photo.failure_reason if is_owner else None,
        near_duplicate_of=photo.near_duplicate_of_id if is_owner else None,
    )


async def visible_photo(uow: UnitOfWork, *, photo_id: int, viewer_id: int | None) -> Photo:
    """Deleted photos, and those of deactivated accounts, are gone for everyone;
    unfinished ones are seen only by their owner."""
    photo = await repository.get_visible(uow.session, photo_id)
    if photo is None or (photo.status != PhotoStatus.READY and photo.owner_id != viewer_id):
        raise NotFound("There is no such photo.")
    if not (await _owner_of(uow, photo)).is_active:
        raise NotFound("There is no such photo.")
    return photo


async def _owner_of(uow: UnitOfWork, photo: Photo) -> User:
    owner = await account_repository.get_user(uow.session, photo.owner_id)
    assert owner is not None  # the foreign key guarantees it
    return owner


async def _owned(uow: UnitOfWork, photo_id: int, user_id: int) -> Photo:
    photo = await visible_photo(uow, photo_id=photo_id, viewer_id=user_id)
    if photo.owner_id != user_id:
        raise PermissionDenied("Only the photo's owner may change it.")
    return photo
