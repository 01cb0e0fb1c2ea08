"""Embedded mode: the API, docs and site from one process sharing one core."""

import re

import httpx
import pytest
from asgi_lifespan import LifespanManager

from snapscale.embedded import EmbeddedApp
from tests.support.factories import signed_in_user


@pytest.fixture
async def server(settings):
    app = EmbeddedApp(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_api_docs_health_and_site_answer_from_one_app(server):
    assert (await server.get("/healthz")).json() == {"status": "ok"}
    assert (await server.get("/docs")).status_code == 200
    assert (await server.get("/openapi.json")).status_code == 200
    home = await server.get("/")
    assert home.status_code == 200
    assert "text/html" in home.headers["content-type"]


async def test_api_paths_keep_problem_json_and_site_paths_keep_pages(server):
    api_missing = await server.get("/api/v1/nothing")
    site_missing = await server.get("/nothing")
    assert api_missing.headers["content-type"] == "application/problem+json"
    assert site_missing.status_code == 404
    assert "text/html" in site_missing.headers["content-type"]


async def test_an_account_made_in_the_api_is_on_the_site(server):
    user = await signed_in_user(server, display_name="Hedy")
    page = await server.get(f"/u/{user.username}")
    assert page.status_code == 200
    assert "Hedy" in page.text


async def test_an_edit_on_the_site_is_seen_by_the_api_at_once(server):
    user = await signed_in_user(server)
    assert (await server.get(f"/api/v1/users/{user.username}")).json()["bio"] == ""  # cached

    login_page = await server.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page.text)
    assert token, login_page.text
    form = {"csrf_token": token.group(1), "login": user.username, "password": user.password}
    assert (await server.post("/login", data=form)).status_code == 302
    settings_page = await server.get("/settings")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', settings_page.text)
    assert token
    saved = await server.post(
        "/settings/profile",
        data={
            "csrf_token": token.group(1),
            "display_name": "",
            "email": user.email,
            "bio": "edited on the site",
        },
    )
    assert saved.status_code == 302

    profile = (await server.get(f"/api/v1/users/{user.username}")).json()
    assert profile["bio"] == "edited on the site"
