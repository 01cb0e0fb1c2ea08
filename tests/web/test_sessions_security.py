"""What keeps a site session safe beyond the basics in test_login.py: the cookie is Secure
over HTTPS, and log-out and a password change end sessions in the server-side store,
so a copy of an old cookie (with or without the form token it came with) is worthless."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from snapscale.config import Settings
from snapscale.web.app import create_site
from snapscale.web.core_access import EXTENSION_KEY
from tests.web.helpers import (
    PASSWORD,
    SESSION_COOKIE,
    csrf_token,
    is_signed_in,
    log_in,
    log_out,
    session_id,
    sign_up,
    submit,
)

NEW_PASSWORD = "amber-lantern-77"


@pytest.fixture
def site_behind_proxy(settings: Settings) -> Iterator[Flask]:
    """A site behind a TLS-terminating proxy at 10.0.0.5, with cookie_secure left off."""
    app = create_site(
        settings.model_copy(update={"forwarded_allow_ips": "10.0.0.5", "cookie_secure": False})
    )
    app.config["TESTING"] = True
    yield app
    app.extensions[EXTENSION_KEY].close()


def session_cookie_attributes(set_cookies: list[str]) -> set[str]:
    [cookie] = [c for c in set_cookies if c.startswith(f"{SESSION_COOKIE}=")]
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def stored_session(client: FlaskClient, sid: str) -> object:
    """The session record the server keeps under ``sid`` (None when there is none)."""
    config = client.application.config
    if config["SESSION_TYPE"] == "redis":
        return config["SESSION_REDIS"].get(config["SESSION_KEY_PREFIX"] + sid)
    return config["SESSION_CACHELIB"].get("session:" + sid)


def change_password(client: FlaskClient) -> None:
    response = submit(
        client,
        "/settings",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        action="/settings/password",
    )
    assert response.status_code == 302, response.text


def test_over_https_the_session_cookie_is_secure_even_when_not_configured(
    site_behind_proxy: Flask,
) -> None:
    proxy = site_behind_proxy.test_client()
    proxy.environ_base["REMOTE_ADDR"] = "10.0.0.5"
    over_https = proxy.get("/login", headers={"X-Forwarded-Proto": "https"})
    direct_https = site_behind_proxy.test_client().get("/login", base_url="https://localhost")
    plain = site_behind_proxy.test_client().get("/login")

    for response in (over_https, direct_https):
        attributes = session_cookie_attributes(response.headers.getlist("Set-Cookie"))
        assert {"secure", "httponly", "samesite=lax"} <= attributes
    # A development server on plain HTTP keeps a cookie it can use.
    assert "secure" not in session_cookie_attributes(plain.headers.getlist("Set-Cookie"))


def test_log_out_deletes_the_session_from_the_store(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    account = sign_up(site)
    old_session = session_id(site)
    assert old_session is not None
    old_token = csrf_token(site, "/settings")
    assert stored_session(site, old_session) is not None

    assert log_out(site).status_code == 302

    assert stored_session(site, old_session) is None
    # Someone who copied the cookie and a form's token replays both: nothing happens.
    thief = new_browser()
    thief.set_cookie(SESSION_COOKIE, old_session)
    assert not is_signed_in(thief)
    replayed = thief.post(
        "/settings/profile",
        data={
            "display_name": "Stolen",
            "email": account["email"],
            "bio": "",
            "csrf_token": old_token,
        },
    )
    assert replayed.status_code == 400
    assert "Your form expired" in replayed.text
    assert "Stolen" not in site.get(f"/u/{account['username']}").text


def test_a_password_change_retires_this_browsers_old_session_id_too(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    sign_up(site)
    before_change = session_id(site)
    assert before_change is not None

    change_password(site)

    after_change = session_id(site)
    assert after_change not in {None, before_change}
    assert is_signed_in(site)
    assert stored_session(site, before_change) is None
    thief = new_browser()
    thief.set_cookie(SESSION_COOKIE, before_change)
    assert not is_signed_in(thief)


def test_after_a_password_change_another_browsers_forms_do_nothing(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    """The other browser's session still holds a valid form token; it is the account check
    on the server that turns it away, on every request."""
    account = sign_up(site)
    assert log_in(other_browser, account["username"]).status_code == 302
    token = csrf_token(other_browser, "/settings")

    change_password(site)

    response = other_browser.post(
        "/settings/profile",
        data={
            "display_name": "Changed on the old session",
            "email": account["email"],
            "bio": "",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert "Changed on the old session" not in site.get(f"/u/{account['username']}").text
    assert not is_signed_in(other_browser)
    assert is_signed_in(site)


def test_an_unknown_session_id_is_not_adopted(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    """An id the server never issued (planted by an attacker, say) is replaced, not used."""
    planted = "attacker-chosen-session-id"
    site.set_cookie(SESSION_COOKIE, planted)

    sign_up(site)

    assert session_id(site) != planted
    assert stored_session(site, planted) is None
    attacker = new_browser()
    attacker.set_cookie(SESSION_COOKIE, planted)
    assert not is_signed_in(attacker)
    assert attacker.get("/settings").status_code == 302
