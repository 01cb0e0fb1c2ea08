"""Two-factor sign-in on the site: the settings page that turns it on (secret, confirming
code, recovery codes shown once), renews the codes and turns it off, and the log-in's code
step, which signs in only after a right code, on a fresh session id."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from snapscale.config import Settings
from tests.support.two_factor import code_now, next_code, wrong_code
from tests.web.helpers import (
    PASSWORD,
    Sites,
    csrf_token,
    is_signed_in,
    log_in,
    log_out,
    session_id,
    sign_up,
    submit,
)

PAGE = "/settings/two-factor"
CODE_STEP = "/login/code"
REFUSED = "That code is wrong, expired or already used."
_SECRET = re.compile(r'aria-label="Secret key">([A-Z2-7 ]+)</code>')
_RECOVERY_CODE = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Room for many code attempts: throttling has tests of its own below."""
    return settings.model_copy(update={"rate_limit_two_factor": "100/minute"})


@dataclass
class TwoFactorOn:
    account: dict[str, str]
    secret: str
    confirmed_with: str
    recovery_codes: list[str]


def post_form(
    browser: FlaskClient, action: str, data: dict[str, str], *, prefix: str = ""
) -> TestResponse:
    """Post one of the two-factor page's forms, whose fields are named ``<prefix>-<name>``,
    with the page's CSRF token."""
    token = csrf_token(browser, PAGE)
    named = {f"{prefix}-{name}" if prefix else name: value for name, value in data.items()}
    named[f"{prefix}-csrf_token" if prefix else "csrf_token"] = token
    return browser.post(action, data=named)


def recovery_codes_in(page: str) -> list[str]:
    return _RECOVERY_CODE.findall(page)


def start(browser: FlaskClient) -> str:
    """Start the set-up; returns the secret the page shows."""
    started = post_form(browser, f"{PAGE}/start", {})
    assert started.status_code == 303, started.text
    page = browser.get(PAGE)
    found = _SECRET.search(page.text)
    assert found is not None, page.text
    return found.group(1).replace(" ", "")


def turn_on(browser: FlaskClient) -> TwoFactorOn:
    """Sign up on ``browser`` and turn two-factor sign-in on, as a person with their phone."""
    account = sign_up(browser)
    secret = start(browser)
    code = code_now(secret)
    confirmed = post_form(browser, f"{PAGE}/confirm", {"code": code}, prefix="confirm")
    assert confirmed.status_code == 200, confirmed.text
    return TwoFactorOn(account, secret, code, recovery_codes_in(confirmed.text))


def enter_code(browser: FlaskClient, code: str) -> TestResponse:
    return submit(browser, CODE_STEP, {"code": code})


def test_turning_it_on_shows_the_secret_then_the_recovery_codes_once(site: FlaskClient) -> None:
    account = sign_up(site)
    assert f'href="{PAGE}"' in site.get("/settings").text
    off = site.get(PAGE)
    assert off.status_code == 200
    assert "Two-factor sign-in is off" in off.text

    secret = start(site)
    pending = site.get(PAGE)
    uri = f"otpauth://totp/Snapscale:{account['username']}?secret={secret}&amp;issuer=Snapscale"
    assert uri in pending.text
    assert pending.headers["Cache-Control"] == "no-store"

    refused = post_form(site, f"{PAGE}/confirm", {"code": wrong_code(secret)}, prefix="confirm")
    assert refused.status_code == 422
    assert "Code is wrong, expired or already used." in refused.text
    assert _SECRET.search(refused.text) is not None  # still there to try again

    confirmed = post_form(site, f"{PAGE}/confirm", {"code": code_now(secret)}, prefix="confirm")

    assert confirmed.status_code == 200
    assert confirmed.headers["Cache-Control"] == "no-store"
    assert "Two-factor sign-in is on." in confirmed.text
    codes = recovery_codes_in(confirmed.text)
    assert len(set(codes)) == 10
    on = site.get(PAGE)
    assert "Two-factor sign-in is on" in on.text
    assert "10 unused recovery codes" in on.text
    assert not any(code in on.text for code in codes)  # shown once only
    assert secret not in on.text


def test_cancelling_the_set_up_leaves_it_off(site: FlaskClient) -> None:
    sign_up(site)
    start(site)

    cancelled = post_form(site, f"{PAGE}/cancel", {}, prefix="cancel")

    assert cancelled.status_code == 303
    page = site.get(PAGE)
    assert "Two-factor sign-in is off" in page.text
    assert "Two-factor sign-in was not turned on." in page.text


def test_logging_in_asks_for_the_code_only_after_the_password(site: FlaskClient) -> None:
    app = turn_on(site)
    log_out(site)
    username = app.account["username"]

    wrong_password = log_in(site, username, "not-the-password-1")
    assert wrong_password.status_code == 401
    assert "Incorrect username, email or password." in wrong_password.text
    assert "Enter your code" not in wrong_password.text

    before = session_id(site)
    token = csrf_token(site, "/login?next=/settings")
    password_step = site.post(
        "/login?next=/settings", data={"login": username, "password": PASSWORD, "csrf_token": token}
    )
    assert password_step.status_code == 302
    assert password_step.headers["Location"] == CODE_STEP
    assert not is_signed_in(site)
    asking = site.get(CODE_STEP)
    assert "Enter your code" in asking.text
    assert "recovery codes" in asking.text

    wrong = enter_code(site, wrong_code(app.secret))
    replayed = enter_code(site, app.confirmed_with)  # the code that turned it on
    for refused in (wrong, replayed):
        assert refused.status_code == 401
        assert REFUSED in refused.text
    assert not is_signed_in(site)

    signed_in = enter_code(site, next_code(app.secret))

    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == "/settings"
    assert f"Welcome back, @{username}." in site.get("/settings").text
    assert is_signed_in(site)
    assert session_id(site) != before
    # The step is spent: nothing is left to enter a code for.
    assert site.get(CODE_STEP).status_code == 302


