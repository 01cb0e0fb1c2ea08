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
from dataclasses import dataclass

from snapscale.core.db import UnitOfWork
from snapscale.core.feed import repository
from snapscale.core.feed.timelines import RedisTimelines, TimelineUnavailable
from snapscale.core.jobs import enqueue
from snapscale.core.models import User
from snapscale.core.pagination import Page, decode_cursor, encode_cursor
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import PhotoOut, PhotoPage

log = logging.getLogger(__name__)

# Photos copied into a timeline when its owner follows someone new.
BACKFILL = 100
BACKFILL_FOLLOWERS_JOB = "feed.backfill_followers"


async def read_feed(
    uow: UnitOfWork, *, reader_id: int, cursor: str | None, limit: int
) -> Page[PhotoOut]:
    before_id = int(decode_cursor(cursor, int)[0]) if cursor else None
    listed = await _listed(uow, reader_id=reader_id, before_id=before_id, limit=limit + 1)
    facts = await repository.page_facts(
        uow.session,
        reader_id,
        photo_ids=listed.ids,
        merge_from=listed.big_followees,
        before_id=before_id,
        limit=limit + 1,
    )
    ids = sorted(set(listed.ids) | set(facts.merged), reverse=True)[: limit + 1]
    page_ids = ids[:limit]
    # A timeline may still hold photos of someone just unfollowed (its clean-up is
    # best-effort), or photos deleted since: the database has the last word.
    shown = [i for i in page_ids if i in facts.kept or i in facts.merged]
    cards = await photo_service.cards(uow, shown)
    items = photo_service.with_likes([cards[i] for i in shown if i in cards], facts.liked)
    # The cursor is the last id looked at, not the last shown: a photo deleted since the
    # timeline was written is skipped without leaving a gap.
    next_cursor = encode_cursor(page_ids[-1]) if len(ids) > limit else None
    return PhotoPage(items=items, next_cursor=next_cursor)


@dataclass(frozen=True)
class _Listed:
    """Candidate photo ids, newest first, and the big accounts whose photos join them."""

    ids: list[int]
    big_followees: list[int]


async def _listed(uow: UnitOfWork, *, reader_id: int, before_id: int | None, limit: int) -> _Listed:
    if uow.timelines is not None:
        try:
            return await _from_timeline(uow, uow.timelines, reader_id, before_id, limit)
        except TimelineUnavailable as exc:
            log.warning("feed of %s read from the database: %s", reader_id, exc)
    ids = await repository.feed_ids(uow.session, reader_id, before_id=before_id, limit=limit)
    return _Listed(ids=ids, big_followees=[])


async def _from_timeline(
    uow: UnitOfWork,
    timelines: RedisTimelines,
    reader_id: int,
    before_id: int | None,
    limit: int,
) -> _Listed:
    max_followers = uow.settings.feed_fanout_max_followers
    page = await timelines.page(reader_id, before_id=before_id, limit=limit)
    if not page.built:
        seed = await repository.timeline_seed(
            uow.session, reader_id, max_followers=max_followers, limit=timelines.capacity
        )
        await timelines.build(reader_id, seed)
        ids = [i for i in seed if before_id is None or i < before_id][:limit]
        truncated = len(seed) >= timelines.capacity and len(ids) < limit
    else:
        ids, truncated = page.ids, page.truncated
    if truncated:
        # Older than anything the capped timeline keeps: read the rest from the database,
        # big accounts' photos included.
        oldest = ids[-1] if ids else before_id
        ids += await repository.feed_ids(
            uow.session, reader_id, before_id=oldest, limit=limit - len(ids)
        )
        return _Listed(ids=ids, big_followees=[])
    big = page.big_followees
    if big is None:
        big = await repository.big_followees(uow.session, reader_id, max_followers=max_followers)
        await timelines.remember_big_followees(reader_id, page.generation, big)
    return _Listed(ids=ids, big_followees=big)


async def followed(
    uow: UnitOfWork, *, follower_id: int, followee: User, followers_now: int
) -> None:
    """After commit: backfill the follower's timeline with the newcomer's recent photos,
    and recompute which big accounts the follower follows."""
    timelines = uow.timelines
    if timelines is None:
        return  # no timelines: feeds are read from the database
    max_followers = uow.settings.feed_fanout_max_followers
    recent: list[int] = []
    if followers_now <= max_followers:  # a big account is merged at read time anyway
        recent = await repository.recent_ids_of(
            uow.session, [followee.id], before_id=None, limit=BACKFILL
        )
    crossed = followers_now == max_followers + 1

    async def after() -> None:
        await timelines.add([follower_id], recent)
        await timelines.forget_big_followees(follower_id)
        if crossed:
            await timelines.big_accounts_changed()

    uow.after_commit(after)


async def unfollowed(
    uow: UnitOfWork, *, follower_id: int, followee: User, followers_now: int
) -> None:
    """After commit: take the former followee's photos out of the follower's timeline. An
    account that just became small enough to fan out gets its recent photos, which were
    never fanned out, copied into its followers' timelines."""
    timelines = uow.timelines
    if timelines is None:
        return
    recent = await repository.recent_ids_of(
        uow.session, [followee.id], before_id=None, limit=timelines.capacity
    )
    crossed = followers_now == uow.settings.feed_fanout_max_followers
    if crossed:
        enqueue(uow, BACKFILL_FOLLOWERS_JOB, owner_id=str(followee.id))

    async def after() -> None:
        await timelines.remove([follower_id], recent)
        await timelines.forget_big_followees(follower_id)
        if crossed:
            await timelines.big_accounts_changed()

    uow.after_commit(after)
