"""Lets synchronous entry points (Flask views, later Celery tasks) call the async core.

The core's engine and Redis clients belong to the event loop they were made on, so
sync code cannot simply ``asyncio.run`` a service: it hands the coroutine to one
long-lived loop and waits for the result. In embedded mode that loop is the server's own
(the site runs in a thread pool beside it); a standalone site process starts a loop in
a background thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class LoopBridge:
    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread | None = None):
        self.loop = loop
        self._thread = thread

    @classmethod
    def in_background_thread(cls) -> LoopBridge:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=run, name="core-event-loop", daemon=True)
        thread.start()
        ready.wait()
        return cls(loop, thread)

    def call(self, function: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
        if threading.current_thread() is self._loop_thread():
            raise RuntimeError("LoopBridge.call() from the loop's own thread would deadlock")

        async def invoke() -> R:
            return await function(*args, **kwargs)

        future: Future[R] = asyncio.run_coroutine_threadsafe(invoke(), self.loop)
        return future.result()

    def close(self) -> None:
        """Stop the loop this bridge started (a borrowed loop is left alone)."""
        if self._thread is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            self.loop.close()

    def _loop_thread(self) -> threading.Thread | None:
        return self._thread
