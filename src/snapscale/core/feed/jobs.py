"""Fan-out on write, in chunks: each job writes one chunk of followers' timelines and
sends the job for the next chunk, so a large fan-out is many short jobs that any worker
can take, and a worker dying mid-way repeats one chunk, harmlessly (adding an id twice
to a sorted set is a no-op)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapscale.core.feed import repository
from snapscale.core.models import PhotoStatus
from snapscale.core.photos import repository as photo_repository

if TYPE_CHECKING:
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
        chunk = await repository.follower_chunk(
            uow.session, photo.owner_id, after_follow_id=after_follow_id, limit=FAN_OUT_CHUNK
        )
    await timelines.add([follower_id for _, follower_id in chunk], [photo_id])
    if len(chunk) == FAN_OUT_CHUNK:
        await runtime.jobs.send(
            "feed.fan_out", {"photo_id": str(photo_id), "after_follow_id": str(chunk[-1][0])}
        )


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
        chunk = await repository.follower_chunk(
            uow.session, owner_id, after_follow_id=after_follow_id, limit=FAN_OUT_CHUNK
        )
    await timelines.remove([follower_id for _, follower_id in chunk], [photo_id])
    if len(chunk) == FAN_OUT_CHUNK:
        await runtime.jobs.send(
            "feed.remove",
            {
                "photo_id": str(photo_id),
                "owner_id": str(owner_id),
                "after_follow_id": str(chunk[-1][0]),
            },
        )
