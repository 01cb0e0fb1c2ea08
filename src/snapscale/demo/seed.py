"""Fill a database with a demo world (see graph.py) for trying the site and for load tests.

Accounts, follows, likes and comments go in with bulk INSERTs, and their counters are
then recomputed from the rows in one UPDATE each: going through the services one row at
a time would take minutes for a few thousand users (and argon2 hashing per account would
take more). Photos, on the other hand, go through the real upload service, so their
files, keys and processing job are exactly those of production.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from snapscale.config import Settings
from snapscale.core.accounts import service as account_service
from snapscale.core.db import Base
from snapscale.core.ids import new_id
from snapscale.core.jobs import InProcessJobs
from snapscale.core.models import Comment, Follow, Like, User
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import Upload
from snapscale.core.runtime import Runtime
from snapscale.core.security import hash_password
from snapscale.demo import images, repository
from snapscale.demo.graph import Plan, make_plan
from snapscale.wiring import build_runtime

PASSWORD = "demo-password-123"  # noqa: S105 (printed for demo log-ins, by design)  # nosec B105
BATCH = 1000  # rows per INSERT: few round trips, far below every driver's parameter limit
# Processing one small photo takes well under a second; past this the server's start-up
# sweep finishes the rest.
PROCESSING_LIMIT_SECONDS = 600
PROCESSING_SECONDS_PER_PHOTO = 1.0
PROGRESS_EVERY_SECONDS = 5
PROGRESS_LINES = 10  # per bulk insert, at most

Progress = Callable[[str], None]


class DemoAlreadySeeded(Exception):
    """The database already has demo accounts; seeding again would collide with them."""


@dataclass(frozen=True)
class Options:
    users: int
    photos_per_user: int
    seed: int
    celebrity_followers: int


@dataclass(frozen=True)
class Summary:
    counts: repository.DemoCounts
    photos_uploaded: int
    processed_here: bool  # False: the photos wait in the broker for the Celery workers
    login: str
    password: str = PASSWORD

    def lines(self) -> list[str]:
        counts = self.counts
        photos = f"{counts.photos_ready} ready of {self.photos_uploaded} uploaded"
        if not self.processed_here:
            photos += " (the rest are queued for the Celery workers)"
        elif counts.photos_ready < self.photos_uploaded:
            photos += " (`snapscale serve` finishes the rest when it starts)"
        return [
            f"users:     {counts.users}",
            f"follows:   {counts.follows}",
            f"celebrity: demo_celebrity has {counts.celebrity_followers} followers",
            f"photos:    {photos}",
            f"likes:     {counts.likes}",
            f"comments:  {counts.comments}",
            f"password:  {self.password} (every demo account)",
            f"log in as {self.login} / {self.password}",
        ]


async def seed_demo(settings: Settings, options: Options, progress: Progress) -> Summary:
    runtime = build_runtime(settings)
    try:
        return await _seed(runtime, options, progress)
    finally:
        await runtime.aclose()


async def _seed(runtime: Runtime, options: Options, progress: Progress) -> Summary:
    plan = make_plan(
        users=options.users,
        photos_per_user=options.photos_per_user,
        seed=options.seed,
        celebrity_followers=options.celebrity_followers,
    )
    user_ids = [new_id() for _ in plan.users]
    await _add_users(runtime, plan, user_ids, progress)
    await _add_follows(runtime, plan, user_ids, progress)
    photo_ids = await _upload_photos(runtime, plan, user_ids, progress)
    # Embedded mode runs the processing jobs in this process: wait for them. With a
    # broker, Celery workers do it whenever they get to it.
    in_process = runtime.jobs if isinstance(runtime.jobs, InProcessJobs) else None
    if in_process is not None:
        await _wait_for_processing(runtime, in_process, len(photo_ids), progress)
    processed_here = in_process is not None
    await _add_reactions(runtime, plan, user_ids, photo_ids, processed_here, progress)
    async with runtime.unit_of_work() as uow:
        counts = await repository.counts(uow.session)
    return Summary(
        counts=counts,
        photos_uploaded=len(photo_ids),
        processed_here=processed_here,
        login=plan.users[1].username,
    )


async def _add_users(runtime: Runtime, plan: Plan, user_ids: list[int], progress: Progress) -> None:
    async with runtime.unit_of_work() as uow:
        if await repository.demo_users_exist(uow.session):
            raise DemoAlreadySeeded(
                "demo data is already there (accounts named demo_...); use an empty database"
            )
        # One hash shared by every account: argon2 is slow on purpose (tens of ms each).
        password_hash = await asyncio.to_thread(hash_password, PASSWORD)
        rows = [
            {
                "id": user_id,
                "username": user.username,
                "email": f"{user.username}@example.com",
                "display_name": user.display_name,
                "bio": user.bio,
                "password_hash": password_hash,
            }
            for user_id, user in zip(user_ids, plan.users, strict=True)
        ]
        await _insert_in_batches(uow.session, User, rows, "users", progress)
        await uow.commit()


async def _add_follows(
    runtime: Runtime, plan: Plan, user_ids: list[int], progress: Progress
) -> None:
    # Before any photo: the feed's fan-out job reads followers_count when a photo becomes
    # ready, to decide whether to push it to followers or merge it in at read time.
    async with runtime.unit_of_work() as uow:
        rows = [
            {"id": new_id(), "follower_id": user_ids[follower], "followee_id": user_ids[followee]}
            for follower, followee in plan.follows
        ]
        await _insert_in_batches(uow.session, Follow, rows, "follows", progress)
        await repository.recount_follows(uow.session)
        for user in plan.users:
            account_service.invalidate_profile(uow, user.username)
        await uow.commit()


async def _upload_photos(
    runtime: Runtime, plan: Plan, user_ids: list[int], progress: Progress
) -> list[int]:
    total = len(plan.photos)
    step = max(1, min(250, total // 10))
    photo_ids: list[int] = []
    for number, photo in enumerate(plan.photos, start=1):
        data = await asyncio.to_thread(images.render, photo.image_seed)
        uploaded, _ = await runtime.run(
            photo_service.upload,
            owner_id=user_ids[photo.owner],
            data=Upload(data=data, caption=photo.caption),
        )
        photo_ids.append(uploaded.id)
        if number % step == 0 or number == total:
            progress(f"photos {number}/{total} uploaded")
    return photo_ids


async def _wait_for_processing(
    runtime: Runtime, jobs: InProcessJobs, total: int, progress: Progress
) -> None:
    async def report() -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_SECONDS)
            async with runtime.unit_of_work() as uow:
                ready = await repository.ready_photo_count(uow.session)
            progress(f"photos {ready}/{total} ready")

    reporter = asyncio.create_task(report())
    try:
        await jobs.wait_idle(
            limit_seconds=PROCESSING_LIMIT_SECONDS + PROCESSING_SECONDS_PER_PHOTO * total
        )
    except TimeoutError:
        progress("photo processing is taking too long; the rest is left for `snapscale serve`")
    finally:
        reporter.cancel()


async def _add_reactions(
    runtime: Runtime,
    plan: Plan,
    user_ids: list[int],
    photo_ids: list[int],
    processed_here: bool,
    progress: Progress,
) -> None:
    async with runtime.unit_of_work() as uow:
        # People react to photos they can see. Photos still queued for the workers will be
        # ready soon, so they get their reactions too.
        shown = await repository.ready_photo_ids(uow.session) if processed_here else set(photo_ids)
        likes = [
            {"photo_id": photo_ids[photo], "user_id": user_ids[user]}
            for photo, user in plan.likes
            if photo_ids[photo] in shown
        ]
        comments = [
            {
                "id": new_id(),
                "photo_id": photo_ids[comment.photo],
                "author_id": user_ids[comment.author],
                "text": comment.text,
            }
            for comment in plan.comments
            if photo_ids[comment.photo] in shown
        ]
        await _insert_in_batches(uow.session, Like, likes, "likes", progress)
        await _insert_in_batches(uow.session, Comment, comments, "comments", progress)
        await repository.recount_reactions(uow.session)
        await uow.commit()


async def _insert_in_batches(
    session: AsyncSession,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    what: str,
    progress: Progress,
) -> None:
    batches = range(0, len(rows), BATCH)
    report_every = max(1, math.ceil(len(batches) / PROGRESS_LINES))
    for number, start in enumerate(batches, start=1):
        await repository.insert_rows(session, model, rows[start : start + BATCH])
        if number % report_every == 0 and number < len(batches):
            progress(f"{what} {start + BATCH}/{len(rows)}")
    progress(f"{what} {len(rows)}/{len(rows)}")
