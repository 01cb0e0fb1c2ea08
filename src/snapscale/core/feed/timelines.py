"""Per-user home timelines in Redis: photo ids only, newest first, capped.

Each timeline is a sorted set whose members are zero-padded photo ids, all with score 0,
so Redis orders them lexicographically, which for fixed-width digits is numeric order.
(Scores are doubles: 63-bit ids would lose precision as scores.) A sentinel member that
sorts before every id marks a timeline as built: a missing key means "rebuild from the
database", while a built timeline with no photos is just the sentinel. Fan-out only ever
adds to timelines that exist, so a partial timeline is never mistaken for a whole one.

Beside each timeline the store keeps the reader's "big followees" (followed accounts too
big to fan out, whose photos are merged in at read time), so a warm feed page needs no
query over everyone the reader follows. Each entry is stamped with a generation number
that moves whenever any account crosses the fan-out threshold: an entry from an older
generation is recomputed, and following or unfollowing anyone drops the reader's entry.

A write Redis does not take (down, hung, restarted from an older snapshot) would leave a
timeline that exists but lacks a photo, forever: nothing rebuilds a timeline that exists.
So writes never fail their caller; instead this process notes whose timelines missed a
write, and as soon as Redis answers again (its next use of timelines, or a retry every
second meanwhile) it drops those timelines and big-followee lists, which their next read
rebuilds from the database. Past ``max_missed`` readers it drops every timeline instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from snapscale.core.errors import Unavailable
from snapscale.observability import metrics

log = logging.getLogger(__name__)

SENTINEL = "0" * 19
ID_WIDTH = 19
# A reader's big-followee list is dropped when they follow or unfollow someone; if that
# drop is lost (Redis unreachable at that moment), the list is still recomputed within
# this long.
BIG_FOLLOWEES_TTL_SECONDS = 3600
# Readers remembered one by one as having missed a write; past this, every timeline is
# dropped once Redis is back (a rebuild each on next read, as after a flush).
MAX_MISSED_READERS = 100_000
DROP_BATCH = 1000
RECOVER_EVERY_SECONDS = 1.0

# KEYS: timelines; ARGV[1]: capacity; ARGV[2]: ttl seconds; ARGV[3...]: members.
# Adds the members to every timeline that exists, trims each to capacity, keeps it alive.
_ADD_IF_BUILT = """
local added = 0
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    for i = 3, #ARGV do
      redis.call('ZADD', key, 0, ARGV[i])
    end
    redis.call('ZREMRANGEBYRANK', key, 1, -(tonumber(ARGV[1]) + 2))
    redis.call('EXPIRE', key, ARGV[2])
    added = added + 1
  end
