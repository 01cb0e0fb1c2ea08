"""Fixtures for observability tests: log lines as a log pipeline would read them, and
metrics as Prometheus would scrape them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.observability.logs import log_handler


class CapturedLogs:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def lines(self) -> list[dict[str, Any]]:
        """Every line written so far, each parsed as the JSON object it must be."""
        return [json.loads(line) for line in self._stream.getvalue().splitlines() if line]

    def events(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines()
            if line["event"] == event and all(line.get(k) == v for k, v in fields.items())
        ]


@pytest.fixture
def json_logs(settings: Settings) -> Iterator[CapturedLogs]:
    """The process's log lines, rendered by the production (JSON) formatter."""
    stream = io.StringIO()
    handler = log_handler(settings.model_copy(update={"log_format": "json"}), stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield CapturedLogs(stream)
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
async def failing_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with one extra route that fails with an unexpected error."""
    app = create_api(settings)

    @app.get("/api/v1/broken")
    async def broken() -> None:
        raise RuntimeError("this route is broken on purpose")

    async with LifespanManager(app) as manager:
        # As a server would: the error becomes a 500 response, not an exception here.
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
