"""The admin dashboard's figures and the reads behind the moderation pages.

The moderation actions themselves live with the data they change
(``accounts.service.deactivate``/``reactivate``, ``photos.service.remove_photo``); every
function here first checks that the caller is an administrator."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta

from snapscale.core.accounts import repository as account_repository
from snapscale.core.accounts import service as account_service
from snapscale.core.admin import repository
from snapscale.core.admin.schemas import (
    Dashboard,
    JobQueue,
    MinutePoint,
    ModeratedUser,
    PhotoCounts,
    RequestFigures,
    UserCounts,
)
from snapscale.core.db import UnitOfWork, utcnow
from snapscale.core.errors import NotFound
from snapscale.core.live_stats import LATENCY_RESOLUTION, LiveStats, MinuteCounts, combine
from snapscale.core.models import PhotoStatus
from snapscale.core.pagination import Page, decode_cursor, encode_cursor
from snapscale.core.photos import repository as photo_repository
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import PhotoOut

log = logging.getLogger(__name__)

WINDOW_MINUTES = 30
# The error rate and p99 are read over a few minutes: one minute of a quiet site holds
# too few requests for a 99th percentile to mean anything.
HEADLINE_MINUTES = 5
SEARCH_LIMIT = 50
# The broker is asked for its queue on every dashboard refresh; a hung broker must not
# hang the page.
BACKLOG_TIMEOUT_SECONDS = 2.0
_USERNAME_PREFIX = re.compile(r"[a-z0-9_.]{0,30}")


async def dashboard(uow: UnitOfWork, *, admin_id: int, live_stats: LiveStats) -> Dashboard:
    await account_service.require_admin(uow, user_id=admin_id)
    requests = await live_stats.series(WINDOW_MINUTES)
    minutes = [minute for minute, _ in requests.minutes]
    uploads = await repository.uploads_per_minute(uow.session, since_minute=minutes[0])
    elapsed = (requests.now % 60) / 60
    recent = combine(counts for _, counts in requests.minutes[-HEADLINE_MINUTES:])
    return Dashboard(
        generated_at=datetime.fromtimestamp(requests.now, UTC),
        shared=requests.shared,
        latency_resolution=LATENCY_RESOLUTION,
        requests=RequestFigures(
            per_minute=_last_sixty_seconds(
                requests.minutes[-2][1].requests, requests.minutes[-1][1].requests, elapsed
            ),
            error_rate=recent.error_rate,
            p99_ms=_milliseconds(recent.p99_seconds),
            window_minutes=HEADLINE_MINUTES,
        ),
        uploads_per_minute=_last_sixty_seconds(
            uploads.get(minutes[-2], 0), uploads.get(minutes[-1], 0), elapsed
        ),
        users=await _user_counts(uow),
        photos=await _photo_counts(uow),
        jobs=await _job_queue(uow),
        series=[
            _point(minute, counts, uploads.get(minute, 0)) for minute, counts in requests.minutes
        ],
    )


def _last_sixty_seconds(previous: int, current: int, elapsed: float) -> float:
    """Events in the last 60 s, from per-minute counts: all of this minute's so far, and
    the share of the previous minute still inside the window (as if spread evenly)."""
    return round(current + previous * (1 - elapsed), 1)


def _milliseconds(seconds: float | None) -> float | None:
    return round(seconds * 1000, 1) if seconds is not None else None


def _point(minute: int, counts: MinuteCounts, uploads: int) -> MinutePoint:
    return MinutePoint(
        minute=datetime.fromtimestamp(minute * 60, UTC),
        requests=counts.requests,
        errors=counts.errors,
        error_rate=counts.error_rate,
        p99_ms=_milliseconds(counts.p99_seconds),
        uploads=uploads,
    )


async def _user_counts(uow: UnitOfWork) -> UserCounts:
    total, new, active = await repository.user_counts(
        uow.session, joined_since=utcnow() - timedelta(days=1)
    )
    return UserCounts(total=total, new_last_day=new, active=active)


async def _photo_counts(uow: UnitOfWork) -> PhotoCounts:
    by_status = await repository.photo_counts(uow.session)
    return PhotoCounts(
        total=sum(by_status.values()),
        ready=by_status.get(PhotoStatus.READY, 0),
        processing=by_status.get(PhotoStatus.PROCESSING, 0),
        failed=by_status.get(PhotoStatus.FAILED, 0),
    )


async def _job_queue(uow: UnitOfWork) -> JobQueue:
    try:
        async with asyncio.timeout(BACKLOG_TIMEOUT_SECONDS):
            backlog = await uow.jobs.backlog()
    except Exception as exc:  # any broker failure: the page shows "unknown", not an error
        log.warning("job backlog unavailable: %r", exc)
        return JobQueue(known=False, depth=None, oldest_age_seconds=None)
    return JobQueue(
        known=True,
        depth=backlog.depth,
        oldest_age_seconds=(
            round(backlog.oldest_age_seconds, 1) if backlog.oldest_age_seconds is not None else None
        ),
    )


async def find_users(uow: UnitOfWork, *, admin_id: int, prefix: str) -> list[ModeratedUser]:
    """Accounts whose username starts with ``prefix`` (an "@" in front is ignored)."""
    await account_service.require_admin(uow, user_id=admin_id)
    prefix = prefix.strip().removeprefix("@").lower()
    if not _USERNAME_PREFIX.fullmatch(prefix):
        return []  # no username holds such characters: nothing to ask the database
    users = await repository.users_by_prefix(uow.session, prefix, limit=SEARCH_LIMIT)
    return [ModeratedUser.model_validate(user) for user in users]


async def moderated_user(uow: UnitOfWork, *, admin_id: int, username: str) -> ModeratedUser:
    await account_service.require_admin(uow, user_id=admin_id)
    username = username.lower()
    user = (
        await account_repository.get_user_by_username(uow.session, username)
        if _USERNAME_PREFIX.fullmatch(username)
        else None
    )
    if user is None:
        raise NotFound(f"There is no user called {username!r}.")
    return ModeratedUser.model_validate(user)


async def user_photos(
    uow: UnitOfWork, *, admin_id: int, user_id: int, cursor: str | None, limit: int
) -> Page[PhotoOut]:
    """All of an account's photos not deleted, whatever their status, newest first."""
    await account_service.require_admin(uow, user_id=admin_id)
    before_id = int(decode_cursor(cursor, int)[0]) if cursor else None
    photos = await photo_repository.list_for_owner(
        uow.session, user_id, ready_only=False, before_id=before_id, limit=limit + 1
    )
    items = await photo_service.present_many(uow, photos[:limit], viewer_id=None)
    next_cursor = encode_cursor(items[-1].id) if len(photos) > limit else None
    return Page[PhotoOut](items=items, next_cursor=next_cursor)


async def moderated_photo(uow: UnitOfWork, *, admin_id: int, photo_id: int) -> PhotoOut:
    """A photo not deleted, whatever its status or its owner's."""
    await account_service.require_admin(uow, user_id=admin_id)
    photo = await photo_repository.get_any(uow.session, photo_id)
    if photo is None or photo.deleted_at is not None:
        raise NotFound("There is no such photo.")
    return await photo_service.present(uow, photo, viewer_id=None)
