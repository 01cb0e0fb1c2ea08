"""Every query of the social graph: follows, likes, comments and their counters."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from snapscale.core.db import insert_or_ignore
from snapscale.core.ids import new_id
from snapscale.core.models import Comment, Follow, Like, Photo, User


async def add_follow(session: AsyncSession, follower_id: int, followee_id: int) -> int | None:
    """Follow; returns the followee's new follower count, or None if already following."""
    added = await insert_or_ignore(
        session, Follow, id=new_id(), follower_id=follower_id, followee_id=followee_id
    )
    if not added:
        return None
    return await _bump_follow_counters(session, follower_id, followee_id, 1)


async def remove_follow(session: AsyncSession, follower_id: int, followee_id: int) -> int | None:
    """Unfollow; returns the followee's new follower count, or None if not following."""
    result = await session.execute(
        delete(Follow).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return await _bump_follow_counters(session, follower_id, followee_id, -1)


async def _bump_follow_counters(
    session: AsyncSession, follower_id: int, followee_id: int, delta: int
) -> int:
    # Atomic increments, not read-modify-write: concurrent follows each add their one, and
    # the count returned is the one this change produced.
    followers = await session.execute(
        update(User)
        .where(User.id == followee_id)
        .values(followers_count=User.followers_count + delta)
        .returning(User.followers_count)
    )
    count = int(followers.scalar_one())
    await session.execute(
        update(User)
        .where(User.id == follower_id)
        .values(following_count=User.following_count + delta)
    )
    return count


async def is_following(session: AsyncSession, follower_id: int, followee_id: int) -> bool:
    result = await session.execute(
        select(Follow.id).where(
            Follow.follower_id == follower_id, Follow.followee_id == followee_id
        )
    )
    return result.first() is not None


async def followers(
    session: AsyncSession, user_id: int, *, before_id: int | None, limit: int
) -> Sequence[tuple[int, User]]:
    """(follow id, follower) pairs, newest follow first."""
    return await _people(session, Follow.followee_id, Follow.follower_id, user_id, before_id, limit)


async def following(
    session: AsyncSession, user_id: int, *, before_id: int | None, limit: int
) -> Sequence[tuple[int, User]]:
    """(follow id, followee) pairs, newest follow first."""
    return await _people(session, Follow.follower_id, Follow.followee_id, user_id, before_id, limit)


async def _people(
    session: AsyncSession,
    anchor: InstrumentedAttribute[int],
    other: InstrumentedAttribute[int],
    user_id: int,
    before_id: int | None,
    limit: int,
) -> Sequence[tuple[int, User]]:
    """One side of a user's follows: the accounts at ``other`` where ``anchor`` is them."""
    query = (
        select(Follow.id, User)
        .join(User, User.id == other)
        .where(anchor == user_id, User.is_active)
        .order_by(Follow.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Follow.id < before_id)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def add_like(session: AsyncSession, photo_id: int, user_id: int) -> bool:
    added = await insert_or_ignore(session, Like, photo_id=photo_id, user_id=user_id)
    if added:
        await _bump_photo(session, photo_id, like_count=Photo.like_count + 1)
    return added


async def remove_like(session: AsyncSession, photo_id: int, user_id: int) -> bool:
    result = await session.execute(
        delete(Like).where(Like.photo_id == photo_id, Like.user_id == user_id)
    )
    removed = bool(result.rowcount)  # type: ignore[attr-defined]
    if removed:
        await _bump_photo(session, photo_id, like_count=Photo.like_count - 1)
    return removed


async def add_comment(session: AsyncSession, comment: Comment) -> None:
    session.add(comment)
    await session.flush()
    await _bump_photo(session, comment.photo_id, comment_count=Photo.comment_count + 1)


async def get_comment(session: AsyncSession, comment_id: int) -> Comment | None:
    return await session.get(Comment, comment_id)


async def remove_comment(session: AsyncSession, comment: Comment) -> None:
    await session.execute(delete(Comment).where(Comment.id == comment.id))
    await _bump_photo(session, comment.photo_id, comment_count=Photo.comment_count - 1)


async def comments(
    session: AsyncSession, photo_id: int, *, after_id: int | None, limit: int
) -> Sequence[tuple[Comment, User]]:
    """Oldest first, with their authors, in one query."""
    query = (
        select(Comment, User)
        .join(User, User.id == Comment.author_id)
        .where(Comment.photo_id == photo_id)
        .order_by(Comment.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(Comment.id > after_id)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def _bump_photo(session: AsyncSession, photo_id: int, **values: object) -> None:
    await session.execute(update(Photo).where(Photo.id == photo_id).values(**values))
