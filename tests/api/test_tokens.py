import base64
import json
from datetime import UTC, datetime, timedelta

import jwt

from snapscale.core.security import CLOCK_SKEW_SECONDS, JWT_AUDIENCE, JWT_ISSUER
from tests.conftest import TEST_SECRET
from tests.support.factories import PASSWORD, register, sign_in, signed_in_user


async def test_token_by_username_or_email(api):
    data = await register(api, email="Mixed.Case@Example.com")

    for login in (
        data["username"],
        data["email"],
        "mixed.case@example.com",
        "MIXED.CASE@example.com",
    ):
        response = await sign_in(api, login)
        assert response.status_code == 200, login
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 900
        assert body["access_token"] and body["refresh_token"]
        assert response.headers["cache-control"] == "no-store"


async def test_wrong_password_and_unknown_user_get_the_identical_401(api):
    data = await register(api)

    wrong_password = await sign_in(api, data["username"], "not-the-password")
    unknown_user = await sign_in(api, "nobody-here", PASSWORD)

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()
    assert wrong_password.headers["www-authenticate"] == "Bearer"


async def test_access_token_opens_the_account(api):
    user = await signed_in_user(api)

    response = await api.get("/api/v1/users/me", headers=user.headers)

    assert response.status_code == 200
    assert response.json()["username"] == user.username
    assert response.json()["email"] == user.email


async def test_refresh_rotates_the_pair(api):
    user = await signed_in_user(api)

    response = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})

    assert response.status_code == 200
    pair = response.json()
    assert pair["refresh_token"] != user.refresh_token
    me = await api.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert me.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(api):
    user = await signed_in_user(api)
    first = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    newer = first.json()["refresh_token"]

    replay = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    after_theft = await api.post("/api/v1/auth/refresh", json={"refresh_token": newer})

    assert replay.status_code == 401
    assert after_theft.status_code == 401  # the legitimate holder must sign in again


async def test_other_sessions_survive_a_reuse_in_one_family(api):
    user = await signed_in_user(api)
    other_device = (await sign_in(api, user.username)).json()["refresh_token"]
    await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})

    response = await api.post("/api/v1/auth/refresh", json={"refresh_token": other_device})

    assert response.status_code == 200


async def test_logout_revokes_the_refresh_token(api):
    user = await signed_in_user(api)

    logout = await api.post("/api/v1/auth/logout", json={"refresh_token": user.refresh_token})
    refresh = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})

    assert logout.status_code == 204
    assert logout.content == b""
    assert refresh.status_code == 401


async def test_logout_with_an_unknown_token_is_still_204(api):
    response = await api.post("/api/v1/auth/logout", json={"refresh_token": "never-issued"})
    assert response.status_code == 204


async def test_unknown_refresh_token_is_a_401(api):
    response = await api.post("/api/v1/auth/refresh", json={"refresh_token": "never-issued"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def _token(claims: dict, key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


async def test_bad_access_tokens_are_refused(api):
    user = await signed_in_user(api)
    me = (await api.get("/api/v1/users/me", headers=user.headers)).json()
    now = datetime.now(UTC)
    valid = {
        "sub": me["id"],
        "ver": 1,
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = base64.urlsafe_b64encode(json.dumps({**valid, "iat": 0, "exp": 2**40}).encode())
    unsigned = f"{header.decode().rstrip('=')}.{payload.decode().rstrip('=')}."

    bad_tokens = {
        "expired": _token({**valid, "exp": now - timedelta(seconds=CLOCK_SKEW_SECONDS + 1)}),
        "forged": _token(valid, key="someone-elses-key-which-is-long-enough"),
        "wrong audience": _token({**valid, "aud": "another-service"}),
        "wrong issuer": _token({**valid, "iss": "someone"}),
        "old token version": _token({**valid, "ver": 0}),
        "alg none": unsigned,
        "garbage": "not.a.jwt",
    }
    assert (
        await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {_token(valid)}"})
    ).status_code == 200
    for name, token in bad_tokens.items():
        response = await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.headers["content-type"] == "application/problem+json"


async def test_me_without_a_token_is_a_401_problem(api):
    response = await api.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401


async def test_control_characters_in_the_login_are_just_bad_credentials(api):
    await register(api, username="nul.check")
    response = await sign_in(api, "nul.check\x00", PASSWORD)
    assert response.status_code == 401
    assert response.json()["detail"] == "Incorrect username, email or password."
