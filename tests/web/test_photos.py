"""Photos on the site: the upload form, the photo page, the owner's edits, the profile grid."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from snapscale.config import Settings
from snapscale.core.runtime import Runtime
from snapscale.core.storage import StorageUnavailable
from snapscale.core.sync_bridge import LoopBridge
from snapscale.web.app import create_site
from snapscale.web.core_access import EXTENSION_KEY, SiteCore
from snapscale.web.views import profiles
from tests.support import images
from tests.support.photos import HeldJobs
from tests.web.helpers import csrf_token, log_out, sign_up, submit

SCRIPT = "<script>alert('owned')</script>"
UPLOADED = "Uploaded. We're preparing your photo…"
PHOTO_PATH = re.compile(r"/p/([0-9]+)")


def upload(
    client: FlaskClient,
    data: bytes,
    caption: str = "",
    *,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    headers: dict[str, str] | None = None,
) -> TestResponse:
    """Post the upload form as a browser would: multipart, with the page's CSRF token."""
    return client.post(
        "/upload",
        data={
            "csrf_token": csrf_token(client, "/upload"),
            "caption": caption,
            "file": (io.BytesIO(data), filename, content_type),
        },
        content_type="multipart/form-data",
        headers=headers or {},
    )


def uploaded(client: FlaskClient, data: bytes | None = None, caption: str = "") -> str:
    """Upload a photo that is accepted; returns its id."""
    return accepted_id(upload(client, data if data is not None else images.jpeg(800, 600), caption))


def accepted_id(response: TestResponse) -> str:
    """The id of the photo an upload's answer says was accepted."""
    assert response.status_code == 303, response.text
    found = PHOTO_PATH.fullmatch(response.headers["Location"])
    assert found is not None, response.headers["Location"]
    return found.group(1)


def finish_jobs(client: FlaskClient) -> None:
    """Wait until the site's in-process queue has processed every photo sent so far."""
    core: SiteCore = client.application.extensions[EXTENSION_KEY]
    core.bridge.call(core.runtime.jobs.wait_idle, 60)  # type: ignore[attr-defined]


def text_of(response: TestResponse) -> str:
    return html.unescape(response.text)


def field_errors(page: str, field: str) -> list[str]:
    return [
        html.unescape(m)
        for m in re.findall(rf'<p class="error" id="{field}-error-\d+">([^<]*)<', page)
    ]


def image_tag(page: str) -> dict[str, str]:
    found = re.search(r'<img class="photo"([^>]*)>', page)
    assert found is not None, "no photo on the page"
    return {k: html.unescape(v) for k, v in re.findall(r'([a-z-]+)="([^"]*)"', found.group(1))}


def grid_links(page: str) -> list[str]:
    return re.findall(r'<a class="tile-link[^"]*" href="/p/([0-9]+)"', page)


@pytest.fixture
def held_site(settings: Settings) -> Iterator[FlaskClient]:
    """A site whose uploads are never processed, to look at photos still processing."""
    core = SiteCore(
        Runtime(settings, jobs=HeldJobs()), LoopBridge.in_background_thread(), owned=True
    )
    app = create_site(settings, core=core)
    app.config["TESTING"] = True
    yield app.test_client()
    core.close()


@pytest.fixture
def small_limit_site(settings: Settings) -> Iterator[Flask]:
    """A site that takes uploads of at most 200,000 bytes."""
    app = create_site(settings.model_copy(update={"upload_max_bytes": 200_000}))
    app.config["TESTING"] = True
    yield app
    app.extensions[EXTENSION_KEY].close()


# The upload form


def test_uploading_needs_an_account(site: FlaskClient) -> None:
    response = site.get("/upload")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fupload"
    assert 'href="/upload"' not in site.get("/").text


def test_the_upload_form_is_a_plain_multipart_form(site: FlaskClient) -> None:
    sign_up(site)

    page = site.get("/upload")

    assert page.status_code == 200
    assert 'href="/upload"' in site.get("/").text  # in the navigation
    assert 'enctype="multipart/form-data"' in page.text
    assert 'type="file"' in page.text
    assert 'accept="image/jpeg,image/png,image/webp"' in page.text
    assert 'maxlength="2200"' in page.text
    assert 'name="csrf_token"' in page.text
    assert 'src="/static/upload.js"' in page.text
    assert "<script>" not in page.text  # no inline script
    assert "up to 25 MB" in page.text
    assert site.get("/static/upload.js").status_code == 200


