"""Every query the demo seeder makes: bulk inserts, and counters recomputed from the rows
they count (one statement each) instead of bumped one row at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from snapscale.core.db import Base
from snapscale.core.models import Comment, Follow, Like, Photo, PhotoStatus, User
from snapscale.demo.graph import CELEBRITY_USERNAME, USERNAME_PREFIX


def _is_demo_user() -> ColumnElement[bool]:
    # autoescape: "_" is a LIKE wildcard, and "demox..." is not a demo account.
    return User.username.startswith(USERNAME_PREFIX, autoescape=True)


def _owned_by_demo_user() -> ColumnElement[bool]:
    return Photo.owner_id.in_(select(User.id).where(_is_demo_user()))


async def demo_users_exist(session: AsyncSession) -> bool:
    result = await session.execute(select(User.id).where(_is_demo_user()).limit(1))
    return result.first() is not None


async def insert_rows(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]]
) -> None:
    """One multi-row INSERT; columns left out get their model defaults."""
    if rows:
        await session.execute(insert(model), list(rows))


async def recount_follows(session: AsyncSession) -> None:
    """Set every demo user's follower and following counts to the rows that exist."""
    followers = select(func.count()).where(Follow.followee_id == User.id).scalar_subquery()
    following = select(func.count()).where(Follow.follower_id == User.id).scalar_subquery()
    await session.execute(
        update(User)
        .where(_is_demo_user())
        .values(followers_count=followers, following_count=following)
        .execution_options(synchronize_session=False)
    )


async def recount_reactions(session: AsyncSession) -> None:
    """Set the like and comment counts of every demo photo to the rows that exist."""
    likes = select(func.count()).where(Like.photo_id == Photo.id).scalar_subquery()
    comments = select(func.count()).where(Comment.photo_id == Photo.id).scalar_subquery()
    await session.execute(
        update(Photo)
        .where(_owned_by_demo_user())
        .values(like_count=likes, comment_count=comments)
        .execution_options(synchronize_session=False)
    )


async def ready_photo_ids(session: AsyncSession) -> set[int]:
    result = await session.execute(
        select(Photo.id).where(_owned_by_demo_user(), Photo.status == PhotoStatus.READY)
    )
    return set(result.scalars())


async def ready_photo_count(session: AsyncSession) -> int:
    query = select(func.count()).where(_owned_by_demo_user(), Photo.status == PhotoStatus.READY)
    return int((await session.execute(query)).scalar_one())


@dataclass(frozen=True)
class DemoCounts:
    users: int
    follows: int
    celebrity_followers: int
    photos_ready: int
    likes: int
    comments: int


async def counts(session: AsyncSession) -> DemoCounts:
    """What the demo data holds, counted from the rows themselves."""
    demo_ids = select(User.id).where(_is_demo_user())
    demo_photo_ids = select(Photo.id).where(_owned_by_demo_user())

    async def count(query: Any) -> int:
        return int((await session.execute(query)).scalar_one())

    return DemoCounts(
        users=await count(select(func.count()).where(_is_demo_user())),
        follows=await count(select(func.count()).where(Follow.follower_id.in_(demo_ids))),
        celebrity_followers=await count(
            select(User.followers_count).where(User.username == CELEBRITY_USERNAME)
        ),
        photos_ready=await ready_photo_count(session),
        likes=await count(select(func.count()).where(Like.photo_id.in_(demo_photo_ids))),
        comments=await count(select(func.count()).where(Comment.photo_id.in_(demo_photo_ids))),
    )
