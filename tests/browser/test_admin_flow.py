"""The admin dashboard in a real browser against the real server: its charts are drawn,
and its figures move while the page stays open as people sign up and upload."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.support import images

PASSWORD = "violet-harbour-42"
# The dashboard polls every 5 s; give it a few rounds.
LIVE_SECONDS = 20


def create_admin(data_dir: Path, username: str) -> None:
    """`snapscale create-admin`, as an operator runs it beside the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPSCALE_")}
    env.update(SNAPSCALE_DATA_DIR=str(data_dir), SNAPSCALE_ADMIN_PASSWORD=PASSWORD)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "snapscale",
            "create-admin",
            "--username",
            username,
            "--email",
            f"{username}@example.com",
        ],
        cwd=data_dir.parent,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def log_in(page: Page, server: str, username: str) -> None:
    page.goto(server + "/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


@pytest.mark.browser
def test_the_dashboard_updates_itself_as_the_site_is_used(
    server: str, chromium: Browser, tmp_path: Path
) -> None:
    create_admin(tmp_path / "data", "boss")
    admin = chromium.new_page(viewport={"width": 1280, "height": 900})
    admin.set_default_timeout(10_000)
    problems: list[str] = []
    admin.on("console", lambda m: _note_error(m, problems))
    admin.on("pageerror", lambda error: problems.append(str(error)))
    log_in(admin, server, "boss")

    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(admin).to_have_title("Admin dashboard · Snapscale")
    users_total = admin.locator('[data-figure="users_total"]')
    expect(users_total).to_have_text("1")
    for chart in ("requests", "error_rate", "p99", "uploads"):
        # Drawn by the script from the polled series: one point a minute, 30 minutes.
        expect(admin.locator(f'[data-chart="{chart}"] path.chart-line')).to_have_count(1)
    expect(admin.locator('[data-chart="uploads"]')).to_have_attribute("data-latest", "0")
    admin.evaluate("window.stillTheSamePage = true")

    # Someone signs up and uploads a photo in another browser...
    photo = tmp_path / "dune.jpg"
    photo.write_bytes(images.jpeg(900, 600))
    member = chromium.new_page()
    member.set_default_timeout(10_000)
    member.goto(server + "/signup")
    member.get_by_label("Username").fill("sandy")
    member.get_by_label("Email").fill("sandy@example.com")
    member.get_by_label("Password").fill(PASSWORD)
    member.get_by_role("button", name="Sign up").click()
    member.goto(server + "/upload")
    member.get_by_label("Photo", exact=True).set_input_files(photo)
    member.get_by_role("button", name="Upload").click()
    expect(member.get_by_text("Uploaded. We're preparing your photo…")).to_be_visible()

    # ...and the open dashboard shows it without being reloaded.
    expect(users_total).to_have_text("2", timeout=LIVE_SECONDS * 1000)
    expect(admin.locator('[data-chart="uploads"]')).to_have_attribute(
        "data-latest", "1", timeout=LIVE_SECONDS * 1000
    )
    expect(admin.locator('[data-figure="photos_total"]')).to_have_text("1")
    assert admin.evaluate("window.stillTheSamePage") is True
    label = admin.locator('[data-chart="uploads"] svg').get_attribute("aria-label")
    assert label == "Uploads per minute, last 30 minutes: now 1, highest 1"
    admin.screenshot(path=tmp_path / "admin-dashboard.png", full_page=True)
    assert problems == []


def _note_error(message: ConsoleMessage, problems: list[str]) -> None:
    # Anything the browser complains about (a script error, a blocked resource) counts.
    if message.type == "error":
        problems.append(message.text)
