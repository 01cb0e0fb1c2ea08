"""Posting photos in a real browser against the real server: the upload form with its
progress bar, a refused file, the photo page once processed, the profile grid; and the
same upload with JavaScript off."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import images

PASSWORD = "violet-harbour-42"
READY_SECONDS = 30
# Slow enough that the progress bar is on screen for a while (about 1.5 s for the photo).
UPLOAD_BYTES_PER_SECOND = 150 * 1024
UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


def sign_up(page: Page, server: str, username: str) -> None:
    page.goto(server + "/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(f"{server}/u/{username}")


def image_loaded(page: Page, selector: str) -> None:
    """Wait (bounded) until the image is decoded, then check the browser really has pixels."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return !!i && i.complete; }",
        arg=selector,
        # A timer, not animation frames: a page with JavaScript off never asks for a frame.
        polling=100,
        timeout=READY_SECONDS * 1000,
    )
    assert page.locator(selector).evaluate("i => i.naturalWidth") > 0


@pytest.mark.browser
def test_upload_with_progress_then_see_the_photo_and_the_grid(
    server: str, chromium: Browser, tmp_path: Path
) -> None:
    photo = tmp_path / "harbour.jpg"
    photo.write_bytes(images.jpeg(1200, 900))
    not_a_photo = tmp_path / "drawing.svg"
    not_a_photo.write_bytes(images.svg())
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(10_000)
    sign_up(page, server, "grace")

    page.get_by_role("link", name="Upload").first.click()
    expect(page).to_have_title("Upload a photo · Snapscale")

    # A refused file: the server's message appears under the field, without a page load.
    page.get_by_label("Photo", exact=True).set_input_files(not_a_photo)
    page.get_by_label("Caption").fill("Harbour at dusk\nlow tide")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Only JPEG, PNG and WebP images are accepted.")).to_be_visible()
    expect(page).to_have_url(server + "/upload")
    expect(page.get_by_label("Caption")).to_have_value("Harbour at dusk\nlow tide")

    # A real photo, on a slow uplink: the progress bar moves, then the photo page opens.
    page.get_by_label("Photo", exact=True).set_input_files(photo)
    expect(page.locator(".upload-preview")).to_be_visible()  # the script is running
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {**UNTHROTTLED, "uploadThroughput": UPLOAD_BYTES_PER_SECOND},
    )
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/upload")) as sent:
        page.get_by_role("button", name="Upload").click()
        expect(page.locator(".upload-progress progress")).to_be_visible()
        expect(page.locator(".upload-status")).to_contain_text(re.compile(r"Uploading… \d+%"))
        expect(page.get_by_role("button", name="Upload")).to_be_disabled()
    assert sent.value.headers.get("x-requested-with") == "XMLHttpRequest"
    expect(page).to_have_url(re.compile(re.escape(server) + r"/p/[0-9]+$"))
    cdp.send("Network.emulateNetworkConditions", {**UNTHROTTLED, "uploadThroughput": -1})
    expect(page.get_by_text("Uploaded. We're preparing your photo…")).to_be_visible()
    photo_url = page.url

    # Processing takes a moment; the page refreshes itself until the photo is ready.
    expect(page.locator("img.photo")).to_be_visible(timeout=READY_SECONDS * 1000)
    image_loaded(page, "img.photo")
    expect(page.locator("p.caption")).to_have_text("Harbour at dusk\nlow tide")
    assert page.locator("img.photo").get_attribute("alt") == "Harbour at dusk low tide"
    page.screenshot(path=tmp_path / "photo.png", full_page=True)

    # The profile shows it in the grid.
    page.get_by_role("link", name="@grace", exact=True).click()
    tile = page.locator(".photo-grid a.tile-link")
    expect(tile).to_have_count(1)
    assert tile.get_attribute("href") == photo_url.removeprefix(server)
    image_loaded(page, ".photo-grid img")


@pytest.mark.browser
def test_upload_works_with_javascript_off(server: str, chromium: Browser, tmp_path: Path) -> None:
    photo = tmp_path / "field.png"
    photo.write_bytes(images.png(640, 480, seed=3))
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_up(page, server, "linus")

    page.goto(server + "/upload")
    page.get_by_label("Photo", exact=True).set_input_files(photo)
    page.get_by_role("button", name="Upload").click()

    expect(page).to_have_url(re.compile(re.escape(server) + r"/p/[0-9]+$"))
    expect(page.get_by_text("Uploaded. We're preparing your photo…")).to_be_visible()
    expect(page.locator("img.photo")).to_be_visible(timeout=READY_SECONDS * 1000)
    image_loaded(page, "img.photo")
    context.close()
