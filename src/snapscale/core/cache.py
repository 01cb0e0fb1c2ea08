"""Cache-aside storage of pre-serialized values.

Two backends behind one interface: an in-process LRU (embedded mode, shared by every
front end in the process) and Redis (production, shared by every replica). A cache is
an optimisation, never a dependency: when Redis is down or hung, reads miss and writes
are skipped, so callers fall through to the database. Redis calls have short explicit
timeouts, and a small circuit breaker stops paying even that timeout on every request
while Redis stays unreachable. Cached values also carry a TTL, which bounds how stale a
value can get if an invalidation is lost while Redis is away.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from snapscale.observability import metrics

log = logging.getLogger(__name__)


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        """One round trip for many keys; a miss is None in its place."""
        ...

    async def set_many(self, values: dict[str, bytes], ttl_seconds: int) -> None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...

    async def delete(self, *keys: str) -> None: ...


class MemoryCache:
    """A bounded, thread-safe LRU with per-entry expiry."""

    def __init__(self, max_entries: int = 10_000, *, count_lookups: bool = True) -> None:
        self._max_entries = max_entries
        # A near cache's local layer is not counted: its misses go on to Redis, which is.
        self._count_lookups = count_lookups
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    async def get(self, key: str) -> bytes | None:
        return (await self.get_many([key]))[0]

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        found = [self._lookup(key) for key in keys]
        if self._count_lookups:
            metrics.count_cache_lookups(keys, found)
        return found

    def _lookup(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, value = entry
            if expires_at <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self.set_many({key: value}, ttl_seconds)

    async def set_many(self, values: dict[str, bytes], ttl_seconds: int) -> None:
        expires_at = time.monotonic() + ttl_seconds
        with self._lock:
            for key, value in values.items():
                self._entries[key] = (expires_at, value)
                self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    async def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class CircuitBreaker:
    """Open for ``cooldown`` seconds after a failure; then one call may try again. Each
    failure is counted by ``use`` (snapscale_redis_failures_total): with /readyz staying
    ready while Redis is away, that count is how an operator hears of it."""

    def __init__(self, use: str, cooldown: float = 5.0) -> None:
        self.cooldown = cooldown
        self._open_until = 0.0
        self._failures = metrics.REDIS_FAILURES.labels(use)

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def record_failure(self) -> None:
        self._open_until = time.monotonic() + self.cooldown
        self._failures.inc()

    def record_success(self) -> None:
        self._open_until = 0.0


class RedisCache:
    def __init__(
        self, client: Redis, *, prefix: str, breaker: CircuitBreaker | None = None
    ) -> None:
        self._client = client
        self._prefix = prefix + "cache:"
        self._breaker = breaker or CircuitBreaker("cache")

    async def get(self, key: str) -> bytes | None:
        return (await self.get_many([key]))[0]

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        found = await self._fetch_many(keys)
        # Skipped or failed reads count as misses: the caller goes to the database.
        metrics.count_cache_lookups(keys, found)
        return found

    async def _fetch_many(self, keys: list[str]) -> list[bytes | None]:
        if self._breaker.is_open or not keys:
            return [None] * len(keys)
        try:
            values = await self._client.mget([self._prefix + key for key in keys])
        except (RedisError, OSError) as exc:
            self._failed("mget", exc)
            return [None] * len(keys)
        self._breaker.record_success()
        return [value if isinstance(value, bytes) else None for value in values]

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self.set_many({key: value}, ttl_seconds)

    async def set_many(self, values: dict[str, bytes], ttl_seconds: int) -> None:
        if self._breaker.is_open or not values:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, value in values.items():
                    pipe.set(self._prefix + key, value, ex=ttl_seconds)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed("set", exc)

    async def delete(self, *keys: str) -> None:
        # Invalidations are tried even while the breaker is open: losing one leaves a
        # stale value until its TTL, so it is worth the timeout.
        try:
            await self._client.delete(*(self._prefix + key for key in keys))
        except (RedisError, OSError) as exc:
            self._failed("delete", exc)

    def _failed(self, operation: str, exc: Exception) -> None:
        if not self._breaker.is_open:
            log.warning("redis cache %s failed, serving without cache: %s", operation, exc)
        self._breaker.record_failure()
