"""Cross-site scripting: whatever people type (display names, bios, captions, comments,
search boxes, addresses) is shown as text on every page that shows it, never run.

Each page is read as a browser would (tests/web/inert_html.py): its only scripts are the
site's own files, no element has an event handler and no link is a ``javascript:`` URL.
Each check also finds the typed text on the page, so a page that dropped it (and so could
not fail) does not pass for a safe one."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from tests.support import images
from tests.web.helpers import new_user, sign_up, submit
from tests.web.inert_html import live_markup
from tests.web.site_state import snapshot
from tests.web.test_admin_dashboard import create_admin
from tests.web.test_photos import finish_jobs, uploaded

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
SINGLE_QUOTE_BREAKOUT = "'><svg onload=alert(1)>"
SCRIPT_URL = "javascript:alert(1)"
# What a browser would run, were any of it written into the page as markup.
RAW = ("<script>alert", "<img src=x", "<svg onload")

NAME = BREAKOUT + SCRIPT  # 56 characters: display names take 60
TEXT = f"{SCRIPT_URL} {SCRIPT} {BREAKOUT} {SINGLE_QUOTE_BREAKOUT}"
BIO = f"Bio: {TEXT}"
CAPTION = f"Caption: {TEXT}"
COMMENT = f"Comment: {TEXT}"
# Thumbnails carry the caption's first 100 characters as their alternative text.
CAPTION_START = CAPTION[:90]


def assert_inert(page: str, where: str, *shown: str) -> None:
    assert not live_markup(page), f"{where}: {live_markup(page)}"
    for raw in RAW:
        assert raw not in page, f"{where}: {raw!r} is in the page unescaped"
    text = html.unescape(page)
    for typed in shown:
        assert typed in text, f"{where}: {typed!r} is not on the page"


@dataclass
class Hostile:
    """Mallory filled every field she could with markup; an administrator follows her."""

    username: str
    photo_id: str
    admin_username: str


@pytest.fixture
def hostile(site: FlaskClient, new_browser: Callable[[], FlaskClient]) -> Hostile:
    admin = create_admin(site)
    mallory = new_browser()
    account = sign_up(mallory, display_name=NAME)
    saved = submit(
        mallory,
        "/settings",
        {"display_name": NAME, "email": account["email"], "bio": BIO},
        action="/settings/profile",
    )
    assert saved.status_code == 302, saved.text
    name = account["username"]
    # Each follows the other: Mallory's photo reaches the feed, and she is on the lists.
    for follower, followed in ((site, name), (mallory, admin["username"])):
        response = submit(follower, f"/u/{followed}", {}, action=f"/u/{followed}/follow")
        assert response.status_code == 303, response.text
    photo_id = uploaded(mallory, images.jpeg(320, 240), CAPTION)
    finish_jobs(mallory)
    commented = submit(
        mallory, f"/p/{photo_id}", {"text": COMMENT}, action=f"/p/{photo_id}/comments"
    )
    assert commented.status_code == 303, commented.text
    return Hostile(name, photo_id, admin["username"])


def test_typed_markup_is_shown_as_text_on_every_page_that_shows_it(
    site: FlaskClient, hostile: Hostile, new_browser: Callable[[], FlaskClient]
) -> None:
    m, photo = hostile.username, hostile.photo_id
    pages_for_the_admin = {
        "/": (NAME, CAPTION),  # the home feed
        "/explore": (CAPTION_START,),  # the thumbnails' alternative text
        "/people": (NAME,),
        f"/u/{m}": (NAME, BIO, CAPTION_START),
        f"/u/{m}/following": (NAME,),
        f"/u/{hostile.admin_username}/followers": (NAME,),
        f"/p/{photo}": (NAME, CAPTION, COMMENT),
        "/admin": (),
        f"/admin/users?q={m}": (NAME,),
        f"/admin/users/{m}": (NAME, CAPTION_START),
        f"/admin/users/{m}/deactivate": (NAME,),
        f"/admin/photos/{photo}/remove": (NAME, CAPTION),
    }
    for path, shown in pages_for_the_admin.items():
        response = site.get(path)
        assert response.status_code == 200, path
        assert_inert(response.text, f"{path} (administrator)", *shown)

    visitor = new_browser()
    for path, shown in {
        "/": (NAME,),  # the newest members
        f"/u/{m}": (NAME, BIO, CAPTION_START),
        f"/p/{photo}": (NAME, CAPTION, COMMENT),
    }.items():
        response = visitor.get(path)
        assert response.status_code == 200, path
        assert_inert(response.text, f"{path} (signed out)", *shown)


def test_every_page_of_the_site_keeps_the_policy_and_stays_inert(
    site: FlaskClient, hostile: Hostile
) -> None:
    """Every GET route in the URL map (a new page is covered the day it appears), opened by
    the administrator who follows Mallory: the content security policy forbids inline
    scripts, and the page needs none (so the policy costs nothing and stops what escaping
    might ever miss)."""
    values = {"username": hostile.username, "photo_id": hostile.photo_id, "filename": "site.css"}
    adapter = site.application.url_map.bind("localhost")
    opened = 0

    for rule in site.application.url_map.iter_rules():
        if "GET" not in (rule.methods or set()):
            continue
        missing = sorted(rule.arguments - values.keys())
        assert not missing, f"{rule.rule} takes {missing}: give them a value in this test"
        path = adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments})
        response = site.get(path)
        opened += 1
        policy = directives(response.headers.get("Content-Security-Policy", ""))
        assert policy.get("script-src") == ["'self'"], path
        assert policy.get("object-src") == ["'none'"], path
        assert policy.get("frame-ancestors") == ["'none'"], path
        if response.mimetype == "text/html":
            assert_inert(response.text, path)

    assert opened >= 15


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (d.split() for d in policy.split(";") if d.strip())}


def test_her_own_forms_show_her_text_back_inert(
    new_browser: Callable[[], FlaskClient], site: FlaskClient
) -> None:
    """The settings form and the caption editor put the stored text back into fields."""
    mallory = new_browser()
    account = sign_up(mallory, display_name=NAME)
    submit(
        mallory,
        "/settings",
        {"display_name": NAME, "email": account["email"], "bio": BIO},
        action="/settings/profile",
    )
    photo_id = uploaded(mallory, images.jpeg(320, 240), CAPTION)
    finish_jobs(mallory)

    assert_inert(mallory.get("/settings").text, "/settings", NAME, BIO)
    assert_inert(mallory.get(f"/p/{photo_id}").text, "the owner's photo page", CAPTION)
    # A caption refused for its length comes back in the editor, still as text.
    too_long = submit(
        mallory, f"/p/{photo_id}", {"caption": CAPTION * 40}, action=f"/p/{photo_id}/caption"
    )
    assert too_long.status_code == 422
    assert_inert(too_long.text, "the refused caption", CAPTION)


def test_what_is_typed_into_forms_and_addresses_comes_back_inert(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    create_admin(site)
    echoed = {
        "/admin/users?q=" + quote(NAME): NAME,  # the search box, and "No username starts..."
        "/admin/photos?ref=" + quote(TEXT): TEXT,  # a photo reference that is none
    }
    for path, typed in echoed.items():
        response = site.get(path)
        assert response.status_code in (200, 422), path
        assert_inert(response.text, path, typed)

    # The address itself goes into "come back here" fields (the follow form's next).
    member = sign_up(new_browser())
    address_query = f'x={BREAKOUT}&y="{SCRIPT}'
    page = site.get(f"/u/{member['username']}", query_string=address_query)
    assert page.status_code == 200
    assert_inert(page.text, "a profile with markup in its address")
    assert re.search(r'name="next" value="/u/[^"]*&#34;&gt;&lt;img', page.text)
    signed_out = new_browser().get(f"/u/{member['username']}", query_string=address_query)
    assert_inert(signed_out.text, "the same, signed out (the log-in link)")

    for path in (f"/u/{quote(SCRIPT)}", f"/p/{quote(BREAKOUT)}", f"/{quote(SCRIPT)}"):
        response = site.get(path)
        assert response.status_code == 404, path
        assert_inert(response.text, path)


def test_refused_sign_up_and_log_in_forms_echo_the_typed_text_inert(
    new_browser: Callable[[], FlaskClient],
) -> None:
    visitor = new_browser()
    data = {**new_user(), "display_name": NAME, "email": f"{BREAKOUT}@example.com"}

    refused = submit(visitor, "/signup", {**data, "username": SCRIPT})
    assert refused.status_code == 422
    assert_inert(refused.text, "the refused sign-up", NAME)

    wrong = submit(visitor, "/login", {"login": BREAKOUT + SCRIPT, "password": "wrong-one-1"})
    assert wrong.status_code == 401
    assert_inert(wrong.text, "the refused log-in", BREAKOUT + SCRIPT)


@pytest.mark.parametrize(
    "username",
    [SCRIPT, BREAKOUT, SINGLE_QUOTE_BREAKOUT, SCRIPT_URL, "ada<b>", 'ada"x', "ada'x", "ada&x"],
)
def test_usernames_cannot_carry_markup(
    new_browser: Callable[[], FlaskClient], username: str
) -> None:
    """Usernames go into addresses and are shown everywhere: only a-z, 0-9, '_' and '.'."""
    visitor = new_browser()
    before = snapshot(visitor)["users"]

    response = submit(visitor, "/signup", {**new_user(), "username": username})

    assert response.status_code == 422
    assert 'id="username-error-1"' in response.text  # the username field is refused
    assert_inert(response.text, "the refused sign-up")
    assert snapshot(visitor)["users"] == before


def test_the_dashboards_figures_are_json_a_browser_will_not_render(site: FlaskClient) -> None:
    create_admin(site)

    response = site.get("/admin/stats.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
