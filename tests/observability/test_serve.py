"""`snapscale serve` as an operator runs it: every line on stderr is a JSON object (uvicorn's
own included), each request writes exactly one access line, and uvicorn's access log,
which would repeat it without the route or the account, is gone."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port, settings_env, wait_for_port

pytestmark = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)

REPOSITORY = Path(__file__).resolve().parents[2]


def test_serve_writes_json_lines_and_one_access_line_per_request(settings, tmp_path):
    port = free_port()
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as errors:
        server = subprocess.Popen(
            [sys.executable, "-m", "snapscale", "serve", "--port", str(port)],
            env=settings_env(settings.model_copy(update={"log_format": "json"})),
            cwd=REPOSITORY,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            wait_for_port(port, timeout=60)
            base = f"http://127.0.0.1:{port}"
            api = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "cli-api-1"}, timeout=10)
            page = httpx.get(f"{base}/login", headers={"X-Request-ID": "cli-site-1"}, timeout=10)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    assert api.headers["X-Request-ID"] == "cli-api-1"
    assert page.headers["X-Request-ID"] == "cli-site-1"
    lines = [json.loads(raw) for raw in stderr.read_text().splitlines() if raw.strip()]
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # start-up, shutdown
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    access = [line for line in lines if line["event"] == "request"]
    assert [(line["request_id"], line["app"], line["route"]) for line in access] == [
        ("cli-api-1", "api", "/healthz"),
        ("cli-site-1", "site", "/login"),
    ]