def test_a_recovery_code_logs_in_once(site: FlaskClient, other_browser: FlaskClient) -> None:
    app = turn_on(other_browser)
    username = app.account["username"]

    log_in(site, username)
    first = enter_code(site, app.recovery_codes[0].upper())
    assert first.status_code == 302
    assert is_signed_in(site)

    log_out(other_browser)  # a second browser, the same code
    log_in(other_browser, username)
    again = enter_code(other_browser, app.recovery_codes[0])

    assert again.status_code == 401
    assert REFUSED in again.text
    assert not is_signed_in(other_browser)
    assert "9 unused recovery codes" in site.get(PAGE).text


def test_the_code_step_needs_a_password_step_first(site: FlaskClient) -> None:
    sign_up(site)
    log_out(site)
    token = csrf_token(site, "/login")

    opened = site.get(CODE_STEP)
    posted = site.post(CODE_STEP, data={"code": "123456", "csrf_token": token})

    assert opened.status_code == posted.status_code == 302
    assert opened.headers["Location"] == posted.headers["Location"] == "/login"
    assert not is_signed_in(site)


def test_a_code_step_left_too_long_starts_over(site: FlaskClient) -> None:
    app = turn_on(site)
    log_out(site)
    log_in(site, app.account["username"])
    token = csrf_token(site, CODE_STEP)  # the page is open; its reader walks away
    with site.session_transaction() as session:
        session["pending_sign_in"] = {**session["pending_sign_in"], "started": 0}

    late = site.post(CODE_STEP, data={"code": next_code(app.secret), "csrf_token": token})

    assert late.status_code == 302
    assert late.headers["Location"] == "/login"
    assert "took too long" in html.unescape(site.get("/login").text)
    assert not is_signed_in(site)


def test_the_code_step_needs_the_forms_csrf_token(site: FlaskClient) -> None:
    app = turn_on(site)
    log_out(site)
    log_in(site, app.account["username"])

    forged = site.post(CODE_STEP, data={"code": next_code(app.secret)})

    assert forged.status_code == 400
    assert "Your form expired" in forged.text
    assert not is_signed_in(site)


def test_new_recovery_codes_then_turning_it_off(site: FlaskClient) -> None:
    app = turn_on(site)

    renewed = post_form(
        site, f"{PAGE}/recovery-codes", {"code": next_code(app.secret)}, prefix="regenerate"
    )
    assert renewed.status_code == 200
    new_codes = recovery_codes_in(renewed.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(app.recovery_codes)
    assert "the old ones no longer work" in renewed.text

    wrong_password = post_form(
        site,
        f"{PAGE}/disable",
        {"password": "not-the-password-1", "code": new_codes[0]},
        prefix="disable",
    )
    assert wrong_password.status_code == 422
    assert "This is not your current password." in wrong_password.text
    stale = post_form(
        site,
        f"{PAGE}/disable",
        {"password": PASSWORD, "code": app.recovery_codes[0]},
        prefix="disable",
    )
    assert stale.status_code == 422
    assert "Code is wrong, expired or already used." in stale.text

    off = post_form(
        site, f"{PAGE}/disable", {"password": PASSWORD, "code": new_codes[0]}, prefix="disable"
    )

    assert off.status_code == 303
    assert "Two-factor sign-in is off" in site.get(PAGE).text
    log_out(site)
    assert log_in(site, app.account["username"]).headers["Location"] == "/"
    assert is_signed_in(site)


def test_code_attempts_are_throttled_per_account(sites: Sites) -> None:
    browser = sites.browser(sites.start(rate_limit_two_factor="3/minute"))
    app = turn_on(browser)  # the confirming code was attempt 1
    log_out(browser)
    log_in(browser, app.account["username"])

    attempts = [enter_code(browser, wrong_code(app.secret)) for _ in range(2)]
    refused = enter_code(browser, next_code(app.secret))  # right, but too late

    assert [attempt.status_code for attempt in attempts] == [401, 401]
    assert refused.status_code == 429
    assert "Please slow down" in refused.text
    assert "too many sign-in code attempts for this account" in refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert not is_signed_in(browser)


def test_the_code_step_counts_as_a_log_in_attempt_from_the_address(sites: Sites) -> None:
    browser = sites.browser(sites.start(rate_limit_login="3/minute"))
    app = turn_on(browser)
    log_out(browser)
    log_in(browser, app.account["username"])  # attempt 1

    attempts = [enter_code(browser, wrong_code(app.secret)) for _ in range(2)]
    refused = enter_code(browser, next_code(app.secret))

    assert [attempt.status_code for attempt in attempts] == [401, 401]
    assert refused.status_code == 429
    assert "too many log-in attempts from your address" in refused.text
