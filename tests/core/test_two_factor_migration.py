"""The two-factor migration (0004) goes up over existing accounts and back down, on SQLite
and on PostgreSQL, in a database of the test's own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from snapscale.config import Settings
from snapscale.core.db import create_engine
from snapscale.core.migrate import alembic_config, upgrade
from tests.conftest import TEST_SECRET

NEW_TABLES = {"two_factor_credentials", "recovery_codes"}


@pytest.fixture
def empty_database(
    stack: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Settings]:
    if stack == "sqlite":
        yield Settings(data_dir=tmp_path, secret_key=TEST_SECRET)
        return
    server = request.getfixturevalue("postgres")
    url = server.create_database()
    yield Settings(data_dir=tmp_path, database_url=url, secret_key=TEST_SECRET)
    server.drop_database(url)


def _run(settings: Settings, *statements: str) -> tuple[set[str], list[str]]:
    """Run ``statements``; return the tables there are and the usernames stored."""

    async def go() -> tuple[set[str], list[str]]:
        engine = create_engine(settings)
        try:
            async with engine.begin() as connection:
                for statement in statements:
                    await connection.execute(text(statement))
                tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
                names = (await connection.execute(text("SELECT username FROM users"))).scalars()
                return tables, list(names)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_the_two_factor_tables_come_and_go_with_their_migration(empty_database: Settings) -> None:
    settings = empty_database
    upgrade(settings, "0003")
    before, _ = _run(
        settings,
        "INSERT INTO users (id, username, email, display_name, bio, password_hash, is_active,"
        " is_admin, token_version, followers_count, following_count, photos_count,"
        " created_at, updated_at) VALUES (1, 'early.bird', 'early@example.com', '', '', 'x',"
        " true, false, 1, 0, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    assert not before & NEW_TABLES

    upgrade(settings)
    after, names = _run(
        settings,
        "INSERT INTO two_factor_credentials (user_id, secret, created_at)"
        " VALUES (1, 'JBSWY3DPEHPK3PXP', CURRENT_TIMESTAMP)",
    )
    assert after >= NEW_TABLES
    assert names == ["early.bird"]

    command.downgrade(alembic_config(settings), "0003")
    down, names = _run(settings)
    assert not down & NEW_TABLES
    assert names == ["early.bird"]

    upgrade(settings)  # and up again, from where the downgrade left it
    assert _run(settings)[0] >= NEW_TABLES
