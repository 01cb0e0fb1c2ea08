"""The per-process wiring of the core: settings, database engine, cache.

Each entry point builds one Runtime at start-up (on the event loop it will use) and
closes it at shutdown. Everything a request needs that outlives the request lives here;
nothing here holds user state, so any replica can serve any request.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Concatenate, ParamSpec, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from snapscale.config import Settings
from snapscale.core import ids
from snapscale.core import redis as redis_clients
from snapscale.core.cache import Cache, MemoryCache, RedisCache
from snapscale.core.cpu import CpuRunner, ThreadRunner
from snapscale.core.db import (
    UnitOfWork,
    create_engine,
    create_read_session_factory,
    create_session_factory,
)
from snapscale.core.db_failures import as_unavailable
from snapscale.core.db_failures import describe as describe_db_failure
from snapscale.core.errors import DomainError
from snapscale.core.feed.timelines import RedisTimelines
from snapscale.core.job_handlers import HANDLERS
from snapscale.core.jobs import InProcessJobs, JobSender
from snapscale.core.live_stats import LiveStats
from snapscale.core.near_cache import NearCache
from snapscale.core.storage import Storage, create_storage

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# Embedded mode runs the API and the site in one process on different threads; they must
# see one cache, or an edit made on the site would leave the API serving the old value.
_process_cache = MemoryCache()


def process_cache() -> MemoryCache:
    return _process_cache


def _claim_node(settings: Settings) -> int | None:
    """With Redis, a node id for this process from a shared counter, so up to 1,024 live
    processes never share one; None (a random node) if Redis cannot be asked now."""
    if not settings.redis_url:
        return None
    client = redis_clients.sync_client(settings)
    try:
        return int(client.incr(f"{settings.redis_prefix}id-node-counter")) % (ids.MAX_NODE + 1)
    except (RedisError, OSError):
        log.warning("no node id from Redis; using a random one")
        return None
    finally:
        client.close()


class Runtime:
    def __init__(
        self, settings: Settings, *, jobs: JobSender | None = None, cpu: CpuRunner | None = None
    ) -> None:
        ids.configure_node(
            settings.node_id if settings.node_id is not None else _claim_node(settings)
        )
        self.settings = settings
        self.storage: Storage = create_storage(settings)
        if jobs is None:
            in_process = InProcessJobs(HANDLERS)
            in_process.bind(self)
            jobs = in_process
        self.jobs: JobSender = jobs
        # A runner handed in may be shared by other runtimes (see wiring); close only our own.
        self._owns_cpu = cpu is None
        self.cpu: CpuRunner = cpu or ThreadRunner()
        self.engine = create_engine(settings)
        self.session_factory = create_session_factory(self.engine)
        self.read_session_factory = create_read_session_factory(self.engine)
        self.redis: Redis | None = None
        self.cache: Cache
        # Home timelines need a shared store; without Redis the feed is read from SQL.
        self.timelines: RedisTimelines | None = None
        if settings.redis_url:
            self.redis = redis_clients.async_client(settings)
            self.cache = RedisCache(self.redis, prefix=settings.redis_prefix)
            if settings.near_cache_max_age_seconds:
                self.cache = NearCache(
                    self.cache,
                    publisher=self.redis,
                    subscriber=redis_clients.subscriber_client(settings),
                    channel=f"{settings.redis_prefix}cache-invalidations",
                    max_age=settings.near_cache_max_age_seconds,
                )
            self.timelines = RedisTimelines(
                self.redis,
                prefix=settings.redis_prefix,
                capacity=settings.timeline_capacity,
                ttl_seconds=settings.timeline_ttl_seconds,
            )
        else:
            self.cache = _process_cache
        # Request figures for the admin dashboard, summed across replicas through Redis.
        self.live_stats = LiveStats(
            redis_clients.sync_client(settings) if settings.redis_url else None,
            prefix=settings.redis_prefix,
        )

    @asynccontextmanager
    async def unit_of_work(self, *, read_only: bool = False) -> AsyncIterator[UnitOfWork]:
        """A unit of work that rolls back unless the caller commits it. A read-only one
        skips the transaction round trips and refuses writes."""
        factory = self.read_session_factory if read_only else self.session_factory
        async with factory() as session:
            uow = UnitOfWork(session, self, read_only=read_only)
            try:
                yield uow
            except DomainError as exc:
                if exc.keeps_changes:
                    await uow.commit()
                else:
                    await uow.rollback()
                raise
            except BaseException as exc:
                unavailable = as_unavailable(exc)
                if unavailable is None:
                    await uow.rollback()
                    raise
                # One short line per refused request: the outage is the news, not a stack.
                log.warning("database unavailable: %s", describe_db_failure(exc))
                with contextlib.suppress(Exception):  # the connection is gone anyway
                    await uow.rollback()
                raise unavailable from exc

    async def run(
        self,
        service: Callable[Concatenate[UnitOfWork, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Call one service in its own unit of work and commit it."""
        return await self.run_in(service, False, *args, **kwargs)

    async def read(
        self,
        service: Callable[Concatenate[UnitOfWork, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Call one service that only reads, in a read-only unit of work."""
        return await self.run_in(service, True, *args, **kwargs)

    async def run_in(
        self,
        service: Callable[Concatenate[UnitOfWork, P], Awaitable[R]],
        read_only: bool,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        async with self.unit_of_work(read_only=read_only) as uow:
            result = await service(uow, *args, **kwargs)
            await uow.commit()
            return result

    async def aclose(self) -> None:
        await self.live_stats.aclose()
        await self.jobs.aclose()
        if isinstance(self.cache, NearCache):
            await self.cache.aclose()
        if self.timelines is not None:
            await self.timelines.aclose()
        self.storage.close()
        if self._owns_cpu:
            self.cpu.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
