"""Feed page read: Snapscale's timelines against the straightforward JOIN query.

    uv run python bench/feed.py [--authors 10000] [--followees 500] [--photos-per-author 20]

Needs PostgreSQL and Redis (default: the local servers; override with BENCH_POSTGRES_URL
and BENCH_REDIS_URL). Creates a scratch database, one reader following --followees
of --authors accounts that posted --photos-per-author photos each (a site, not just the
reader's circle), then times, in one process on the
same connection pool, reading the first feed page (20 photos, with authors) both ways:

- JOIN: photos JOIN follows JOIN users for the reader, ORDER BY photo id DESC LIMIT 20,
  the query a first version of any feed runs;
- Snapscale: feed_service.read_feed (warm Redis timeline, cached photo cards, the
  reader's likes and the follow check).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid

import asyncpg
from sqlalchemy import insert, select

from snapscale.config import Settings
from snapscale.core import security
from snapscale.core.db import utcnow
from snapscale.core.feed import service as feed_service
from snapscale.core.ids import new_id
from snapscale.core.migrate import upgrade
from snapscale.core.models import Follow, Photo, PhotoStatus, User
from snapscale.core.runtime import Runtime

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
RENDITIONS = {name: {"width": 320, "height": 320} for name in ("thumb", "medium", "large")}


def _user(name: str, password_hash: str) -> dict[str, object]:
    now = utcnow()
    return {
        "id": new_id(),
        "username": name,
        "email": f"{name}@example.com",
        "display_name": name,
        "bio": "",
        "password_hash": password_hash,
        "is_active": True,
        "is_admin": False,
        "token_version": 1,
        "followers_count": 1,
        "following_count": 0,
        "photos_count": 0,
        "created_at": now,
        "updated_at": now,
    }


def _photo(owner_id: int) -> dict[str, object]:
    now = utcnow()
    return {
        "id": new_id(),
        "owner_id": owner_id,
        "status": PhotoStatus.READY,
        "caption": "a photo",
        "original_format": "jpeg",
        "original_bytes": 1,
        "original_sha256": "0" * 64,
        "width": 1080,
        "height": 810,
        "renditions": RENDITIONS,
        "blurhash": "L00000fQfQfQfQfQfQfQfQfQfQfQ",
        "dominant_color": "#808080",
        "attempts": 1,
        "like_count": 0,
        "comment_count": 0,
        "created_at": now,
        "updated_at": now,
    }


async def seed(runtime: Runtime, authors_total: int, followees: int, per_author: int) -> int:
    password_hash = security.hash_password("bench-password")
    authors = [_user(f"author{n}", password_hash) for n in range(authors_total)]
    followed = random.Random(7).sample(authors, followees)
    reader = _user("reader", password_hash)
    async with runtime.unit_of_work() as uow:
        for start in range(0, len(authors), 5000):
            await uow.session.execute(insert(User), authors[start : start + 5000])
        await uow.session.execute(insert(User), [reader])
        await uow.session.execute(
            insert(Follow),
            [
                {"id": new_id(), "follower_id": reader["id"], "followee_id": a["id"]}
                for a in followed
            ],
        )
        # Interleaved by round, as a site's photos arrive: every author posts over time.
        photos = [_photo(a["id"]) for _ in range(per_author) for a in authors]  # type: ignore[arg-type]
        for start in range(0, len(photos), 5000):
            await uow.session.execute(insert(Photo), photos[start : start + 5000])
        await uow.commit()
    return int(reader["id"])  # type: ignore[call-overload]


async def join_feed(runtime: Runtime, reader_id: int) -> int:
    async with runtime.unit_of_work() as uow:
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
            .limit(20)
        )
        return len((await uow.session.execute(query)).all())


async def snapscale_feed(runtime: Runtime, reader_id: int) -> int:
    page = await runtime.run(feed_service.read_feed, reader_id=reader_id, cursor=None, limit=20)
    return len(page.items)


async def timed(read, runtime: Runtime, reader_id: int, reads: int) -> list[float]:  # type: ignore[no-untyped-def]
    for _ in range(10):  # warm up: pool, caches, timeline
        await read(runtime, reader_id)
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        count = await read(runtime, reader_id)
        times.append(time.perf_counter() - started)
        assert count == 20, count
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors", type=int, default=10_000)
    parser.add_argument("--followees", type=int, default=500)
    parser.add_argument("--photos-per-author", type=int, default=20)
    parser.add_argument("--reads", type=int, default=300)
    options = parser.parse_args()
    reads = max(10, min(options.reads, 5000))

    name = f"snapscale_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(POSTGRES)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES.rsplit("/", 1)[0]
    settings = Settings(
        database_url=f"{base}/{name}",
        redis_url=REDIS,
        redis_prefix=f"{name}:",
        secret_key="bench-secret-key-bench-secret-key-0123",  # noqa: S106 (scratch data)
        data_dir="var/bench",
    )
    try:
        await asyncio.to_thread(upgrade, settings)
        runtime = Runtime(settings)
        try:
            reader_id = await seed(
                runtime, options.authors, options.followees, options.photos_per_author
            )
            # Fresh statistics, so PostgreSQL plans the JOIN as well as it can.
            db = await asyncpg.connect(f"{base}/{name}")
            await db.execute("ANALYZE")
            await db.close()
            join = await timed(join_feed, runtime, reader_id, reads)
            ours = await timed(snapscale_feed, runtime, reader_id, reads)
        finally:
            if runtime.redis is not None:
                keys = [key async for key in runtime.redis.scan_iter(match=f"{name}:*")]
                if keys:
                    await runtime.redis.delete(*keys)
            await runtime.aclose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    def line(label: str, values: list[float]) -> str:
        p99 = statistics.quantiles(values, n=100)[-1]
        median, rate = statistics.median(values) * 1000, 1 / statistics.mean(values)
        return f"| {label} | {median:.2f} | {p99 * 1000:.2f} | {rate:.0f} |"

    photos = options.authors * options.photos_per_author
    print(
        f"reader follows {options.followees} of {options.authors} accounts, {photos} photos "
        f"in all; {reads} reads each"
    )
    print("| feed page (20 photos) | median ms | p99 ms | pages/s (one client) |")
    print("| --- | --- | --- | --- |")
    print(line("JOIN query", join))
    print(line("Snapscale (timeline)", ours))
    speed_up = statistics.median(join) / statistics.median(ours)
    print(f"speed-up (median): {speed_up:.1f}x (target >= 5x)")


if __name__ == "__main__":
    asyncio.run(main())