def test_an_upload_leads_to_its_photo_page(site: FlaskClient) -> None:
    account = sign_up(site)

    response = upload(site, images.jpeg(1200, 900), "Sunset over the bay\nfrom the pier")

    assert response.status_code == 303
    assert PHOTO_PATH.fullmatch(response.headers["Location"])
    page = site.get(response.headers["Location"])
    assert page.status_code == 200
    assert UPLOADED in text_of(page)
    assert "Sunset over the bay\nfrom the pier" in text_of(page)
    assert f'href="/u/{account["username"]}"' in page.text
    assert "Processing…" in text_of(page) or '<img class="photo"' in page.text


def test_a_ready_photo_shows_responsive_image(site: FlaskClient) -> None:
    account = sign_up(site)
    photo_id = uploaded(site, images.jpeg(1200, 900), "Harbour lights")
    finish_jobs(site)

    page = site.get(f"/p/{photo_id}")

    assert page.status_code == 200
    assert 'http-equiv="refresh"' not in page.text
    img = image_tag(page.text)
    assert img["src"] == f"/media/photos/{photo_id}/medium.webp"
    assert (img["width"], img["height"]) == ("1080", "810")
    # The square thumbnail is a crop: not offered for a 4:3 photo.
    assert img["srcset"] == (
        f"/media/photos/{photo_id}/medium.webp 1080w, /media/photos/{photo_id}/large.webp 1200w"
    )
    assert img["sizes"]
    assert img["alt"] == "Harbour lights"
    assert re.search(r'class="photo-stage" style="background-color: #[0-9a-f]{6}"', page.text)
    assert "<time datetime=" in page.text

    square = uploaded(site, images.jpeg(800, 800, seed=4))
    finish_jobs(site)
    img = image_tag(site.get(f"/p/{square}").text)
    assert img["srcset"].startswith(f"/media/photos/{square}/thumb.webp 320w, ")
    assert img["alt"] == f"Photo by @{account['username']}"


def test_an_upload_bigger_than_the_sites_form_limit_is_accepted(site: FlaskClient) -> None:
    sign_up(site)
    data = images.png(1200, 900)
    assert len(data) > 1024 * 1024  # the limit every other form keeps

    photo_id = uploaded(site, data)

    assert site.get(f"/p/{photo_id}").status_code == 200


def test_other_forms_keep_the_small_body_limit(site: FlaskClient) -> None:
    account = sign_up(site)

    response = submit(
        site,
        "/settings",
        {"display_name": "x", "email": account["email"], "bio": "x" * (1024 * 1024 + 1)},
        action="/settings/profile",
    )

    assert response.status_code == 413
    assert "That is more than we accept in one request." in response.text
    assert 'type="file"' not in response.text


@pytest.mark.parametrize("name", sorted(images.HOSTILE))
def test_refused_files_are_explained_under_the_file_field(site: FlaskClient, name: str) -> None:
    account = sign_up(site)

    response = upload(site, images.HOSTILE[name](), "Keep this caption")

    assert response.status_code in (415, 422)
    errors = field_errors(response.text, "file")
    assert len(errors) == 1, response.text
    assert 'aria-invalid="true"' in response.text
    assert "Keep this caption" in response.text  # what was typed is not lost
    profile = site.get(f"/u/{account['username']}").text
    assert "You have not shared any photos yet." in profile


@pytest.mark.parametrize(
    ("make", "status", "message"),
    [
        (images.svg, 415, "Only JPEG, PNG and WebP images are accepted."),
        (images.heic, 415, "HEIC photos are not supported yet; export as JPEG."),
        (images.truncated_jpeg, 422, "The image file is truncated or corrupt."),
        (images.empty, 422, "The file is empty."),
    ],
)
def test_refused_files_get_the_cores_message_and_status(
    site: FlaskClient, make: Any, status: int, message: str
) -> None:
    sign_up(site)

    response = upload(site, make())

    assert response.status_code == status
    assert field_errors(response.text, "file") == [message]


def test_a_decompression_bomb_is_refused(site: FlaskClient) -> None:
    sign_up(site)

    response = upload(site, images.png_bomb(), filename="tiny.png")

    assert response.status_code == 422
    [error] = field_errors(response.text, "file")
    assert "pixels" in error


