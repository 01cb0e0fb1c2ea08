"""The Celery application: the broker settings that make jobs hard to lose.

- Late acks: a job is acknowledged after it finished, not when it was received, so a
  worker that dies mid-job leaves it on the queue for another worker.
- task_reject_on_worker_lost: a pool child killed mid-job (SIGKILL, out of memory) sends
  its job back to the queue instead of marking it failed.
- Prefetch 1: a worker holds one job beyond the one it runs, so a dead worker strands
  little and long jobs do not queue behind each other.
- A hard time limit per job (prefork pool only; solo and threads cannot enforce one): a
  job running longer has its pool child killed and replaced. A soft limit would not do:
  it raises in the task's thread, while the job runs on the bridge's event-loop thread.
  The job goes straight back to the queue (by default Celery acknowledges it as failed,
  and a photo would wait for the sweep), so a photo that keeps outlasting the limit soon
  uses up its attempts and ends failed. Other jobs count no attempts and would go back
  each time; they are short chunks whose every call has its own, much shorter, timeout.
- Short broker timeouts: a broker outage fails a publish in seconds, never a request for
  minutes; the periodic sweep re-sends what could not be sent.
- Redis only: every worker looks for jobs left unacknowledged past the visibility timeout
  (their worker was killed outright) every few seconds, so one is given to another worker
  soon after that timeout, not at kombu's default pace (a look every 100 s).
"""

from __future__ import annotations

from celery import Celery

from snapscale.config import Settings
from snapscale.observability import worker as worker_observability
from snapscale.worker import tasks
from snapscale.worker.sender import QUEUE

SWEEP_EVERY_SECONDS = 60.0
BROKER_TIMEOUT_SECONDS = 3
# Bounds of how often a worker looks for jobs whose visibility timeout has passed.
RESTORE_EVERY_SECONDS_MIN = 1.0
RESTORE_EVERY_SECONDS_MAX = 10.0


def restore_every_seconds(visibility_timeout: int) -> float:
    """A fifth of the visibility timeout, within bounds: a killed worker's job waits at
    most that much longer than the timeout, for a few Redis calls per worker each time."""
    share = visibility_timeout / 5
    return max(RESTORE_EVERY_SECONDS_MIN, min(RESTORE_EVERY_SECONDS_MAX, share))


def create_celery(settings: Settings) -> Celery:
    if settings.broker_url is None:
        raise ValueError("SNAPSCALE_BROKER_URL is not set")
    app = Celery("snapscale", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.job_time_limit_seconds,
        task_acks_on_timeout=False,  # past the limit: back to the queue, not acknowledged
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        broker_connection_timeout=BROKER_TIMEOUT_SECONDS,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # Redis only: a job not acknowledged within this time is given to another
            # worker. It must exceed the longest job, or jobs would run twice (harmless,
            # since jobs are idempotent, but wasteful): the settings keep the time limit
            # below it.
            "visibility_timeout": settings.job_visibility_timeout_seconds,
            # kombu looks on every 10th tick only unless told otherwise: each tick looks.
            "unacked_restore_interval": restore_every_seconds(
                settings.job_visibility_timeout_seconds
            ),
            "unacked_restore_throttle": 1,
            "socket_timeout": BROKER_TIMEOUT_SECONDS,
            "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        },
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "sweep": {"task": "photos.sweep", "schedule": SWEEP_EVERY_SECONDS},
        },
    )
    tasks.register(app, settings)
    worker_observability.install(app, settings)
    return app
