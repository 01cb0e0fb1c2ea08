"""Rate limits on the site: a readable 429 page with Retry-After, the same policy and
counters as the API (one count for both front ends), and headers on counted pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from werkzeug.test import TestResponse

from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.embedded import EmbeddedApp
from tests.support import factories, images
from tests.web.helpers import (
    DEFAULT_ADDRESS,
    PASSWORD,
    Sites,
    csrf_token_in,
    is_signed_in,
    log_in,
    new_user,
    sign_up,
    submit,
)
from tests.web.test_photos import upload

WRONG = "not-the-password-1"


def rate_headers(response: TestResponse) -> tuple[str | None, str | None]:
    return response.headers.get("RateLimit-Limit"), response.headers.get("RateLimit-Remaining")


def test_the_log_in_attempt_after_the_limit_is_a_readable_page(sites: Sites) -> None:
    app = sites.start(rate_limit_login="3/minute")
    account = sign_up(sites.browser(app, "198.51.100.1"))
    browser = sites.browser(app)

    attempts = [log_in(browser, account["username"], WRONG) for _ in range(3)]
    refused = log_in(browser, account["username"], PASSWORD)

    assert [attempt.status_code for attempt in attempts] == [401, 401, 401]
    assert [rate_headers(attempt) for attempt in attempts] == [("3", "2"), ("3", "1"), ("3", "0")]
    assert refused.status_code == 429
    assert "text/html" in refused.headers["Content-Type"]
    assert "Please slow down" in refused.text
    assert "too many log-in attempts from your address" in refused.text
    assert re.search(r"please wait \d+ seconds?, then try again", refused.text)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Reset"] == refused.headers["Retry-After"]
    assert rate_headers(refused) == ("3", "0")
    assert "Traceback" not in refused.text
    assert not is_signed_in(browser)


def test_one_account_attacked_from_many_addresses_is_throttled(sites: Sites) -> None:
    app = sites.start(rate_limit_login="100/minute", rate_limit_login_per_account="3/minute")
    account = sign_up(sites.browser(app, "198.51.100.1"))
    attackers = [sites.browser(app, f"203.0.113.{n}") for n in range(1, 5)]

    statuses = [log_in(attacker, account["email"], WRONG).status_code for attacker in attackers]
    # The name is counted however it is typed.
    refused = log_in(attackers[0], f"  {account['email'].upper()}  ", WRONG)

    assert statuses == [401, 401, 401, 429]
    assert refused.status_code == 429
    assert "log-in attempts for this account" in refused.text


def test_sign_ups_are_limited_per_address(sites: Sites) -> None:
    app = sites.start(rate_limit_register="2/hour")
    sign_up(sites.browser(app))
    sign_up(sites.browser(app))

    refused = submit(sites.browser(app), "/signup", new_user())

    assert refused.status_code == 429
    assert "too many sign-ups from your address" in refused.text
    assert "please wait about 1 hour, then try again" in refused.text
    assert 3000 < int(refused.headers["Retry-After"]) <= 3600
    sign_up(sites.browser(app, "198.51.100.2"))


def test_uploads_past_the_quota_get_a_page_and_store_nothing(sites: Sites) -> None:
    app = sites.start(rate_limit_uploads="1/hour")
    browser = sites.browser(app)
    account = sign_up(browser)

    accepted = upload(browser, images.jpeg(640, 480))
    refused = upload(browser, images.jpeg(640, 480), headers={"X-Requested-With": "XMLHttpRequest"})

    assert accepted.status_code == 303
    assert refused.status_code == 429
    assert "too many photo uploads for your account" in refused.text
    profile = browser.get(f"/u/{account['username']}").text
    assert len(re.findall(r'href="/p/[0-9]+"', profile)) == 1


def test_pages_carry_rate_limit_headers_and_files_and_probes_do_not(sites: Sites) -> None:
    browser = sites.browser(sites.start(rate_limit_per_ip="50/minute"))

    page = browser.get("/explore")

    assert page.status_code == 200
    assert rate_headers(page) == ("50", "49")
    assert rate_headers(browser.get("/static/site.css")) == (None, None)
    assert rate_headers(browser.get("/healthz")) == (None, None)


def test_every_page_counts_per_address(sites: Sites) -> None:
    app = sites.start(rate_limit_per_ip="3/minute")
    browser = sites.browser(app)

    statuses = [browser.get("/explore").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert sites.browser(app, "198.51.100.9").get("/explore").status_code == 200


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
async def test_a_site_and_an_api_process_count_log_ins_together(
    sites: Sites, settings: Settings
) -> None:
    limit = {"rate_limit_login": "4/minute"}
    site = sites.start(**limit)
    account = sign_up(sites.browser(site, "198.51.100.1"))
    browser = sites.browser(site)
    app = create_api(settings.model_copy(update=limit))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=(DEFAULT_ADDRESS, 50_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            statuses = [(await factories.sign_in(api, account["username"], WRONG)).status_code]
            statuses.append(log_in(browser, account["username"], WRONG).status_code)
            statuses.append((await factories.sign_in(api, account["username"], WRONG)).status_code)
            statuses.append(log_in(browser, account["username"], WRONG).status_code)
            on_the_site = log_in(browser, account["username"], PASSWORD)
            in_the_api = await factories.sign_in(api, account["username"], PASSWORD)

    assert statuses == [401, 401, 401, 401]
    assert on_the_site.status_code == 429
    assert in_the_api.status_code == 429


@pytest.fixture
async def embedded(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = EmbeddedApp(settings.model_copy(update={"rate_limit_login": "4/minute"}))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def site_log_in(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    form = {"login": login, "password": password, "csrf_token": csrf_token_in(page.text, "/login")}
    return await client.post("/login", data=form)


async def test_in_one_embedded_process_the_site_and_the_api_count_together(
    embedded: httpx.AsyncClient,
) -> None:
    account = await factories.register(embedded)

    statuses = []
    for _ in range(2):
        statuses.append((await factories.sign_in(embedded, account["username"], WRONG)).status_code)
        statuses.append((await site_log_in(embedded, account["username"], WRONG)).status_code)
    on_the_site = await site_log_in(embedded, account["username"], factories.PASSWORD)

    assert statuses == [401, 401, 401, 401]
    assert on_the_site.status_code == 429
    assert "Please slow down" in on_the_site.text
