"""Sends the core's jobs to Celery (the production JobSender)."""

from __future__ import annotations

import asyncio
import json
import time

from celery import Celery

from snapscale.core.jobs import Backlog, JobArgs
from snapscale.observability.context import current_request_id

QUEUE = "snapscale"
# Each job carries the wall-clock time it was sent, so a queue's oldest job can be aged.
SENT_AT_HEADER = "snapscale_sent_at"
# ...and the id of the request that sent it, so the job's log lines can be found with it.
REQUEST_ID_HEADER = "snapscale_request_id"


class CeleryJobs:
    def __init__(self, app: Celery) -> None:
        self._app = app

    async def send(self, name: str, kwargs: JobArgs) -> None:
        headers: dict[str, object] = {SENT_AT_HEADER: time.time()}
        request_id = current_request_id()
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        # kombu publishes synchronously; keep the event loop free while it does.
        await asyncio.to_thread(self._app.send_task, name, kwargs=kwargs, headers=headers)

    async def backlog(self) -> Backlog:
        return await asyncio.to_thread(queue_backlog, self._app)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._app.pool.force_close_all)


def queue_backlog(app: Celery) -> Backlog:
    """The broker's view of the queue. Redis lists can be peeked at, so the oldest job's
    age is known; AMQP only tells how many messages wait."""
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        client = getattr(channel, "client", None)
        if client is not None and hasattr(client, "llen"):
            # kombu's Redis transport pushes on the left and pops from the right.
            depth = int(client.llen(QUEUE))
            oldest = client.lindex(QUEUE, -1) if depth else None
            return Backlog(depth=depth, oldest_age_seconds=_age(oldest))
        declared = channel.queue_declare(queue=QUEUE, passive=True)
        return Backlog(depth=int(declared.message_count), oldest_age_seconds=None)


def _age(raw_message: bytes | None) -> float | None:
    if raw_message is None:
        return None
    try:
        sent_at = float(json.loads(raw_message)["headers"][SENT_AT_HEADER])
    except (ValueError, KeyError, TypeError):
        return None  # sent by an older release, or not ours
    return max(0.0, time.time() - sent_at)
