"""Engines, sessions and the unit of work.

Services never commit. An entry point (an API request, a site request, a job) opens
one UnitOfWork, calls services with it, and commits at the end; only after the commit
succeeds do the callbacks registered with ``after_commit`` run (cache invalidation now,
job dispatch later), so nothing outside the database ever sees a write that rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import BigInteger, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from snapscale.config import Settings
from snapscale.core.cache import Cache
from snapscale.core.db_failures import watch_for_outages
from snapscale.core.ids import new_id

if TYPE_CHECKING:
    from snapscale.core.feed.timelines import RedisTimelines
    from snapscale.core.jobs import JobSender
    from snapscale.core.storage import Storage

log = logging.getLogger(__name__)

# Stable constraint names, so Alembic can alter and drop them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, int: BigInteger}


class IdMixin:
    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, default=new_id
    )


def create_engine(settings: Settings, *, limit_query_time: bool = True) -> AsyncEngine:
    """The engine for `settings`' database. Queries are limited to
    `db_command_timeout_seconds` unless `limit_query_time` is off (migrations: building an
    index on a big table may rightly take longer)."""
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 15})
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    # No pool_pre_ping: it costs a round trip on every checkout, about as much as the
    # query a profile read makes. A connection found dead instead fails its request (503)
    # and marks every connection opened before it stale, so after a database restart the
    # pool reconnects on the next checkout rather than failing once per connection.
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=1800,
        connect_args=_asyncpg_arguments(settings, limit_query_time=limit_query_time),
    )
    watch_for_outages(engine)
    return engine


def _asyncpg_arguments(settings: Settings, *, limit_query_time: bool) -> dict[str, float]:
    arguments = {"timeout": settings.db_pool_timeout_seconds}  # to connect
    if limit_query_time:
        # A query past it raises TimeoutError: asyncpg asks the server to cancel it and
        # the connection is discarded (db_failures), so a frozen or stalled server costs
        # a request this long at most, and it answers 503 instead of hanging.
        arguments["command_timeout"] = settings.db_command_timeout_seconds
    return arguments


def _tune_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers work during a write; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# HTTP methods that must not change anything: both front ends give their requests a
# read-only unit of work.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for units of work that only read (GET requests).

    They run in autocommit mode: no BEGIN and COMMIT round trips around a request that
    makes one or two queries (each statement still sees a consistent snapshot). Any
    write through them is refused, so a read-only unit of work cannot half-apply one."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=ReadOnlySession,
    )


class ReadOnlyViolation(RuntimeError):
    """A write was attempted in a read-only unit of work: a programming error."""


class ReadOnlySession(Session):
    pass


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_writes(state: ORMExecuteState) -> None:
    if not state.is_select:
        raise ReadOnlyViolation(f"write in a read-only unit of work: {state.statement}")


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flushes(session: Session, *_: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyViolation("changes flushed in a read-only unit of work")


async def insert_or_ignore(session: AsyncSession, model: type[Base], **values: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True if a row was inserted.

    Idempotent writes (follow, like) race safely this way: of two concurrent inserts of
    the same row, exactly one reports True, so counters move exactly once."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(model).values(**values).on_conflict_do_nothing()
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


AfterCommit = Callable[[], Awaitable[None]]


class Resources(Protocol):
    """What a unit of work lends its services besides the session (a Runtime, in practice)."""

    settings: Settings
    cache: Cache
    storage: Storage
    jobs: JobSender
    timelines: RedisTimelines | None


class UnitOfWork:
    """One database transaction plus the side effects that must wait for its outcome.

    ``after_commit`` steps (cache invalidation, sending jobs) run only once the commit
    succeeded; ``after_rollback`` steps undo what a failed request did outside the
    database (deleting a file it already stored)."""

    def __init__(
        self, session: AsyncSession, resources: Resources, *, read_only: bool = False
    ) -> None:
        self.session = session
        self.read_only = read_only
        self.settings = resources.settings
        self.cache = resources.cache
        self.storage = resources.storage
        self.jobs = resources.jobs
        self.timelines = resources.timelines
        self._after_commit: list[AfterCommit] = []
        self._after_rollback: list[AfterCommit] = []

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)

    def after_rollback(self, callback: AfterCommit) -> None:
        self._after_rollback.append(callback)

    async def commit(self) -> None:
        if not self.read_only:  # an autocommit session has nothing to commit
            await self.session.commit()
        self._after_rollback.clear()
        # The data is committed; a failed side effect must not turn a saved change into
        # an error for the client. Each step bounds its own damage (cache TTLs, job sweeps).
        await _run_all(self._after_commit, "after-commit")

    async def rollback(self) -> None:
        self._after_commit.clear()
        try:
            await self.session.rollback()
        finally:
            # Even when the rollback itself fails (the connection is gone, so the
            # transaction is gone with it), undo what the request did outside the database.
            await _run_all(self._after_rollback, "after-rollback")


async def _run_all(callbacks: list[AfterCommit], stage: str) -> None:
    pending = callbacks[:]
    callbacks.clear()
    for callback in pending:
        try:
            await callback()
        except Exception:
            log.exception("%s step failed", stage)
