"""A photo that takes far longer to process than the job time limit: a real worker
(prefork pool, Redis broker) kills each attempt at the limit and sends the job again at
once, so the photo ends failed within seconds instead of waiting 10 minutes for the
sweep; its files go, each stopped attempt is counted in the worker's metrics and logged,
and the same worker goes on to process an ordinary photo.

The slow photo is a real file, not a slowed-down worker: a progressive JPEG with
thousands of scans, the CPU-heavy case docs/RELIABILITY.md names."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from snapscale.config import Settings
from tests.observability.scraping import scrape_worker, value
from tests.support import images, workers
from tests.support.factories import signed_in_user
from tests.support.photos import stored_keys, upload
from tests.support.servers import RedisServer, free_port, wait_for_port
from tests.support.workers import start_worker, stop_worker, wait_until_settled

pytestmark = pytest.mark.parametrize("stack", ["postgresql"], indirect=True)

TIME_LIMIT_SECONDS = 2
# Far more than the attempts take (each is killed after TIME_LIMIT_SECONDS), far less
# than the 10 minutes after which the sweep would send a stuck photo's job again.
FAILED_WITHIN_SECONDS = 45
FILES_GONE_WITHIN_SECONDS = 15


@pytest.fixture
def production(settings: Settings, private_redis: RedisServer) -> Settings:
    return settings.model_copy(
        update={
            "broker_url": private_redis.url,
            "job_time_limit_seconds": TIME_LIMIT_SECONDS,
            "worker_metrics_port": free_port(),
        }
    )


api = workers.api


async def test_a_photo_outlasting_the_time_limit_ends_failed_and_the_worker_goes_on(
    api, production, tmp_path
):
    worker = start_worker(production, tmp_path, ["-m", "snapscale", "worker", "-c", "1"])
    try:
        wait_for_port(production.worker_metrics_port, timeout=FAILED_WITHIN_SECONDS)
        user = await signed_in_user(api)
        sent = time.monotonic()
        response = await upload(api, user.headers, images.jpeg_of_many_scans())
        assert response.status_code == 202, response.text
        photo_id = response.json()["id"]
        photo = await wait_until_settled(api, photo_id, user.headers)
        took = time.monotonic() - sent
        keys_left = await _keys_once_gone(api, photo_id)
        metrics = scrape_worker(production.worker_metrics_port)

        response = await upload(api, user.headers, images.jpeg(1600, 1200))
        ordinary = await wait_until_settled(api, response.json()["id"], user.headers)
    finally:
        stop_worker(worker)

    log = (tmp_path / "worker.log").read_text()
    assert photo["status"] == "failed", log
    assert photo["failure_reason"] == "We could not process this photo; please upload it again."
    assert took < FAILED_WITHIN_SECONDS, log
    # Each attempt was stopped by the limit, then the job came back at once.
    assert log.count("Hard time limit") == production.job_max_attempts, log
    timed_out = value(metrics, "snapscale_jobs_timed_out_total", job="photos.process")
    assert timed_out == production.job_max_attempts
    stopped = [
        line
        for line in map(json.loads, filter(lambda raw: raw.startswith("{"), log.splitlines()))
        if line["event"] == "job" and line["outcome"] == "timed_out"
    ]
    assert len(stopped) == production.job_max_attempts, log
    assert all(line["job"] == "photos.process" and line["job_id"] for line in stopped)
    assert {line["duration_ms"] for line in stopped} == {TIME_LIMIT_SECONDS * 1000}
    assert keys_left == []
    assert ordinary["status"] == "ready", log


async def _keys_once_gone(api: httpx.AsyncClient, photo_id: str) -> list[str]:
    """The photo's stored files once the clean-up job has removed them, or those left
    when time is up."""
    deadline = time.monotonic() + FILES_GONE_WITHIN_SECONDS
    while True:
        keys = await stored_keys(api, photo_id)
        if not keys or time.monotonic() > deadline:
            return keys
        await asyncio.sleep(0.25)
