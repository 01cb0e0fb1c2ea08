"""The nginx template, rendered as the local runner renders it (string.Template) and run
by Debian's nginx in front of two stand-in upstreams: which upstream each path reaches,
what is hidden, the headers the apps receive, body limits and streamed uploads."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import string
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from snapscale.embedded import API_PATHS
from tests.deploy.conftest import DEPLOY, compose
from tests.support.servers import free_port, wait_for_port

MiB = 1024 * 1024


@dataclass
class Upstream:
    """A stand-in for the api or web processes: answers every request with what it saw."""

    name: str
    seen: list[str] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    def start(self) -> Upstream:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                upstream.seen.append(self.path)
                upstream.started.set()
                length = int(self.headers.get("Content-Length") or 0)
                remaining = length
                while remaining:
                    remaining -= len(self.rfile.read(min(remaining, 1 << 16)))
                body = json.dumps(
                    {
                        "upstream": upstream.name,
                        "path": self.path,
                        "received": length,
                        "headers": {name.lower(): value for name, value in self.headers.items()},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.do_GET()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def address(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def nginx_executable() -> str:
    found = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if found is None:
        pytest.fail("nginx is not installed: run scripts/validate-deploy as root, or install it")
    return found


@dataclass
class Nginx:
    url: str
    port: int


def start_nginx(
    prefix: Path, api_servers: str, web_servers: str
) -> tuple[Nginx, subprocess.Popen[bytes]]:
    port = free_port()
    rendered = string.Template((DEPLOY / "nginx/snapscale.conf.template").read_text())
    (prefix / "snapscale.conf").write_text(
        rendered.safe_substitute(
            LISTEN=f"127.0.0.1:{port}", API_SERVERS=api_servers, WEB_SERVERS=web_servers
        )
    )
    shutil.copy(DEPLOY / "nginx/nginx.conf", prefix / "nginx.conf")
    process = subprocess.Popen(
        [
            nginx_executable(),
            *("-p", f"{prefix}/", "-c", str(prefix / "nginx.conf")),
            *("-e", str(prefix / "error.log"), "-g", "daemon off;"),
        ]
    )
    wait_for_port(port)
    return Nginx(url=f"http://127.0.0.1:{port}", port=port), process


@pytest.fixture
def prefix(validation: subprocess.CompletedProcess[str]) -> Iterator[Path]:
    # Readable by everyone: run as root, nginx's workers run as nobody.
    path = Path(tempfile.mkdtemp(prefix="snapscale-nginx-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def upstreams() -> Iterator[tuple[Upstream, Upstream]]:
    api, web = Upstream("api").start(), Upstream("web").start()
    yield api, web
    api.stop()
    web.stop()


@pytest.fixture
def nginx(prefix: Path, upstreams: tuple[Upstream, Upstream]) -> Iterator[Nginx]:
    api, web = upstreams
    running, process = start_nginx(prefix, f"server {api.address};", f"server {web.address};")
    yield running
    process.terminate()
    process.wait(timeout=10)


def _served_by(nginx: Nginx, path: str) -> str:
    response = httpx.get(nginx.url + path)
    assert response.status_code == 200, (path, response.text)
    assert response.json()["path"] == path
    return str(response.json()["upstream"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/users/alice?x=1",
        "/api",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
        "/media/photos/1/thumb.webp",
        "/healthz",
        "/api/v1/photos",
    ],
)
def test_api_paths_reach_the_api(nginx: Nginx, path: str) -> None:
    assert _served_by(nginx, path) == "api"


def test_every_path_the_embedded_server_gives_the_api_reaches_the_api(nginx: Nginx) -> None:
    internal = {"/metrics", "/readyz"}
    for prefix in API_PATHS:
        if prefix.rstrip("/") not in internal:
            assert _served_by(nginx, prefix + ("x" if prefix.endswith("/") else "")) == "api"


@pytest.mark.parametrize("path", ["/", "/u/alice", "/login", "/upload", "/p/123", "/apiary"])
def test_other_paths_reach_the_site(nginx: Nginx, path: str) -> None:
    assert _served_by(nginx, path) == "web"


@pytest.mark.parametrize("path", ["/metrics", "/readyz", "/metrics?format=text", "/%6Detrics"])
def test_internal_paths_are_not_exposed(
    nginx: Nginx, upstreams: tuple[Upstream, Upstream], path: str
) -> None:
    response = httpx.get(nginx.url + path)
    assert response.status_code == 404
    assert upstreams[0].seen == upstreams[1].seen == []


def test_apps_learn_the_client_scheme_host_and_request_id(nginx: Nginx) -> None:
    spoofed = {"X-Forwarded-For": "203.0.113.9", "Host": "photos.test:8080"}
    seen = httpx.get(nginx.url + "/api/v1/feed", headers=spoofed).json()["headers"]
    # nginx is the edge: the client cannot choose the address the apps rate-limit.
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["host"] == seen["x-forwarded-host"] == "photos.test:8080"
    generated = seen["x-request-id"]
    assert len(generated) == 32
    assert int(generated, 16) >= 0

    chosen = httpx.get(nginx.url + "/", headers={"X-Request-ID": "abc-123"}).json()["headers"]
    assert chosen["x-request-id"] == "abc-123"


def _send_head(port: int, path: str, content_length: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: photos.test\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {content_length}\r\nX-Request-ID: upload-1\r\n\r\n"
    )
    sock.sendall(head.encode())
    return sock


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """The status line and headers, and the body (by its Content-Length)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the response headers"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the end of the body"
        body += chunk
    return head, body