end
return added
"""


class TimelineUnavailable(Unavailable):
    """Redis could not be used; the caller reads the feed from the database instead."""


@dataclass(frozen=True)
class TimelinePage:
    # False when the timeline does not exist (never built, expired, evicted, flushed):
    # the caller rebuilds it from the database.
    built: bool
    ids: list[int]
    # True when the page stopped at the oldest entry of a timeline that was trimmed to
    # capacity: older photos exist, but only in the database.
    truncated: bool
    # The reader's followees too big to fan out, or None when not known for the current
    # generation (then the caller asks the database and calls remember_big_followees).
    big_followees: list[int] | None
    generation: int


def member(photo_id: int) -> str:
    return f"{photo_id:0{ID_WIDTH}d}"


class RedisTimelines:
    def __init__(self, client: Redis, *, prefix: str, capacity: int, ttl_seconds: int) -> None:
        self._client = client
        self._prefix = prefix + "timeline:"
        self._big_prefix = prefix + "big-followees:"
        self._generation_key = prefix + "big-accounts-generation"
        self.capacity = capacity
        self._ttl = ttl_seconds
        self._add_if_built = client.register_script(_ADD_IF_BUILT)
        self.max_missed = MAX_MISSED_READERS
        # What missed a write while Redis could not be reached, to drop once it answers.
        self._missed: set[int] = set()
        self._missed_everyone = False
        self._missed_generation = False
        self._recovery: asyncio.Task[None] | None = None

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}{user_id}"

    async def page(self, user_id: int, *, before_id: int | None, limit: int) -> TimelinePage:
        """Up to ``limit`` ids older than ``before_id``, and the reader's big followees."""
        key = self._key(user_id)
        upper = f"({member(before_id)}" if before_id is not None else "+"
        try:
            await self._drop_missed()
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.zrange(key, upper, "-", desc=True, bylex=True, offset=0, num=limit + 1)
                pipe.zcard(key)
                pipe.get(self._generation_key)
                pipe.get(self._big_prefix + str(user_id))
                found, size, generation, big = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise TimelineUnavailable(f"timeline read failed: {exc}") from exc
        current = int(generation or 0)
        big_followees = _parse_big_followees(big, current)
        if not found:  # not even the sentinel: never built, expired or evicted
            return TimelinePage(False, [], False, big_followees, current)
        members = [m.decode() if isinstance(m, bytes) else m for m in found]
        reached_end = members[-1] == SENTINEL
        ids = [int(m) for m in members if m != SENTINEL][:limit]
        full = size - 1 >= self.capacity
        truncated = reached_end and full and len(ids) < limit
        return TimelinePage(True, ids, truncated, big_followees, current)

    async def remember_big_followees(
        self, user_id: int, generation: int, followee_ids: Iterable[int]
    ) -> None:
        value = f"{generation}:" + ",".join(str(i) for i in followee_ids)
        try:
            await self._client.set(
                self._big_prefix + str(user_id), value, ex=BIG_FOLLOWEES_TTL_SECONDS
            )
        except (RedisError, OSError) as exc:
            raise TimelineUnavailable(f"big followees not stored: {exc}") from exc

    async def forget_big_followees(self, user_id: int) -> None:
        """The reader followed or unfollowed someone: recompute their big followees."""
        try:
            await self._drop_missed()
            await self._client.delete(self._big_prefix + str(user_id))
        except (RedisError, OSError) as exc:
            self._miss([user_id], exc)

    async def big_accounts_changed(self) -> None:
        """An account crossed the fan-out threshold: every reader's entry is out of date."""
        try:
            await self._drop_missed()
            await self._client.incr(self._generation_key)
        except (RedisError, OSError) as exc:
            self._missed_generation = True
            log.warning("big-accounts generation not moved, will be once Redis is back: %s", exc)
            self._recover_soon()

    async def build(self, user_id: int, photo_ids: Iterable[int]) -> None:
        key = self._key(user_id)
        mapping = {member(photo_id): 0 for photo_id in photo_ids}
        mapping[SENTINEL] = 0
        try:
            await self._drop_missed()
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                pipe.zadd(key, mapping)
                pipe.zremrangebyrank(key, 1, -(self.capacity + 2))
                pipe.expire(key, self._ttl)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            # It may still reach Redis late, over writes made since: drop it too.
            self._miss([user_id], exc)
            raise TimelineUnavailable(f"timeline build failed: {exc}") from exc

    async def add(self, user_ids: Iterable[int], photo_ids: Iterable[int]) -> None:
        """Add photos to those of these timelines that are built, in one round trip."""
        users = list(user_ids)
        members = [member(photo_id) for photo_id in photo_ids]
        if not (users and members):
            return
        keys = [self._key(user_id) for user_id in users]
        try:
            await self._drop_missed()
            await self._add_if_built(keys=keys, args=[self.capacity, self._ttl, *members])
        except (RedisError, OSError) as exc:
            self._miss(users, exc)

    async def remove(self, user_ids: Iterable[int], photo_ids: Iterable[int]) -> None:
        users = list(user_ids)
        members = [member(photo_id) for photo_id in photo_ids]
        if not (users and members):
            return
        try:
            await self._drop_missed()
            async with self._client.pipeline(transaction=False) as pipe:
                for user_id in users:
                    pipe.zrem(self._key(user_id), *members)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._miss(users, exc)

    def _miss(self, user_ids: Iterable[int], exc: Exception) -> None:
        metrics.REDIS_FAILURES.labels("timelines").inc()
        if not (self._missed or self._missed_everyone):
            log.warning("timeline writes missed; those timelines go once Redis is back: %s", exc)
        if self._missed_everyone:
            return
        self._missed.update(user_ids)
        if len(self._missed) > self.max_missed:
            self._missed_everyone, self._missed = True, set()
        self._recover_soon()

    def _has_missed(self) -> bool:
        return bool(self._missed or self._missed_everyone or self._missed_generation)

    def _recover_soon(self) -> None:
        """Keep trying to drop what was missed, so a process that goes quiet still does."""
        if self._recovery is not None and not self._recovery.done():
            return
        # Its own context: started inside a request, it must not carry that request's ids.
        self._recovery = asyncio.get_running_loop().create_task(
            self._recover(), name="timelines: drop missed", context=contextvars.Context()
        )

    async def _recover(self) -> None:
        while self._has_missed():
            await asyncio.sleep(RECOVER_EVERY_SECONDS)
            with contextlib.suppress(RedisError, OSError):
                await self._drop_missed()

    async def aclose(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery

    async def _drop_missed(self) -> None:
        """Drop the timelines that missed a write, now that Redis may answer again; raises
        (and keeps them noted) if it does not."""
        if not self._has_missed():
            return
        # Taken before the first await: misses noted meanwhile wait for the next call.
        users, self._missed = self._missed, set()
        everyone, self._missed_everyone = self._missed_everyone, False
        generation, self._missed_generation = self._missed_generation, False
        try:
            if everyone:
                await self._drop_every_timeline()
            ordered = sorted(users)
            for start in range(0, len(ordered), DROP_BATCH):
                batch = ordered[start : start + DROP_BATCH]
                keys = [self._key(u) for u in batch] + [self._big_prefix + str(u) for u in batch]
                await self._client.unlink(*keys)
            if generation:
                await self._client.incr(self._generation_key)
        except BaseException:
            self._missed |= users
            self._missed_everyone |= everyone
            self._missed_generation |= generation
            raise
        log.info(
            "Redis is back: dropped %s that missed writes while it was away",
            "every timeline" if everyone else f"{len(users)} timelines",
        )

    async def _drop_every_timeline(self) -> None:
        for pattern in (self._prefix + "*", self._big_prefix + "*"):
            batch: list[bytes | str] = []
            async for key in self._client.scan_iter(match=pattern, count=DROP_BATCH):
                batch.append(key)
                if len(batch) == DROP_BATCH:
                    await self._client.unlink(*batch)
                    batch = []
            if batch:
                await self._client.unlink(*batch)


def _parse_big_followees(raw: bytes | str | None, generation: int) -> list[int] | None:
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    stamp, _, ids = text.partition(":")
    if stamp != str(generation):
        return None
    return [int(i) for i in ids.split(",") if i]
