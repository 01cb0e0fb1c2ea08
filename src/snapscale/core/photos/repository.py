"""Every query the photos domain makes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from snapscale.core.models import Like, Photo, PhotoStatus, User


async def get_visible(session: AsyncSession, photo_id: int) -> Photo | None:
    """A photo that is not deleted (whatever its status)."""
    result = await session.execute(
        select(Photo).where(Photo.id == photo_id, Photo.deleted_at.is_(None))
    )
    return result.scalar_one_or_none()


async def get_any(session: AsyncSession, photo_id: int) -> Photo | None:
    return await session.get(Photo, photo_id)


async def get_by_idempotency_key(session: AsyncSession, owner_id: int, key: str) -> Photo | None:
    result = await session.execute(
        select(Photo).where(Photo.owner_id == owner_id, Photo.idempotency_key == key)
    )
    return result.scalar_one_or_none()


async def list_for_owner(
    session: AsyncSession, owner_id: int, *, ready_only: bool, before_id: int | None, limit: int
) -> Sequence[Photo]:
    query = (
        select(Photo)
        .where(Photo.owner_id == owner_id, Photo.deleted_at.is_(None))
        .order_by(Photo.id.desc())
        .limit(limit)
    )
    if ready_only:
        query = query.where(Photo.status == PhotoStatus.READY)
    if before_id is not None:
        query = query.where(Photo.id < before_id)
    return (await session.execute(query)).scalars().all()


async def owners(session: AsyncSession, owner_ids: set[int]) -> dict[int, User]:
    """The owners of a page of photos, in one query."""
    if not owner_ids:
        return {}
    result = await session.execute(select(User).where(User.id.in_(owner_ids)))
    return {user.id: user for user in result.scalars()}


async def shown_with_owners(
    session: AsyncSession, photo_ids: list[int]
) -> Sequence[tuple[Photo, User]]:
    """Ready, undeleted photos with their owners, in one query."""
    result = await session.execute(
        select(Photo, User)
        .join(User, User.id == Photo.owner_id)
        .where(
            Photo.id.in_(photo_ids),
            Photo.status == PhotoStatus.READY,
            Photo.deleted_at.is_(None),
        )
    )
    return [(row[0], row[1]) for row in result.all()]


async def liked_among(session: AsyncSession, user_id: int, photo_ids: list[int]) -> set[int]:
    """Which of these photos the user likes: one query for a whole page."""
    if not photo_ids:
        return set()
    result = await session.execute(
        select(Like.photo_id).where(Like.user_id == user_id, Like.photo_id.in_(photo_ids))
    )
    return set(result.scalars())


async def change_photos_count(session: AsyncSession, owner_id: int, delta: int) -> None:
    await session.execute(
        update(User).where(User.id == owner_id).values(photos_count=User.photos_count + delta)
    )


def _still_processing(photo_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        Photo.id == photo_id,
        Photo.status == PhotoStatus.PROCESSING,
        Photo.deleted_at.is_(None),
    )


async def mark_ready(session: AsyncSession, photo_id: int, **values: object) -> bool:
    """Processing -> ready, once: True only for the call that made the change."""
    result = await session.execute(
        update(Photo)
        .where(*_still_processing(photo_id))
        .values(status=PhotoStatus.READY, failure_reason=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def start_attempt(session: AsyncSession, photo_id: int) -> int | None:
    """Count one more processing attempt; None if the photo no longer needs processing."""
    result = await session.execute(
        update(Photo)
        .where(*_still_processing(photo_id))
        .values(attempts=Photo.attempts + 1)
        .returning(Photo.attempts)
    )
    return result.scalar_one_or_none()


async def give_back_attempt(session: AsyncSession, photo_id: int) -> None:
    """Uncount the last attempt of a photo still processing (it failed for want of a
    dependency, not because of the photo)."""
    await session.execute(
        update(Photo)
        .where(*_still_processing(photo_id), Photo.attempts > 0)
        .values(attempts=Photo.attempts - 1)
        .execution_options(synchronize_session=False)
    )


async def recent_hashes(
    session: AsyncSession, owner_id: int, *, excluding: int, limit: int
) -> Sequence[tuple[int, str]]:
    result = await session.execute(
        select(Photo.id, Photo.perceptual_hash)
        .where(
            Photo.owner_id == owner_id,
            Photo.id != excluding,
            Photo.status == PhotoStatus.READY,
            Photo.deleted_at.is_(None),
            Photo.perceptual_hash.is_not(None),
        )
        .order_by(Photo.id.desc())
        .limit(limit)
    )
    return [(photo_id, phash) for photo_id, phash in result.all() if phash is not None]


async def stuck_ids(session: AsyncSession, *, updated_before: datetime, limit: int) -> list[int]:
    """Photos still processing long after their last change: their job may be lost."""
    result = await session.execute(
        select(Photo.id)
        .where(Photo.status == PhotoStatus.PROCESSING, Photo.updated_at < updated_before)
        .order_by(Photo.updated_at)
        .limit(limit)
    )
    return list(result.scalars())


async def deleted_ids(session: AsyncSession, *, limit: int) -> list[int]:
    result = await session.execute(
        select(Photo.id)
        .where(Photo.deleted_at.is_not(None))
        .order_by(Photo.deleted_at)
        .limit(limit)
    )
    return list(result.scalars())


async def remove(session: AsyncSession, photo_id: int) -> None:
    await session.execute(delete(Photo).where(Photo.id == photo_id))
