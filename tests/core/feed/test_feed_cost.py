"""Reading a feed page costs the same number of SQL queries and Redis round trips whether
the reader follows 10 accounts or 2,000, and whatever an author's follower count."""

from __future__ import annotations

import pytest
import redis.asyncio
from sqlalchemy import event, insert

from snapscale.core import security
from snapscale.core.db import utcnow
from snapscale.core.feed import service as feed_service
from snapscale.core.ids import new_id
from snapscale.core.models import Follow, Photo, PhotoStatus, User

pytestmark = pytest.mark.parametrize("stack", ["postgresql"], indirect=True)  # Redis timelines

RENDITIONS = {name: {"width": 320, "height": 320} for name in ("thumb", "medium", "large")}


async def _users(runtime, prefix: str, count: int, *, followers: int = 0) -> list[int]:
    password_hash = security.hash_password("not-used-to-sign-in")
    rows = [
        {
            "id": new_id(),
            "username": f"{prefix}{n}",
            "email": f"{prefix}{n}@example.com",
            "display_name": "",
            "bio": "",
            "password_hash": password_hash,
            "is_active": True,
            "is_admin": False,
            "token_version": 1,
            "followers_count": followers,
            "following_count": 0,
            "photos_count": 0,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
        for n in range(count)
    ]
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(insert(User), rows)
        await uow.commit()
    return [row["id"] for row in rows]


async def _photos(runtime, owner_ids: list[int]) -> None:
    rows = [
        {
            "id": new_id(),
            "owner_id": owner_id,
            "status": PhotoStatus.READY,
            "caption": "",
            "original_format": "jpeg",
            "original_bytes": 1,
            "original_sha256": "0" * 64,
            "width": 320,
            "height": 320,
            "renditions": RENDITIONS,
            "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            "dominant_color": "#336699",
            "attempts": 1,
            "like_count": 0,
            "comment_count": 0,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
        for owner_id in owner_ids
    ]
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(insert(Photo), rows)
        await uow.commit()


async def _follows(runtime, reader_id: int, followee_ids: list[int]) -> None:
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(
            insert(Follow),
            [{"id": new_id(), "follower_id": reader_id, "followee_id": f} for f in followee_ids],
        )
        await uow.commit()


class Meter:
    """Counts SQL statements and Redis round trips (commands and pipelines)."""

    def __init__(self, runtime, monkeypatch) -> None:
        self.sql = 0
        self.redis = 0
        event.listen(runtime.engine.sync_engine, "before_cursor_execute", self._on_sql)
        self._runtime = runtime
        original_command = runtime.redis.execute_command
        original_pipeline = redis.asyncio.client.Pipeline.execute

        async def command(*args, **kwargs):
            self.redis += 1
            return await original_command(*args, **kwargs)

        async def pipeline(pipe, *args, **kwargs):
            self.redis += 1
            return await original_pipeline(pipe, *args, **kwargs)

        monkeypatch.setattr(runtime.redis, "execute_command", command)
        monkeypatch.setattr(redis.asyncio.client.Pipeline, "execute", pipeline)

    def _on_sql(self, *args) -> None:
        self.sql += 1

    def close(self) -> None:
        event.remove(self._runtime.engine.sync_engine, "before_cursor_execute", self._on_sql)

    async def cost(self, reader_id: int) -> tuple[int, int, int]:
        self.sql = self.redis = 0
        page = await self._runtime.run(
            feed_service.read_feed, reader_id=reader_id, cursor=None, limit=20
        )
        return self.sql, self.redis, len(page.items)


async def test_feed_page_cost_does_not_grow_with_the_graph(runtime, monkeypatch):
    threshold = runtime.settings.feed_fanout_max_followers
    authors = await _users(runtime, "author", 2000)
    big = await _users(runtime, "big", 1, followers=threshold + 1)
    await _photos(runtime, authors[:60] + big * 5)
    light, heavy = await _users(runtime, "reader", 2)
    await _follows(runtime, light, authors[:10] + big)
    await _follows(runtime, heavy, authors + big)

    meter = Meter(runtime, monkeypatch)
    try:
        cold = [await meter.cost(light), await meter.cost(heavy)]  # timelines rebuilt
        warm = [await meter.cost(light), await meter.cost(heavy)]  # timelines in Redis
    finally:
        meter.close()

    (light_sql, light_redis, light_items), (heavy_sql, heavy_redis, heavy_items) = warm
    assert light_items == 15  # 10 small authors + 5 from the big account
    assert heavy_items == 20
    assert (light_sql, light_redis) == (heavy_sql, heavy_redis)
    assert cold[0][:2] == cold[1][:2]
    # The numbers themselves, so a regression to per-item queries is caught even if both
    # readers regressed alike. Warm: one query for the follow check, the big account's
    # photos and the likes, and one Redis pipeline for the timeline page and the reader's
    # big followees; the photo cards come from this process's near cache. Cold adds the
    # timeline rebuild, the big followees and the cards' query, and in Redis the build,
    # the big followees and the cards' multi-get and fill.
    assert (light_sql, light_redis) == (1, 1)
    assert cold[0][:2] == (4, 5)
