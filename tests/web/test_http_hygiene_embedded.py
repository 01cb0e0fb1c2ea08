"""Embedded mode: the site (behind the WSGI bridge) and the API in one process each
compress and secure their own answers, once."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from snapscale.config import Settings
from snapscale.embedded import EmbeddedApp


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = EmbeddedApp(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def raw_get(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, bytes]:
    request = client.build_request("GET", path, headers={"Accept-Encoding": "gzip"})
    response = await client.send(request, stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, body


@pytest.mark.parametrize(
    ("path", "starts"),
    [("/signup", b"<!doctype html>"), ("/static/site.css", b"/*"), ("/openapi.json", b"{")],
)
async def test_each_answer_is_compressed_exactly_once(
    server: httpx.AsyncClient, path: str, starts: bytes
) -> None:
    response, body = await raw_get(server, path)

    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body).lstrip().startswith(starts)


async def test_site_and_api_keep_their_own_policies(server: httpx.AsyncClient) -> None:
    page = await server.get("/")
    schema = await server.get("/openapi.json")

    assert page.headers["Content-Security-Policy"].startswith("default-src 'self';")
    assert schema.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    for response in (page, schema):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers.get_list("Content-Security-Policy") == [
            response.headers["Content-Security-Policy"]
        ]
