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
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

BACKGROUND_NICENESS = 10
# How often the helper checks that the server that started it is still there.
ORPHAN_CHECK_SECONDS = 1.0


class CpuRunner(Protocol):
    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R: ...

    def close(self) -> None: ...


class ThreadRunner:
    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(function, *args, **kwargs)

    def close(self) -> None:
        pass


def _start_helper(server_pid: int) -> None:
    os.nice(BACKGROUND_NICENESS)
    threading.Thread(
        target=_exit_once_orphaned, args=(server_pid,), name="orphan-watch", daemon=True
    ).start()


def _exit_once_orphaned(server_pid: int) -> None:
    """End the helper when its server has gone.

    The helper waits on its task pipe, whose write end it also holds, so it never sees
    the server end by itself. The pool's own shutdown runs only when the server exits
    normally; a server stopped by a signal's default action (uvicorn re-raises the
    SIGTERM it stopped for), killed, or out of memory would leave the helper running
    forever.
    """
    while os.getppid() == server_pid:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


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
                initializer=_start_helper,
                initargs=(os.getpid(),),
            )
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
