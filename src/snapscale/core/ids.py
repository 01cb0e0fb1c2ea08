"""64-bit, time-ordered ids made by the application, in the manner of Instagram's.

Layout (63 bits, so the value fits a signed BIGINT): 41 bits of milliseconds since
EPOCH_MS (about 69 years), 10 bits of node id, 12 bits of per-millisecond sequence.
Ids sort by creation time, need no database round trip, and carry the node that made
them, so tables can later be sharded without renumbering.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from snapscale.core.errors import NotFound

EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
NODE_BITS = 10
SEQUENCE_BITS = 12
MAX_NODE = (1 << NODE_BITS) - 1
_SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1
MAX_ID = (1 << 63) - 1


class IdGenerator:
    def __init__(self, node_id: int) -> None:
        if not 0 <= node_id <= MAX_NODE:
            raise ValueError(f"node id must be 0-{MAX_NODE}")
        self.node_id = node_id
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def __call__(self) -> int:
        with self._lock:
            now = self._now_ms()
            if now < self._last_ms:
                # The clock went back (NTP step): keep counting from the last time we used
                # rather than risk handing out an id twice.
                now = self._last_ms
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & _SEQUENCE_MASK
                if self._sequence == 0:
                    # 4096 ids in one millisecond: borrow the next millisecond.
                    now = self._last_ms + 1
            else:
                self._sequence = 0
            self._last_ms = now
            return (
                ((now - EPOCH_MS) << (NODE_BITS + SEQUENCE_BITS))
                | (self.node_id << SEQUENCE_BITS)
                | self._sequence
            )

    @staticmethod
    def _now_ms() -> int:
        return time.time_ns() // 1_000_000


def created_at_of(snowflake: int) -> datetime:
    ms = (snowflake >> (NODE_BITS + SEQUENCE_BITS)) + EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


_generator = IdGenerator(secrets.randbelow(MAX_NODE + 1))


def configure_node(node_id: int | None) -> None:
    """Use this node id from now on (settings, or one claimed from Redis); None keeps the
    random one."""
    global _generator
    if node_id is not None and node_id != _generator.node_id:
        _generator = IdGenerator(node_id)


def node_id() -> int:
    return _generator.node_id


def _after_fork_in_child() -> None:
    # A forked worker (gunicorn, Celery's pool) inherits its parent's generator: with the
    # same node id, two workers making ids in the same millisecond would make the same id.
    # So the child draws a random node of its own; a child that builds its own Runtime
    # then takes the node its settings or Redis give it.
    global _generator
    _generator = IdGenerator(secrets.randbelow(MAX_NODE + 1))


os.register_at_fork(after_in_child=_after_fork_in_child)


def new_id() -> int:
    return _generator()


def _parse_id(value: object) -> object:
    # ASCII only: str.isdigit() also says yes to "²" and to other scripts' digits.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        if len(value.lstrip("0")) > len(str(MAX_ID)) or int(value) > MAX_ID:
            # Well formed, but past the 63-bit range ids are made in: it names nothing,
            # as for the site's pages. NotFound is not a ValueError, so validation lets it
            # through to the entry point (a 404) instead of handing the number on to a
            # database driver that cannot bind it (a 500).
            raise NotFound(f"Nothing has that id: ids are at most {MAX_ID}.")
        return int(value)
    return value


# Ids travel as strings in JSON: JavaScript numbers lose precision above 2**53.
PublicId = Annotated[
    int,
    BeforeValidator(_parse_id),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]+$", "examples": ["7312986214400001"]}),
]
