"""What the benchmarks run against: a seeded scratch PostgreSQL database, a private Redis,
and the commands that serve Snapscale and the peers over that same data."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from tests.support.servers import free_port, redis_executable, wait_for_port

from bench.processes import HOST, Server, clean_environment, gunicorn, serving
from bench.seed import PASSWORD, scratch_database, seed
from snapscale.config import Settings
from snapscale.core.migrate import upgrade

# Long enough for any run, the soak included, to use one token: token expiry is not
# what is being measured.
ACCESS_TOKEN_SECONDS = 3 * 3600


@dataclass(frozen=True)
class DataSize:
    users: int
    photos_per_user: int
    reader_follows: int


@dataclass(frozen=True)
class Data:
    """The seeded database: its URL, every author's id and name, and the reader's name."""

    database_url: str
    user_ids: list[int]
    usernames: list[str]
    reader: str
    password: str = PASSWORD

    @property
    def peer_url(self) -> str:
        """The same database for the peers' sync SQLAlchemy engines (psycopg 3)."""
        return self.database_url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def seeded_database(
    server_url: str, size: DataSize, *, secret_key: str, workdir: Path
) -> Iterator[Data]:
    """A scratch database on ``server_url``, migrated and seeded; dropped afterwards."""
    with asyncio.Runner() as runner:
        scratch = scratch_database(server_url)
        database_url = runner.run(scratch.__aenter__())
        try:
            upgrade(Settings(database_url=database_url, secret_key=secret_key, data_dir=workdir))
            seeded = runner.run(
                seed(
                    database_url,
                    users=size.users,
                    photos_per_user=size.photos_per_user,
                    reader_follows=size.reader_follows,
                )
            )
            ids = runner.run(_author_ids(database_url, seeded.usernames))
            yield Data(database_url, ids, seeded.usernames, seeded.reader_username)
        finally:
            runner.run(scratch.__aexit__(None, None, None))


async def _author_ids(database_url: str, usernames: list[str]) -> list[int]:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT id, username FROM users WHERE username = ANY($1::text[])", usernames
        )
    finally:
        await connection.close()
    by_name = {row["username"]: row["id"] for row in rows}
    return [by_name[name] for name in usernames]


@contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    """A Redis of the benchmark's own (its cache, timelines and job queue meet nobody
    else's keys, and it is thrown away afterwards); yields its URL."""
    port = free_port()
    command = [_redis_server(), "--port", str(port), "--bind", HOST, "--save", ""]
    command += ["--appendonly", "no", "--dir", str(workdir)]
    log = workdir / "logs" / "redis.log"
    server = Server("redis", command, clean_environment(), log, port=port, probe=None)
    with serving(server):
        wait_for_port(port)
        yield f"redis://{HOST}:{port}/0"


def _redis_server() -> str:
    """The machine's redis-server, as production would run, before any copy bundled
    in this environment for the tests."""
    bundled = Path(sys.prefix) / "bin"
    path = os.pathsep.join(
        entry for entry in os.environ.get("PATH", "").split(os.pathsep) if Path(entry) != bundled
    )
    return shutil.which("redis-server", path=path) or redis_executable()


@dataclass(frozen=True)
class Stack:
    """Everything a server needs to know to serve the seeded data."""

    data: Data
    redis_url: str
    workdir: Path
    workers: int
    secret_key: str

    def snapscale_env(self) -> dict[str, str]:
        """Production settings: PostgreSQL, Redis for cache, sessions and timelines, Celery
        on Redis for jobs, rate limits off (one client address sends all the load)."""
        base = self.redis_url.rsplit("/", 1)[0]
        return {
            **clean_environment(),
            "SNAPSCALE_DATABASE_URL": self.data.database_url,
            "SNAPSCALE_REDIS_URL": f"{base}/0",
            "SNAPSCALE_BROKER_URL": f"{base}/1",
            "SNAPSCALE_SECRET_KEY": self.secret_key,
            "SNAPSCALE_DATA_DIR": str(self.workdir / "data"),
            "SNAPSCALE_RATE_LIMITS_ENABLED": "false",
            "SNAPSCALE_ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_SECONDS),
            # The README's advice for every Snapscale process (glibc arenas).
            "MALLOC_ARENA_MAX": "2",
        }

    def snapscale(self, kind: str) -> Server:
        """`snapscale serve --api` or `--web`, with the peers' worker count."""
        port = free_port()
        command = [sys.executable, "-m", "snapscale", "serve", f"--{kind}"]
        command += ["--bind", f"{HOST}:{port}", "--workers", str(self.workers)]
        return Server(
            f"snapscale-{kind}",
            command,
            self.snapscale_env(),
            self.workdir / "logs" / f"snapscale-{kind}.log",
            port=port,
            probe="/readyz",
        )

    def job_worker(self) -> Server:
        """One Celery worker at the lowest CPU priority: it turns uploads into renditions
        as production's workers would, while taking next to no CPU from the servers
        being measured (on a real deployment workers run on machines of their own)."""
        command = ["nice", "-n", "19", sys.executable, "-m", "snapscale", "worker"]
        command += ["--concurrency", "1", "--pool", "prefork"]
        log = self.workdir / "logs" / "snapscale-worker.log"
        return Server("snapscale-worker", command, self.snapscale_env(), log, probe=None)

    def peer(self, name: str) -> Server:
        env = {**clean_environment(), "BENCH_PEER_DATABASE_URL": self.data.peer_url}
        log = self.workdir / "logs" / f"{name}.log"
        app = f"bench.peers.{name}:app"
        probe = f"/users/{self.data.user_ids[0]}"
        if name == "seed_flask":
            return gunicorn(name, app, workers=self.workers, env=env, log=log, probe=probe)
        asgi_worker = "uvicorn_worker.UvicornWorker"
        if name == "bare_asgi":
            probe = "/"
        return gunicorn(
            name, app, workers=self.workers, env=env, log=log, worker_class=asgi_worker, probe=probe
        )


def new_secret_key() -> str:
    return secrets.token_urlsafe(48)
