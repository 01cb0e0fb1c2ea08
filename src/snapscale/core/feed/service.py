"""The home feed: ready photos of the accounts a reader follows, and their own, newest first.

With Redis, each reader has a timeline of photo ids filled on write (fan-out jobs), while
photos of accounts with more followers than ``feed_fanout_max_followers`` are merged in
at read time, so one celebrity's post is not a million writes. A timeline that is
missing (never built, expired, evicted, Redis flushed) is rebuilt from the database on
read, and while Redis is unreachable the feed is read from the database outright: Redis
changes how fast a feed is, never what it shows. Without Redis (embedded mode) the feed
is always read from the database, through the same membership rule, so both modes give
identical pages.

Cursors are the id of the last photo on a page: photo ids grow with time, so photos
posted while someone pages land before the first page and never shift later ones.
"""

from __future__ import annotations

import logging

from snapscale.core.db import UnitOfWork
from snapscale.core.feed import repository
from snapscale.core.feed.timelines import RedisTimelines, TimelineUnavailable
from snapscale.core.models import User
from snapscale.core.pagination import Page, decode_cursor, encode_cursor
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import PhotoOut

log = logging.getLogger(__name__)

# Photos copied into a timeline when its owner follows someone new.
BACKFILL = 100


async def read_feed(
    uow: UnitOfWork, *, reader_id: int, cursor: str | None, limit: int
) -> Page[PhotoOut]:
    before_id = int(decode_cursor(cursor, int)[0]) if cursor else None
    ids = await feed_ids(uow, reader_id=reader_id, before_id=before_id, limit=limit + 1)
    page_ids = ids[:limit]
    items = await photo_service.present_ids(uow, page_ids, viewer_id=reader_id)
    # A timeline may still hold photos of someone just unfollowed (its clean-up is
    # best-effort): the follow graph in the database has the last word.
    others = {item.owner.id for item in items} - {reader_id}
    followed = await repository.followed_among(uow.session, reader_id, others)
    items = [item for item in items if item.owner.id in followed or item.owner.id == reader_id]
    # The cursor is the last id looked at, not the last shown: a photo deleted since the
    # timeline was written is skipped without leaving a gap.
    next_cursor = encode_cursor(page_ids[-1]) if len(ids) > limit else None
    return Page[PhotoOut](items=items, next_cursor=next_cursor)


async def feed_ids(
    uow: UnitOfWork, *, reader_id: int, before_id: int | None, limit: int
) -> list[int]:
    if uow.timelines is not None:
        try:
            return await _from_timeline(uow, uow.timelines, reader_id, before_id, limit)
        except TimelineUnavailable as exc:
            log.warning("feed of %s read from the database: %s", reader_id, exc)
    return await repository.feed_ids(uow.session, reader_id, before_id=before_id, limit=limit)


async def _from_timeline(
    uow: UnitOfWork,
    timelines: RedisTimelines,
    reader_id: int,
    before_id: int | None,
    limit: int,
) -> list[int]:
    max_followers = uow.settings.feed_fanout_max_followers
    page = await timelines.page(reader_id, before_id=before_id, limit=limit)
    if page is None:
        seed = await repository.timeline_seed(
            uow.session, reader_id, max_followers=max_followers, limit=timelines.capacity
        )
        await timelines.build(reader_id, seed)
        ids = [i for i in seed if before_id is None or i < before_id][:limit]
        truncated = len(seed) >= timelines.capacity and len(ids) < limit
    else:
        ids, truncated = page.ids, page.truncated
    if truncated:
        # Older than anything the capped timeline keeps: read the rest from the database.
        oldest = ids[-1] if ids else before_id
        ids += await repository.feed_ids(
            uow.session, reader_id, before_id=oldest, limit=limit - len(ids)
        )
        return ids
    big = await repository.big_followees(uow.session, reader_id, max_followers=max_followers)
    if big:
        merged = await repository.recent_ids_of(uow.session, big, before_id=before_id, limit=limit)
        ids = sorted(set(ids) | set(merged), reverse=True)[:limit]
    return ids


async def followed(uow: UnitOfWork, *, follower_id: int, followee: User) -> None:
    """Backfill the follower's timeline with the newcomer's recent photos (after commit)."""
    timelines = uow.timelines
    if timelines is None or followee.followers_count > uow.settings.feed_fanout_max_followers:
        return  # no timelines, or a big account: merged at read time anyway
    recent = await repository.recent_ids_of(
        uow.session, [followee.id], before_id=None, limit=BACKFILL
    )

    async def backfill() -> None:
        await timelines.add([follower_id], recent)

    uow.after_commit(backfill)


async def unfollowed(uow: UnitOfWork, *, follower_id: int, followee: User) -> None:
    """Take the former followee's photos out of the follower's timeline (after commit)."""
    timelines = uow.timelines
    if timelines is None:
        return
    recent = await repository.recent_ids_of(
        uow.session, [followee.id], before_id=None, limit=timelines.capacity
    )

    async def remove() -> None:
        await timelines.remove([follower_id], recent)

    uow.after_commit(remove)
