"""A near cache: a small in-process copy of hot Redis cache entries.

The hottest reads (a popular profile, the cards of photos in many feeds) would otherwise
cost a Redis round trip each time. Each process keeps the entries it read recently in
its own LRU, in front of the shared Redis cache, and every invalidation is broadcast on
a Redis pub/sub channel so all replicas drop their copy at once.

The local copy is only trusted while this process is subscribed: until the subscription
is confirmed, and from the moment it breaks until it is re-established (when the local
copy is cleared, since invalidations may have been missed), reads go straight to Redis.
A value read from Redis is not kept locally if any invalidation arrived while it was being
read: it may be the value that invalidation was about. Local entries also live at most
``max_age`` seconds, which bounds how stale a copy can get if a broadcast is lost (an
invalidation the writer could not publish) or if a value read from the database is cached
just after an edit invalidated it (the cache-aside race, which Redis's own copy shares
until its TTL).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging

import redis.asyncio
from redis.exceptions import RedisError

from snapscale.core.cache import MemoryCache, RedisCache
from snapscale.observability import metrics

log = logging.getLogger(__name__)

RESUBSCRIBE_SECONDS = 1.0


class NearCache:
    def __init__(
        self,
        remote: RedisCache,
        *,
        publisher: redis.asyncio.Redis,
        subscriber: redis.asyncio.Redis,
        channel: str,
        max_entries: int = 20_000,
        max_age: int = 10,
    ) -> None:
        self._remote = remote
        self._publisher = publisher
        self._subscriber = subscriber
        self._channel = channel
        self._local = MemoryCache(max_entries, count_lookups=False)
        self._max_age = max_age
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = False
        # Counts invalidations seen, so that a read can tell whether one came meanwhile.
        self._invalidations = 0

    @property
    def trusted(self) -> bool:
        return self._subscribed

    async def get(self, key: str) -> bytes | None:
        return (await self.get_many([key]))[0]

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        self._start_listening()
        if not self.trusted:
            return await self._remote.get_many(keys)
        found = await self._local.get_many(keys)
        missing = [key for key, value in zip(keys, found, strict=True) if value is None]
        # The local layer counts nothing itself; its hits are counted here and its misses
        # by the Redis layer they fall through to.
        hits = [key for key, value in zip(keys, found, strict=True) if value is not None]
        metrics.count_cache_lookups(hits, [b""] * len(hits))
        if missing:
            invalidations_before = self._invalidations
            fetched = dict(zip(missing, await self._remote.get_many(missing), strict=True))
            if self._invalidations == invalidations_before:
                await self._local.set_many(
                    {key: value for key, value in fetched.items() if value is not None},
                    self._max_age,
                )
            found = [
                value if value is not None else fetched[key]
                for key, value in zip(keys, found, strict=True)
            ]
        return found

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self.set_many({key: value}, ttl_seconds)

    async def set_many(self, values: dict[str, bytes], ttl_seconds: int) -> None:
        await self._remote.set_many(values, ttl_seconds)
        if self.trusted:
            await self._local.set_many(values, min(ttl_seconds, self._max_age))

    async def delete(self, *keys: str) -> None:
        self._invalidations += 1
        await self._local.delete(*keys)
        await self._remote.delete(*keys)
        try:
            await self._publisher.publish(self._channel, "\n".join(keys))
        except (RedisError, OSError) as exc:
            # Other replicas keep their copy for at most max_age seconds.
            log.warning("near-cache invalidation not broadcast: %s", exc)

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._subscriber.aclose()

    def _start_listening(self) -> None:
        if self._listener is None:
            # A context of its own: it is started inside a request, whose log context (the
            # request id) must not follow it for the life of the process.
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name="near-cache invalidations", context=contextvars.Context()
            )

    async def _listen(self) -> None:
        while True:
            try:
                async with self._subscriber.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    # Anything cached before this point may have missed an invalidation.
                    self._local.clear()
                    self._subscribed = True
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._invalidations += 1
                            await self._local.delete(*_keys(message["data"]))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.trusted:
                    log.warning("near cache off until Redis is back: %s", exc)
            finally:
                self._subscribed = False
                self._local.clear()
            await asyncio.sleep(RESUBSCRIBE_SECONDS)


def _keys(data: bytes | str) -> list[str]:
    text = data.decode() if isinstance(data, bytes) else data
    return text.split("\n")
