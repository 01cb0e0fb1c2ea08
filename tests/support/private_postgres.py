"""A PostgreSQL server of one test's own, which the test may stop and start again.

Unlike ``servers.PostgresServer`` it never uses the server named by
SNAPSCALE_TEST_DATABASE_URL: that one is shared, and fault tests break what they use.
It listens on a unix socket in its own folder, so its URL survives a restart.

The folder is a fresh one under the system's temporary directory, not pytest's: the server
runs as an unprivileged user (PostgreSQL refuses root), and every pytest session that
starts, anywhere on the machine, makes pytest's own folder private to its owner again,
which would lock that user out of its data mid-test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from pathlib import Path

import asyncpg
from pgserver._commands import pg_ctl
from pgserver.postgres_server import PostgresServer, get_server

DATABASE = "snapscale"


class PrivatePostgres:
    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="snapscale-private-pg-"))
        self._server: PostgresServer | None = None
        self._socket_dir = ""

    def start(self) -> PrivatePostgres:
        try:
            self._server = get_server(self.workdir / "pgdata", cleanup_mode="delete")
            self._socket_dir = str(self._server.get_postmaster_info().socket_dir)
            asyncio.run(self._execute("postgres", f'CREATE DATABASE "{DATABASE}"'))
        except BaseException:
            self.cleanup()
            raise
        return self

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the test database (what SNAPSCALE_DATABASE_URL takes)."""
        return f"postgresql+asyncpg://postgres@/{DATABASE}?host={self._socket_dir}"

    def stop_fast(self) -> None:
        """Shut down as an operator's restart would: every session is cut at once."""
        server = self._running()
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)

    def start_again(self) -> None:
        self._running().ensure_postgres_running()

    def freeze(self) -> None:
        """Hang the server, as a stalled host or a cut network does: connections stay open
        and new ones are accepted by the kernel, but nothing is ever answered."""
        for pid in self._processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(self._processes()):
            os.kill(pid, signal.SIGCONT)

    def _processes(self) -> list[int]:
        """The postmaster, then every process it started (one per client connection)."""
        pgdata = Path(self._running().pgdata)
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        return [postmaster, *map(int, children)]

    def cleanup(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        """Rows straight from the server, past the application and its caches."""
        connection = await asyncpg.connect(
            user="postgres", database=DATABASE, host=self._socket_dir
        )
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    async def _execute(self, database: str, statement: str) -> None:
        connection = await asyncpg.connect(
            user="postgres", database=database, host=self._socket_dir
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def _running(self) -> PostgresServer:
        assert self._server is not None, "start() first"
        return self._server
