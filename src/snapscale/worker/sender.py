"""Sends the core's jobs to Celery (the production JobSender)."""

from __future__ import annotations

import asyncio

from celery import Celery

from snapscale.core.jobs import JobArgs


class CeleryJobs:
    def __init__(self, app: Celery) -> None:
        self._app = app

    async def send(self, name: str, kwargs: JobArgs) -> None:
        # kombu publishes synchronously; keep the event loop free while it does.
        await asyncio.to_thread(self._app.send_task, name, kwargs=kwargs)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._app.pool.force_close_all)
