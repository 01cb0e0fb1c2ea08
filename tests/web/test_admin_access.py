"""Every admin page and action, read from the URL map so a new one cannot be forgotten,
is refused to signed-out visitors and to members who are not administrators: pages and
actions alike, even a POST carrying a valid form token, and nothing changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.support import images
from tests.web.helpers import csrf_token, sign_up
from tests.web.site_state import differences, snapshot
from tests.web.test_admin_dashboard import create_admin
from tests.web.test_photos import finish_jobs, uploaded

JSON_ENDPOINTS = {"admin.stats"}  # polled by a script: it gets JSON, not a page


def admin_routes(client: FlaskClient) -> Iterator[tuple[Rule, str]]:
    for rule in client.application.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule, method


def path_of(client: FlaskClient, rule: Rule, values: dict[str, str]) -> str:
    missing = sorted(rule.arguments - values.keys())
    assert not missing, f"{rule.rule} takes {missing}: give them a value in this test"
    adapter = client.application.url_map.bind("localhost")
    return adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments})


def test_signed_out_visitors_and_members_get_nothing_from_the_admin_area(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    create_admin(new_browser())  # there is an administrator; it is just not them
    target = new_browser()
    account = sign_up(target)
    photo_id = uploaded(target, images.jpeg(320, 240), "Target")
    finish_jobs(target)
    values = {"username": account["username"], "photo_id": photo_id}
    member = site
    sign_up(member)
    visitor = new_browser()
    before = snapshot(site)
    checked = 0

    for rule, method in admin_routes(site):
        path = path_of(site, rule, values)
        for who, client in (("signed out", visitor), ("member", member)):
            where = f"{method} {path} ({who})"
            token = csrf_token(client, "/login" if who == "signed out" else "/settings")
            response = client.open(path, method=method, data={"csrf_token": token})
            checked += 1
            if rule.endpoint in JSON_ENDPOINTS:
                assert response.status_code == (401 if who == "signed out" else 403), where
                assert response.mimetype == "application/json", where
                assert "error" in response.get_json(), where
            elif who == "signed out":
                assert response.status_code == 302, where
                assert response.headers["Location"].startswith("/login?next="), where
            else:
                assert response.status_code == 403, where
                assert "Administrators only" in response.text, where
            assert account["email"] not in response.text, where

    assert checked >= 2 * 10  # every page and action, GET and POST, as each of the two
    assert differences(before, snapshot(site)) == []
    assert target.get(f"/p/{photo_id}").status_code == 200  # not removed
    assert ">Log out<" in target.get("/").text  # not deactivated, still signed in
