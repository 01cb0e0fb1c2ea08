"""Every background job by name: what Celery workers and the in-process queue run."""

from __future__ import annotations

from collections.abc import Mapping

from snapscale.core.feed import jobs as feed_jobs
from snapscale.core.jobs import JobHandler
from snapscale.core.photos import jobs as photo_jobs

HANDLERS: Mapping[str, JobHandler] = {
    "photos.process": photo_jobs.process_photo,
    "photos.delete_files": photo_jobs.delete_photo_files,
    "photos.sweep": photo_jobs.sweep,
    "feed.fan_out": feed_jobs.fan_out,
    "feed.remove": feed_jobs.remove,
    "feed.backfill_followers": feed_jobs.backfill_followers,
}
