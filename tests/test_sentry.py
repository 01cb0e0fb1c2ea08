"""Errors reach Sentry when a DSN is set, without passwords or cookies, and nothing is sent
(the SDK is not even started) when none is.

The ingest endpoint is a small HTTP server on a loopback port that keeps every envelope
the SDK posts to it, exactly as sentry.io would receive them.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
import sentry_sdk
from asgi_lifespan import LifespanManager

from snapscale import __version__
from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.core.accounts import service as account_service
from snapscale.observability.sentry import init_sentry
from snapscale.web.app import create_site
from snapscale.web.core_access import EXTENSION_KEY
from snapscale.worker.celery_app import create_celery
from tests.conftest import TEST_SECRET
from tests.support.factories import PASSWORD
from tests.support.servers import settings_env

COOKIE_VALUE = "cookie-value-that-must-stay-home"
WAIT_SECONDS = 60


class SentryIngest:
    """Sentry's envelope endpoint, on 127.0.0.1: it keeps what it is sent."""

    def __init__(self) -> None:
        self.envelopes: list[str] = []
        self._arrived = threading.Condition()
        ingest = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "br":
                    body = brotli.decompress(body)
                with ingest._arrived:
                    ingest.envelopes.append(body.decode())
                    ingest._arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self._server.server_address[1]}/1"

    def start(self) -> SentryIngest:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def error_events(self) -> list[dict[str, Any]]:
        """The error events among the envelopes' items (sessions and the like left out)."""
        events = []
        for envelope in self.envelopes:
            _header, *lines = envelope.splitlines()
            for item_header, payload in zip(lines[::2], lines[1::2], strict=False):
                if json.loads(item_header).get("type") == "event":
                    events.append(json.loads(payload))
        return events

    def wait_for_error(
        self, seconds: float = WAIT_SECONDS, *, context: Callable[[], str] = str
    ) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        with self._arrived:
            while not self.error_events():
                left = deadline - time.monotonic()
                assert left > 0, f"no error event within {seconds}s: {self.envelopes}\n{context()}"
                self._arrived.wait(left)
            return self.error_events()[0]


@pytest.fixture
def ingest() -> Iterator[SentryIngest]:
    server = SentryIngest().start()
    yield server
    server.stop()


@pytest.fixture
def reporting(ingest: SentryIngest, settings: Settings) -> Iterator[Settings]:
    """Settings with a DSN; the SDK is shut down again afterwards, for the other tests."""
    yield settings.model_copy(update={"sentry_dsn": ingest.dsn, "sentry_environment": "test-suite"})
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)
    sentry_sdk.get_global_scope().remove_tag("process")


def _exception_types(event: dict[str, Any]) -> list[str]:
    return [value["type"] for value in event["exception"]["values"]]


def _raise(message: str) -> Callable[..., Any]:
    async def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(message)

    return explode


async def test_an_api_error_reaches_sentry_without_password_or_cookie(
    reporting, ingest, monkeypatch
):
    assert init_sentry(reporting, "api") is True
    monkeypatch.setattr(account_service, "log_in", _raise("sign-in exploded"))
    app = create_api(reporting)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            response = await api.post(
                "/api/v1/auth/token",
                data={"username": "someone", "password": PASSWORD},
                headers={"Cookie": f"session={COOKIE_VALUE}"},
            )
    sentry_sdk.flush(timeout=10)

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    event = ingest.wait_for_error()
    assert "RuntimeError" in _exception_types(event)
    assert event["release"] == f"snapscale@{__version__}"
    assert event["environment"] == "test-suite"
    assert event["tags"]["process"] == "api"
    assert event["request"]["url"].endswith("/api/v1/auth/token")
    everything_sent = "".join(ingest.envelopes)
    assert PASSWORD not in everything_sent
    assert COOKIE_VALUE not in everything_sent
    assert TEST_SECRET not in everything_sent


def test_a_site_error_reaches_sentry_without_the_session_cookie(reporting, ingest, monkeypatch):
    assert init_sentry(reporting, "web") is True
    monkeypatch.setattr(account_service, "list_users", _raise("home page exploded"))
    app = create_site(reporting)
    try:
        browser = app.test_client()
        browser.set_cookie("snapscale_session", COOKIE_VALUE)
        page = browser.get("/")
    finally:
        app.extensions[EXTENSION_KEY].close()
    sentry_sdk.flush(timeout=10)

    assert page.status_code == 500
    assert "Something went wrong" in page.text
    event = ingest.wait_for_error()
    assert "RuntimeError" in _exception_types(event)
    assert event["tags"]["process"] == "web"
    assert COOKIE_VALUE not in "".join(ingest.envelopes)


async def test_without_a_dsn_nothing_is_sent_and_the_sdk_stays_off(settings, ingest, monkeypatch):
    # Even the SDK's own environment variable must not switch it on behind our back.
    monkeypatch.setenv("SENTRY_DSN", ingest.dsn)
    monkeypatch.setattr(account_service, "log_in", _raise("sign-in exploded"))

    assert init_sentry(settings, "api") is False
    app = create_api(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            response = await api.post(
                "/api/v1/auth/token", data={"username": "someone", "password": PASSWORD}
            )
    sentry_sdk.flush(timeout=5)

    assert response.status_code == 500
    assert sentry_sdk.is_initialized() is False
    assert ingest.envelopes == []


_FAILING_WORKER = """
import sys
from snapscale.core import job_handlers

async def explode(runtime, **kwargs):
    raise RuntimeError("sweep exploded")

job_handlers.HANDLERS["photos.sweep"] = explode
from snapscale.cli import main
sys.exit(main(["worker", "--concurrency", "1"]))
"""


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
def test_a_failing_job_in_a_real_worker_reaches_sentry(settings, private_redis, ingest, tmp_path):
    production = settings.model_copy(
        update={
            "broker_url": private_redis.url,
            "sentry_dsn": ingest.dsn,
            # No metrics port: the launcher above imports the job code (and with it the
            # metrics library) before the worker could set its metrics folder up.
            "worker_metrics_port": 0,
        }
    )
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-c", _FAILING_WORKER],
        env=settings_env(production),
        cwd=Path(__file__).resolve().parents[1],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        create_celery(production).send_task("photos.sweep", kwargs={"stuck_after_seconds": 0})
        event = ingest.wait_for_error(context=(tmp_path / "worker.log").read_text)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    assert "RuntimeError" in _exception_types(event), (tmp_path / "worker.log").read_text()
    assert event["tags"]["process"] == "worker"
    assert event["release"] == f"snapscale@{__version__}"
