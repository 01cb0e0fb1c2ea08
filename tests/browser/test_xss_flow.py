"""Markup typed into every field, opened in a real browser against the real server: no
script runs (no dialog opens), nothing is injected into the page, and the text reads as
it was typed."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect

from tests.support import images

PASSWORD = "violet-harbour-42"
READY_SECONDS = 30
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
TEXT = f"javascript:alert(1) {SCRIPT} {BREAKOUT} '><svg onload=alert(1)>"
NAME = BREAKOUT + SCRIPT
BIO = f"Bio: {TEXT}"
CAPTION = f"Caption: {TEXT}"
COMMENT = f"Comment: {TEXT}"
# Anything the payloads would have put into the page, had it been written as markup.
INJECTED = "script:not([src]), img[src='x'], [onerror], [onload]"


def hostile_account(server: str) -> str:
    """Mallory, through the API: markup in her name, bio, a caption and a comment.
    Returns her processed photo's id."""
    with httpx.Client(base_url=server, timeout=10) as http:
        registered = http.post(
            "/api/v1/auth/register",
            json={
                "username": "mallory",
                "email": "mallory@example.com",
                "password": PASSWORD,
                "display_name": NAME,
            },
        )
        assert registered.status_code == 201, registered.text
        token = http.post("/api/v1/auth/token", data={"username": "mallory", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert http.patch("/api/v1/users/me", json={"bio": BIO}, headers=headers).is_success
        uploaded = http.post(
            "/api/v1/photos",
            headers=headers,
            files={"file": ("photo.jpg", images.jpeg(320, 240), "image/jpeg")},
            data={"caption": CAPTION},
        )
        assert uploaded.status_code == 202, uploaded.text
        photo_id: str = uploaded.json()["id"]
        deadline = time.monotonic() + READY_SECONDS
        while http.get(f"/api/v1/photos/{photo_id}", headers=headers).json()["status"] != "ready":
            assert time.monotonic() < deadline, f"photo {photo_id} was not processed in time"
            time.sleep(0.2)
        commented = http.post(
            f"/api/v1/photos/{photo_id}/comments", json={"text": COMMENT}, headers=headers
        )
        assert commented.status_code == 201, commented.text
    return photo_id


def assert_nothing_injected(page: Page) -> None:
    assert page.locator(INJECTED).count() == 0, page.url


@pytest.mark.browser
def test_markup_in_every_field_never_runs(server: str, chromium: Browser) -> None:
    photo_id = hostile_account(server)
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(10_000)
    dialogs: list[str] = []
    blocked: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(f"{page.url}: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(f"{page.url}: {message.text}")  # something tried to run

    page.on("dialog", on_dialog)
    page.on("console", on_console)

    for path in ("/", "/people"):  # the newest members, by name
        page.goto(server + path)
        expect(page.get_by_text(NAME, exact=True).first).to_be_visible()
        assert_nothing_injected(page)
    page.goto(server + "/explore")
    expect(page.locator(f"a[href='/p/{photo_id}'] img")).to_have_attribute(
        "alt", CAPTION[:99] + "…"
    )
    assert_nothing_injected(page)

    page.goto(server + "/u/mallory")
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
    expect(page.locator(".bio")).to_have_text(BIO)
    assert_nothing_injected(page)

    page.goto(f"{server}/p/{photo_id}")
    expect(page.locator(".caption")).to_have_text(CAPTION)
    expect(page.locator(".comment-text")).to_have_text(COMMENT)
    expect(page.locator("img.photo")).to_have_attribute("alt", CAPTION)
    assert_nothing_injected(page)

    # Her own settings page puts the text back into the form's fields.
    page.goto(server + "/login")
    page.get_by_label("Username or email").fill("mallory")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(server + "/settings")
    expect(page.get_by_label("Display name")).to_have_value(NAME)
    expect(page.get_by_label("Bio")).to_have_value(BIO)
    assert_nothing_injected(page)
    page.goto(server + "/")  # her feed, with her own photo on it
    expect(page.locator(f"#photo-{photo_id} .caption")).to_have_text(CAPTION)
    assert_nothing_injected(page)

    assert dialogs == []
    assert blocked == []
    page.close()
