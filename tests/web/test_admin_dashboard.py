"""The admin dashboard: who may open it, the figures it shows with and without
JavaScript, the JSON its script polls, and figures that move as the site is used."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from flask.testing import FlaskClient

from snapscale.config import Settings
from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Registration
from snapscale.core.runtime import Runtime
from snapscale.web.app import create_site
from snapscale.web.core_access import EXTENSION_KEY, SiteCore
from tests.support import images
from tests.web.helpers import PASSWORD, csrf_token, log_in, new_user, sign_up
from tests.web.test_photos import finish_jobs, uploaded

ADMIN_PAGES = ["/admin", "/admin/users", "/admin/users/someone", "/admin/photos/1/remove"]


def core_of(client: FlaskClient) -> SiteCore:
    core: SiteCore = client.application.extensions[EXTENSION_KEY]
    return core


def runtime_of(client: FlaskClient) -> Runtime:
    return core_of(client).runtime


def create_admin(client: FlaskClient, **overrides: str) -> dict[str, str]:
    """An administrator, made the way `snapscale create-admin` makes one, signed in on
    ``client``."""
    data = {**new_user("admin"), **overrides}
    registration = Registration(
        username=data["username"], email=data["email"], password=data["password"]
    )
    core_of(client).run(account_service.register, data=registration, is_admin=True)
    assert log_in(client, data["username"]).status_code == 302
    return data


def stats(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/admin/stats.json")
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def figure(page: str, key: str) -> str:
    """The text of one figure on the dashboard, as a person reads it."""
    found = re.search(rf'data-figure="{key}">([^<]*)<', page)
    assert found is not None, f"no figure {key}"
    return html.unescape(found.group(1))


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_signed_out_visitors_are_sent_to_log_in(site: FlaskClient, path: str) -> None:
    response = site.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "Log in to see that page." in site.get(response.headers["Location"]).text


def test_signed_out_scripts_get_a_401_in_json(site: FlaskClient) -> None:
    response = site.get("/admin/stats.json")

    assert response.status_code == 401
    assert response.get_json() == {"error": "Log in as an administrator to see these figures."}


def test_members_who_are_not_administrators_get_a_403(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    create_admin(other_browser)
    member = sign_up(site)

    for path in ADMIN_PAGES:
        page = site.get(path)
        assert page.status_code == 403, path
        assert "Administrators only" in page.text
    script = site.get("/admin/stats.json")
    assert script.status_code == 403
    assert script.get_json() == {"error": "These figures are for administrators only."}
    assert 'href="/admin"' not in site.get("/").text  # no Admin link for them

    # Nor can they act: a well-formed moderation form is refused and changes nothing.
    token = csrf_token(site, "/settings")
    refused = site.post(f"/admin/users/{member['username']}/deactivate", data={"csrf_token": token})
    assert refused.status_code == 403
    assert site.get(f"/u/{member['username']}").status_code == 200


def test_administrators_see_the_figures_without_javascript(site: FlaskClient) -> None:
    create_admin(site)

    page = site.get("/admin")

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert 'class="nav-admin" href="/admin" aria-current="page">Admin</a>' in page.text
    for label in ("Requests per minute", "Server errors", "Latency p99", "Uploads per minute"):
        assert label in page.text
    assert figure(page.text, "users_total") == "1"
    assert figure(page.text, "users_active") == "1"
    assert figure(page.text, "photos_total") == "0"
    assert figure(page.text, "jobs_waiting") == "0"
    assert figure(page.text, "scope").startswith("Requests from")
    # The minute-by-minute table for browsers without scripts: one row per minute.
    table = page.text.split("<noscript>", 2)[2]
    assert len(re.findall(r'<tr><th scope="row">\d\d:\d\d</th>', table)) == 30
    # Everything the page runs or styles comes from files (the site's CSP allows no inline).
    assert '<script src="/static/admin.js" defer></script>' in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert "style=" not in page.text
    assert "<style" not in page.text
    assert site.get("/static/admin.js").status_code == 200
    assert site.get("/static/admin.css").status_code == 200


def test_the_polled_json_has_every_figure_and_a_series_per_minute(site: FlaskClient) -> None:
    create_admin(site)

    body = stats(site)

    assert site.get("/admin/stats.json").headers["Cache-Control"] == "no-store"
    assert set(body) >= {
        "generated_at",
        "shared",
        "latency_resolution",
        "requests",
        "uploads_per_minute",
        "users",
        "photos",
        "jobs",
        "series",
        "display",
    }
    assert set(body["requests"]) == {"per_minute", "error_rate", "p99_ms", "window_minutes"}
    assert body["users"] == {"total": 1, "new_last_day": 1, "active": 1}
    assert body["photos"] == {"total": 0, "ready": 0, "processing": 0, "failed": 0}
    assert body["jobs"]["known"] is True and body["jobs"]["depth"] == 0
    assert "19%" in body["latency_resolution"]
    series = body["series"]
    assert len(series) == 30
    assert set(series[0]) == {"minute", "requests", "errors", "error_rate", "p99_ms", "uploads"}
    minutes = [datetime.fromisoformat(point["minute"]) for point in series]
    assert all(b - a == timedelta(minutes=1) for a, b in pairwise(minutes))
    assert (
        minutes[-1]
        <= datetime.fromisoformat(body["generated_at"])
        < minutes[-1] + timedelta(minutes=1)
    )
    assert all(isinstance(text, str) for text in body["display"].values())


def test_figures_move_after_uploads_and_requests(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    create_admin(site)
    before = stats(site)
    sign_up(other_browser)
    uploaded(other_browser, images.jpeg(640, 480))
    finish_jobs(other_browser)
    # Every page above was recorded by the request middleware; a slow failure, which no
    # page here can be made to give, is recorded the same way.
    runtime_of(site).live_stats.record_request(status=500, seconds=0.250)

    after = stats(site)

    assert after["users"]["total"] == before["users"]["total"] + 1
    assert after["photos"]["ready"] == before["photos"]["ready"] + 1
    assert sum(p["uploads"] for p in after["series"]) == 1
    assert after["uploads_per_minute"] >= 1
    requests = sum(p["requests"] for p in after["series"]) - sum(
        p["requests"] for p in before["series"]
    )
    assert requests >= 4  # the sign-up and upload pages, and the failure
    assert sum(p["errors"] for p in after["series"]) == 1
    assert 0 < after["requests"]["error_rate"] <= 1 / 4
    # Fewer than 100 requests: p99 is the slowest, so at least the slow failure.
    assert after["requests"]["p99_ms"] >= 250
    page = site.get("/admin").text
    assert figure(page, "users_total") == "2"
    assert figure(page, "photos_ready") == "1"
    assert figure(page, "error_rate").endswith("%")
    assert figure(page, "p99").endswith(" ms")


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)  # replicas share through Redis
def test_site_processes_add_up_their_requests_through_redis(
    site: FlaskClient, settings: Settings
) -> None:
    create_admin(site)
    before = stats(site)
    replicas = [create_site(settings) for _ in range(2)]
    for replica in replicas:
        replica.extensions[EXTENSION_KEY].runtime.live_stats.record_request(
            status=200, seconds=0.01
        )
    for replica in replicas:
        replica.extensions[EXTENSION_KEY].close()  # a site process flushes as it stops

    after = stats(site)

    assert after["shared"] is True
    assert after["display"]["scope"] == "Requests from all servers"
    added = sum(p["requests"] for p in after["series"]) - sum(
        p["requests"] for p in before["series"]
    )
    assert added == 3  # one from each replica, and the first stats request itself


def test_text_on_the_dashboard_is_escaped(site: FlaskClient, other_browser: FlaskClient) -> None:
    create_admin(site)
    sign_up(other_browser, display_name="<script>alert(1)</script>")

    page = site.get("/admin/users?q=")

    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert PASSWORD not in page.text
