"""A person's first visit, in a real browser against the real server: sign up, look at the
profile, log out and in again, edit the profile, log out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
STARTUP_SECONDS = 30
PASSWORD = "violet-harbour-42"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`snapscale serve` in embedded mode on a free loopback port; yields its base URL."""
    port = free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPSCALE_")}
    env["SNAPSCALE_DATA_DIR"] = str(data_dir)
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "snapscale",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=tmp_path,  # away from any .env in the checkout
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, process, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not answer /healthz in {STARTUP_SECONDS}s:\n{log.read_text()}")


@pytest.mark.browser
def test_sign_up_log_out_log_in_edit_profile(server: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package "
            "(sudo apt-get install chromium) to run the browser tests"
        )
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(10_000)
            expect.set_options(timeout=10_000)

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
        finally:
            browser.close()
