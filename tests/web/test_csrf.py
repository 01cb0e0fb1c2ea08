"""Cross-site request forgery: every route of the site that changes something refuses a
request that does not carry this session's CSRF token, with a readable page and without
changing anything.

The routes are read from the app's URL map, not listed by hand, so a form added later is
covered the day it appears; a route may skip the check only from ``EXEMPT``, with its
reason. Pages (GET) change nothing at all, so a forged link or image cannot either."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from snapscale.config import Settings
from snapscale.web.app import create_site
from snapscale.web.core_access import EXTENSION_KEY
from tests.support import images
from tests.web.helpers import PASSWORD, csrf_token, is_signed_in, session_id, sign_up, submit
from tests.web.site_state import differences, snapshot
from tests.web.test_admin_dashboard import create_admin
from tests.web.test_photos import finish_jobs, uploaded

# The methods Flask-WTF checks, and so every method that may change something.
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Routes that may change something without the token, each with the reason it is safe.
# None so far: every form of the site carries the token, the log-in and sign-up forms too
# (a forged log-in would sign a victim in to the attacker's account).
EXEMPT: dict[str, str] = {}

# Routes whose success ends the session or removes what later routes act on: the control
# test sends them last, so every other route is tried on a live session and photo.
ENDS_THINGS = ("accounts.logout", "photos.delete", "social.delete_comment", "admin.remove_photo")

EXPIRED = "Your form expired"


@dataclass
class World:
    """An administrator signed in on ``victim`` (so every route, admin ones included, would
    act for them), with a photo and a comment of their own and a member to act on;
    ``attacker`` is a stranger's browser on the same site, with a session of its own."""

    victim: FlaskClient
    attacker: FlaskClient
    path_values: dict[str, str]

    def url(self, rule: Rule, method: str) -> str:
        missing = sorted(rule.arguments - self.path_values.keys())
        if missing:
            pytest.fail(
                f"{rule.rule} takes {missing}: give them a value in the world fixture, "
                "so its CSRF protection is tested"
            )
        adapter = self.victim.application.url_map.bind("localhost")
        url = adapter.build(rule.endpoint, {a: self.path_values[a] for a in rule.arguments})
        endpoint, _ = adapter.match(url, method)
        assert endpoint == rule.endpoint, f"{url} reaches {endpoint}, not {rule.endpoint}"
        return url


@pytest.fixture
def unlimited_site(settings: Settings) -> Iterator[Flask]:
    """The site without rate limits: dozens of refused log-in and code forms in a row would
    otherwise meet the log-in limit (counted before the token is read) and hide the
    check under test. The limits have tests of their own (test_ratelimit.py)."""
    app = create_site(settings.model_copy(update={"rate_limits_enabled": False}))
    app.config["TESTING"] = True
    yield app
    app.extensions[EXTENSION_KEY].close()


@pytest.fixture
def world(unlimited_site: Flask) -> World:
    site, new_browser = unlimited_site.test_client(), unlimited_site.test_client
    member = sign_up(new_browser())
    create_admin(site)
    photo_id = uploaded(site, images.jpeg(320, 240), "A quiet harbour")
    finish_jobs(site)
    posted = submit(site, f"/p/{photo_id}", {"text": "Mine"}, action=f"/p/{photo_id}/comments")
    found = re.search(r"#comment-([0-9]+)$", posted.headers["Location"])
    assert found is not None, posted.headers["Location"]
    attacker = new_browser()
    return World(
        victim=site,
        attacker=attacker,
        path_values={
            "username": member["username"],
            "photo_id": photo_id,
            "comment_id": found.group(1),
            "filename": "site.css",
        },
    )


def unsafe_routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & UNSAFE_METHODS):
            yield rule, method


def would_change_things() -> dict[str, object]:
    """A body every form of the site would act on, given a valid token: the fields of each
    form (others ignore what is not theirs), and a photo for the upload form."""
    return {
        "username": "forged.account",
        "email": "forged@example.com",
        "password": "forged-password-42",
        "login": "forged.account",
        "display_name": "Changed by a forged form",
        "bio": "Changed by a forged form",
        "current_password": PASSWORD,
        "new_password": "forged-password-43",
        "caption": "Changed by a forged form",
        "text": "Posted by a forged form",
        "file": (io.BytesIO(images.jpeg(64, 48)), "forged.jpg", "image/jpeg"),
    }


