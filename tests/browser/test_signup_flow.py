"""A person's first visit, in a real browser against the real server: sign up, look at the
profile, log out and in again, edit the profile, log out."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

PASSWORD = "violet-harbour-42"


@pytest.mark.browser
def test_sign_up_log_out_log_in_edit_profile(
    server: str, chromium: Browser, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(10_000)

    # Sign up from the home page.
    page.goto(server + "/")
    page.get_by_role("link", name="Sign up").first.click()
    expect(page).to_have_title("Sign up · Snapscale")
    page.get_by_label("Username").fill("ada.lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Display name").fill("Ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    expect(page).to_have_url(server + "/u/ada.lovelace")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada")
    expect(page.get_by_text("Welcome to Snapscale, @ada.lovelace!")).to_be_visible()
    page.screenshot(path=shots / "1-profile.png", full_page=True)

    # Log out, then back in with the email address.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Username or email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Welcome back, @ada.lovelace.")).to_be_visible()
    page.screenshot(path=shots / "2-home.png", full_page=True)

    # Edit the profile in settings; the profile page shows it.
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Display name").fill("Ada Lovelace")
    page.get_by_label("Bio").fill("Poet of numbers.\nFirst programmer.")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    page.screenshot(path=shots / "3-settings.png", full_page=True)

    page.get_by_role("link", name="@ada.lovelace").click()
    expect(page).to_have_url(server + "/u/ada.lovelace")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(page.get_by_text("Poet of numbers.")).to_be_visible()
    expect(page.get_by_text("First programmer.")).to_be_visible()
    page.screenshot(path=shots / "4-profile-edited.png", full_page=True)

    # Log out for good.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto(server + "/settings")
    expect(page).to_have_url(server + "/login?next=%2Fsettings")
    page.screenshot(path=shots / "5-logged-out.png", full_page=True)
