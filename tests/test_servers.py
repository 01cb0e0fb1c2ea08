"""`snapscale serve --api` and `--web` as an operator runs them: real gunicorn processes on
loopback ports, against PostgreSQL and Redis, stopped with SIGTERM like an orchestrator
stops them; and plain `snapscale serve` still being the one-process embedded server."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from snapscale.cli import main
from snapscale.config import Settings
from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Registration
from snapscale.core.runtime import Runtime
from tests.support import images
from tests.support.factories import PASSWORD, registration
from tests.support.processes import children_of, wait_until_ended
from tests.support.servers import free_port, settings_env

ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 60
GRACEFUL_SECONDS = 20


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, seconds: float = START_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.log():
            assert self.process.poll() is None or text in self.log(), self.log()
            assert time.monotonic() < deadline, f"no {text!r} in the log:\n{self.log()}"
            time.sleep(0.05)

    def terminate(self) -> None:
        """SIGTERM to the master only, as an orchestrator sends it."""
        self.process.send_signal(signal.SIGTERM)

    def exit_code(self) -> int:
        return self.process.wait(timeout=GRACEFUL_SECONDS + 30)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(settings: Settings, *args: str) -> Server:
        port = free_port()
        log_path = tmp_path / f"serve-{port}.log"
        env = settings_env(settings) | {"SNAPSCALE_GRACEFUL_TIMEOUT_SECONDS": str(GRACEFUL_SECONDS)}
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "snapscale", "serve", *args, *_listen(args, port)],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(process, port, log_path)
        started.append(server)
        _wait_until_answering(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGKILL)  # our own process group
            server.process.wait(timeout=10)


def _listen(args: tuple[str, ...], port: int) -> list[str]:
    if "--api" in args or "--web" in args:
        return ["--bind", f"127.0.0.1:{port}"]
    return ["--port", str(port)]


def _wait_until_answering(server: Server) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        assert server.process.poll() is None, server.log()
        assert time.monotonic() < deadline, server.log()
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)


def _once_ready(client: httpx.Client) -> httpx.Response:
    """/readyz as an orchestrator reads it: asked again until it says ready. A worker's
    first database connection may outlast the readiness limit on a busy machine."""
    deadline = time.monotonic() + START_SECONDS
    while (ready := client.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, ready.text
        time.sleep(0.5)
    return ready


@pytest.fixture
def production(settings: Settings, private_redis) -> Settings:
    """PostgreSQL, Redis, and a broker (no worker needed: jobs just wait in it)."""
    return settings.model_copy(update={"broker_url": private_redis.url})


# -- the API ----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
def test_api_server_with_two_workers_answers_probes_and_the_api(start_server, production):
    server = start_server(production, "--api", "--workers", "2")

    with httpx.Client(base_url=server.url, timeout=10) as client:
        live = client.get("/healthz")
        ready = _once_ready(client)
        account = registration()
        registered = client.post("/api/v1/auth/register", json=account)
        profile = client.get(f"/api/v1/users/{account['username']}")

    assert live.json() == {"status": "ok"}
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}
    assert registered.status_code == 201, registered.text
    assert profile.status_code == 200
    assert profile.json()["username"] == account["username"]
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", server.log()))) == 2


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
def test_metrics_count_the_requests_of_every_worker(start_server, production):
    server = start_server(production, "--api", "--workers", "2")
    account = registration()
    assert httpx.post(f"{server.url}/api/v1/auth/register", json=account).status_code == 201

    # A new connection each time, so the kernel spreads them over both workers.
    for _ in range(12):
        httpx.get(f"{server.url}/api/v1/users/{account['username']}", timeout=10)
    scrape = httpx.get(f"{server.url}/metrics", timeout=10).text

    counted = re.search(
        r'http_requests_total\{app="api",method="GET",route="/api/v1/users/\{username\}",'
        r'status="200"\} (\S+)',
        scrape,
    )
    assert counted, scrape
    assert float(counted.group(1)) == 12  # whichever worker answered the scrape


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
def test_sigterm_lets_an_upload_in_flight_finish_then_exits_0(start_server, production):
    server = start_server(production, "--api", "--workers", "1")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        _sign_up_and_in(client)
        upload = client.build_request("POST", "/api/v1/photos", files=_A_PHOTO)

    def once_the_worker_is_stopping() -> None:
        server.terminate()
        # uvicorn says so once it has stopped accepting and waits for our request.
        server.wait_for_log("Waiting for connections to close", GRACEFUL_SECONDS)

    status, body = _send_body_across(server, upload, once_the_worker_is_stopping)

    assert status == 202, body
    assert b'"status":"processing"' in body
    assert server.exit_code() == 0, server.log()
    assert "Application shutdown complete" in server.log()


# -- the site ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
def test_site_server_with_two_workers_serves_pages_and_probes(start_server, production):
    server = start_server(production, "--web", "--workers", "2", "--threads", "2")

    with httpx.Client(base_url=server.url, timeout=10) as client:
        home = client.get("/")
        ready = _once_ready(client)
        api = client.get("/api/v1/users")

    assert home.status_code == 200
    assert "text/html" in home.headers["content-type"]
    assert "Snapscale" in home.text
    assert ready.json()["status"] == "ready"
    assert api.status_code == 404  # the site alone: the API is another server
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", server.log()))) == 2


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
def test_sigterm_lets_a_sign_in_in_flight_finish_then_exits_0(start_server, production):
    asyncio.run(_register(production, "inflight"))
    server = start_server(production, "--web", "--workers", "1")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        form_page = client.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form_page.text)
        assert token, form_page.text
        sign_in = client.build_request(
            "POST",
            "/login",
            data={"csrf_token": token.group(1), "login": "inflight", "password": PASSWORD},
            headers={"Cookie": f"snapscale_session={client.cookies['snapscale_session']}"},
        )

    def once_the_master_is_stopping() -> None:
        server.terminate()
        server.wait_for_log("Handling signal: term", GRACEFUL_SECONDS)
        # The master passes SIGTERM straight on; give the worker a moment to take it
        # while the request is still unfinished.
        time.sleep(1)

    status, body = _send_body_across(server, sign_in, once_the_master_is_stopping)

    assert status == 302, body  # signed in, sent on to the home page
    assert server.exit_code() == 0, server.log()


async def _register(settings: Settings, username: str) -> None:
    runtime = Runtime(settings)
    try:
        data = Registration(username=username, email=f"{username}@example.com", password=PASSWORD)
        await runtime.run(account_service.register, data=data)
    finally:
        await runtime.aclose()


_A_PHOTO = {"file": ("photo.jpg", images.jpeg(1200, 900), "image/jpeg")}


def _sign_up_and_in(client: httpx.Client) -> None:
    """A new account, whose bearer token the client then sends with every request."""
    account = registration()
    assert client.post("/api/v1/auth/register", json=account).status_code == 201
    tokens = client.post(
        "/api/v1/auth/token",
        data={"username": account["username"], "password": account["password"]},
    ).json()
    client.headers["Authorization"] = f"Bearer {tokens['access_token']}"


def _send_body_across(
    server: Server, request: httpx.Request, meanwhile: Callable[[], None]
) -> tuple[int, bytes]:
    """Send ``request`` over a raw socket: the headers, half the body, then ``meanwhile``
    (the shutdown), then the rest. Returns the final status and the response body."""
    body = request.read()
    headers = dict(request.headers) | {"expect": "100-continue", "connection": "close"}
    head = f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=GRACEFUL_SECONDS) as sock:
        sock.sendall(head.encode() + b"\r\n")
        # "100 Continue" proves a worker holds the request and waits for its body.
        assert _read_until(sock, b"\r\n\r\n").startswith(b"HTTP/1.1 100")
        sock.sendall(body[: len(body) // 2])
        meanwhile()
        sock.sendall(body[len(body) // 2 :])
        response = _read_all(sock)
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def _read_until(sock: socket.socket, end: bytes) -> bytes:
    data = b""
    while end not in data:
        chunk = sock.recv(1)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# -- the command line -------------------------------------------------------------------


def test_embedded_serve_still_runs_the_api_and_site_in_one_process(start_server, settings):
    server = start_server(settings)

    with httpx.Client(base_url=server.url, timeout=10) as client:
        home = client.get("/")
        users = client.get("/api/v1/users")

    assert home.status_code == 200
    assert users.status_code == 200
    server.terminate()
    # uvicorn ends by re-raising the signal it stopped for, as this command always has.
    assert server.exit_code() in (0, -signal.SIGTERM), server.log()
    assert "Application shutdown complete" in server.log()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_embedded_serve_leaves_no_process_behind_however_it_is_stopped(
    start_server, settings, stop
):
    server = start_server(settings)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        _upload_a_photo_and_wait_until_ready(client)
    helpers = children_of(server.process.pid)
    assert helpers, "processing a photo starts the image helper process"

    server.process.send_signal(stop)
    server.exit_code()

    assert wait_until_ended(helpers, seconds=10) == [], server.log()


def _upload_a_photo_and_wait_until_ready(client: httpx.Client) -> None:
    _sign_up_and_in(client)
    upload = client.post("/api/v1/photos", files=_A_PHOTO)
    assert upload.status_code == 202, upload.text
    deadline = time.monotonic() + START_SECONDS
    while (photo := client.get(f"/api/v1/photos/{upload.json()['id']}").json())[
        "status"
    ] != "ready":
        assert time.monotonic() < deadline, photo
        time.sleep(0.2)


def test_help_says_production_servers_never_migrate():
    result = CliRunner().invoke(main, ["serve", "--help"])

    assert result.exit_code == 0
    assert "snapscale db upgrade" in result.output
    assert "--workers" in result.output
    assert "SNAPSCALE_GRACEFUL_TIMEOUT_SECONDS" in result.output


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--api", "--web"], "Choose one of --api or --web"),
        (["--api", "--threads", "4"], "--threads is for --web"),
        (["--web", "--port", "9000"], "--port is for the embedded server"),
        (["--api", "--no-migrate"], "never migrate"),
        (["--workers", "2"], "--workers needs --api or --web"),
        (["--api", "--workers", "0"], "Invalid value for '--workers'"),
    ],
)
def test_mixed_up_serve_options_are_one_clear_line(args, complaint, tmp_path):
    result = CliRunner().invoke(main, ["serve", *args], env={"SNAPSCALE_DATA_DIR": str(tmp_path)})

    assert result.exit_code == 2
    assert complaint in result.output
    assert "Traceback" not in result.output