def send(
    client: FlaskClient,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> TestResponse:
    return client.open(
        url,
        method=method,
        data={**would_change_things(), **fields},
        headers=headers or {},
        content_type="multipart/form-data",
    )


def test_no_route_skips_the_check_unless_listed_with_its_reason(site: FlaskClient) -> None:
    app = site.application
    csrf = app.extensions["csrf"]
    unsafe = {rule.endpoint for rule, _ in unsafe_routes(app)}

    assert app.config["WTF_CSRF_ENABLED"]
    assert app.config["WTF_CSRF_CHECK_DEFAULT"]
    assert set(app.config["WTF_CSRF_METHODS"]) >= UNSAFE_METHODS
    assert set(EXEMPT) <= unsafe, "EXEMPT names a route that no longer changes anything"
    views = [app.view_functions[endpoint] for endpoint in EXEMPT]
    exempt_views = {f"{view.__module__}.{view.__name__}" for view in views}
    assert csrf._exempt_views <= exempt_views, "a view is exempt from CSRF without a reason"
    assert not csrf._exempt_blueprints, "a whole blueprint is exempt from CSRF"
    # The enumeration finds the forms a person uses every day, so it is not empty by mistake.
    assert {"accounts.login", "accounts.update_profile", "social.add_comment"} <= unsafe


def test_every_form_refuses_a_post_without_this_sessions_token(world: World) -> None:
    victim, attacker = world.victim, world.attacker
    attackers_own_token = csrf_token(attacker, "/login")
    victims_session = session_id(victim)
    attempts: list[tuple[str, FlaskClient, dict[str, str], dict[str, str]]] = [
        ("no token", victim, {}, {}),
        ("a made-up token", victim, {"csrf_token": "forged"}, {}),
        ("a token of another session", victim, {"csrf_token": attackers_own_token}, {}),
        ("another session's token in the header", victim, {}, {"X-CSRFToken": attackers_own_token}),
        ("no token, signed out", attacker, {}, {}),
    ]
    failures: list[str] = []
    tried = 0

    for rule, method in unsafe_routes(victim.application):
        if rule.endpoint in EXEMPT:
            continue
        url = world.url(rule, method)
        for attempt, client, fields, headers in attempts:
            before = snapshot(victim)
            response = send(client, method, url, headers=headers, **fields)
            changed = differences(before, snapshot(victim))
            tried += 1
            where = f"{method} {url} with {attempt}"
            if response.status_code != 400 or EXPIRED not in response.text:
                failures.append(f"{where}: {response.status_code}, not the expired-form page")
            if "Traceback" in response.text:
                failures.append(f"{where}: a traceback on the page")
            if changed:
                failures.append(f"{where}: changed {changed}")
            if session_id(victim) != victims_session:
                failures.append(f"{where}: the victim's session changed")

    assert not failures, "\n".join(failures)
    assert tried >= 5 * 15
    assert is_signed_in(victim)  # nothing logged the victim out either


def test_the_same_posts_with_the_sessions_own_token_get_through(world: World) -> None:
    """The control: the requests above fail for the token alone, not for their address."""
    victim = world.victim
    routes = sorted(
        unsafe_routes(victim.application),
        key=lambda route: (
            route[0].endpoint in ENDS_THINGS,
            route[0].endpoint == "accounts.logout",
        ),
    )
    before = snapshot(victim)

    for rule, method in routes:
        url = world.url(rule, method)
        signed_in = is_signed_in(victim)
        token = csrf_token(victim, "/settings" if signed_in else "/login")
        response = send(victim, method, url, csrf_token=token)
        assert EXPIRED not in response.text, f"{method} {url}"
        assert response.status_code != 400, f"{method} {url}"

    # They did act: a comment, a caption, a profile... changed in the database.
    assert {"comments", "photos", "users"} <= set(differences(before, snapshot(victim)))


def test_over_https_a_form_sent_from_another_site_is_refused_even_with_its_token(
    site: FlaskClient,
) -> None:
    """With the token stolen, the browser still names the page the form was on: over HTTPS
    it must be one of this site's own."""
    account = sign_up(site)
    https = "https://localhost"
    token = csrf_token(site, f"{https}/settings")
    profile_change = {
        "display_name": "Changed from elsewhere",
        "email": account["email"],
        "bio": "",
        "csrf_token": token,
    }

    for referrer in ("https://evil.example/settings", "http://localhost/settings", None):
        headers = {"Referer": referrer} if referrer else {}
        response = site.post(
            "/settings/profile", base_url=https, data=profile_change, headers=headers
        )
        assert response.status_code == 400, referrer
        assert EXPIRED in response.text, referrer
    assert "Changed from elsewhere" not in site.get(f"/u/{account['username']}").text

    from_this_site = site.post(
        "/settings/profile",
        base_url=https,
        data=profile_change,
        headers={"Referer": f"{https}/settings"},
    )
    assert from_this_site.status_code == 302
    assert "Changed from elsewhere" in site.get(f"/u/{account['username']}").text


def test_no_page_changes_anything(world: World) -> None:
    """Every GET route, opened by an administrator: a forged link or image (which carries
    the session cookie on a top-level visit) can make nothing happen."""
    victim = world.victim
    before = snapshot(victim)
    opened = []

    for rule in victim.application.url_map.iter_rules():
        if "GET" in (rule.methods or set()):
            url = world.url(rule, "GET")
            response = victim.get(url)
            assert response.status_code < 500, url
            opened.append(url)

    assert differences(before, snapshot(victim)) == []
    assert f"/admin/users/{world.path_values['username']}/deactivate" in opened
    assert is_signed_in(victim)
