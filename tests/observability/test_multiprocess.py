"""Several server processes sharing PROMETHEUS_MULTIPROC_DIR: a scrape answered by any of
them shows the sum over all of them, a worker that exits keeps its counts in the sums,
and a server started on a reset folder counts from zero."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from snapscale.config import Settings
from snapscale.observability.metrics import worker_exited
from snapscale.observability.processes import reset_multiprocess_dir
from tests.observability.scraping import parse, value
from tests.support.servers import free_port, settings_env, wait_for_port

pytestmark = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)

REPOSITORY = Path(__file__).resolve().parents[2]
HEALTHZ = {"app": "api", "method": "GET", "route": "/healthz", "status": "200"}


class ServerProcess:
    """One API server process (uvicorn, one worker), like one of gunicorn's workers."""

    def __init__(self, settings: Settings, metrics_dir: Path, log: Path) -> None:
        self.port = free_port()
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "tests.observability.served_api:create",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=settings_env(settings) | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
            cwd=REPOSITORY,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=60)

    def get(self, path: str) -> httpx.Response:
        response = httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=10)
        assert response.status_code == 200, response.text
        return response

    def healthz_count(self) -> float:
        return value(parse(self.get("/metrics").text), "http_requests_total", **HEALTHZ)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def metrics_dir(tmp_path: Path) -> Path:
    path = tmp_path / "prometheus"
    reset_multiprocess_dir(path)
    return path


@pytest.fixture
def start_server(
    settings: Settings, metrics_dir: Path, tmp_path: Path
) -> Iterator[Callable[[], ServerProcess]]:
    started: list[ServerProcess] = []

    def start() -> ServerProcess:
        server = ServerProcess(settings, metrics_dir, tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_any_process_answers_a_scrape_with_the_sum_over_all(start_server, metrics_dir, monkeypatch):
    first, second = start_server(), start_server()
    for _ in range(3):
        first.get("/healthz")
    for _ in range(5):
        second.get("/healthz")

    assert first.healthz_count() == 8
    assert second.healthz_count() == 8

    # A worker that exits (gunicorn then calls worker_exited) keeps its share counted.
    second.stop()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    worker_exited(second.process.pid)
    assert first.healthz_count() == 8


def test_a_reset_folder_counts_from_zero(start_server, metrics_dir):
    before = start_server()
    before.get("/healthz")
    assert before.healthz_count() == 1
    before.stop()

    reset_multiprocess_dir(metrics_dir)  # what a server's master does as it starts
    after = start_server()
    assert after.healthz_count() == 0