def test_no_file_chosen(site: FlaskClient) -> None:
    sign_up(site)

    response = site.post(
        "/upload",
        data={"csrf_token": csrf_token(site, "/upload"), "caption": "No file"},
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert field_errors(response.text, "file") == ["Choose a photo to upload."]


def test_files_over_the_upload_limit_are_refused_readably(small_limit_site: Flask) -> None:
    browser = small_limit_site.test_client()
    sign_up(browser)

    # Over the file limit but within the request's allowance: the core says no.
    just_over = upload(browser, images.random_bytes(210_000))
    # Far over: the body is refused before it is read.
    far_over = upload(browser, images.random_bytes(600_000))

    assert just_over.status_code == 413
    assert len(field_errors(just_over.text, "file")) == 1
    assert far_over.status_code == 413
    assert field_errors(far_over.text, "file") == ["The file is larger than the 195 KB limit."]
    assert 'name="csrf_token"' in far_over.text  # a form to try again with
    assert "Traceback" not in just_over.text + far_over.text
    assert "up to 195 KB" in browser.get("/upload").text


def test_a_caption_edit_too_big_to_read_gets_the_plain_413_page(site: FlaskClient) -> None:
    sign_up(site)
    photo_id = uploaded(site, images.jpeg(640, 480), "Kept")
    finish_jobs(site)

    response = submit(
        site, f"/p/{photo_id}", {"caption": "x" * (1024 * 1024)}, action=f"/p/{photo_id}/caption"
    )

    assert response.status_code == 413
    assert "That is more than we accept in one request." in response.text
    assert 'type="file"' not in response.text


def test_a_storage_outage_is_explained_and_nothing_is_saved(
    site: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = sign_up(site)
    core: SiteCore = site.application.extensions[EXTENSION_KEY]

    async def store_is_down(key: str, data: bytes, *, content_type: str) -> None:
        raise StorageUnavailable()

    monkeypatch.setattr(core.runtime.storage, "put", store_is_down)

    response = upload(site, images.jpeg(640, 480), "Try later")

    assert response.status_code == 503
    assert "We could not store your photo just now." in response.text
    assert "Try later" in response.text
    assert "You have not shared any photos yet." in site.get(f"/u/{account['username']}").text


def test_a_caption_over_2200_characters_is_refused(site: FlaskClient) -> None:
    account = sign_up(site)

    response = upload(site, images.jpeg(640, 480), "x" * 2201)

    assert response.status_code == 422
    assert field_errors(response.text, "caption") == [
        "Caption should have at most 2200 characters."
    ]
    assert "You have not shared" in site.get(f"/u/{account['username']}").text
    assert uploaded(site, images.jpeg(640, 480), "x" * 2200)


def test_an_upload_without_the_csrf_token_is_refused(site: FlaskClient) -> None:
    account = sign_up(site)

    response = site.post(
        "/upload",
        data={"file": (io.BytesIO(images.jpeg(320, 240)), "photo.jpg")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    assert "Your form expired" in response.text
    assert "You have not shared" in site.get(f"/u/{account['username']}").text


def test_the_script_gets_the_photo_address_and_the_message_waits(site: FlaskClient) -> None:
    sign_up(site)

    response = upload(site, images.jpeg(640, 480), headers={"X-Requested-With": "XMLHttpRequest"})

    assert response.status_code == 200
    location = response.json["location"]  # type: ignore[index]
    assert PHOTO_PATH.fullmatch(location)
    assert UPLOADED in text_of(site.get(location))


# Who sees what


def test_a_processing_photo_is_seen_by_its_owner_only(
    held_site: FlaskClient, settings: Settings
) -> None:
    account = sign_up(held_site)
    photo_id = uploaded(held_site, images.jpeg(800, 600), "Not ready yet")

    page = held_site.get(f"/p/{photo_id}")
    profile = held_site.get(f"/u/{account['username']}").text

    assert page.status_code == 200
    assert "Processing…" in text_of(page)
    assert '<meta http-equiv="refresh" content="3">' in page.text
    assert '<img class="photo"' not in page.text
    assert "Delete photo" not in page.text  # the page reloads itself: no forms to lose
    assert grid_links(profile) == [photo_id]
    assert ">Processing</span>" in profile

    stranger = held_site.application.test_client()
    assert stranger.get(f"/p/{photo_id}").status_code == 404
    sign_up(stranger)
    assert stranger.get(f"/p/{photo_id}").status_code == 404
    profile = stranger.get(f"/u/{account['username']}").text
    assert grid_links(profile) == []
    assert "No photos yet." in profile


def test_a_ready_photo_is_seen_by_everyone(
    site: FlaskClient, other_browser: FlaskClient, new_browser: Any
) -> None:
    account = sign_up(site)
    photo_id = uploaded(site, images.jpeg(800, 600), "For everyone")
    finish_jobs(site)
    sign_up(other_browser)

    for browser in (other_browser, new_browser()):
        page = browser.get(f"/p/{photo_id}")
        assert page.status_code == 200
        assert "For everyone" in page.text
        assert image_tag(page.text)["src"] == f"/media/photos/{photo_id}/medium.webp"
        assert "Edit caption" not in page.text
        assert "Delete photo" not in page.text
        assert grid_links(browser.get(f"/u/{account['username']}").text) == [photo_id]


def test_a_failed_photo_tells_its_owner_and_nobody_else(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    account = sign_up(site)
    photo_id = uploaded(site, images.corrupt_jpeg(), "Broken")
    finish_jobs(site)

    page = site.get(f"/p/{photo_id}")
    profile = site.get(f"/u/{account['username']}").text

    assert page.status_code == 200
    assert "We could not process this photo" in page.text
    assert 'class="pending-reason"' in page.text  # the reason the core gave
    assert 'href="/upload"' in page.text
    assert 'http-equiv="refresh"' not in page.text
    assert "Delete photo" in page.text  # so it can be cleared away
    assert ">Failed</span>" in profile
    assert other_browser.get(f"/p/{photo_id}").status_code == 404
    assert grid_links(other_browser.get(f"/u/{account['username']}").text) == []


def test_the_owner_is_told_about_a_near_duplicate(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    sign_up(site)
    first = uploaded(site, images.jpeg(800, 600, seed=7))
    finish_jobs(site)
    second = uploaded(site, images.jpeg(1200, 900, seed=7))
    finish_jobs(site)

    page = site.get(f"/p/{second}").text

    assert "This looks like a photo you already posted" in page
    assert f'href="/p/{first}"' in page
    assert "already posted" not in other_browser.get(f"/p/{second}").text
    assert "already posted" not in site.get(f"/p/{first}").text


@pytest.mark.parametrize(
    "path",
    [
        "/p/abc",
        "/p/12a",
        "/p/-1",
        "/p/1.5",
        "/p/%EF%BC%91%EF%BC%92",  # fullwidth digits
        "/p/%C2%B2",  # superscript two: isdigit() says yes
        "/p/9223372036854775808",  # one past the largest id
        "/p/99999999999999999999999",
        "/p/1",
    ],
)
def test_ids_that_are_no_photo_get_a_404(site: FlaskClient, path: str) -> None:
    page = site.get(path)

    assert page.status_code == 404
    assert "There is nothing here." in page.text

    sign_up(site)
    token = csrf_token(site, "/upload")
    for action in ("caption", "delete"):
        response = site.post(f"{path}/{action}", data={"csrf_token": token, "caption": "x"})
        assert response.status_code == 404, action


# The owner's edits


def test_the_owner_edits_the_caption(site: FlaskClient) -> None:
    sign_up(site)
    photo_id = uploaded(site, images.jpeg(800, 600), "Frist try")
    finish_jobs(site)

    response = submit(
        site,
        f"/p/{photo_id}",
        {"caption": "First try\nat long exposure"},
        action=f"/p/{photo_id}/caption",
    )

    assert response.status_code == 303
    assert response.headers["Location"] == f"/p/{photo_id}"
    page = text_of(site.get(f"/p/{photo_id}"))
    assert "Your caption is saved." in page
    assert "First try\nat long exposure" in page
    assert "Frist" not in page


def test_a_caption_edit_over_the_limit_is_refused(site: FlaskClient) -> None:
    sign_up(site)
    photo_id = uploaded(site, images.jpeg(800, 600), "Kept")
    finish_jobs(site)

    response = submit(
        site, f"/p/{photo_id}", {"caption": "y" * 2201}, action=f"/p/{photo_id}/caption"
    )

    assert response.status_code == 422
    assert field_errors(response.text, "caption") == [
        "Caption should have at most 2200 characters."
    ]
    assert '<details class="disclosure" open>' in response.text
    assert '<p class="caption">Kept</p>' in site.get(f"/p/{photo_id}").text


def test_strangers_cannot_edit_or_delete(
    site: FlaskClient, other_browser: FlaskClient, new_browser: Any
) -> None:
    sign_up(site)
    photo_id = uploaded(site, images.jpeg(800, 600), "Mine")
    finish_jobs(site)
    sign_up(other_browser)
    token = csrf_token(other_browser, f"/p/{photo_id}")

    for action, data in (("caption", {"caption": "Theirs"}), ("caption", {"caption": "z" * 3000})):
        response = other_browser.post(f"/p/{photo_id}/{action}", data={**data, "csrf_token": token})
        assert response.status_code == 403
        assert "Only the photo&#39;s owner may change it." in response.text or (
            "You are not allowed to do that." in response.text
        )
    response = other_browser.post(f"/p/{photo_id}/delete", data={"csrf_token": token})
    assert response.status_code == 403

    signed_out = new_browser()
    response = signed_out.post(f"/p/{photo_id}/delete", data={"csrf_token": "forged"})
    assert response.status_code == 400

    page = site.get(f"/p/{photo_id}")
    assert page.status_code == 200
    assert '<p class="caption">Mine</p>' in page.text


def test_signed_out_edits_are_sent_to_log_in(site: FlaskClient, new_browser: Any) -> None:
    sign_up(site)
    photo_id = uploaded(site, images.jpeg(800, 600), "Mine")
    finish_jobs(site)
    signed_out = new_browser()
    token = csrf_token(signed_out, "/login")

    response = signed_out.post(
        f"/p/{photo_id}/caption", data={"caption": "Theirs", "csrf_token": token}
    )

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert '<p class="caption">Mine</p>' in site.get(f"/p/{photo_id}").text


def test_the_owner_deletes_a_photo(site: FlaskClient, other_browser: FlaskClient) -> None:
    account = sign_up(site)
    photo_id = uploaded(site, images.jpeg(800, 600), "Soon gone")
    finish_jobs(site)
    page = site.get(f"/p/{photo_id}").text
    assert '<details class="disclosure danger">' in page  # behind a disclosure, not a lone button

    response = submit(site, f"/p/{photo_id}", {}, action=f"/p/{photo_id}/delete")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/u/{account['username']}"
    profile = site.get(response.headers["Location"]).text
    assert "Your photo is deleted." in profile
    assert grid_links(profile) == []
    assert "You have not shared any photos yet." in profile
    assert site.get(f"/p/{photo_id}").status_code == 404
    assert other_browser.get(f"/p/{photo_id}").status_code == 404
    again = submit(site, "/upload", {}, action=f"/p/{photo_id}/delete")
    assert again.status_code == 404


# The profile grid


def test_the_profile_shows_a_grid_newest_first(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    account = sign_up(site)
    ids = [uploaded(site, images.jpeg(640, 480, seed=seed)) for seed in (1, 2, 3)]
    finish_jobs(site)

    for browser in (site, other_browser):
        page = browser.get(f"/u/{account['username']}").text
        assert grid_links(page) == ids[::-1]
        for photo_id in ids:
            thumb = f'<img src="/media/photos/{photo_id}/thumb.webp" width="320" height="320"'
            assert f'{thumb} loading="lazy"' in page
        assert (
            len(
                re.findall(
                    r'class="tile-link" href="[^"]+" style="background-color: #[0-9a-f]{6}"', page
                )
            )
            == 3
        )
        assert "Processing</span>" not in page


def test_the_profile_grid_pages_with_more_photos(
    site: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profiles, "PHOTOS_PER_PAGE", 2)
    account = sign_up(site)
    ids = [uploaded(site, images.jpeg(320, 240, seed=seed)) for seed in (1, 2, 3)]

    first = site.get(f"/u/{account['username']}").text
    more = re.search(r'href="(/u/[^"?]+\?cursor=[^"]+)">More photos<', first)

    assert grid_links(first) == [ids[2], ids[1]]
    assert more is not None
    second = site.get(html.unescape(more.group(1))).text
    assert grid_links(second) == [ids[0]]
    assert "More photos" not in second
    assert site.get(f"/u/{account['username']}?cursor=not-a-cursor").status_code == 404


def test_the_empty_profile_invites_its_owner_to_upload(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    account = sign_up(site)

    own = site.get(f"/u/{account['username']}").text
    theirs = other_browser.get(f"/u/{account['username']}").text

    assert "You have not shared any photos yet." in own
    assert 'href="/upload"' in own.split("<main", 1)[1]
    assert "No photos yet." in theirs
    assert 'href="/upload"' not in theirs


def test_captions_are_shown_as_text_not_run(site: FlaskClient, other_browser: FlaskClient) -> None:
    account = sign_up(site)
    caption = f'"><img src=x onerror=alert(1)>{SCRIPT}'
    photo_id = uploaded(site, images.jpeg(640, 480), caption)
    finish_jobs(site)

    pages = [
        site.get(f"/p/{photo_id}").text,
        other_browser.get(f"/p/{photo_id}").text,
        site.get(f"/u/{account['username']}").text,
    ]
    log_out(site)
    pages.append(site.get(f"/p/{photo_id}").text)

    for page in pages:
        assert "<script>alert" not in page
        assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in pages[0]
    assert image_tag(pages[1])["alt"] == caption
