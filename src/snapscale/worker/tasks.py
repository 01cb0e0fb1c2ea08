"""One Celery task per core job handler, each calling the async core through a bridge.

Each worker process (a prefork pool child, or the solo process) lazily makes its own
event loop and Runtime: database and Redis connections must never cross a fork.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task

from snapscale.config import Settings
from snapscale.core.job_handlers import HANDLERS
from snapscale.core.jobs import JobHandler, is_transient
from snapscale.core.runtime import Runtime
from snapscale.core.sync_bridge import LoopBridge

RETRY_BACKOFF_MAX_SECONDS = 60
MAX_RETRIES = 8


class TransientJobError(Exception):
    """A dependency was briefly unreachable; Celery retries the job with backoff."""


class _ProcessCore:
    def __init__(self, app: Celery, settings: Settings) -> None:
        from snapscale.worker.sender import CeleryJobs

        self.pid = os.getpid()
        self.bridge = LoopBridge.in_background_thread()
        self.runtime = Runtime(settings, jobs=CeleryJobs(app))


_core: _ProcessCore | None = None


def _process_core(app: Celery, settings: Settings) -> _ProcessCore:
    global _core
    if _core is None or _core.pid != os.getpid():
        _core = _ProcessCore(app, settings)
    return _core


def register(app: Celery, settings: Settings) -> None:
    for name, handler in HANDLERS.items():
        _register_one(app, settings, name, handler)


def _register_one(app: Celery, settings: Settings, name: str, handler: JobHandler) -> None:
    @app.task(  # type: ignore[untyped-decorator]
        name=name,
        bind=True,
        autoretry_for=(TransientJobError,),
        retry_backoff=True,
        retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
        retry_jitter=True,
        max_retries=MAX_RETRIES,
    )
    def run(task: Task, **kwargs: Any) -> None:
        core = _process_core(app, settings)
        try:
            core.bridge.call(handler, core.runtime, **kwargs)
        except Exception as exc:
            if is_transient(exc):
                raise TransientJobError(f"{type(exc).__name__}: {exc}") from exc
            raise
