"""Hostile uploads through the site's form: a readable page saying what is wrong (never a
500), nothing kept, and what is accepted is only ever shown as a re-encoded rendition.

The API's side of the same attacks is in tests/api/test_upload_attacks.py; the files
and the tables of cases are shared (tests/support/hostile_uploads.py).
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from snapscale.core.photos.imaging import CORRUPT as UNDECODABLE_REASON
from snapscale.embedded import EmbeddedApp
from tests.support import hostile_uploads as hostile
from tests.support import images
from tests.web.helpers import csrf_token, csrf_token_in, new_user, sign_up
from tests.web.test_photos import accepted_id, finish_jobs
from tests.web.test_photos import upload as upload_form

BOUNDARY = "site-hostile-upload-boundary-19c"
CAPTION = "Keep this caption"
NO_PHOTOS_YET = "You have not shared any photos yet."
RENDITION_FILES = ["large.webp", "medium.webp", "original", "thumb.webp"]


def upload(
    client: FlaskClient,
    data: bytes,
    *,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
) -> TestResponse:
    """The upload form as a browser posts it, with a caption that must survive a refusal."""
    return upload_form(client, data, CAPTION, filename=filename, content_type=content_type)


def raw_upload(client: FlaskClient, file_params: bytes, data: bytes) -> TestResponse:
    """The upload form with the file part's Content-Disposition written byte for byte."""
    body = hostile.multipart(
        BOUNDARY,
        fields={"csrf_token": csrf_token(client, "/upload").encode()},
        file_params=file_params,
        data=data,
        content_type=b"text/html",
    )
    return client.post(
        "/upload", data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )


def file_errors(page: str) -> list[str]:
    return [
        html.unescape(m) for m in re.findall(r'<p class="error" id="file-error-\d+">([^<]*)<', page)
    ]


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def assert_readable_refusal(response: TestResponse, status: int, detail: str, name: str) -> None:
    assert response.status_code == status, name
    assert response.mimetype == "text/html", name
    assert file_errors(response.text) == [detail], name
    assert 'aria-invalid="true"' in response.text, name
    assert CAPTION in response.text, name  # what was typed is not lost
    assert 'name="csrf_token"' in response.text, name  # a form to try again with


@pytest.fixture
def media(settings) -> Path:
    return settings.data_dir / "media"


def test_files_that_are_not_whole_photos_get_the_reason_under_the_file_field(
    site: FlaskClient, media: Path
) -> None:
    account = sign_up(site)

    for name, make, status, detail in hostile.NOT_PHOTOS:
        assert_readable_refusal(upload(site, make()), status, detail, name)

    assert NO_PHOTOS_YET in site.get(f"/u/{account['username']}").text
    assert files_under(media) == []


def test_decompression_bombs_are_refused_at_once(site: FlaskClient, media: Path) -> None:
    account = sign_up(site)

    for name, make, detail in hostile.BOMBS:
        started = time.monotonic()
        response = upload(site, make(), filename="tiny.png", content_type="image/png")

        assert time.monotonic() - started < 5, name
        [error] = file_errors(response.text)
        assert detail in error, name
        assert_readable_refusal(response, 422, error, name)

    assert NO_PHOTOS_YET in site.get(f"/u/{account['username']}").text
    assert files_under(media) == []


def test_undecodable_photos_tell_their_owner_why_and_leave_no_files(
    site: FlaskClient, new_browser, media: Path
) -> None:
    sign_up(site)
    photo_ids = [accepted_id(upload(site, make())) for _, make in hostile.UNDECODABLE]
    finish_jobs(site)
    stranger = new_browser()

    for photo_id in photo_ids:
        page = site.get(f"/p/{photo_id}")
        assert page.status_code == 200
        assert UNDECODABLE_REASON in html.unescape(page.text)
        assert '<img class="photo"' not in page.text
        assert "/media/" not in page.text
        assert stranger.get(f"/p/{photo_id}").status_code == 404
    assert files_under(media) == []


