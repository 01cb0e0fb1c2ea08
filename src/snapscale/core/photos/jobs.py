"""Background work on photos. Every handler is idempotent: running it again (after a
worker died mid-job, or when the sweep re-sends it) gives the same files and row."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from snapscale.core.accounts import repository as account_repository
from snapscale.core.accounts import service as account_service
from snapscale.core.db import UnitOfWork, utcnow
from snapscale.core.jobs import enqueue, is_transient
from snapscale.core.models import PhotoStatus
from snapscale.core.photos import imaging, repository
from snapscale.core.photos.keys import original_key, photo_prefix, rendition_key
from snapscale.core.photos.service import DELETE_FILES_JOB, FEED_FAN_OUT_JOB, PROCESS_JOB

if TYPE_CHECKING:
    from snapscale.core.runtime import Runtime

log = logging.getLogger(__name__)

RENDITION_CONTENT_TYPE = "image/webp"
NEAR_DUPLICATE_LOOKBACK = 500
# A processing photo untouched this long has probably lost its job (a broker outage, a
# crash between commit and send); the sweep sends it again. Longer than any real job.
STUCK_AFTER_SECONDS = 600
SWEEP_BATCH = 200


async def process_photo(runtime: Runtime, *, photo_id: str | int) -> None:
    photo_id = int(photo_id)
    settings = runtime.settings
    async with runtime.unit_of_work() as uow:
        attempt = await repository.start_attempt(uow.session, photo_id)
        if attempt is None:
            return  # already ready, failed or deleted: nothing to do
        if attempt > settings.job_max_attempts:
            await _fail(uow, photo_id, "We could not process this photo; please upload it again.")
            await uow.commit()
            log.error("photo %s failed after %s attempts", photo_id, attempt - 1)
            return
        await uow.commit()  # the attempt counts even if this worker dies right now

    try:
        await _process_counted(runtime, photo_id)
    except Exception as exc:
        if is_transient(exc):
            await _give_back_attempt(runtime, photo_id)
        raise


async def _give_back_attempt(runtime: Runtime, photo_id: int) -> None:
    """The attempt counter stops a photo that keeps killing workers; an attempt that met a
    store or database outage says nothing about the photo, so it must not count. Otherwise
    an outage longer than a few retries would fail (and delete) perfectly good uploads.
    The job is retried with backoff and, if that runs out, re-sent by the sweep."""
    try:
        async with runtime.unit_of_work() as uow:
            await repository.give_back_attempt(uow.session, photo_id)
            await uow.commit()
    except Exception as exc:  # the database may be what is down: then the attempt counts
        log.warning("photo %s: attempt not given back: %s", photo_id, exc)


async def _process_counted(runtime: Runtime, photo_id: int) -> None:
    settings = runtime.settings
    original = await runtime.storage.get(original_key(photo_id))
    try:
        processed = await runtime.cpu.run(
            imaging.process, original, max_pixels=settings.image_max_pixels
        )
    except imaging.CorruptImage as exc:
        async with runtime.unit_of_work() as uow:
            await _fail(uow, photo_id, str(exc))
            await uow.commit()
        return

    for rendition in processed.renditions:
        await runtime.storage.put(
            rendition_key(photo_id, rendition.name),
            rendition.data,
            content_type=RENDITION_CONTENT_TYPE,
        )

    async with runtime.unit_of_work() as uow:
        photo = await repository.get_any(uow.session, photo_id)
        if photo is None or photo.deleted_at is not None or photo.status == PhotoStatus.FAILED:
            # Deleted, or given up on by another run, while we worked: the job removing
            # its files may already have run, so clean up what we just wrote ourselves.
            await runtime.storage.delete(await runtime.storage.list_keys(photo_prefix(photo_id)))
            return
        near_duplicate = await _near_duplicate(
            uow.session, photo.owner_id, photo_id, processed.perceptual_hash
        )
        became_ready = await repository.mark_ready(
            uow.session,
            photo_id,
            width=processed.width,
            height=processed.height,
            renditions={
                r.name: {"width": r.width, "height": r.height} for r in processed.renditions
            },
            blurhash=processed.blurhash,
            dominant_color=processed.dominant_color,
            perceptual_hash=processed.perceptual_hash,
            near_duplicate_of_id=near_duplicate,
            processed_at=utcnow(),
        )
        if became_ready:  # a concurrent duplicate run must not count the photo twice
            await repository.change_photos_count(uow.session, photo.owner_id, 1)
            enqueue(uow, FEED_FAN_OUT_JOB, photo_id=str(photo_id))
            owner = await account_repository.get_user(uow.session, photo.owner_id)
            if owner is not None:
                account_service.invalidate_profile(uow, owner.username)
        await uow.commit()


async def delete_photo_files(runtime: Runtime, *, photo_id: str | int) -> None:
    """Remove a deleted or failed photo's files; a deleted photo's row goes too."""
    photo_id = int(photo_id)
    keys = await runtime.storage.list_keys(photo_prefix(photo_id))
    await runtime.storage.delete(keys)
    async with runtime.unit_of_work() as uow:
        photo = await repository.get_any(uow.session, photo_id)
        if photo is not None and photo.deleted_at is not None:
            await repository.remove(uow.session, photo_id)
            await uow.commit()


async def sweep(runtime: Runtime, *, stuck_after_seconds: int | str = STUCK_AFTER_SECONDS) -> None:
    """Re-send work that looks lost: stuck processing jobs and unfinished deletions.

    Embedded mode sweeps with ``stuck_after_seconds=0`` at start-up: its queue lives in
    memory, so whatever was processing when the server stopped needs sending again."""
    stuck_after = timedelta(seconds=int(stuck_after_seconds))
    async with runtime.unit_of_work() as uow:
        stuck = await repository.stuck_ids(
            uow.session, updated_before=utcnow() - stuck_after, limit=SWEEP_BATCH
        )
        deleted = await repository.deleted_ids(uow.session, limit=SWEEP_BATCH)
        for photo_id in stuck:
            enqueue(uow, PROCESS_JOB, photo_id=str(photo_id))
        for photo_id in deleted:
            enqueue(uow, DELETE_FILES_JOB, photo_id=str(photo_id))
        await uow.commit()
    if stuck or deleted:
        log.warning("sweep re-sent %d processing and %d deletion jobs", len(stuck), len(deleted))


async def _fail(uow: UnitOfWork, photo_id: int, reason: str) -> None:
    """Failed for good: the owner sees the reason, and the files go.

    A failed photo is never processed again, so its original could only ever sit in the
    store: bytes that would not decode, and may have been built to attack a decoder."""
    photo = await repository.get_any(uow.session, photo_id)
    if photo is not None and photo.status == PhotoStatus.PROCESSING:
        photo.status = PhotoStatus.FAILED
        photo.failure_reason = reason
        photo.processed_at = utcnow()
        enqueue(uow, DELETE_FILES_JOB, photo_id=str(photo_id))


async def _near_duplicate(
    session: AsyncSession, owner_id: int, photo_id: int, phash: str
) -> int | None:
    for other_id, other_hash in await repository.recent_hashes(
        session, owner_id, excluding=photo_id, limit=NEAR_DUPLICATE_LOOKBACK
    ):
        if imaging.hamming_distance(phash, other_hash) <= imaging.NEAR_DUPLICATE_DISTANCE:
            return other_id
    return None
