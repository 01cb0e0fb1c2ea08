"""Every query the home feed makes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from snapscale.core.models import Follow, Photo, PhotoStatus, User


def _shown() -> tuple[object, ...]:
    return (Photo.status == PhotoStatus.READY, Photo.deleted_at.is_(None))


def _followees(reader_id: int) -> Select[Any]:
    return select(Follow.followee_id).where(Follow.follower_id == reader_id)


async def feed_ids(
    session: AsyncSession, reader_id: int, *, before_id: int | None, limit: int
) -> list[int]:
    """Fan-out on read: the reader's and their followees' photos, newest first.

    Embedded mode's feed, the rebuild of a lost timeline, the fallback while Redis is
    away, and the pages older than a timeline's capacity all come from here."""
    query = (
        select(Photo.id)
        .where(
            or_(Photo.owner_id == reader_id, Photo.owner_id.in_(_followees(reader_id))),
            *_shown(),  # type: ignore[arg-type]
        )
        .order_by(Photo.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Photo.id < before_id)
    return list((await session.execute(query)).scalars())


async def timeline_seed(
    session: AsyncSession, reader_id: int, *, max_followers: int, limit: int
) -> list[int]:
    """What a rebuilt timeline holds: photos fan-out would have put there, i.e. the
    reader's own and those of followees small enough to be fanned out."""
    small_followees = (
        select(Follow.followee_id)
        .join(User, User.id == Follow.followee_id)
        .where(Follow.follower_id == reader_id, User.followers_count <= max_followers)
    )
    query = (
        select(Photo.id)
        .where(
            or_(Photo.owner_id == reader_id, Photo.owner_id.in_(small_followees)),
            *_shown(),  # type: ignore[arg-type]
        )
        .order_by(Photo.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def big_followees(session: AsyncSession, reader_id: int, *, max_followers: int) -> list[int]:
    """Followees too big to fan out: their photos are merged in at read time."""
    query = (
        select(User.id)
        .join(Follow, Follow.followee_id == User.id)
        .where(Follow.follower_id == reader_id, User.followers_count > max_followers)
    )
    return list((await session.execute(query)).scalars())


async def recent_ids_of(
    session: AsyncSession, owner_ids: list[int], *, before_id: int | None, limit: int
) -> list[int]:
    query = (
        select(Photo.id)
        .where(Photo.owner_id.in_(owner_ids), *_shown())  # type: ignore[arg-type]
        .order_by(Photo.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Photo.id < before_id)
    return list((await session.execute(query)).scalars())


async def follower_chunk(
    session: AsyncSession, owner_id: int, *, after_follow_id: int, limit: int
) -> list[tuple[int, int]]:
    """(follow id, follower id) pairs in follow-id order, for fan-out in chunks."""
    query = (
        select(Follow.id, Follow.follower_id)
        .where(Follow.followee_id == owner_id, Follow.id > after_follow_id)
        .order_by(Follow.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def followed_among(session: AsyncSession, reader_id: int, owner_ids: set[int]) -> set[int]:
    """Which of these accounts the reader follows now: one query for a whole page."""
    if not owner_ids:
        return set()
    result = await session.execute(
        select(Follow.followee_id).where(
            Follow.follower_id == reader_id, Follow.followee_id.in_(owner_ids)
        )
    )
    return set(result.scalars())


async def recent_with_likes(
    session: AsyncSession, *, since: datetime, limit: int
) -> list[tuple[int, int, datetime]]:
    """(id, like count, created at) of the newest shown photos since ``since``."""
    query = (
        select(Photo.id, Photo.like_count, Photo.created_at)
        .where(Photo.created_at >= since, *_shown())  # type: ignore[arg-type]
        .order_by(Photo.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1], row[2]) for row in (await session.execute(query)).all()]


async def followers_count(session: AsyncSession, user_id: int) -> int:
    result = await session.execute(select(User.followers_count).where(User.id == user_id))
    return result.scalar_one_or_none() or 0
