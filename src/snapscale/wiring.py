"""Builds each process's Runtime with the job sender its settings call for: Celery when
a broker is configured, otherwise the in-process queue (embedded mode)."""

from __future__ import annotations

from snapscale.config import Settings
from snapscale.core.cpu import BackgroundProcessRunner
from snapscale.core.runtime import Runtime


def build_runtime(settings: Settings) -> Runtime:
    if settings.broker_url is None:
        # Jobs run inside the server: keep their image work off the serving process.
        return Runtime(settings, cpu=BackgroundProcessRunner.shared())
    from snapscale.worker.celery_app import create_celery
    from snapscale.worker.sender import CeleryJobs

    return Runtime(settings, jobs=CeleryJobs(create_celery(settings)))
