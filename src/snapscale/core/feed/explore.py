"""Explore: recent photos from everyone, ranked by likes and age, cached briefly.

Ranking is "gravity" scoring, as Hacker News popularised: (likes + 1) / (hours + 2)^1.5,
so a photo needs ever more likes to stay on top as it ages. The ranked ids are cached
for ``explore_cache_ttl_seconds`` and shared by every reader; each page is then
hydrated like a feed page (counts, likes of the reader)."""

from __future__ import annotations

import json
from datetime import timedelta

from snapscale.core.db import UnitOfWork, utcnow
from snapscale.core.feed import repository
from snapscale.core.pagination import Page, decode_cursor, encode_cursor
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import PhotoOut, PhotoPage

WINDOW = timedelta(days=7)
CANDIDATES = 500
GRAVITY = 1.5
RANKING_KEY = "explore:ranking"


async def explore(
    uow: UnitOfWork, *, viewer_id: int | None, cursor: str | None, limit: int
) -> Page[PhotoOut]:
    ranked = await _ranking(uow)
    offset = int(decode_cursor(cursor, int)[0]) if cursor else 0
    page_ids = ranked[offset : offset + limit]
    items = await photo_service.present_ids(uow, page_ids, viewer_id=viewer_id)
    more = offset + limit < len(ranked)
    return PhotoPage(items=items, next_cursor=encode_cursor(offset + limit) if more else None)


async def _ranking(uow: UnitOfWork) -> list[int]:
    cached = await uow.cache.get(RANKING_KEY)
    if cached is not None:
        return [int(photo_id) for photo_id in json.loads(cached)]
    now = utcnow()
    candidates = await repository.recent_with_likes(
        uow.session, since=now - WINDOW, limit=CANDIDATES
    )

    def score(like_count: int, age_hours: float) -> float:
        return float((like_count + 1) / (age_hours + 2) ** GRAVITY)

    ranked = [
        photo_id
        for photo_id, _ in sorted(
            (
                (photo_id, score(likes, (now - created_at).total_seconds() / 3600))
                for photo_id, likes, created_at in candidates
            ),
            key=lambda pair: (pair[1], pair[0]),
            reverse=True,
        )
    ]
    await uow.cache.set(
        RANKING_KEY,
        json.dumps([str(photo_id) for photo_id in ranked]).encode(),
        uow.settings.explore_cache_ttl_seconds,
    )
    return ranked
