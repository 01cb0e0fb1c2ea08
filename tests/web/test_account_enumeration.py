"""The log-in form does not tell whether an account exists: an unknown name, a wrong
password and a deactivated account get the same page, after the same password check
(test_login.py compares the first two pages; here the rest)."""

from __future__ import annotations

from collections.abc import Callable

import argon2
import pytest
from flask.testing import FlaskClient

from tests.web.helpers import PASSWORD, csrf_token, log_in, sign_up, without_form_echo
from tests.web.test_admin_dashboard import create_admin


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Argon2 verification the server runs, as it runs it (the slow, costly step)."""
    checks: list[str] = []
    verify = argon2.PasswordHasher.verify

    def counted(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        checks.append("verify")
        return verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    return checks


def test_a_deactivated_account_looks_like_no_account(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    account = sign_up(new_browser())
    admin = new_browser()
    create_admin(admin)
    path = f"/admin/users/{account['username']}/deactivate"
    assert admin.post(path, data={"csrf_token": csrf_token(admin, path)}).status_code == 303

    deactivated = log_in(site, account["username"], PASSWORD)
    unknown = log_in(site, "nobody.here", PASSWORD)

    assert deactivated.status_code == unknown.status_code == 401
    assert "Incorrect username, email or password." in deactivated.text
    assert without_form_echo(deactivated.text) == without_form_echo(unknown.text)


def test_an_unknown_account_costs_the_same_password_check(
    site: FlaskClient, other_browser: FlaskClient, password_checks: list[str]
) -> None:
    """Answering faster for names nobody has would tell them apart by the clock."""
    account = sign_up(other_browser)
    attempts = {
        "a wrong password": (account["username"], "not-the-password-1"),
        "an unknown name": ("nobody.here", "not-the-password-1"),
        "an unknown email": ("nobody@example.com", "not-the-password-1"),
        "a name no account can have": ("ada\x00lovelace", "not-the-password-1"),
    }

    for attempt, (login, password) in attempts.items():
        token = csrf_token(site, "/login")
        password_checks.clear()
        response = site.post(
            "/login", data={"login": login, "password": password, "csrf_token": token}
        )
        assert response.status_code == 401, attempt
        assert password_checks == ["verify"], attempt
