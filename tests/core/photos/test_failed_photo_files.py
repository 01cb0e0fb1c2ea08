"""A photo that fails for good keeps its row (its owner is told why) but none of its
files: the original would never be processed again, and bytes that broke the decoder
are the last thing worth keeping in a public bucket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from snapscale.core.models import Photo
from snapscale.core.photos import jobs as photo_jobs
from snapscale.core.photos import service as photo_service
from snapscale.core.runtime import Runtime
from tests.core.photos.helpers import new_owner, uploaded, use_up_attempts
from tests.support import images
from tests.support.photos import HeldJobs


class GivesUpMidway:
    """Runs the image work, then, before handing back the result, lets another run of the
    same job give up on the photo: the interleaving of a slow worker and a retry that
    found the attempts exhausted."""

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    async def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        assert self.runtime is not None
        async with self.runtime.unit_of_work() as uow:
            await uow.session.execute(
                update(Photo).values(status="failed", failure_reason="Gave up on it.")
            )
            await uow.commit()
        return result

    def close(self) -> None:
        pass


async def test_an_undecodable_photo_fails_and_its_original_is_removed(runtime):
    owner_id = await new_owner(runtime)
    photo_id = await uploaded(runtime, owner_id, images.corrupt_jpeg())
    assert await runtime.storage.list_keys("photos/") == [f"photos/{photo_id}/original"]

    await runtime.jobs.wait_idle(limit_seconds=60)

    photo = await runtime.run(photo_service.get_photo, photo_id=photo_id, viewer_id=owner_id)
    assert photo.status == "failed"
    assert photo.failure_reason == "The image data is corrupt and could not be decoded."
    assert await runtime.storage.list_keys("photos/") == []


async def test_a_photo_given_up_after_its_attempts_loses_its_files(runtime):
    owner_id = await new_owner(runtime)
    photo_id = await uploaded(runtime, owner_id, images.jpeg(320, 240))
    await runtime.jobs.wait_idle(limit_seconds=60)
    assert len(await runtime.storage.list_keys(f"photos/{photo_id}/")) == 4
    await use_up_attempts(runtime, photo_id)

    await photo_jobs.process_photo(runtime, photo_id=photo_id)
    await runtime.jobs.wait_idle(limit_seconds=60)

    photo = await runtime.run(photo_service.get_photo, photo_id=photo_id, viewer_id=owner_id)
    assert photo.status == "failed"
    assert await runtime.storage.list_keys("photos/") == []


async def test_a_run_that_finishes_after_the_photo_failed_removes_what_it_wrote(settings):
    cpu = GivesUpMidway()
    runtime = Runtime(settings, jobs=HeldJobs(), cpu=cpu)
    cpu.runtime = runtime
    try:
        owner_id = await new_owner(runtime)
        photo_id = await uploaded(runtime, owner_id, images.jpeg(320, 240))

        await photo_jobs.process_photo(runtime, photo_id=photo_id)

        photo = await runtime.run(photo_service.get_photo, photo_id=photo_id, viewer_id=owner_id)
        assert photo.status == "failed"
        assert photo.renditions is None
        assert await runtime.storage.list_keys("photos/") == []
    finally:
        await runtime.aclose()
