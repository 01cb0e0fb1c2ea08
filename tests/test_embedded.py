"""Embedded mode: the API, docs and site from one process sharing one core."""

import re

import httpx
import pytest
from asgi_lifespan import LifespanManager

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Registration
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import Upload
from snapscale.core.runtime import Runtime
from snapscale.embedded import EmbeddedApp
from tests.support import images
from tests.support.factories import PASSWORD, signed_in_user


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


class _NoJobs:
    """A sender that loses every job, as a server killed right after a commit would."""

    async def send(self, name, kwargs) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def test_work_left_unfinished_by_a_previous_run_is_resumed_at_start(settings):
    crashed = Runtime(settings, jobs=_NoJobs())
    owner = await crashed.run(
        account_service.register,
        data=Registration(username="phoenix", email="phoenix@example.com", password=PASSWORD),
    )
    photo, _ = await crashed.run(
        photo_service.upload, owner_id=owner.id, data=Upload(data=images.jpeg(300, 200))
    )
    await crashed.aclose()
    assert photo.status == "processing"

    app = EmbeddedApp(settings)
    async with LifespanManager(app):
        await app.runtime.jobs.wait_idle(limit_seconds=60)
        resumed = await app.runtime.run(photo_service.get_photo, photo_id=photo.id, viewer_id=None)

    assert resumed.status == "ready"
