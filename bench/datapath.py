"""One profile row by username, five ways: what the data layer costs on the hot read.

    python -m bench.datapath [--lookups 3000]

Seeds a scratch database (2,000 users), then reads random users one at a time, one
lookup per unit of work as a request would, and prints the median wall time and the
CPU time per lookup of:
- the ORM as Snapscale uses it (AsyncSession, select(User), a User object);
- the ORM without the pool's reset on return (the ROLLBACK every checkin sends);
- SQLAlchemy Core (a connection, the table, a row);
- raw asyncpg through a pool, with the statement prepared once per connection;
- raw asyncpg without asyncpg's statement cache (parse and plan every time).
Only loopback, bounded in count.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bench.stack import DataSize, new_secret_key, seeded_database
from snapscale.core.models import User

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
SIZE = DataSize(users=2_000, photos_per_user=1, reader_follows=10)
QUERY = "SELECT * FROM users WHERE username = $1"
Lookup = Callable[[str], Awaitable[object]]


async def _time(name: str, lookups: list[str], lookup: Lookup) -> None:
    for username in lookups[:200]:  # warm the pool and any statement caches
        await lookup(username)
    walls = []
    cpu_started = time.process_time()
    for username in lookups:
        started = time.perf_counter()
        found = await lookup(username)
        walls.append(time.perf_counter() - started)
        if found is None:
            raise SystemExit(f"{name}: no user {username}")
    cpu = (time.process_time() - cpu_started) / len(lookups)
    median = statistics.median(walls)
    print(f"{name:<44} {median * 1e6:8,.0f} µs wall   {cpu * 1e6:8,.0f} µs CPU")


def _orm(sessions: async_sessionmaker[AsyncSession]) -> Lookup:
    async def lookup(username: str) -> object:
        async with sessions() as session:
            result = await session.execute(select(User).where(User.username == username))
            return result.scalar_one_or_none()

    return lookup


def _core(engine: AsyncEngine) -> Lookup:
    table = User.__table__

    async def lookup(username: str) -> object:
        async with engine.connect() as connection:
            result = await connection.execute(select(table).where(table.c.username == username))
            return result.first()

    return lookup


def _raw(pool: asyncpg.Pool) -> Lookup:
    async def lookup(username: str) -> object:
        async with pool.acquire() as connection:
            return await connection.fetchrow(QUERY, username)

    return lookup


async def measure(database_url: str, usernames: list[str], count: int) -> None:
    rng = random.Random(5)
    lookups = [rng.choice(usernames) for _ in range(count)]
    sqlalchemy_url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)

    for reset in ("rollback", None):
        engine = create_async_engine(sqlalchemy_url, pool_size=5, pool_reset_on_return=reset)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        label = "ORM, AsyncSession" + (" (pool reset on return)" if reset else " (no reset)")
        await _time(label, lookups, _orm(sessions))
        if reset:
            label = "Core, AsyncConnection (pool reset on return)"
            await _time(label, lookups, _core(engine))
        await engine.dispose()

    for cache_size in (100, 0):
        pool = await asyncpg.create_pool(
            database_url, min_size=1, max_size=5, statement_cache_size=cache_size
        )
        label = "asyncpg pool" + (", prepared once" if cache_size else ", no statement cache")
        await _time(label, lookups, _raw(pool))
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lookups", type=int, default=3_000)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="snapscale-datapath-"))
    with seeded_database(POSTGRES, SIZE, secret_key=new_secret_key(), workdir=workdir) as data:
        asyncio.run(measure(data.database_url, data.usernames, args.lookups))
    return 0


if __name__ == "__main__":
    sys.exit(main())
