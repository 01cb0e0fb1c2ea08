"""On the site as in the API: one log-in budget per account whatever name is typed, a
password change's current-password check drawn from it too, and email changes sharing
the sign-up budget of the address. Refusals are the readable 429 page."""

from __future__ import annotations

from snapscale.core.accounts import service as account_service
from snapscale.web.core_access import EXTENSION_KEY
from tests.web.helpers import PASSWORD, Sites, log_in, sign_up, submit
from tests.web.test_ratelimit import WRONG

ACCOUNT_LIMIT = "too many log-in attempts for this account"


def test_the_username_and_the_email_share_one_budget(sites: Sites) -> None:
    app = sites.start(rate_limit_login="100/minute", rate_limit_login_per_account="3/minute")
    account = sign_up(sites.browser(app, "198.51.100.1"))
    spellings = [account["username"], account["email"].upper(), account["username"]]
    attackers = [sites.browser(app, f"203.0.113.{n}") for n in range(1, 5)]

    statuses = [
        log_in(attacker, login, WRONG).status_code
        for attacker, login in zip(attackers, spellings, strict=False)
    ]
    refused = log_in(attackers[3], account["email"], PASSWORD)

    assert statuses == [401, 401, 401]
    assert refused.status_code == 429
    assert ACCOUNT_LIMIT in refused.text


def test_current_password_guesses_are_log_in_attempts(sites: Sites) -> None:
    app = sites.start(rate_limit_login="100/minute", rate_limit_login_per_account="3/minute")
    browser = sites.browser(app, "198.51.100.1")
    account = sign_up(browser)

    def change(current: str) -> int:
        response = submit(
            browser,
            "/settings",
            {"current_password": current, "new_password": "stolen-session-77"},
            action="/settings/password",
        )
        return response.status_code

    guesses = [change(f"guess-number-{n}") for n in range(3)]
    refused = submit(
        browser,
        "/settings",
        {"current_password": PASSWORD, "new_password": "stolen-session-77"},
        action="/settings/password",
    )

    assert guesses == [422, 422, 422]
    assert refused.status_code == 429
    assert ACCOUNT_LIMIT in refused.text
    core = app.extensions[EXTENSION_KEY]
    user = core.run(account_service.authenticate, login=account["username"], password=PASSWORD)
    assert user.username == account["username"]  # the password is unchanged


def test_email_changes_share_the_sign_up_budget(sites: Sites) -> None:
    app = sites.start(rate_limit_register="2/hour")
    taken = sign_up(sites.browser(app, "198.51.100.1"))
    browser = sites.browser(app, "198.51.100.2")
    account = sign_up(browser)  # one sign-up from this address

    def save(email: str) -> int:
        response = submit(
            browser,
            "/settings",
            {"display_name": "", "email": email, "bio": ""},
            action="/settings/profile",
        )
        return response.status_code

    in_use = save(taken["email"])
    unchanged = save(account["email"])  # not a question about anyone else: not counted
    refused = submit(
        browser,
        "/settings",
        {"display_name": "", "email": "fresh@example.com", "bio": ""},
        action="/settings/profile",
    )

    assert in_use == 422
    assert unchanged == 302
    assert refused.status_code == 429
    assert "too many email changes from your address" in refused.text
    assert log_in(sites.browser(app, "198.51.100.3"), account["email"]).status_code == 302
