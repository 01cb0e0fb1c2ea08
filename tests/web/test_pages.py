"""Pages anyone can see, the error pages, and forms that arrive without a CSRF token."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.web.helpers import new_user, sign_up, submit

SCRIPT = "<script>alert('owned')</script>"


def test_home_invites_newcomers(site: FlaskClient) -> None:
    page = site.get("/")

    assert page.status_code == 200
    assert "Share the moments that matter." in page.text
    assert 'href="/signup"' in page.text
    assert "Nobody yet." in page.text


def test_home_and_people_list_members(site: FlaskClient, other_browser: FlaskClient) -> None:
    ada = sign_up(site)
    grace = sign_up(other_browser)

    for path in ("/", "/people"):
        page = site.get(path)
        assert page.status_code == 200
        assert ada["display_name"] in page.text
        assert f'href="/u/{grace["username"]}"' in page.text


@pytest.mark.parametrize(
    "path",
    ["/no-such-page", "/u/nobody.here", "/u/x", "/u/a%00b", "/u/%F0%9F%93%B7", "/static/nope.css"],
)
def test_unknown_pages_get_a_readable_404(site: FlaskClient, path: str) -> None:
    page = site.get(path)

    assert page.status_code == 404
    assert "There is nothing here." in page.text
    assert "Go to the home page" in page.text
    assert "Traceback" not in page.text


def test_a_wrong_method_gets_a_readable_page(site: FlaskClient) -> None:
    page = site.post("/people")

    assert page.status_code == 405
    assert "That page cannot be used that way." in page.text


def test_profile_text_is_shown_as_text_not_run(site: FlaskClient) -> None:
    account = sign_up(site, display_name=SCRIPT)
    submit(
        site,
        "/settings",
        {
            "display_name": SCRIPT,
            "email": account["email"],
            "bio": f'"><img src=x onerror=alert(1)>{SCRIPT}',
        },
        action="/settings/profile",
    )

    for path in (f"/u/{account['username']}", "/", "/people", "/settings"):
        page = site.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
    profile = site.get(f"/u/{account['username']}").text
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in profile
    assert "&lt;img src=x onerror=alert(1)&gt;" in profile


SIGNED_OUT_FORMS = {"/signup": new_user(), "/login": {"login": "someone", "password": "x"}}
SIGNED_IN_FORMS = {
    "/logout": {},
    "/settings/profile": {"display_name": "Changed", "email": "changed@example.com", "bio": ""},
    "/settings/password": {"current_password": "violet-harbour-42", "new_password": "x" * 12},
}


def assert_form_expired(response_text: str, status: int) -> None:
    assert status == 400
    assert "Your form expired" in response_text
    assert "reload the page" in response_text


@pytest.mark.parametrize("path", sorted(SIGNED_OUT_FORMS))
def test_signed_out_forms_without_a_token_expire(site: FlaskClient, path: str) -> None:
    response = site.post(path, data=SIGNED_OUT_FORMS[path])

    assert_form_expired(response.text, response.status_code)
    assert ">Log out<" not in site.get("/").text


@pytest.mark.parametrize("path", sorted(SIGNED_IN_FORMS))
def test_signed_in_forms_without_a_token_expire(site: FlaskClient, path: str) -> None:
    account = sign_up(site)

    response = site.post(path, data=SIGNED_IN_FORMS[path])

    assert_form_expired(response.text, response.status_code)
    # Nothing happened: still signed in, profile unchanged.
    profile = site.get(f"/u/{account['username']}").text
    assert ">Log out<" in profile
    assert account["display_name"] in profile


def test_a_forged_token_also_expires(site: FlaskClient) -> None:
    response = site.post("/signup", data={**new_user(), "csrf_token": "forged"})

    assert_form_expired(response.text, response.status_code)
