"""Telling "the database is unreachable" apart from every other database error.

A restart, a failover or a network cut shows up in many shapes: the driver cannot
connect (refused, no socket, "the database system is shutting down"), a pooled
connection turns out dead mid-query, or a write to its socket breaks and leaves the
connection unusable. All of them mean the same thing to a client, "try again shortly",
so each unit of work turns them into one domain error: a 503 in the API and on the site,
a transient failure (retried) in a job. Anything else stays a bug, and a 500.

The engine's listeners mark those errors as they happen (a note on the driver's error,
so their type and message stay what the driver said) and have SQLAlchemy discard the
connection, and with it every connection opened before it: after a restart the pool
reconnects rather than handing out one dead connection per request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

from snapscale.core.errors import Unavailable

UNREACHABLE_NOTE = "snapscale: the database was unreachable"


class DatabaseUnavailable(Unavailable):
    """The database could not be reached, or dropped the connection mid-request."""

    title = "Temporarily unavailable"


def watch_for_outages(engine: AsyncEngine) -> None:
    """Mark connection failures on this engine (see the module docstring)."""
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine, "handle_error", _on_error)


def as_unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The domain error for ``exc`` if it means the database is unreachable, else None."""
    for error in _chain(exc):
        unreachable = (
            isinstance(error, PoolTimeout)  # every connection busy past the pool timeout
            or (isinstance(error, DBAPIError) and error.connection_invalidated)
            or UNREACHABLE_NOTE in getattr(error, "__notes__", ())
        )
        if unreachable:
            return DatabaseUnavailable(
                "The database is not answering right now; please try again in a moment."
            )
    return None


def describe(exc: BaseException) -> str:
    """The driver's own one-line reason, for the log: no SQL, no parameters."""
    cause = _chain(exc)[-1]
    line = str(cause).splitlines()[0] if str(cause) else ""
    return f"{type(cause).__name__}: {line}" if line else type(cause).__name__


def _connect(
    dialect: Dialect, _record: ConnectionPoolEntry, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> object:
    # What SQLAlchemy would do itself; only the failure is marked. A refused or missing
    # socket arrives here as a bare OSError that SQLAlchemy passes through unwrapped.
    try:
        return dialect.connect(*cargs, **cparams)
    except Exception as exc:
        _mark(exc)
        raise


def _on_error(context: ExceptionContext) -> None:
    original = context.original_exception
    if not context.is_disconnect and _leaves_connection_unusable(original):
        # The driver does not call these a disconnect, but the connection is unusable
        # all the same; without this it would go back to the pool and fail every
        # request that borrows it.
        context.is_disconnect = True
    if context.is_disconnect:
        _mark(original)


def _leaves_connection_unusable(error: BaseException) -> bool:
    # A socket error mid-query (broken pipe, reset) arrives unwrapped; asyncpg reports the
    # half-finished exchange it leaves behind as an InternalClientError on the next use.
    cause = error.__cause__
    return isinstance(error, OSError | TimeoutError) or (
        type(cause).__name__ == "InternalClientError"
        and type(cause).__module__.startswith("asyncpg")
    )


def _mark(error: BaseException) -> None:
    if UNREACHABLE_NOTE not in getattr(error, "__notes__", ()):
        error.add_note(UNREACHABLE_NOTE)


def _chain(exc: BaseException) -> list[BaseException]:
    """The error, then what caused it (SQLAlchemy keeps the driver's error in ``orig``)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return seen
