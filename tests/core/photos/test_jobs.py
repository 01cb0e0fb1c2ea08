"""The processing job: idempotent, bounded retries, and lost work is found again."""

import contextlib

from sqlalchemy import update

from snapscale.core.models import Photo
from snapscale.core.photos import jobs as photo_jobs
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import Upload
from snapscale.core.runtime import Runtime
from tests.core.photos.helpers import new_owner, uploaded, use_up_attempts
from tests.support import images


async def _upload_that_fails_after_storing(runtime, owner_id: int) -> None:
    """An upload whose request fails after the original was stored, before the commit."""
    with contextlib.suppress(RuntimeError):
        async with runtime.unit_of_work() as uow:
            await photo_service.upload(
                uow, owner_id=owner_id, data=Upload(data=images.jpeg(64, 64))
            )
            raise RuntimeError("the request failed after storing")


async def _files(runtime, photo_id: int) -> dict[str, bytes]:
    keys = await runtime.storage.list_keys(f"photos/{photo_id}/")
    return {key: await runtime.storage.get(key) for key in keys}


async def _status(runtime, photo_id: int) -> tuple[str, int]:
    async with runtime.unit_of_work() as uow:
        photo = await uow.session.get(Photo, photo_id)
        return photo.status, photo.attempts


async def test_running_the_job_twice_gives_the_same_files_and_row(runtime):
    photo_id = await uploaded(runtime, await new_owner(runtime))
    await runtime.jobs.wait_idle(limit_seconds=60)
    first = await _files(runtime, photo_id)
    before = await runtime.run(photo_service.get_photo, photo_id=photo_id, viewer_id=None)

    # As if the broker redelivered it: put it back to processing and run it again.
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(
            update(Photo).where(Photo.id == photo_id).values(status="processing")
        )
        await uow.commit()
    await photo_jobs.process_photo(runtime, photo_id=photo_id)

    assert await _files(runtime, photo_id) == first
    assert sorted(first) == [
        f"photos/{photo_id}/{name}"
        for name in ("large.webp", "medium.webp", "original", "thumb.webp")
    ]
    after = await runtime.run(photo_service.get_photo, photo_id=photo_id, viewer_id=None)
    assert after.model_dump(exclude={"renditions"}) == before.model_dump(exclude={"renditions"})


async def test_a_ready_photo_is_not_processed_again(runtime):
    photo_id = await uploaded(runtime, await new_owner(runtime))
    await runtime.jobs.wait_idle(limit_seconds=60)
    await photo_jobs.process_photo(runtime, photo_id=photo_id)
    assert await _status(runtime, photo_id) == ("ready", 1)


async def test_a_photo_that_keeps_killing_workers_ends_failed(runtime):
    owner_id = await new_owner(runtime)
    photo_id = await uploaded(runtime, owner_id)
    await runtime.jobs.wait_idle(limit_seconds=60)
    await use_up_attempts(runtime, photo_id)  # as if every worker died on it

    await photo_jobs.process_photo(runtime, photo_id=photo_id)

    status, _ = await _status(runtime, photo_id)
    assert status == "failed"
    photo = await runtime.run(photo_service.get_photo, photo_id=photo_id, viewer_id=owner_id)
    assert photo.status == "failed"
    assert photo.failure_reason


async def test_the_sweep_resends_work_that_was_lost(runtime):
    owner_id = await new_owner(runtime)
    photo_id = await uploaded(runtime, owner_id)
    await runtime.jobs.wait_idle(limit_seconds=60)
    async with runtime.unit_of_work() as uow:  # as if the job never reached a worker
        await uow.session.execute(
            update(Photo).where(Photo.id == photo_id).values(status="processing", renditions=None)
        )
        await uow.commit()

    await photo_jobs.sweep(runtime, stuck_after_seconds=0)
    await runtime.jobs.wait_idle(limit_seconds=60)

    assert (await _status(runtime, photo_id))[0] == "ready"


async def test_a_rolled_back_upload_leaves_no_file(runtime):
    owner_id = await new_owner(runtime)

    await _upload_that_fails_after_storing(runtime, owner_id)
    await runtime.jobs.wait_idle(limit_seconds=10)

    assert await runtime.storage.list_keys("photos/") == []


class _RecordingJobs:
    """Records each job with whether its photo was already committed when it was sent."""

    def __init__(self) -> None:
        self.runtime = None
        self.sent: list[tuple[str, bool]] = []

    async def send(self, name, kwargs) -> None:
        async with self.runtime.unit_of_work() as uow:  # a separate transaction
            committed = await uow.session.get(Photo, int(kwargs["photo_id"])) is not None
        self.sent.append((name, committed))

    async def aclose(self) -> None:
        pass


async def test_the_job_is_sent_only_after_the_upload_commits(settings):
    jobs = _RecordingJobs()
    runtime = Runtime(settings, jobs=jobs)
    jobs.runtime = runtime
    try:
        owner_id = await new_owner(runtime)

        await _upload_that_fails_after_storing(runtime, owner_id)
        assert jobs.sent == []  # rolled back: nothing sent

        await uploaded(runtime, owner_id)
        assert jobs.sent == [("photos.process", True)]  # sent, and the row was visible
    finally:
        await runtime.aclose()
