"""Where CPU-heavy work (decoding and encoding images) runs.

A Celery worker exists to do that work, so it runs it in a thread beside its event loop.
Embedded mode serves requests from the same process: there the work goes to one
helper process at lower scheduling priority, so a photo being processed neither holds
the interpreter's lock nor wins the CPU from the requests the server is answering.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

BACKGROUND_NICENESS = 10


class CpuRunner(Protocol):
    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R: ...

    def close(self) -> None: ...


class ThreadRunner:
    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(function, *args, **kwargs)

    def close(self) -> None:
        pass


def _lower_priority() -> None:
    os.nice(BACKGROUND_NICENESS)


class BackgroundProcessRunner:
    """One lower-priority helper process, started on first use and shared by the whole
    server process (starting one costs about a second of imports)."""

    _shared: BackgroundProcessRunner | None = None

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def shared(cls) -> BackgroundProcessRunner:
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if self._pool is None:
            # spawn, not fork: the server has threads and an event loop a fork would copy.
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority,
            )
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
