"""The per-process wiring of the core: settings, database engine, cache.

Each entry point builds one Runtime at start-up (on the event loop it will use) and
closes it at shutdown. Everything a request needs that outlives the request lives here;
nothing here holds user state, so any replica can serve any request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Concatenate, ParamSpec, TypeVar

from redis.asyncio import Redis

from snapscale.config import Settings
from snapscale.core import ids
from snapscale.core import redis as redis_clients
from snapscale.core.cache import Cache, MemoryCache, RedisCache
from snapscale.core.cpu import CpuRunner, ThreadRunner
from snapscale.core.db import UnitOfWork, create_engine, create_session_factory
from snapscale.core.errors import DomainError
from snapscale.core.feed.timelines import RedisTimelines
from snapscale.core.job_handlers import HANDLERS
from snapscale.core.jobs import InProcessJobs, JobSender
from snapscale.core.storage import Storage, create_storage

P = ParamSpec("P")
R = TypeVar("R")

# Embedded mode runs the API and the site in one process on different threads; they must
# see one cache, or an edit made on the site would leave the API serving the old value.
_process_cache = MemoryCache()


def process_cache() -> MemoryCache:
    return _process_cache


class Runtime:
    def __init__(
        self, settings: Settings, *, jobs: JobSender | None = None, cpu: CpuRunner | None = None
    ) -> None:
        ids.configure_node(settings.node_id)
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
        self.redis: Redis | None = None
        self.cache: Cache
        # Home timelines need a shared store; without Redis the feed is read from SQL.
        self.timelines: RedisTimelines | None = None
        if settings.redis_url:
            self.redis = redis_clients.async_client(settings)
            self.cache = RedisCache(self.redis, prefix=settings.redis_prefix)
            self.timelines = RedisTimelines(
                self.redis,
                prefix=settings.redis_prefix,
                capacity=settings.timeline_capacity,
                ttl_seconds=settings.timeline_ttl_seconds,
            )
        else:
            self.cache = _process_cache

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work that rolls back unless the caller commits it."""
        async with self.session_factory() as session:
            uow = UnitOfWork(session, self)
            try:
                yield uow
            except DomainError as exc:
                if exc.keeps_changes:
                    await uow.commit()
                else:
                    await uow.rollback()
                raise
            except BaseException:
                await uow.rollback()
                raise

    async def run(
        self,
        service: Callable[Concatenate[UnitOfWork, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Call one service in its own unit of work and commit it."""
        async with self.unit_of_work() as uow:
            result = await service(uow, *args, **kwargs)
            await uow.commit()
            return result

    async def aclose(self) -> None:
        await self.jobs.aclose()
        self.storage.close()
        if self._owns_cpu:
            self.cpu.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
