"""Two-factor sign-in in a real browser against the real server: turn it on from the
settings with a code from the secret the page shows, keep the recovery codes, then log
out and back in with the password and a code."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.support.two_factor import code_now, next_code, wrong_code

PASSWORD = "violet-harbour-42"


@pytest.mark.browser
def test_turn_on_two_factor_then_log_in_with_a_code(
    server: str, chromium: Browser, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(10_000)

    page.goto(server + "/signup")
    page.get_by_label("Username").fill("grace.h")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(server + "/u/grace.h")

    # Settings, then the two-factor page: set it up with the secret it shows.
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Two-factor sign-in settings").click()
    expect(page.get_by_text("Two-factor sign-in is off")).to_be_visible()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    secret = page.get_by_label("Secret key").inner_text().replace(" ", "")
    page.screenshot(path=shots / "1-secret.png", full_page=True)
    page.get_by_label("Code").fill(code_now(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.get_by_role("list", name="Recovery codes").locator("li")).to_have_count(10)
    page.screenshot(path=shots / "2-recovery-codes.png", full_page=True)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("10 unused recovery codes")).to_be_visible()

    # Log out; logging in now asks for a code after the password.
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Username or email").fill("grace.h")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    page.get_by_label("Code").fill(wrong_code(secret))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("That code is wrong, expired or already used.")).to_be_visible()
    page.screenshot(path=shots / "3-wrong-code.png", full_page=True)

    # The code that turned it on was used; the app's next one is the phone running ahead.
    page.get_by_label("Code").fill(next_code(secret))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Welcome back, @grace.h.")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
