"""The settings page: the profile others see, the email, and the password."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.web.helpers import PASSWORD, is_signed_in, log_in, sign_up, submit

NEW_PASSWORD = "lantern-meadow-77"


def field_value(page: str, name: str) -> str | None:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    return found.group(1) if found else None


def test_settings_show_the_current_profile(site: FlaskClient) -> None:
    account = sign_up(site)

    page = site.get("/settings")

    assert page.status_code == 200
    assert field_value(page.text, "display_name") == account["display_name"]
    assert field_value(page.text, "email") == account["email"]


def test_profile_edits_show_on_the_profile_page(site: FlaskClient) -> None:
    account = sign_up(site)
    # Seen once before the edit, so a cached copy of the old profile would show up below.
    assert account["display_name"] in site.get(f"/u/{account['username']}").text

    response = submit(
        site,
        "/settings",
        {
            "display_name": "Ada Lovelace",
            "email": "ada@analytical.example",
            "bio": "Poet of numbers.\nFirst programmer.",
        },
        action="/settings/profile",
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/settings"
    settings_page = site.get("/settings")
    assert "Your profile is saved." in settings_page.text
    assert field_value(settings_page.text, "email") == "ada@analytical.example"
    profile = site.get(f"/u/{account['username']}")
    assert "Ada Lovelace" in profile.text
    assert "Poet of numbers.\nFirst programmer." in profile.text
    assert account["display_name"] not in profile.text
    assert "Ada Lovelace" in site.get("/people").text


def test_the_new_email_logs_in_and_the_old_one_does_not(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    account = sign_up(site)
    submit(
        site,
        "/settings",
        # Typed with spaces around it, which are not part of the address.
        {"display_name": "", "email": " fresh@example.com ", "bio": ""},
        action="/settings/profile",
    )

    assert log_in(other_browser, account["email"]).status_code == 401
    assert log_in(other_browser, "fresh@example.com").status_code == 302


def test_bad_profile_edits_are_explained_and_not_kept(site: FlaskClient) -> None:
    account = sign_up(site)

    response = submit(
        site,
        "/settings",
        {"display_name": "x" * 61, "email": "not-an-email", "bio": "kept?"},
        action="/settings/profile",
    )

    assert response.status_code == 422
    assert "at most 60 characters" in response.text
    assert "not a valid email address" in response.text
    profile = site.get(f"/u/{account['username']}")
    assert account["display_name"] in profile.text
    assert "kept?" not in profile.text


def test_an_email_in_use_is_refused(site: FlaskClient, other_browser: FlaskClient) -> None:
    taken = sign_up(other_browser)
    account = sign_up(site)

    response = submit(
        site,
        "/settings",
        {"display_name": "", "email": taken["email"], "bio": ""},
        action="/settings/profile",
    )

    assert response.status_code == 422
    assert "Email is in use." in response.text
    assert field_value(site.get("/settings").text, "email") == account["email"]


def change_password(client: FlaskClient, current: str, new: str) -> str:
    response = submit(
        client,
        "/settings",
        {"current_password": current, "new_password": new},
        action="/settings/password",
        follow_redirects=True,
    )
    return response.text


def test_a_wrong_current_password_is_refused(site: FlaskClient, other_browser: FlaskClient) -> None:
    account = sign_up(site)

    page = change_password(site, "not-my-password", NEW_PASSWORD)

    assert "is not your current password" in page
    assert is_signed_in(site)
    assert log_in(other_browser, account["username"], NEW_PASSWORD).status_code == 401
    assert log_in(other_browser, account["username"], PASSWORD).status_code == 302


def test_a_common_new_password_is_refused(site: FlaskClient) -> None:
    sign_up(site)

    page = change_password(site, PASSWORD, "password123")

    assert "too common" in page
    assert is_signed_in(site)


def test_changing_the_password_logs_out_other_browsers_only(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    account = sign_up(site)
    log_in(other_browser, account["username"])
    assert is_signed_in(other_browser)

    page = change_password(site, PASSWORD, NEW_PASSWORD)

    assert "Your password is changed. Other devices have been logged out." in page
    assert is_signed_in(site)
    assert site.get("/settings").status_code == 200
    assert not is_signed_in(other_browser)
    assert other_browser.get("/settings").status_code == 302
    assert log_in(other_browser, account["username"], PASSWORD).status_code == 401
    assert log_in(other_browser, account["username"], NEW_PASSWORD).status_code == 302