def test_an_api_body_over_the_limit_is_a_problem_document(nginx: Nginx) -> None:
    with _send_head(nginx.port, "/api/v1/photos", 27 * MiB) as sock:
        head, body = _read_response(sock)
    assert head.startswith(b"HTTP/1.1 413")
    assert b"Content-Type: application/problem+json" in head
    assert b"X-Request-ID: upload-1" in head
    assert json.loads(body)["status"] == 413


def test_the_largest_upload_gets_through(nginx: Nginx) -> None:
    size = 25 * MiB + 64 * 1024
    response = httpx.post(nginx.url + "/api/v1/photos", content=b"\0" * size, timeout=30)
    assert response.status_code == 200
    assert response.json()["received"] == size


@pytest.mark.parametrize(("path", "upstream"), [("/api/v1/photos", 0), ("/upload", 1)])
def test_uploads_stream_to_the_app_before_the_body_is_complete(
    nginx: Nginx, upstreams: tuple[Upstream, Upstream], path: str, upstream: int
) -> None:
    size = 4 * MiB
    with _send_head(nginx.port, path, size) as sock:
        sock.sendall(b"\0" * MiB)
        # The app is handed the request while three quarters of the body are still to come.
        assert upstreams[upstream].started.wait(timeout=10)
        sock.sendall(b"\0" * (size - MiB))
        head, body = _read_response(sock)
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["received"] == size


def test_an_unreachable_api_is_a_problem_document(prefix: Path) -> None:
    nothing_there = f"server 127.0.0.1:{free_port()};"
    running, process = start_nginx(prefix, nothing_there, nothing_there)
    try:
        api = httpx.get(running.url + "/api/v1/feed", headers={"X-Request-ID": "down-1"})
        site = httpx.get(running.url + "/")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert api.status_code == 503
    assert api.headers["content-type"] == "application/problem+json"
    assert api.headers["retry-after"] == "5"
    assert api.headers["x-request-id"] == "down-1"
    assert api.json()["status"] == 503
    assert site.status_code == 502


def test_template_placeholders_are_the_three_documented_names() -> None:
    template = (DEPLOY / "nginx/snapscale.conf.template").read_text()
    names = {"LISTEN", "API_SERVERS", "WEB_SERVERS"}
    assert set(re.findall(r"\$\{(\w+)\}", template)) == names
    # string.Template turns $$ into $ and envsubst does not: the renderers would differ.
    assert "$$" not in template
    # The nginx image substitutes only what this filter matches (compose writes $ as $$).
    raw_filter = compose()["services"]["nginx"]["environment"]["NGINX_ENVSUBST_FILTER"]
    envsubst_filter = re.compile(raw_filter.replace("$$", "$"))
    for name in names:
        assert envsubst_filter.search(name)
    for other in ("HOSTNAME", "PATH", "NGINX_VERSION", "LISTEN_PORT"):
        assert not envsubst_filter.search(other)