def test_polyglots_are_shown_only_through_their_renditions(site: FlaskClient) -> None:
    sign_up(site)
    photo_ids = [accepted_id(upload(site, make())) for _, make in hostile.POLYGLOTS]
    finish_jobs(site)

    for photo_id in photo_ids:
        page = site.get(f"/p/{photo_id}").text
        sources = re.findall(r'<img class="photo"[^>]* src="([^"]+)"', page)
        assert sources == [f"/media/photos/{photo_id}/medium.webp"]
        assert "original" not in page
    # The site itself serves no media at all (the API does, as renditions only): asking
    # it for any file gives its readable 404 page, never the file's bytes.
    for path in (
        f"/media/photos/{photo_ids[0]}/original",
        f"/media/photos/{photo_ids[0]}/medium.webp",
    ):
        response = site.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html", path
        assert b"\xff\xd8" not in response.data and b"RIFF" not in response.data, path


def test_names_and_declared_types_are_ignored(site: FlaskClient, media: Path) -> None:
    sign_up(site)
    photo_ids = [
        accepted_id(upload(site, make(), filename=filename, content_type=content_type))
        for make, filename, content_type in hostile.WRONG_NAMES
    ]
    finish_jobs(site)

    for photo_id in photo_ids:
        assert '<img class="photo"' in site.get(f"/p/{photo_id}").text
    assert files_under(media) == sorted(
        f"photos/{photo_id}/{file}" for photo_id in photo_ids for file in RENDITION_FILES
    )


def test_file_names_never_reach_the_store(site: FlaskClient, tmp_path: Path) -> None:
    sign_up(site)
    photo_ids = []
    for params in hostile.HOSTILE_FILENAMES:
        response = raw_upload(site, params, images.png(64, 48))
        if params == hostile.NOT_UTF8_FILENAME:
            # The form parser cannot read the part at all, so the form arrives without
            # its CSRF token: refused with the site's readable page, nothing stored.
            assert response.status_code == 400
            assert response.mimetype == "text/html"
            assert "Traceback" not in response.text
            continue
        photo_ids.append(accepted_id(response))
    finish_jobs(site)

    written = files_under(tmp_path)
    assert [name for name in written if name.startswith("data/media/")] == sorted(
        f"data/media/photos/{photo_id}/{file}" for photo_id in photo_ids for file in RENDITION_FILES
    )
    # Besides the media: the database and the site's session files, nothing else.
    others = [name for name in written if not name.startswith("data/media/")]
    assert all(
        re.fullmatch(r"data/(snapscale\.db(-wal|-shm|-journal)?|sessions/[0-9a-f]+)", name)
        for name in others
    ), others


# Embedded mode: the site and the media route behind one address, as `make run` serves.


@pytest.fixture
async def embedded(settings) -> AsyncIterator[httpx.AsyncClient]:
    app = EmbeddedApp(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.runtime = app.runtime  # type: ignore[attr-defined]
            yield client


async def _token(browser: httpx.AsyncClient, path: str) -> str:
    return csrf_token_in((await browser.get(path)).text, path)


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
async def test_embedded_mode_serves_a_polyglot_only_as_an_inert_rendition(embedded):
    account = new_user()
    signed_up = await embedded.post(
        "/signup", data=account | {"csrf_token": await _token(embedded, "/signup")}
    )
    assert signed_up.status_code == 302
    uploaded = await embedded.post(
        "/upload",
        data={"csrf_token": await _token(embedded, "/upload"), "caption": ""},
        files={"file": ("photo.jpg", images.jpeg_html_polyglot(), "text/html")},
    )
    assert uploaded.status_code == 303, uploaded.text
    photo_path = uploaded.headers["location"]
    await embedded.runtime.jobs.wait_idle(limit_seconds=60)  # type: ignore[attr-defined]

    page = (await embedded.get(photo_path)).text
    [source] = re.findall(r'<img class="photo"[^>]* src="([^"]+)"', page)
    image = await embedded.get(source)
    original = await embedded.get(source.replace("medium.webp", "original"))

    assert image.status_code == 200
    assert image.headers["content-type"] == "image/webp"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["content-security-policy"].startswith("default-src 'none'")
    assert b"<script" not in image.content and b"<html" not in image.content
    assert original.status_code == 404
    assert b"<script" not in original.content
