"""Logging in and out, and what keeps a session safe."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.web.helpers import (
    PASSWORD,
    SESSION_COOKIE,
    csrf_token,
    csrf_token_in,
    is_signed_in,
    log_in,
    log_out,
    session_id,
    sign_up,
    submit,
    without_form_echo,
)


@pytest.fixture
def account(other_browser: FlaskClient) -> dict[str, str]:
    """An existing account, signed up in another browser so `site` starts signed out."""
    return sign_up(other_browser)


@pytest.mark.parametrize("login_with", ["username", "email"])
def test_logging_in_with_username_or_email(
    site: FlaskClient, account: dict[str, str], login_with: str
) -> None:
    response = log_in(site, account[login_with].upper())

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = site.get("/")
    assert f"Welcome back, @{account['username']}." in home.text
    assert "Your feed" in home.text
    assert account["display_name"] in home.text
    assert is_signed_in(site)


def test_wrong_password_and_unknown_account_look_the_same(
    site: FlaskClient, account: dict[str, str]
) -> None:
    wrong_password = log_in(site, account["username"], "not-the-password-1")
    unknown_user = log_in(site, "nobody.here", "not-the-password-1")

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "Incorrect username, email or password." in wrong_password.text
    assert without_form_echo(wrong_password.text) == without_form_echo(unknown_user.text)
    assert "not-the-password-1" not in wrong_password.text
    assert not is_signed_in(site)


def test_a_login_no_account_can_have_is_just_wrong(
    site: FlaskClient, account: dict[str, str]
) -> None:
    wrong_password = log_in(site, account["username"], "not-the-password-1")
    impossible = log_in(site, "ada\x00lovelace", "not-the-password-1")

    assert impossible.status_code == 401
    assert without_form_echo(impossible.text) == without_form_echo(wrong_password.text)


def test_an_empty_login_form_asks_for_both_fields(site: FlaskClient) -> None:
    response = submit(site, "/login", {"login": "", "password": ""})

    assert response.status_code == 422
    assert response.text.count('aria-invalid="true"') == 2
    assert not is_signed_in(site)


SAME_SITE = ["/settings", "/u/someone?tab=photos"]
OTHER_SITES = [
    "//evil.example",
    "///evil.example",
    "https://evil.example",
    "https://evil.example/settings",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "evil.example",
]


@pytest.mark.parametrize(
    ("target", "lands_on"),
    [(path, path) for path in SAME_SITE] + [(url, "/") for url in OTHER_SITES],
)
def test_log_in_returns_to_same_site_pages_only(
    site: FlaskClient, account: dict[str, str], target: str, lands_on: str
) -> None:
    token = csrf_token(site, "/login")
    response = site.post(
        "/login",
        query_string={"next": target},
        data={"login": account["username"], "password": PASSWORD, "csrf_token": token},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == lands_on


def test_a_page_that_needs_an_account_sends_to_log_in_and_back(
    site: FlaskClient, account: dict[str, str]
) -> None:
    response = site.get("/settings")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")

    login_page = site.get(response.headers["Location"])
    assert "Log in to see that page." in login_page.text
    token = csrf_token_in(login_page.text, response.headers["Location"])
    back = site.post(
        response.headers["Location"],
        data={"login": account["email"], "password": PASSWORD, "csrf_token": token},
    )
    assert back.status_code == 302
    assert back.headers["Location"] == "/settings"
    assert site.get("/settings").status_code == 200


def test_log_out_ends_the_session(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    sign_up(site)
    old_session = session_id(site)
    assert old_session is not None

    response = log_out(site)

    assert response.status_code == 302
    assert session_id(site) != old_session
    assert "You are logged out." in site.get("/").text
    assert not is_signed_in(site)
    # The old cookie is worthless even to someone who kept a copy of it.
    thief = new_browser()
    thief.set_cookie(SESSION_COOKIE, old_session)
    assert not is_signed_in(thief)
    assert thief.get("/settings").status_code == 302


def test_log_out_only_answers_a_post(site: FlaskClient) -> None:
    sign_up(site)

    response = site.get("/logout")

    assert response.status_code == 405
    assert is_signed_in(site)


def test_logged_in_people_are_sent_home_from_log_in(site: FlaskClient) -> None:
    sign_up(site)

    response = site.get("/login")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_session_id_changes_at_log_in(
    site: FlaskClient, account: dict[str, str], new_browser: Callable[[], FlaskClient]
) -> None:
    site.get("/login")
    planted = session_id(site)
    assert planted is not None

    log_in(site, account["username"])

    assert session_id(site) not in {None, planted}
    assert is_signed_in(site)
    # Whoever planted the id before log-in did not get a signed-in session with it.
    attacker = new_browser()
    attacker.set_cookie(SESSION_COOKIE, planted)
    assert not is_signed_in(attacker)


def test_the_session_cookie_is_httponly_and_samesite_lax(site: FlaskClient) -> None:
    response = site.get("/login")

    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE)]
    assert len(cookies) == 1
    attributes = {part.strip().split("=")[0].lower(): part for part in cookies[0].split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=lax"
    cookie = site.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"
