"""Bounded concurrent load for the fault tests, and how long it lasts.

A fault test keeps a few clients busy while it breaks something, then checks what those
clients saw: every answer's status and how long it took. The load is bounded in time and
in count, and goes only to the app under test (in process, or a server on loopback).

CI keeps the load short; `make chaos` sets SNAPSCALE_CHAOS_SECONDS to run the same tests
with the load (and the outages inside it) lasting that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType

import httpx

CHAOS_SECONDS_ENV = "SNAPSCALE_CHAOS_SECONDS"
DEFAULT_SECONDS = 3.0
MAX_SECONDS = 3600.0

Call = Callable[[], Awaitable[httpx.Response]]


def load_seconds(default: float = DEFAULT_SECONDS) -> float:
    """How long a fault test keeps its load (or its outage) going: ``default`` in CI,
    SNAPSCALE_CHAOS_SECONDS when set."""
    raw = os.environ.get(CHAOS_SECONDS_ENV, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{CHAOS_SECONDS_ENV} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= MAX_SECONDS:
        raise ValueError(f"{CHAOS_SECONDS_ENV} must be above 0 and at most {MAX_SECONDS:g}")
    return value


@dataclass(frozen=True)
class Outcome:
    """One request of the load: which, when it started, how long it took, and its status
    (None when no answer came at all: a timeout or a refused connection)."""

    name: str
    started: float  # time.monotonic()
    seconds: float
    status: int | None
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 500


class Load:
    """``clients`` concurrent clients, each sending the named calls in turn (each client
    starting at a different one) with ``pause`` seconds between its requests, from entering
    the context until leaving it, ``limit_seconds`` passing, or ``max_requests`` sent.

        async with Load({"profile": lambda: api.get("/api/v1/users/ann")}) as load:
            ...  # break something, wait, repair it
        assert not load.failures()
    """

    def __init__(
        self,
        calls: Mapping[str, Call],
        *,
        clients: int = 8,
        pause: float = 0.01,
        limit_seconds: float = 2 * MAX_SECONDS,
        max_requests: int = 100_000,
        request_timeout: float = 30.0,
    ) -> None:
        if not calls:
            raise ValueError("a load needs at least one call")
        self._calls = list(calls.items())
        self._clients = clients
        self._pause = pause
        self._limit_seconds = limit_seconds
        self._max_requests = max_requests
        self._request_timeout = request_timeout
        self.outcomes: list[Outcome] = []
        self._sent = 0
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Load:
        deadline = time.monotonic() + self._limit_seconds
        self._tasks = [
            asyncio.create_task(self._client(n, deadline), name=f"load client {n}")
            for n in range(self._clients)
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _client(self, number: int, deadline: float) -> None:
        turn = number
        while not self._stop.is_set() and time.monotonic() < deadline:
            if self._sent >= self._max_requests:
                return
            self._sent += 1
            name, call = self._calls[turn % len(self._calls)]
            turn += 1
            self.outcomes.append(await self._timed(name, call))
            if self._pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._pause)

    async def _timed(self, name: str, call: Call) -> Outcome:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._request_timeout):
                response = await call()
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            elapsed = time.monotonic() - started
            return Outcome(name, started, elapsed, None, f"{type(exc).__name__}: {exc}")
        return Outcome(name, started, time.monotonic() - started, response.status_code)

    def between(self, start: float, end: float) -> list[Outcome]:
        """The requests that started in [start, end) (time.monotonic() values)."""
        return [o for o in self.outcomes if start <= o.started < end]

    def failures(self) -> list[Outcome]:
        """Requests answered with a 5xx, or not answered at all."""
        return [o for o in self.outcomes if o.failed]

    def slower_than(self, seconds: float) -> list[Outcome]:
        return [o for o in self.outcomes if o.seconds >= seconds]

    def statuses(self, outcomes: list[Outcome] | None = None) -> Counter[tuple[str, int | None]]:
        return Counter(
            (o.name, o.status) for o in (self.outcomes if outcomes is None else outcomes)
        )

    def summary(self) -> str:
        """For assertion messages: the count of each (request, status), and the slowest."""
        slowest = max(self.outcomes, key=lambda o: o.seconds, default=None)
        worst = f"; slowest {slowest.name} {slowest.seconds:.2f}s" if slowest else ""
        return f"{len(self.outcomes)} requests {dict(self.statuses())}{worst}"
