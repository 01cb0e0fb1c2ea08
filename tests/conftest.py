"""Fixtures shared by the whole suite.

Every service and API test runs twice, once per stack a user can run:
- ``sqlite``: embedded mode (SQLite file, in-process cache);
- ``postgresql``: production mode (PostgreSQL and a real Redis).
Each test gets clean data: a fresh SQLite file, or the PostgreSQL tables truncated and
its own Redis key prefix.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from flask.testing import FlaskClient

from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.core.migrate import upgrade
from snapscale.core.runtime import Runtime, process_cache
from snapscale.web.app import create_site
from snapscale.web.core_access import EXTENSION_KEY
from tests.support.s3 import S3Server
from tests.support.servers import PostgresServer, RedisServer, flush_prefix

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"
TABLES = (
    "comments",
    "likes",
    "follows",
    "photos",
    "recovery_codes",
    "two_factor_credentials",
    "refresh_tokens",
    "users",
)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("pg")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of this test run's own, migrated to the newest schema."""
    url = postgres.create_database()
    upgrade(
        Settings(database_url=url, secret_key=TEST_SECRET, data_dir=tmp_path_factory.mktemp("d"))
    )
    yield url
    postgres.drop_database(url)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("SNAPSCALE_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    data_dir = tmp_path_factory.mktemp("sqlite-template")
    upgrade(Settings(data_dir=data_dir, secret_key=TEST_SECRET))
    return data_dir / "snapscale.db"


@pytest.fixture(autouse=True)
def _fresh_process_cache() -> None:
    """Embedded mode's cache is one per process; each test starts it empty, as a fresh
    server would, so nothing cached for another test's database leaks in."""
    process_cache().clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(stack: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if stack == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), data_dir / "snapscale.db")
        yield Settings(data_dir=data_dir, secret_key=TEST_SECRET)
        return
    database_url = request.getfixturevalue("postgres_url")
    redis_url = request.getfixturevalue("redis_url")
    prefix = f"snapscale-test-{uuid.uuid4().hex[:10]}:"
    yield Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=prefix,
        secret_key=TEST_SECRET,
    )
    truncate(database_url)
    flush_prefix(redis_url, prefix)


def truncate(database_url: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            await connection.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        finally:
            await connection.close()

    asyncio.run(run())


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings)
    yield runtime
    await runtime.aclose()


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.runtime = app.state.runtime  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def site(settings: Settings) -> Iterator[FlaskClient]:
    """A test client of the site, running as its own process would (private event loop)."""
    app = create_site(settings)
    app.config["TESTING"] = True
    # Not `with app.test_client()`: that keeps the last request's app context (and the
    # user Flask-Login cached in it) alive, leaking one client's sign-in into another's.
    yield app.test_client()
    app.extensions[EXTENSION_KEY].close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, which the test may stop, hang and start again."""
    server = RedisServer(tmp_path / "private-redis").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 HTTP endpoint (moto's standalone server) on a loopback port."""
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """An empty bucket of this test's own."""
    return s3_server.create_bucket(f"test-{uuid.uuid4().hex[:12]}")
