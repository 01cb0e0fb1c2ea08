"""Nobody learns through the API which accounts exist, beyond what is public anyway.

- Log-in: an unknown name, a wrong password and a deactivated account get the very same
  401, and each costs one password-hash verification (an unknown name is checked against
  a stand-in hash), so timing does not tell them apart either.
- Sign-up: a taken username is a 409 naming the field; usernames are public (every
  profile is at /users/<name>), so that reveals nothing new. A taken email is a 409 as
  well: there is no mail delivery through which only the owner could be told, so the
  alternative would be a sign-up that silently fails. What bounds that answer is the
  per-address sign-up budget, which email changes share (test_login_throttling.py).
- Password change: a wrong current password is a 422 on that field and nothing else.
"""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Registration
from tests.support.factories import PASSWORD, register, registration, sign_in, signed_in_user

PROBLEM = "application/problem+json"


class VerificationSpy:
    """Counts argon2 verifications, whoever asks for them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = PasswordHasher.verify

        def verify(hasher: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
            self.calls += 1
            return real(hasher, hash, password)

        monkeypatch.setattr(PasswordHasher, "verify", verify)


async def deactivated_account(api: httpx.AsyncClient) -> dict[str, str]:
    admin = registration()
    await api.runtime.run(  # type: ignore[attr-defined]
        account_service.register, data=Registration(**admin), is_admin=True
    )
    admin_token = (await sign_in(api, admin["username"])).json()["access_token"]
    member = await register(api)
    done = await api.post(
        f"/api/v1/admin/users/{member['username']}/deactivate",
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert done.status_code == 200
    return member


async def test_every_failed_log_in_looks_the_same(api: httpx.AsyncClient) -> None:
    member = await register(api)
    closed = await deactivated_account(api)

    failures = {
        "wrong password": await sign_in(api, member["username"], "not-the-password-1"),
        "wrong password, by email": await sign_in(api, member["email"], "not-the-password-1"),
        "unknown username": await sign_in(api, "nobody.at.all"),
        "unknown email": await sign_in(api, "nobody@example.org"),
        "deactivated, right password": await sign_in(api, closed["username"]),
        "control characters": await sign_in(api, member["username"] + "\x00"),
    }

    reference = failures["wrong password"]
    for name, response in failures.items():
        assert response.status_code == 401, name
        assert response.headers["content-type"] == PROBLEM, name
        assert response.headers["www-authenticate"] == "Bearer", name
        assert response.json() == reference.json(), name
        assert response.json()["detail"] == "Incorrect username, email or password.", name


async def test_every_log_in_attempt_costs_one_password_hash_check(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = await register(api)
    closed = await deactivated_account(api)
    spy = VerificationSpy(monkeypatch)

    attempts = {
        "right password": (member["username"], PASSWORD, 200),
        "wrong password": (member["username"], "not-the-password-1", 401),
        "unknown username": ("nobody.at.all", PASSWORD, 401),
        "unknown email": ("nobody@example.org", PASSWORD, 401),
        "deactivated": (closed["username"], PASSWORD, 401),
        "control characters": ("nobody\x00", PASSWORD, 401),
    }
    for name, (login, password, status) in attempts.items():
        before = spy.calls
        response = await sign_in(api, login, password)
        assert response.status_code == status, name
        assert spy.calls - before == 1, name


async def test_a_taken_username_tells_only_what_the_public_profile_does(
    api: httpx.AsyncClient,
) -> None:
    owner = await register(api, email="Owner.Private@Example.com")

    taken = await api.post(
        "/api/v1/auth/register", json=registration(username=owner["username"].upper())
    )
    profile = await api.get(f"/api/v1/users/{owner['username']}")

    assert taken.status_code == 409
    assert [error["field"] for error in taken.json()["errors"]] == ["username"]
    assert profile.status_code == 200  # the name was public already
    assert "owner.private" not in taken.text.lower()


async def test_a_taken_email_names_no_account(api: httpx.AsyncClient) -> None:
    owner = await register(api, email="Owner.Private@Example.com")

    taken = await api.post(
        "/api/v1/auth/register", json=registration(email="owner.private@EXAMPLE.com")
    )

    assert taken.status_code == 409
    assert taken.headers["content-type"] == PROBLEM
    assert [error["field"] for error in taken.json()["errors"]] == ["email"]
    assert owner["username"] not in taken.text
    # Nothing was created for the second sign-up.
    assert (await sign_in(api, "owner.private@example.com")).status_code == 200
    assert len((await api.get("/api/v1/users")).json()["items"]) == 1


async def test_a_deactivated_profile_looks_like_one_that_never_existed(
    api: httpx.AsyncClient,
) -> None:
    closed = await deactivated_account(api)

    for name in (closed["username"], "never.existed"):
        for path in (f"/api/v1/users/{name}", f"/api/v1/users/{name}/photos"):
            response = await api.get(path)
            assert response.status_code == 404, path
            assert response.json()["detail"] == f"There is no user called {name!r}.", path


async def test_a_wrong_current_password_is_a_plain_field_error(api: httpx.AsyncClient) -> None:
    user = await signed_in_user(api)

    response = await api.post(
        "/api/v1/users/me/password",
        headers=user.headers,
        json={"current_password": "not-it-at-all", "new_password": "another-good-secret"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["errors"] == [
        {
            "field": "current_password",
            "location": "body",
            "detail": "is not your current password",
        }
    ]
    for secret in (user.email, "argon2", "$", "hash"):
        assert secret not in response.text, secret
    # Nothing changed: the same token and password still work.
    assert (await api.get("/api/v1/users/me", headers=user.headers)).status_code == 200
    assert (await sign_in(api, user.username, PASSWORD)).status_code == 200
