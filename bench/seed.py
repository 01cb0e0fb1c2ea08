"""Bulk data for the benchmarks: a scratch PostgreSQL database filled with COPY.

Inserting millions of rows through the application would take longer than the
benchmarks themselves, so rows are written straight into the migrated schema: users
sharing one password hash, a reader following a random sample of them, and ready photos
posted round by round (every author posts over time, as on a real site, so photo ids of
different authors interleave).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from snapscale.core import security
from snapscale.core.ids import new_id

PASSWORD = "bench-password-1"  # noqa: S105 (scratch data)
RENDITIONS = json.dumps({name: {"width": 320, "height": 240} for name in ("thumb", "medium")})
USER_COLUMNS = (
    "id",
    "username",
    "email",
    "display_name",
    "bio",
    "password_hash",
    "is_active",
    "is_admin",
    "token_version",
    "followers_count",
    "following_count",
    "photos_count",
    "created_at",
    "updated_at",
)
PHOTO_COLUMNS = (
    "id",
    "owner_id",
    "status",
    "caption",
    "original_format",
    "original_bytes",
    "original_sha256",
    "width",
    "height",
    "renditions",
    "blurhash",
    "dominant_color",
    "attempts",
    "like_count",
    "comment_count",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Seeded:
    reader_id: int
    reader_username: str
    usernames: list[str]


@asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """A new empty database on the server for the length of the block; yields its URL."""
    name = f"snapscale_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    # Keep any query (?host=/socket/dir for a server on a Unix socket) on the new URL.
    path, question, query = server_url.partition("?")
    try:
        yield f"{path.rsplit('/', 1)[0]}/{name}{question}{query}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def seed(
    database_url: str, *, users: int, photos_per_user: int, reader_follows: int
) -> Seeded:
    """Fill a migrated database; the reader follows ``reader_follows`` random users."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    password_hash = security.hash_password(PASSWORD)
    ids = [new_id() for _ in range(users)]
    usernames = [f"user{n}" for n in range(users)]
    followed = set(rng.sample(range(users), reader_follows))
    reader_id = new_id()

    def user_row(user_id: int, name: str, followers: int, following: int, photos: int) -> tuple:
        return (
            user_id,
            name,
            f"{name}@example.com",
            name.title(),
            "",
            password_hash,
            True,
            False,
            1,
            followers,
            following,
            photos,
            now,
            now,
        )

    def photos() -> Iterator[tuple]:
        for _ in range(photos_per_user):
            for owner_id in ids:
                yield (
                    new_id(),
                    owner_id,
                    "ready",
                    "a photo",
                    "jpeg",
                    1,
                    "0" * 64,
                    1080,
                    810,
                    RENDITIONS,
                    "L00000fQfQfQfQfQfQfQfQfQfQfQ",
                    "#808080",
                    1,
                    0,
                    0,
                    now,
                    now,
                )

    connection = await asyncpg.connect(database_url)
    try:
        user_rows = [
            user_row(i, name, int(n in followed), 0, photos_per_user)
            for n, (i, name) in enumerate(zip(ids, usernames, strict=True))
        ]
        user_rows.append(user_row(reader_id, "reader", 0, reader_follows, 0))
        await connection.copy_records_to_table("users", records=user_rows, columns=USER_COLUMNS)
        await connection.copy_records_to_table(
            "follows",
            records=[(new_id(), reader_id, ids[n], now) for n in sorted(followed)],
            columns=("id", "follower_id", "followee_id", "created_at"),
        )
        await connection.copy_records_to_table("photos", records=photos(), columns=PHOTO_COLUMNS)
        # Fresh statistics, so PostgreSQL plans every query as well as it can.
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return Seeded(reader_id=reader_id, reader_username="reader", usernames=usernames)
