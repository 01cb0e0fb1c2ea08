"""`snapscale cluster`: nginx in front of two API and two site replicas, two Celery workers
and beat, on loopback against PostgreSQL and Redis. The replicas share nothing but those
services, so a client may be sent to any of them and must not notice."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from snapscale.config import Settings
from tests.support import images
from tests.support.factories import PASSWORD, registration
from tests.support.servers import free_port, settings_env
from tests.web.helpers import csrf_token_in

pytestmark = [
    pytest.mark.parametrize("stack", ["postgresql"], indirect=True),
    pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="needs Debian's nginx"),
]

START_SECONDS = 150
LOGIN_TRIES_PER_ACCOUNT = 3


@dataclass
class RunningCluster:
    process: subprocess.Popen[bytes]
    port: int
    base_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, n: int) -> str:
        return f"http://127.0.0.1:{self.base_port + n}"

    def web(self, n: int) -> str:
        return f"http://127.0.0.1:{self.base_port + 100 + n}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def cluster(settings: Settings) -> Iterator[RunningCluster]:
    # nginx's workers run as nobody when the tests run as root: the data folder must be
    # reachable by everyone, which pytest's private temporary folders are not.
    data_dir = Path(tempfile.mkdtemp(prefix="snapscale-cluster-", dir="/tmp"))
    data_dir.chmod(0o755)
    port, base_port = free_port(), 20000 + free_port() % 20000
    env = settings_env(settings) | {
        "SNAPSCALE_DATA_DIR": str(data_dir),
        "SNAPSCALE_RATE_LIMIT_LOGIN_PER_ACCOUNT": f"{LOGIN_TRIES_PER_ACCOUNT}/minute",
        "SNAPSCALE_GRACEFUL_TIMEOUT_SECONDS": "10",
    }
    log = data_dir / "cluster.out"
    argv = [sys.executable, "-m", "snapscale", "cluster", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*argv, "--base-port", str(base_port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    running = RunningCluster(process, port, base_port, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while "cluster ready" not in running.output():
            assert process.poll() is None, running.output()
            assert time.monotonic() < deadline, running.output()
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def _token(base: str, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": password}
    )


def _site_log_in(client: httpx.Client, base: str, username: str) -> httpx.Response:
    token = csrf_token_in(client.get(f"{base}/login").text, "/login")
    return client.post(
        f"{base}/login", data={"login": username, "password": PASSWORD, "csrf_token": token}
    )


def test_any_replica_serves_any_request_and_the_cluster_stops_cleanly(cluster):
    # Sign up through the load balancer.
    member = registration()
    assert httpx.post(f"{cluster.url}/api/v1/auth/register", json=member).status_code == 201
    username = member["username"]

    # A token from one API replica works on the other.
    token = _token(cluster.api(1), username).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    me = httpx.get(f"{cluster.api(2)}/api/v1/users/me", headers=auth)
    assert me.status_code == 200 and me.json()["username"] == username

    # A site session opened on one site replica is valid on the other.
    with httpx.Client() as browser:
        assert _site_log_in(browser, cluster.web(1), username).status_code == 302
        home = browser.get(f"{cluster.web(2)}/")
        assert ">Log out<" in home.text and username in home.text

    # An edit through one replica is what the other serves next, cache or not.
    profile = f"/api/v1/users/{username}"
    assert httpx.get(f"{cluster.api(2)}{profile}").json()["bio"] == ""  # now cached
    edited = httpx.patch(f"{cluster.api(1)}/api/v1/users/me", headers=auth, json={"bio": "hi"})
    assert edited.status_code == 200
    assert httpx.get(f"{cluster.api(2)}{profile}").json()["bio"] == "hi"

    # A photo uploaded through one replica is processed by a worker and served by the other.
    upload = httpx.post(
        f"{cluster.api(1)}/api/v1/photos",
        headers=auth,
        files={"file": ("beach.jpg", images.jpeg(640, 480), "image/jpeg")},
        timeout=30,
    )
    assert upload.status_code == 202, upload.text
    photo_url = f"{cluster.api(2)}/api/v1/photos/{upload.json()['id']}"
    deadline = time.monotonic() + 90
    while (photo := httpx.get(photo_url, headers=auth).json())["status"] != "ready":
        assert photo["status"] == "processing", photo
        assert time.monotonic() < deadline, cluster.output()
        time.sleep(0.25)
    rendition = photo["renditions"]["medium"]["url"]
    served = httpx.get(rendition if rendition.startswith("http") else cluster.url + rendition)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"

    # Log-in attempts on one account are counted across both replicas.
    victim = registration()
    assert httpx.post(f"{cluster.url}/api/v1/auth/register", json=victim).status_code == 201
    answers = [
        _token(cluster.api(1 + n % 2), victim["username"], "wrong-password-1").status_code
        for n in range(LOGIN_TRIES_PER_ACCOUNT + 1)
    ]
    assert answers == [401] * LOGIN_TRIES_PER_ACCOUNT + [429]

    # Stopping: every process ends, gracefully, and the command says so.
    cluster.process.send_signal(signal.SIGTERM)
    assert cluster.process.wait(timeout=60) == 0, cluster.output()
    assert "cluster stopped" in cluster.output()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{cluster.url}/healthz")
    for port in (cluster.base_port + 1, cluster.base_port + 2, cluster.base_port + 101):
        # "--" ends pgrep's options: the pattern itself starts with dashes.
        leftover = subprocess.run(
            ["pgrep", "-f", "--", f"--bind 127.0.0.1:{port}"], capture_output=True, check=False
        )
        assert leftover.returncode == 1, f"a replica on port {port} outlived the cluster"
