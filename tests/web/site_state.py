"""What a refused request must leave alone, read straight from the stores: every row of
every table and every stored file. Two snapshots compare equal when nothing changed."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from snapscale.core.db import Base
from snapscale.core.runtime import Runtime
from snapscale.web.core_access import EXTENSION_KEY, SiteCore

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(client: FlaskClient) -> Snapshot:
    """Every table's rows (in primary-key order) and the list of stored files."""
    core: SiteCore = client.application.extensions[EXTENSION_KEY]

    async def read() -> Snapshot:
        return await _read(core.runtime)

    return core.bridge.call(read)


async def _read(runtime: Runtime) -> Snapshot:
    state: Snapshot = {}
    async with runtime.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            state[table.name] = [tuple(row) for row in await connection.execute(query)]
    state["stored files"] = [(key,) for key in await runtime.storage.list_keys("photos/")]
    return state


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """The tables (or files) whose contents changed, for an assertion message."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
