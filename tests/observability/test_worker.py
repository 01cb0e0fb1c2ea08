"""A real prefork Celery worker: its main process serves the metrics of the pool
processes that ran the jobs, and each job's log line carries the id of the request that
sent it (through the broker, in a message header)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from snapscale.config import Settings
from snapscale.observability.worker import start_metrics_server
from snapscale.worker.celery_app import create_celery
from tests.observability.scraping import Samples, scrape_worker, value
from tests.support import images, workers
from tests.support.factories import signed_in_user
from tests.support.photos import upload
from tests.support.servers import RedisServer, free_port, wait_for_port
from tests.support.workers import start_worker, stop_worker, wait_until_settled

pytestmark = pytest.mark.parametrize("stack", ["postgresql"], indirect=True)

WAIT_SECONDS = 90

api = workers.api  # on this module's production settings, below


@pytest.fixture
def production(settings: Settings, private_redis: RedisServer) -> Settings:
    return settings.model_copy(
        update={"broker_url": private_redis.url, "worker_metrics_port": free_port()}
    )


def json_lines(log: Path) -> list[dict[str, Any]]:
    """The worker's log lines (Celery's start-up banner is printed text, not a log line)."""
    lines = []
    for raw in log.read_text().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


async def test_a_prefork_worker_serves_its_pool_metrics_and_traces_jobs_to_requests(
    api, production, tmp_path
):
    port = production.worker_metrics_port
    worker = start_worker(production, tmp_path, ["-m", "snapscale", "worker", "-c", "2"])
    try:
        wait_for_port(port, timeout=WAIT_SECONDS)
        before = scrape_worker(port)
        user = await signed_in_user(api)
        response = await upload(
            api, user.headers | {"X-Request-ID": "abc-123"}, images.jpeg(1200, 900)
        )
        photo = await wait_until_settled(api, response.json()["id"], user.headers)
        assert photo["status"] == "ready", (tmp_path / "worker.log").read_text()

        def grew(samples: Samples, name: str, job: str = "photos.process") -> float:
            return value(samples, name, job=job) - value(before, name, job=job)

        # The photo is ready as the job commits; its metrics follow a moment later, and
        # the feed fan-out it then sends runs after it.
        deadline = time.monotonic() + WAIT_SECONDS
        after = scrape_worker(port)
        while grew(after, "snapscale_jobs_succeeded_total", "feed.fan_out") < 1:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            await asyncio.sleep(0.25)
            after = scrape_worker(port)
    finally:
        stop_worker(worker)

    assert grew(after, "snapscale_jobs_started_total") == 1
    assert grew(after, "snapscale_jobs_succeeded_total") == 1
    assert grew(after, "snapscale_job_duration_seconds_count") == 1
    assert value(after, "snapscale_job_queue_depth") == 0
    assert value(after, "snapscale_job_queue_oldest_age_seconds") == 0

    lines = json_lines(tmp_path / "worker.log")
    [job] = [line for line in lines if line["event"] == "job" and line["job"] == "photos.process"]
    assert job["request_id"] == "abc-123"
    assert job["outcome"] == "succeeded"
    assert job["job_id"]
    assert any(
        line["job"] == "feed.fan_out" and line["request_id"] == "abc-123"
        for line in lines
        if line["event"] == "job"
    )
    # Celery's own lines come out in the same format.
    assert any(line["logger"].startswith("celery") for line in lines)


def test_a_taken_metrics_port_is_reported_and_jobs_go_on(production, caplog):
    port = production.worker_metrics_port
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", port))  # noqa: S104 (where the worker would listen)
        taken.listen()
        with caplog.at_level(logging.ERROR):
            start_metrics_server(create_celery(production), port)  # returns: no exception
    assert f"cannot serve worker metrics on port {port}" in caplog.text
