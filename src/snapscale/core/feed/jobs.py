"""Fan-out on write, in chunks: each job writes one chunk of followers' timelines and
sends the job for the next chunk, so a large fan-out is many short jobs that any worker
can take, and a worker dying mid-way repeats one chunk, harmlessly (adding an id twice
to a sorted set is a no-op)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from snapscale.core.feed import repository
from snapscale.core.feed.service import BACKFILL
from snapscale.core.models import PhotoStatus
from snapscale.core.photos import repository as photo_repository

if TYPE_CHECKING:
    from snapscale.core.db import UnitOfWork
    from snapscale.core.runtime import Runtime

FAN_OUT_CHUNK = 1000


async def fan_out(runtime: Runtime, *, photo_id: str | int, after_follow_id: str | int = 0) -> None:
    timelines = runtime.timelines
    if timelines is None:
        return  # embedded mode reads feeds from the database
    photo_id, after_follow_id = int(photo_id), int(after_follow_id)
    async with runtime.unit_of_work() as uow:
        photo = await photo_repository.get_any(uow.session, photo_id)
        if photo is None or photo.status != PhotoStatus.READY or photo.deleted_at is not None:
            return
        if after_follow_id == 0:
            await timelines.add([photo.owner_id], [photo_id])
        followers = await repository.followers_count(uow.session, photo.owner_id)
        if followers > runtime.settings.feed_fanout_max_followers:
            return  # a big account: its photos are merged into feeds at read time
        chunk = await _followers(uow, photo.owner_id, after_follow_id)
    await timelines.add(chunk.follower_ids, [photo_id])
    await _continue(runtime, "feed.fan_out", {"photo_id": str(photo_id)}, chunk)


async def remove(
    runtime: Runtime, *, photo_id: str | int, owner_id: str | int, after_follow_id: str | int = 0
) -> None:
    """Take a deleted photo out of every timeline it was fanned out to."""
    timelines = runtime.timelines
    if timelines is None:
        return
    photo_id, owner_id, after_follow_id = int(photo_id), int(owner_id), int(after_follow_id)
    if after_follow_id == 0:
        await timelines.remove([owner_id], [photo_id])
    async with runtime.unit_of_work() as uow:
        chunk = await _followers(uow, owner_id, after_follow_id)
    await timelines.remove(chunk.follower_ids, [photo_id])
    args = {"photo_id": str(photo_id), "owner_id": str(owner_id)}
    await _continue(runtime, "feed.remove", args, chunk)


async def backfill_followers(
    runtime: Runtime, *, owner_id: str | int, after_follow_id: str | int = 0
) -> None:
    """An account fell to the fan-out threshold: its recent photos were posted while it
    was merged at read time, so copy them into its followers' timelines. Only then are
    readers told (a new big-accounts generation) to stop merging it."""
    timelines = runtime.timelines
    if timelines is None:
        return
    owner_id, after_follow_id = int(owner_id), int(after_follow_id)
    async with runtime.unit_of_work() as uow:
        recent = await repository.recent_ids_of(
            uow.session, [owner_id], before_id=None, limit=BACKFILL
        )
        chunk = await _followers(uow, owner_id, after_follow_id)
    await timelines.add(chunk.follower_ids, recent)
    if chunk.resume_after is None:
        await timelines.big_accounts_changed()
    await _continue(runtime, "feed.backfill_followers", {"owner_id": str(owner_id)}, chunk)


@dataclass(frozen=True)
class _Chunk:
    follower_ids: list[int]
    # The follow id the next chunk starts after; None when this was the last chunk.
    resume_after: int | None


async def _followers(uow: UnitOfWork, owner_id: int, after_follow_id: int) -> _Chunk:
    rows = await repository.follower_chunk(
        uow.session, owner_id, after_follow_id=after_follow_id, limit=FAN_OUT_CHUNK
    )
    resume_after = rows[-1][0] if len(rows) == FAN_OUT_CHUNK else None
    return _Chunk([follower_id for _, follower_id in rows], resume_after)


async def _continue(runtime: Runtime, job: str, args: Mapping[str, str], chunk: _Chunk) -> None:
    if chunk.resume_after is not None:
        await runtime.jobs.send(job, {**args, "after_follow_id": str(chunk.resume_after)})
