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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from snapscale.core.errors import Unavailable

SENTINEL = "0" * 19
ID_WIDTH = 19
# A reader's big-followee list is dropped when they follow or unfollow someone; if that
# drop is lost (Redis unreachable at that moment), the list is still recomputed within
# this long.
BIG_FOLLOWEES_TTL_SECONDS = 3600

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

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}{user_id}"

    async def page(self, user_id: int, *, before_id: int | None, limit: int) -> TimelinePage:
        """Up to ``limit`` ids older than ``before_id``, and the reader's big followees."""
        key = self._key(user_id)
        upper = f"({member(before_id)}" if before_id is not None else "+"
        try:
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
        await self._client.delete(self._big_prefix + str(user_id))

    async def big_accounts_changed(self) -> None:
        """An account crossed the fan-out threshold: every reader's entry is out of date."""
        await self._client.incr(self._generation_key)

    async def build(self, user_id: int, photo_ids: Iterable[int]) -> None:
        key = self._key(user_id)
        mapping = {member(photo_id): 0 for photo_id in photo_ids}
        mapping[SENTINEL] = 0
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                pipe.zadd(key, mapping)
                pipe.zremrangebyrank(key, 1, -(self.capacity + 2))
                pipe.expire(key, self._ttl)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise TimelineUnavailable(f"timeline build failed: {exc}") from exc

    async def add(self, user_ids: Iterable[int], photo_ids: Iterable[int]) -> None:
        """Add photos to those of these timelines that are built, in one round trip."""
        keys = [self._key(user_id) for user_id in user_ids]
        members = [member(photo_id) for photo_id in photo_ids]
        if keys and members:
            await self._add_if_built(keys=keys, args=[self.capacity, self._ttl, *members])

    async def remove(self, user_ids: Iterable[int], photo_ids: Iterable[int]) -> None:
        members = [member(photo_id) for photo_id in photo_ids]
        if not members:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.zrem(self._key(user_id), *members)
            await pipe.execute()


def _parse_big_followees(raw: bytes | str | None, generation: int) -> list[int] | None:
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    stamp, _, ids = text.partition(":")
    if stamp != str(generation):
        return None
    return [int(i) for i in ids.split(",") if i]
