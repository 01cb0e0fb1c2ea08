"""`snapscale cluster`: the production topology on one machine, without containers.

nginx (Debian's package) balances N API and N site processes, N Celery workers take the
jobs and one beat schedules the sweep, all against the configured PostgreSQL and Redis,
on loopback. It is the proof that the processes are stateless (any replica serves any
request) and a way to watch the whole system run; production runs the same commands
under an orchestrator (see deploy/).

Each process gets its own id-generator node, metrics folder and log file under
``<data_dir>/cluster``. Stopping (Ctrl-C or SIGTERM) shuts down nginx first, then the
servers (which finish requests in flight), the workers (which finish their current job)
and beat, and kills whatever is left after the graceful timeout. If any process dies on
its own, the whole cluster is stopped and the command fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess  # nosec B404 # starts nginx and our own commands, never a shell
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import httpx

from snapscale.config import Settings
from snapscale.observability.processes import MULTIPROC_ENV

NGINX = "/usr/sbin/nginx"
ROOT = Path(__file__).resolve().parents[2]
NGINX_FILES = ROOT / "deploy" / "nginx"
START_SECONDS = 90
# Node ids 1000-1023 are left to one-off commands run beside a cluster.
NODE_IDS = {"api": 100, "web": 200, "worker": 300, "beat": 400}


class ClusterError(Exception):
    """The cluster cannot start or stopped on its own; the message says why."""


@dataclass
class Member:
    name: str
    argv: list[str]
    env: dict[str, str]
    # Where it answers /healthz once it is up, for the servers.
    port: int | None = None
    # A line its log shows once it is up, for the others.
    ready_line: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass(frozen=True)
class Shape:
    api: int = 2
    web: int = 2
    workers: int = 2
    port: int = 8080
    base_port: int = 18000


class Cluster:
    def __init__(self, settings: Settings, shape: Shape) -> None:
        if not settings.is_postgres or not settings.redis_url:
            raise ClusterError(
                "a cluster needs shared state: set SNAPSCALE_DATABASE_URL (PostgreSQL) and "
                "SNAPSCALE_REDIS_URL"
            )
        if not os.access(NGINX, os.X_OK):
            raise ClusterError(f"{NGINX} not found: install Debian's nginx package")
        if not (NGINX_FILES / "snapscale.conf.template").exists():
            raise ClusterError(f"{NGINX_FILES} not found: run the cluster from a source checkout")
        self.settings = settings
        self.shape = shape
        self.workdir = (settings.data_dir / "cluster").resolve()
        self.members = self._plan()
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.shape.port}/"

    def _plan(self) -> list[Member]:
        shape, members = self.shape, []
        base = {k: v for k, v in os.environ.items() if k != MULTIPROC_ENV}
        base["SNAPSCALE_FORWARDED_ALLOW_IPS"] = "127.0.0.1"  # nginx, in front of every server
        if self.settings.broker_url is None:
            base["SNAPSCALE_BROKER_URL"] = str(self.settings.redis_url)
        snapscale = [sys.executable, "-m", "snapscale"]
        for role, count in (("api", shape.api), ("web", shape.web)):
            for n in range(1, count + 1):
                port = shape.base_port + (0 if role == "api" else 100) + n
                env = base | {
                    "SNAPSCALE_NODE_ID": str(NODE_IDS[role] + n),
                    MULTIPROC_ENV: str(self.workdir / "metrics" / f"{role}-{n}"),
                }
                bind = ["--bind", f"127.0.0.1:{port}", "--workers", "1"]
                argv = [*snapscale, "serve", f"--{role}", *bind]
                members.append(Member(f"{role}-{n}", argv, env, port))
        for n in range(1, shape.workers + 1):
            env = base | {
                "SNAPSCALE_NODE_ID": str(NODE_IDS["worker"] + n),
                "SNAPSCALE_WORKER_METRICS_PORT": str(shape.base_port + 200 + n),
                MULTIPROC_ENV: str(self.workdir / "metrics" / f"worker-{n}"),
            }
            argv = [*snapscale, "worker", "--concurrency", "1"]
            members.append(Member(f"worker-{n}", argv, env, ready_line=" ready."))
        env = base | {"SNAPSCALE_NODE_ID": str(NODE_IDS["beat"])}
        members.append(Member("beat", [*snapscale, "beat"], env, ready_line="beat: Starting"))
        nginx_dir = self.workdir / "nginx"
        nginx = [NGINX, "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf")]
        nginx += ["-e", str(nginx_dir / "error.log"), "-g", "daemon off;"]
        members.append(Member("nginx", nginx, base, shape.port))
        return members

    def start(self) -> None:
        """Migrate, start every process and wait until each is up."""
        from snapscale.core.migrate import upgrade

        shutil.rmtree(self.workdir, ignore_errors=True)
        (self.workdir / "logs").mkdir(parents=True)
        self._check_nginx_can_reach_workdir()
        upgrade(self.settings)
        self._write_nginx_config()
        for member in self.members:
            if MULTIPROC_ENV in member.env:
                Path(member.env[MULTIPROC_ENV]).mkdir(parents=True)
            log = (self.workdir / "logs" / f"{member.name}.log").open("wb")
            member.process = subprocess.Popen(  # noqa: S603 (our own commands)  # nosec B603
                member.argv,
                env=member.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the cluster, which stops them in order
            )
            log.close()
        deadline = time.monotonic() + START_SECONDS
        for member in self.members:
            self._wait_until_up(member, deadline)

    def _check_nginx_can_reach_workdir(self) -> None:
        if os.geteuid() != 0:
            return  # nginx's workers run as this user
        for folder in [self.workdir, *self.workdir.parents]:
            if not folder.stat().st_mode & 0o001:
                raise ClusterError(
                    f"run as root, nginx's workers run as nobody and cannot enter {folder}: "
                    "set SNAPSCALE_DATA_DIR to a folder everyone may traverse"
                )

    def _write_nginx_config(self) -> None:
        folder = self.workdir / "nginx"
        folder.mkdir(parents=True)
        servers = {
            role: " ".join(
                f"server 127.0.0.1:{m.port};" for m in self.members if m.name.startswith(f"{role}-")
            )
            for role in ("api", "web")
        }
        template = Template((NGINX_FILES / "snapscale.conf.template").read_text())
        (folder / "snapscale.conf").write_text(
            template.safe_substitute(
                LISTEN=f"127.0.0.1:{self.shape.port}",
                API_SERVERS=servers["api"],
                WEB_SERVERS=servers["web"],
            )
        )
        shutil.copy(NGINX_FILES / "nginx.conf", folder / "nginx.conf")
        # Run as root, nginx's workers run as nobody: they must be able to read and write here.
        for path in (self.workdir, folder):
            path.chmod(0o777 if path == folder else 0o755)

    def _wait_until_up(self, member: Member, deadline: float) -> None:
        while time.monotonic() < deadline and not self._stopping.is_set():
            if not member.running():
                raise ClusterError(f"{member.name} exited at start; see {self.log_of(member)}")
            if self._is_up(member):
                return
            time.sleep(0.2)
        raise ClusterError(f"{member.name} did not start in time; see {self.log_of(member)}")

    def _is_up(self, member: Member) -> bool:
        if member.port is not None:
            try:
                return httpx.get(f"http://127.0.0.1:{member.port}/healthz", timeout=1).is_success
            except httpx.HTTPError:
                return False
        assert member.ready_line is not None
        return member.ready_line in self.log_of(member).read_text(errors="replace")

    def log_of(self, member: Member) -> Path:
        return self.workdir / "logs" / f"{member.name}.log"

    def watch(self) -> Member | None:
        """Block until stop() is asked for or a process dies; returns the dead one."""
        while not self._stopping.wait(0.5):
            for member in self.members:
                if not member.running():
                    return member
        return None

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> None:
        """nginx first (no new requests), then the servers, workers and beat, gracefully."""
        self._stopping.set()
        order = ["nginx", "api", "web", "worker", "beat"]
        for prefix in order:
            group = [m for m in self.members if m.name.startswith(prefix) and m.running()]
            for member in group:
                assert member.process is not None
                member.process.send_signal(signal.SIGTERM)
            limit = time.monotonic() + self.settings.graceful_timeout_seconds + 5
            for member in group:
                assert member.process is not None
                with contextlib.suppress(subprocess.TimeoutExpired):
                    member.process.wait(timeout=max(0.1, limit - time.monotonic()))
        for member in self.members:  # whatever is left, children included
            if member.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(member.process.pid, signal.SIGKILL)
                member.process.wait()
