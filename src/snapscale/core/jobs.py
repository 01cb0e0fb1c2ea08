"""Background jobs, sent only after the unit of work that asked for them commits.

A job is a name and keyword arguments (plain strings and ints, so any broker can carry
it). Production sends jobs to Celery; embedded mode runs them on the server's own event
loop, after the response, one at a time, through the same handlers. Handlers must be
idempotent: a job may run twice (a redelivery after a worker died, a sweep that re-sends
work that looks stuck), and running it again must give the same result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError

from snapscale.core.errors import Unavailable
from snapscale.observability.context import current_request_id, job_scope
from snapscale.observability.jobs import job_finished, job_started

if TYPE_CHECKING:
    from snapscale.core.db import UnitOfWork
    from snapscale.core.runtime import Runtime

log = logging.getLogger(__name__)

JobArgs = dict[str, str | int]
JobHandler = Callable[..., Awaitable[None]]  # async def handler(runtime, **kwargs) -> None

IN_PROCESS_ATTEMPTS = 4
IN_PROCESS_BACKOFF_SECONDS = 0.5


@dataclass(frozen=True)
class Backlog:
    """Jobs sent and not yet started, and how long the oldest of them has waited."""

    depth: int
    # None when the queue is empty, or when the broker cannot tell (AMQP).
    oldest_age_seconds: float | None


class JobSender(Protocol):
    async def send(self, name: str, kwargs: JobArgs) -> None: ...

    async def backlog(self) -> Backlog: ...

    async def aclose(self) -> None: ...


def enqueue(uow: UnitOfWork, name: str, **kwargs: str | int) -> None:
    """Send job ``name`` once ``uow`` commits; a rollback drops it."""
    jobs = uow.jobs

    async def send() -> None:
        await jobs.send(name, dict(kwargs))

    uow.after_commit(send)


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: a dependency was briefly unreachable, not bad data."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError)
    return isinstance(
        exc, Unavailable | RedisConnectionError | RedisTimeoutError | ConnectionError | TimeoutError
    )


class InProcessJobs:
    """Embedded mode's queue: jobs run as tasks on the running loop, one at a time."""

    def __init__(self, handlers: Mapping[str, JobHandler]) -> None:
        self._handlers = handlers
        self._runtime: Runtime | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._one_at_a_time: asyncio.Semaphore | None = None
        # When each job that has not started yet was sent (monotonic clock).
        self._waiting_since: dict[asyncio.Task[Any] | None, float] = {}

    def bind(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def send(self, name: str, kwargs: JobArgs) -> None:
        if name not in self._handlers:
            raise LookupError(f"no handler for job {name!r}")
        if self._one_at_a_time is None:
            self._one_at_a_time = asyncio.Semaphore(1)
        task = asyncio.get_running_loop().create_task(self._run(name, kwargs), name=name)
        self._running.add(task)
        self._waiting_since[task] = time.monotonic()
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._waiting_since.pop(task, None)

    async def backlog(self) -> Backlog:
        waiting = list(self._waiting_since.values())
        oldest = time.monotonic() - min(waiting) if waiting else None
        return Backlog(depth=len(waiting), oldest_age_seconds=oldest)

    async def _run(self, name: str, kwargs: JobArgs) -> None:
        assert self._one_at_a_time is not None
        assert self._runtime is not None, "InProcessJobs.bind(runtime) was not called"
        handler = self._handlers[name]
        async with self._one_at_a_time:
            self._waiting_since.pop(asyncio.current_task(), None)  # started: not waiting
            # This task was made in the sender's context, so the request id is still there.
            with job_scope(name, request_id=current_request_id()):
                await self._attempts(name, handler, kwargs)

    async def _attempts(self, name: str, handler: JobHandler, kwargs: JobArgs) -> None:
        for attempt in range(1, IN_PROCESS_ATTEMPTS + 1):
            job_started(name)
            started = time.perf_counter()
            try:
                await handler(self._runtime, **kwargs)
            except Exception as exc:
                final = not is_transient(exc) or attempt == IN_PROCESS_ATTEMPTS
                job_finished(name, "failed" if final else "retried", time.perf_counter() - started)
                if final:
                    log.exception("job %s %s failed", name, kwargs)
                    return
                log.warning("job %s %s: %s; retrying", name, kwargs, exc)
                await asyncio.sleep(IN_PROCESS_BACKOFF_SECONDS * 2 ** (attempt - 1))
            else:
                job_finished(name, "succeeded", time.perf_counter() - started)
                return

    async def wait_idle(self, limit_seconds: float | None = None) -> None:
        """Wait until every job sent so far (and any they sent) has finished."""
        async with asyncio.timeout(limit_seconds):
            while self._running:
                await asyncio.gather(*self._running, return_exceptions=True)

    async def aclose(self) -> None:
        # Let running jobs finish briefly; whatever is left is picked up again at the next
        # start, since unfinished work is recorded in the database, not in this queue.
        try:
            await self.wait_idle(limit_seconds=10)
        except TimeoutError:
            for task in self._running:
                task.cancel()
