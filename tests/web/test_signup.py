"""Signing up: a new account lands on its profile, signed in; bad input is explained."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from tests.web.helpers import PASSWORD, is_signed_in, new_user, sign_up, submit


def field_errors(page: str) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'<p class="error"[^>]*>([^<]*)</p>', page)]


def errors_by_field(page: str) -> dict[str, list[str]]:
    """Which field each error message is shown under, as a person reading the page sees it."""
    shown: dict[str, list[str]] = {}
    for block in re.findall(r'<div class="field has-error">(.*?)</div>', page, re.DOTALL):
        name = re.search(r'<label for="([^"]+)"', block)
        assert name is not None
        shown[name.group(1)] = field_errors(block)
    return shown


def test_signing_up_opens_the_new_profile_signed_in(site: FlaskClient) -> None:
    data = new_user("ada")

    response = submit(site, "/signup", data)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/u/{data['username']}"
    profile = site.get(response.headers["Location"])
    assert profile.status_code == 200
    assert data["display_name"] in profile.text
    assert f"Welcome to Snapscale, @{data['username']}!" in profile.text
    assert "Edit profile" in profile.text
    assert is_signed_in(site)


def test_usernames_are_kept_lower_case(site: FlaskClient) -> None:
    data = sign_up(site, username="Grace.Hopper")

    assert site.get("/u/grace.hopper").status_code == 200
    assert data["display_name"] in site.get("/u/GRACE.HOPPER").text


def test_spaces_typed_around_names_and_email_are_not_part_of_them(site: FlaskClient) -> None:
    data = new_user("ada")
    typed = {
        **data,
        "username": f"  {data['username']} ",
        "display_name": " Ada  ",
        "email": f" {data['email']}  ",  # as a phone's autocomplete leaves it
    }

    response = submit(site, "/signup", typed)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/u/{data['username']}"
    assert "<h1>Ada</h1>" in site.get(response.headers["Location"]).text


def test_the_signup_page_explains_the_rules(site: FlaskClient) -> None:
    page = site.get("/signup")

    assert page.status_code == 200
    assert "Create your account" in page.text
    assert "3 to 30 characters" in page.text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"username": "no spaces!"}, "username", "Username may contain only letters a-z, digits"),
        ({"username": "ab"}, "username", "Username must be 3 to 30 characters long."),
        ({"username": "ada..l"}, "username", "Username may not start or end with"),
        ({"email": "not-an-email"}, "email", "This is not a valid email address"),
        ({"password": "password1"}, "password", "Password is too common; choose one that is"),
        ({"password": "short"}, "password", "Password must be at least 8 characters long."),
        ({"display_name": "x" * 61}, "display_name", "Display name should have at most 60"),
    ],
)
def test_bad_input_is_shown_next_to_the_field(
    site: FlaskClient, changes: dict[str, str], field: str, message: str
) -> None:
    data = {**new_user(), **changes}

    response = submit(site, "/signup", data)

    assert response.status_code == 422
    shown = errors_by_field(response.text)
    assert list(shown) == [field]
    assert shown[field][0].startswith(message)
    assert 'aria-invalid="true"' in response.text
    # What was typed is kept, except the password.
    if field != "username":
        assert f'value="{data["username"]}"' in response.text
    assert data["password"] not in response.text
    assert not is_signed_in(site)


def test_an_empty_form_names_every_missing_field(site: FlaskClient) -> None:
    response = submit(site, "/signup", {"username": "", "email": "", "password": ""})

    assert response.status_code == 422
    assert len(field_errors(response.text)) == 3


def test_a_password_equal_to_the_username_is_refused(site: FlaskClient) -> None:
    data = new_user()
    data["password"] = data["username"] + "1234567"
    data["username"] = data["password"]

    response = submit(site, "/signup", data)

    assert response.status_code == 422
    assert "must not be the same as the username or email" in response.text
    assert not is_signed_in(site)


def test_a_taken_username_is_explained(site: FlaskClient, other_browser: FlaskClient) -> None:
    first = sign_up(site)
    data = {**new_user(), "username": first["username"].upper()}

    response = submit(other_browser, "/signup", data)

    assert response.status_code == 422
    assert field_errors(response.text) == ["Username is taken."]
    assert not is_signed_in(other_browser)


def test_a_used_email_is_explained(site: FlaskClient, other_browser: FlaskClient) -> None:
    first = sign_up(site)
    data = {**new_user(), "email": first["email"].upper()}

    response = submit(other_browser, "/signup", data)

    assert response.status_code == 422
    assert field_errors(response.text) == ["Email is in use."]
    assert not is_signed_in(other_browser)
    # The first account is untouched: its owner can still log in.
    login = submit(other_browser, "/login", {"login": first["email"], "password": PASSWORD})
    assert login.status_code == 302


def test_signed_in_people_are_sent_home_from_signup(site: FlaskClient) -> None:
    sign_up(site)

    response = site.get("/signup")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
