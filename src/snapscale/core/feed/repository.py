"""Every query the home feed makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Select,
    bindparam,
    exists,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from snapscale.core.models import Follow, Like, Photo, PhotoStatus, User


def _shown() -> tuple[object, ...]:
    """Photos anyone may see: ready, not deleted, and by an account still active."""
    return (
        Photo.status == PhotoStatus.READY,
        Photo.deleted_at.is_(None),
        exists().where(User.id == Photo.owner_id, User.is_active.is_(True)),
    )


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


@dataclass(frozen=True)
class PageFacts:
    """What the database says about a feed page, for one reader."""

    # Of the photos asked about: those still shown, by the reader or someone they follow.
    kept: set[int]
    # The newest shown photos of the big accounts asked about that the reader follows.
    merged: list[int]
    # Of both, the photos the reader likes.
    liked: set[int]


_KEPT, _MERGED, _LIKED = 1, 2, 3


async def page_facts(
    session: AsyncSession,
    reader_id: int,
    *,
    photo_ids: Sequence[int],
    merge_from: Sequence[int],
    before_id: int | None,
    limit: int,
) -> PageFacts:
    """Everything a feed page needs from the database, in one round trip: the follow
    check of the page's photos, the big accounts' photos merged in, and the likes. Each
    part is an index lookup per photo or per big account, never a scan of everyone the
    reader follows, so the cost does not grow with the follow graph."""
    facts = PageFacts(kept=set(), merged=[], liked=set())
    if not photo_ids and not merge_from:
        return facts
    statement = _page_facts_statement(bool(photo_ids), bool(merge_from), before_id is not None)
    parameters = {
        "reader_id": reader_id,
        "photo_ids": list(photo_ids),
        "merge_from": list(merge_from),
        "before_id": before_id,
        "limit": limit,
    }
    for kind, photo_id in (await session.execute(statement, parameters)).all():
        if kind == _KEPT:
            facts.kept.add(photo_id)
        elif kind == _MERGED:
            facts.merged.append(photo_id)
        else:
            facts.liked.add(photo_id)
    facts.merged.sort(reverse=True)
    return facts


@cache
def _page_facts_statement(asks_photos: bool, merges: bool, paged: bool) -> CompoundSelect[Any]:
    """Built once per shape and reused: a feed read should not pay for building SQL."""
    reader: BindParameter[int] = bindparam("reader_id")
    parts: list[Select[int, int]] = []
    liked_photos: list[ColumnElement[bool]] = []
    if asks_photos:
        photo_ids: BindParameter[list[int]] = bindparam("photo_ids", expanding=True)
        parts.append(
            select(literal(_KEPT), Photo.id).where(
                Photo.id.in_(photo_ids),
                *_shown(),  # type: ignore[arg-type]
                or_(Photo.owner_id == reader, _follows(reader, Photo.owner_id)),
            )
        )
        liked_photos.append(Like.photo_id.in_(photo_ids))
    if merges:
        newest = (
            select(Photo.id)
            .where(
                Photo.owner_id.in_(bindparam("merge_from", expanding=True)),
                _follows(reader, Photo.owner_id),
                *_shown(),  # type: ignore[arg-type]
            )
            .order_by(Photo.id.desc())
            .limit(bindparam("limit"))
        )
        if paged:
            newest = newest.where(Photo.id < bindparam("before_id"))
        merged = newest.cte("merged")
        parts.append(select(literal(_MERGED), merged.c.id))
        liked_photos.append(Like.photo_id.in_(select(merged.c.id)))
    parts.append(
        select(literal(_LIKED), Like.photo_id).where(Like.user_id == reader, or_(*liked_photos))
    )
    return union_all(*parts)


def _follows(reader: Any, owner_id: Any) -> ColumnElement[bool]:
    return exists().where(Follow.follower_id == reader, Follow.followee_id == owner_id)


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
