"""Every response of the API and of the site carries an X-Request-ID: the client's when it
is sane, otherwise a fresh one; errors, 404s and 413s included."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

pytestmark = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)

GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_api_echoes_a_sane_request_id(api):
    response = await api.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    sent = "edge.lb:7f3a_9-B"  # letters, digits and ._:- up to 128 characters
    response = await api.get("/healthz", headers={"X-Request-ID": sent})
    assert response.headers["X-Request-ID"] == sent


@pytest.mark.parametrize(
    "unsafe", ["has space", 'quote"d', "x" * 129, "back\\slash", "semi;colon", "é"]
)
async def test_api_replaces_an_unsafe_request_id(api, unsafe):
    response = await api.get("/healthz", headers={"X-Request-ID": unsafe.encode()})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


async def test_api_gives_each_request_its_own_id(api):
    first = (await api.get("/healthz")).headers["X-Request-ID"]
    second = (await api.get("/healthz")).headers["X-Request-ID"]
    assert GENERATED.fullmatch(first)
    assert GENERATED.fullmatch(second)
    assert first != second


async def test_api_errors_carry_the_request_id(api):
    headers = {"X-Request-ID": "err-1"}
    missing = await api.get("/api/v1/nothing-here", headers=headers)
    invalid = await api.get("/api/v1/users?limit=0", headers=headers)
    too_large = await api.post(
        "/api/v1/auth/register",
        content=b"{}",
        headers=headers | {"Content-Length": str(50 * 1024 * 1024)},
    )
    assert (missing.status_code, invalid.status_code, too_large.status_code) == (404, 422, 413)
    for response in (missing, invalid, too_large):
        assert response.headers["X-Request-ID"] == "err-1"
        assert response.headers["Content-Type"] == "application/problem+json"


async def test_an_unexpected_error_still_answers_with_the_request_id(failing_api):
    response = await failing_api.get("/api/v1/broken", headers={"X-Request-ID": "boom-7"})
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["X-Request-ID"] == "boom-7"


def test_site_echoes_a_sane_request_id_and_replaces_others(site: FlaskClient):
    assert site.get("/", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    replaced = site.get("/", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"]
    assert GENERATED.fullmatch(replaced)
    generated = site.get("/").headers["X-Request-ID"]
    assert GENERATED.fullmatch(generated)
    assert generated != replaced


def test_site_error_pages_carry_the_request_id(site: FlaskClient):
    headers = {"X-Request-ID": "page-9"}
    missing = site.get("/no/such/page", headers=headers)
    too_large = site.post("/login", data={"login": "x" * (2 * 1024 * 1024)}, headers=headers)
    wrong_method = site.delete("/login", headers=headers)
    assert (missing.status_code, too_large.status_code, wrong_method.status_code) == (404, 413, 405)
    for response in (missing, too_large, wrong_method):
        assert "text/html" in response.headers["Content-Type"]
        assert response.headers.getlist("X-Request-ID") == ["page-9"]
