"""SIGTERM, as an orchestrator sends it to stop or replace a worker, lets the running job
finish: the photo ends ready, processed once, and the worker exits cleanly. The worker
also runs with two glibc malloc arenas unless the operator chose otherwise."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from tests.support import workers
from tests.support.workers import WAIT_SECONDS, attempts_of, slow_job, wait_until_settled

# The worker tests' fixtures: an API on PostgreSQL and Redis that sends jobs to a broker.
production = workers.production
api = workers.api

pytestmark = pytest.mark.parametrize("stack", ["postgresql"], indirect=True)


def _environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (entry.decode().partition("=") for entry in raw.split(b"\0") if entry)
    return {name: value for name, _, value in pairs}


async def test_sigterm_mid_job_finishes_the_job_then_exits_cleanly(api, production, tmp_path):
    async with slow_job(api, production, tmp_path) as job:
        worker, pool_child, marker = job.worker, job.pool_child, job.marker
        environments = [_environment_of(worker.pid), _environment_of(pool_child)]

        # To the main process only, as Docker and Kubernetes send it; mid-job.
        os.kill(worker.pid, signal.SIGTERM)
        exit_code = await asyncio.to_thread(worker.wait, WAIT_SECONDS)
        photo = await wait_until_settled(api, job.photo_id, job.user.headers)
        photo_id = job.photo_id

    log = (tmp_path / "worker.log").read_text()
    assert exit_code == 0, log
    assert "Warm shutdown" in log
    assert photo["status"] == "ready", log
    assert marker.read_text().split() == [str(pool_child)]  # one attempt, never re-run
    assert await attempts_of(api, photo_id) == 1
    arenas = os.environ.get("MALLOC_ARENA_MAX", "2")  # the operator's own value is kept
    assert [env.get("MALLOC_ARENA_MAX") for env in environments] == [arenas, arenas]
