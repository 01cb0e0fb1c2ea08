"""Photos made and pushed through their job straight on the core, for the job tests."""

from __future__ import annotations

from sqlalchemy import update

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Registration
from snapscale.core.models import Photo
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import Upload
from snapscale.core.runtime import Runtime
from tests.support import images
from tests.support.factories import PASSWORD


async def new_owner(runtime: Runtime) -> int:
    data = Registration(username="owner", email="owner@example.com", password=PASSWORD)
    return (await runtime.run(account_service.register, data=data)).id


async def uploaded(runtime: Runtime, owner_id: int, data: bytes | None = None) -> int:
    photo, _ = await runtime.run(
        photo_service.upload, owner_id=owner_id, data=Upload(data=data or images.jpeg(900, 600))
    )
    return photo.id


async def use_up_attempts(runtime: Runtime, photo_id: int) -> None:
    """Put the photo back in processing with no attempt left, as if every worker died on it."""
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(
            update(Photo)
            .where(Photo.id == photo_id)
            .values(status="processing", attempts=runtime.settings.job_max_attempts)
        )
        await uow.commit()
