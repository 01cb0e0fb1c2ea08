"""Liveness and readiness, for load balancers and orchestrators.

Liveness (/healthz) says only that the process answers: it touches no dependency, so a
database outage never makes an orchestrator restart every healthy replica at once.
Readiness (/readyz) checks each dependency this process is configured with, all at once
and each within a short limit, so a probe gets its answer in about that limit even when a
dependency hangs. A replica that is not ready is taken out of the load balancer until it
is again.

Redis is checked and reported, but it does not make a replica unready: without it every
replica still serves (reads from the database, sessions signed out, limits counted in
process: docs/RELIABILITY.md), and since every replica shares it, taking them all out of
the load balancer would turn a degraded site into no site. The answer is then 200 with
status "degraded". The database and storage are required: without them almost nothing
works, and a replica that cannot reach them while others can is the case readiness is for.

Failure reasons are written in our own words: /readyz may be reachable from outside, so
they never carry a password, a URL or an internal host name.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text

from snapscale.core.errors import DomainError
from snapscale.core.runtime import Runtime

LIVE = {"status": "ok"}
OK = "ok"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True  # when it fails, the replica is not ready (else only degraded)


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks if check.required)

    @property
    def status(self) -> str:
        if not self.ready:
            return "unavailable"
        return "ready" if all(check.ok for check in self.checks) else "degraded"

    def failures(self) -> str:
        """One line naming each failed dependency and why, e.g. 'redis: timed out after 1.0s'."""
        return "; ".join(f"{check.name}: {check.detail}" for check in self.checks if not check.ok)

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "checks": {check.name: check.detail for check in self.checks},
        }


@dataclass(frozen=True)
class _Probe:
    name: str
    run: Callable[[], Awaitable[object]]
    # The client's own timeout, when it is shorter than the probe's: a timeout is then
    # reported with the limit that really applied.
    client_timeout: float | None = None
    required: bool = True


async def check_readiness(runtime: Runtime) -> Readiness:
    timeout = runtime.settings.ready_timeout_seconds
    probes = [_Probe("database", lambda: _select_one(runtime))]
    if runtime.redis is not None:
        redis = runtime.redis
        probes.append(
            _Probe(
                "redis",
                lambda: redis.ping(),
                runtime.settings.redis_timeout_seconds,
                required=False,
            )
        )
    probes.append(_Probe("storage", runtime.storage.check))
    checks = await asyncio.gather(*(_run(probe, timeout) for probe in probes))
    return Readiness(tuple(checks))


async def _select_one(runtime: Runtime) -> None:
    async with runtime.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _run(probe: _Probe, limit_seconds: float) -> Check:
    try:
        await asyncio.wait_for(probe.run(), limit_seconds)
    except Exception as exc:
        limit = min(limit_seconds, probe.client_timeout or limit_seconds)
        return Check(probe.name, False, describe_failure(exc, timeout=limit), probe.required)
    return Check(probe.name, True, OK, probe.required)


def describe_failure(exc: BaseException, *, timeout: float) -> str:
    """A short, safe reason for a failed probe, from the most telling error in the chain."""
    for error in _chain(exc):
        if isinstance(error, DomainError):
            return error.detail  # already written for readers (storage's check)
        if isinstance(error, TimeoutError) or type(error).__name__ == "TimeoutError":
            return f"timed out after {timeout}s"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, socket.gaierror):
            return "host name not found"
        # asyncpg's server errors (bad password, unknown database) carry the server's own
        # one-line message, which names no host.
        message = getattr(error, "message", None)
        if isinstance(message, str) and type(error).__module__.startswith("asyncpg"):
            return message.splitlines()[0]
        if isinstance(error, OSError):
            # Several addresses tried (IPv6 and IPv4) give an OSError with no strerror.
            return error.strerror.lower() if error.strerror else "cannot connect"
    return f"failed ({type(exc).__name__})"


def _chain(exc: BaseException) -> list[BaseException]:
    """The error, then what caused it: SQLAlchemy keeps the driver's error in ``orig``,
    redis-py and boto raise from theirs."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else current.__cause__ or current.__context__
        )
    return seen
