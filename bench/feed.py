"""Feed page read: Snapscale's timelines against the straightforward JOIN query.

    uv run python -m bench.feed [--authors 100000] [--photos-per-author 20] [--followees 500]

Needs PostgreSQL and Redis (default: the local servers; override with BENCH_POSTGRES_URL
and BENCH_REDIS_URL). Fills a scratch database (see bench/seed.py) with --authors
accounts that posted --photos-per-author photos each, and one reader following
--followees of them, then times, in one process on the same connection pool, building
the reader's first feed page (20 photos with their authors, counts and the reader's
likes, as the API returns them) both ways:

- JOIN: photos JOIN follows for the reader, ORDER BY photo id DESC LIMIT 20, then the
  authors and the likes: what a first version of any feed does;
- Snapscale: feed_service.read_feed (a warm Redis timeline, cached photo cards, one
  query for the follow check and the likes).

Both run as one unit of work each, sequentially, for --reads reads after a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from bench.seed import scratch_database, seed
from snapscale.config import Settings
from snapscale.core.db import UnitOfWork
from snapscale.core.feed import service as feed_service
from snapscale.core.migrate import upgrade
from snapscale.core.models import Follow, Photo, PhotoStatus, User
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import PhotoOut
from snapscale.core.runtime import Runtime

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PAGE = 20


async def join_feed(uow: UnitOfWork, *, reader_id: int) -> list[PhotoOut]:
    query = (
        select(Photo, User)
        .join(Follow, Follow.followee_id == Photo.owner_id)
        .join(User, User.id == Photo.owner_id)
        .where(
            Follow.follower_id == reader_id,
            Photo.status == PhotoStatus.READY,
            Photo.deleted_at.is_(None),
        )
        .order_by(Photo.id.desc())
        .limit(PAGE)
    )
    rows = (await uow.session.execute(query)).all()
    owners = {user.id: user for _, user in rows}
    return await photo_service.present_many(
        uow, [photo for photo, _ in rows], viewer_id=reader_id, owners=owners
    )


async def timeline_feed(uow: UnitOfWork, *, reader_id: int) -> list[PhotoOut]:
    page = await feed_service.read_feed(uow, reader_id=reader_id, cursor=None, limit=PAGE)
    return page.items


Read = Callable[..., Awaitable[list[PhotoOut]]]


async def timed(runtime: Runtime, read: Read, reader_id: int, reads: int) -> list[float]:
    for _ in range(20):  # warm up: pool, prepared statements, caches, timeline
        await runtime.read(read, reader_id=reader_id)
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        items = await runtime.read(read, reader_id=reader_id)
        times.append(time.perf_counter() - started)
        assert len(items) == PAGE, len(items)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors", type=int, default=100_000)
    parser.add_argument("--followees", type=int, default=500)
    parser.add_argument("--photos-per-author", type=int, default=20)
    parser.add_argument("--reads", type=int, default=500)
    options = parser.parse_args()
    reads = max(10, min(options.reads, 5000))

    async with scratch_database(POSTGRES) as database_url:
        settings = Settings(
            database_url=database_url,
            redis_url=REDIS,
            redis_prefix=f"{database_url.rsplit('/', 1)[1]}:",
            secret_key="bench-secret-key-bench-secret-key-0123",  # noqa: S106 (scratch data)
            data_dir="var/bench",
        )
        await asyncio.to_thread(upgrade, settings)
        started = time.perf_counter()
        seeded = await seed(
            database_url.replace("postgresql+asyncpg://", "postgresql://"),
            users=options.authors,
            photos_per_user=options.photos_per_author,
            reader_follows=options.followees,
        )
        seeding = time.perf_counter() - started
        runtime = Runtime(settings)
        try:
            # Alternate the two, so a noisy neighbour slows both alike.
            join: list[float] = []
            ours: list[float] = []
            for _ in range(5):
                join += await timed(runtime, join_feed, seeded.reader_id, reads // 5)
                ours += await timed(runtime, timeline_feed, seeded.reader_id, reads // 5)
        finally:
            if runtime.redis is not None:
                keys = [k async for k in runtime.redis.scan_iter(match=f"{settings.redis_prefix}*")]
                if keys:
                    await runtime.redis.delete(*keys)
            await runtime.aclose()

    def line(label: str, values: list[float]) -> str:
        p99 = statistics.quantiles(values, n=100)[-1]
        median, rate = statistics.median(values) * 1000, 1 / statistics.mean(values)
        return f"| {label} | {median:.2f} | {p99 * 1000:.2f} | {rate:.0f} |"

    photos = options.authors * options.photos_per_author
    print(
        f"reader follows {options.followees} of {options.authors} accounts, {photos} photos "
        f"in all (seeded in {seeding:.0f} s); {len(join)} reads each"
    )
    print("| feed page (20 photos) | median ms | p99 ms | pages/s (one client) |")
    print("| --- | --- | --- | --- |")
    print(line("JOIN query", join))
    print(line("Snapscale (timeline)", ours))
    speed_up = statistics.median(join) / statistics.median(ours)
    print(f"speed-up (median): {speed_up:.1f}x (target >= 5x)")


if __name__ == "__main__":
    asyncio.run(main())
