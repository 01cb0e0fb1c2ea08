"""Every query the admin dashboard and the moderation pages make."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from snapscale.core import ids
from snapscale.core.models import Photo, User

# Ids are time-ordered: an id divided by this is the minute it was made in (counted from
# ids.EPOCH_MS, itself a whole minute). Plain integer division means the same on SQLite
# and PostgreSQL, and a range of ids is a range of the primary key.
_ID_TIME_SHIFT = ids.NODE_BITS + ids.SEQUENCE_BITS
_IDS_PER_MINUTE = 60_000 << _ID_TIME_SHIFT
_EPOCH_MINUTE = ids.EPOCH_MS // 60_000


async def user_counts(session: AsyncSession, *, joined_since: datetime) -> tuple[int, int, int]:
    """All accounts, those made since ``joined_since``, and those not deactivated."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((User.created_at >= joined_since, 1), else_=0)), 0),
                func.coalesce(func.sum(case((User.is_active, 1), else_=0)), 0),
            ).select_from(User)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def photo_counts(session: AsyncSession) -> dict[str, int]:
    """Photos not deleted, by status."""
    result = await session.execute(
        select(Photo.status, func.count()).where(Photo.deleted_at.is_(None)).group_by(Photo.status)
    )
    return {str(status): int(count) for status, count in result.all()}


async def uploads_per_minute(session: AsyncSession, *, since_minute: int) -> dict[int, int]:
    """Photos uploaded in each epoch minute from ``since_minute`` on (deleted ones too:
    they were uploads all the same)."""
    minute = Photo.id // _IDS_PER_MINUTE
    first_id = max(0, since_minute - _EPOCH_MINUTE) * _IDS_PER_MINUTE
    result = await session.execute(
        select(minute, func.count()).where(Photo.id >= first_id).group_by(minute)
    )
    return {int(bucket) + _EPOCH_MINUTE: int(count) for bucket, count in result.all()}


async def users_by_prefix(session: AsyncSession, prefix: str, *, limit: int) -> Sequence[User]:
    """Accounts whose username starts with ``prefix``, deactivated ones included, A to Z."""
    query = select(User).order_by(User.username).limit(limit)
    if prefix:
        query = query.where(User.username.startswith(prefix, autoescape=True))
    return (await session.execute(query)).scalars().all()
