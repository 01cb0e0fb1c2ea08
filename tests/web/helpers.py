"""Small helpers for driving the site like a browser would: read the form, post it back."""

from __future__ import annotations

import html
import re
from itertools import count

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from snapscale.config import Settings
from snapscale.web.app import create_site

SESSION_COOKIE = "snapscale_session"
PASSWORD = "violet-harbour-42"

_CSRF = re.compile(r'name="csrf_token"[^>]*\bvalue="([^"]+)"')
_numbers = count(1)


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the first form on the page at ``path``, as a browser would see it."""
    response = client.get(path)
    assert response.status_code == 200, f"GET {path} gave {response.status_code}"
    return csrf_token_in(response.text, path)


def csrf_token_in(page: str, path: str) -> str:
    """The CSRF token of the first form in ``page``, the HTML served at ``path``."""
    found = _CSRF.search(page)
    assert found is not None, f"no csrf_token field on {path}"
    return html.unescape(found.group(1))


def submit(
    client: FlaskClient,
    form_page: str,
    data: dict[str, str],
    *,
    action: str | None = None,
    follow_redirects: bool = False,
) -> TestResponse:
    """Open ``form_page``, then post ``data`` with its CSRF token to ``action`` (or the page)."""
    token = csrf_token(client, form_page)
    return client.post(
        action or form_page,
        data={**data, "csrf_token": token},
        follow_redirects=follow_redirects,
    )


def new_user(prefix: str = "user") -> dict[str, str]:
    """Sign-up data no other test uses."""
    n = next(_numbers)
    return {
        "username": f"{prefix}{n}",
        "email": f"{prefix}{n}@example.com",
        "display_name": f"{prefix.title()} Number {n}",
        "password": PASSWORD,
    }


def sign_up(client: FlaskClient, **overrides: str) -> dict[str, str]:
    """Sign up a new account on ``client``; returns what was submitted."""
    data = {**new_user(), **overrides}
    response = submit(client, "/signup", data)
    assert response.status_code == 302, response.text
    return data


def log_in(client: FlaskClient, login: str, password: str = PASSWORD) -> TestResponse:
    return submit(client, "/login", {"login": login, "password": password})


def log_out(client: FlaskClient) -> TestResponse:
    return submit(client, "/", {}, action="/logout")


def session_id(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(SESSION_COOKIE)
    return cookie.value if cookie is not None else None


def is_signed_in(client: FlaskClient) -> bool:
    """What a person sees: the page header offers "Log out" only to the signed in."""
    return ">Log out<" in client.get("/").text


DEFAULT_ADDRESS = "192.0.2.10"


class Sites:
    """Site apps on the test's settings (with changes), and browsers on a chosen address."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.apps: list[Flask] = []

    def start(self, **changes: object) -> Flask:
        app = create_site(self.settings.model_copy(update=changes))
        app.config["TESTING"] = True
        self.apps.append(app)
        return app

    @staticmethod
    def browser(app: Flask, address: str = DEFAULT_ADDRESS) -> FlaskClient:
        browser = app.test_client()
        browser.environ_base["REMOTE_ADDR"] = address
        return browser


def without_form_echo(page: str) -> str:
    """The page minus what differs between any two requests: the token and the typed login."""
    page = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", page)
    return re.sub(r'name="login"[^>]*value="[^"]*"', "", page)
