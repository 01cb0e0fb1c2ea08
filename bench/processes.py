"""Server processes for the benchmarks: start one, wait until it answers, stop it, and read
the memory of its worker processes from /proc.

Every server listens on 127.0.0.1 only. Each runs in a session of its own, so that
stopping it (SIGTERM to the master, then SIGKILL to its process group if it hangs) never
touches any other process on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.support.servers import free_port

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
READY_SECONDS = 90
STOP_SECONDS = 40
NO_PROBE_SECONDS = 2
LOG_TAIL_CHARACTERS = 3000


class ServerFailed(RuntimeError):
    """A server exited or never answered; the message ends with the tail of its log."""


@dataclass
class Server:
    """A command that serves HTTP on ``port``, ready once ``probe`` answers 200; with no
    probe (a job worker), ready once it is still running after a moment."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    probe: str | None = "/"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def launch(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_ready(self) -> None:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(
                    f"{self.name} exited with {self.process.returncode}{self._tail()}"
                )
            if self.probe is None:
                time.sleep(NO_PROBE_SECONDS)
                if self.process.poll() is None:
                    return
                continue
            try:
                if httpx.get(f"{self.url}{self.probe}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise ServerFailed(
            f"{self.name} did not answer {self.probe} in {READY_SECONDS} s{self._tail()}"
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            # The master hung: its session is this server's processes and nothing else.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def worker_pids(self) -> list[int]:
        """The master's child processes (gunicorn's workers)."""
        if self.process is None:
            return []
        return children_of(self.process.pid)

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_count(self, text: str, *, since: int = 0) -> int:
        """How often ``text`` appears in the log after byte ``since``."""
        if not self.log.exists():
            return 0
        with self.log.open("rb") as file:
            file.seek(since)
            return file.read().decode(errors="replace").count(text)

    def _tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"\n--- {self.log} (end) ---\n{text[-LOG_TAIL_CHARACTERS:]}"


@contextmanager
def serving(*servers: Server) -> Iterator[Server]:
    """Starts the servers together, waits until each is ready, and stops them all at the
    end (or at once if one fails to start); yields the first."""
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_until_ready()
        yield servers[0]
    finally:
        for server in reversed(servers):
            server.stop()


def gunicorn(
    name: str,
    app: str,
    *,
    workers: int,
    env: dict[str, str],
    log: Path,
    worker_class: str | None = None,
    probe: str = "/",
) -> Server:
    """A peer under gunicorn: sync workers, or ``worker_class`` (uvicorn's) for ASGI."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning"]
    if worker_class is not None:
        command += ["--worker-class", worker_class]
    return Server(name, [*command, app], env, log, port=port, probe=probe)


def children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name is in parentheses and may hold spaces: split after it.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process, or None once it has exited."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def clean_environment() -> dict[str, str]:
    """This process's environment without any SNAPSCALE_ setting of the caller's: the
    benchmark decides every setting the servers see."""
    return {key: value for key, value in os.environ.items() if not key.startswith("SNAPSCALE_")}
