"""Attacks on the API's tokens: every forged, tampered, misused or ended token is a 401
problem (never a 500, never a silent fall-back to signed-out), and nothing it asked for
happens. Expired, foreign-key, wrong-audience, wrong-issuer and `alg: none` tokens are
covered in test_tokens.py; this file adds what an attacker would try next."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Registration
from snapscale.core.db import utcnow
from snapscale.core.models import RefreshToken
from snapscale.core.security import JWT_AUDIENCE, JWT_ISSUER, digest_token
from tests.conftest import TEST_SECRET
from tests.support.factories import SignedIn, registration, sign_in, signed_in_user

PROBLEM = "application/problem+json"
BAD_TOKEN = "The token is invalid, expired or revoked."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_for(user_id: str, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user_id,
        "ver": 1,
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def mint(claims: dict[str, Any], *, key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


async def my_id(api: httpx.AsyncClient, user: SignedIn) -> str:
    response = await api.get("/api/v1/users/me", headers=user.headers)
    assert response.status_code == 200
    return str(response.json()["id"])


def assert_refused(response: httpx.Response, what: str) -> None:
    assert response.status_code == 401, (what, response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM, what
    assert response.headers["www-authenticate"] == "Bearer", what
    body = response.json()
    assert body["status"] == 401, what
    assert body["type"] == "urn:snapscale:problem:authentication-failed", what


async def test_a_token_with_its_subject_changed_is_refused(api: httpx.AsyncClient) -> None:
    victim = await signed_in_user(api)
    attacker = await signed_in_user(api)
    victim_id = await my_id(api, victim)
    header, payload, signature = attacker.access_token.split(".")
    claims = json.loads(_unb64(payload))
    claims["sub"] = victim_id
    tampered = ".".join([header, _b64(json.dumps(claims).encode()), signature])

    response = await api.patch(
        "/api/v1/users/me", headers=bearer(tampered), json={"display_name": "owned"}
    )

    assert_refused(response, "tampered sub")
    victim_now = (await api.get("/api/v1/users/me", headers=victim.headers)).json()
    assert victim_now["display_name"] == ""


# The server's key is long enough for HS256, which is all it is meant for.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_signing_tricks_are_refused(api: httpx.AsyncClient) -> None:
    user = await signed_in_user(api)
    user_id = await my_id(api, user)
    claims = claims_for(user_id)
    header, payload, signature = mint(claims).split(".")

    def unsigned(alg: str, sig: str = "") -> str:
        return f"{_b64(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())}.{payload}.{sig}"

    tricks = {
        # The right key, but an algorithm the server does not accept.
        "HS512 with the server's key": mint(claims, algorithm="HS512"),
        "HS384 with the server's key": mint(claims, algorithm="HS384"),
        # "none" spelled as some libraries accept it, with and without the old signature.
        "alg None": unsigned("None"),
        "alg NONE": unsigned("NONE"),
        "alg none keeping the signature": unsigned("none", signature),
        "signature removed": f"{header}.{payload}.",
        "signature of another token": f"{header}.{payload}.{mint(claims_for('1')).split('.')[2]}",
        "empty key": f"{header}.{payload}.{_b64(hmac_sha256(b'', f'{header}.{payload}'))}",
    }
    assert (await api.get("/api/v1/users/me", headers=bearer(mint(claims)))).status_code == 200
    for name, token in tricks.items():
        assert_refused(await api.get("/api/v1/users/me", headers=bearer(token)), name)


async def test_malformed_claims_are_refused_not_a_500(api: httpx.AsyncClient) -> None:
    user = await signed_in_user(api)
    user_id = await my_id(api, user)
    now = datetime.now(UTC)

    # Signed with the server's own key: only a leaked key could mint these, and even
    # then a bad claim must be a refusal, never a crash.
    malformed = {
        "no subject": claims_for(user_id, sub=None),
        "no expiry": claims_for(user_id, exp=None),
        "no issued-at": claims_for(user_id, iat=None),
        "no token version": claims_for(user_id, ver=None),
        "subject not a number": claims_for(user_id, sub="admin"),
        "subject a JSON number": claims_for(user_id, sub=int(user_id)),
        "subject beyond 64 bits": claims_for(user_id, sub=str(2**70)),
        "subject negative": claims_for(user_id, sub="-1"),
        "token version not a number": claims_for(user_id, ver="latest"),
        "issued in the future": claims_for(
            user_id, iat=now + timedelta(hours=1), exp=now + timedelta(hours=2)
        ),
        "not valid yet": claims_for(user_id, nbf=now + timedelta(hours=1)),
        "audience list without ours": claims_for(user_id, aud=["other-api"]),
    }
    for name, claims in malformed.items():
        assert_refused(await api.get("/api/v1/users/me", headers=bearer(mint(claims))), name)


async def test_a_token_for_an_account_that_does_not_exist_is_refused(
    api: httpx.AsyncClient,
) -> None:
    token = mint(claims_for("987654321012345"))

    assert_refused(await api.get("/api/v1/users/me", headers=bearer(token)), "unknown account")
    assert_refused(await api.get("/api/v1/feed", headers=bearer(token)), "unknown account feed")


async def test_tokens_of_a_deactivated_account_open_nothing(api: httpx.AsyncClient) -> None:
    admin_data = registration()
    await api.runtime.run(  # type: ignore[attr-defined]
        account_service.register, data=Registration(**admin_data), is_admin=True
    )
    admin = (await sign_in(api, admin_data["username"])).json()
    member = await signed_in_user(api)
    member_id = await my_id(api, member)

    done = await api.post(
        f"/api/v1/admin/users/{member.username}/deactivate", headers=bearer(admin["access_token"])
    )
    assert done.status_code == 200

    assert_refused(await api.get("/api/v1/users/me", headers=member.headers), "old access token")
    # Even a freshly minted token with the current version: the account itself is closed.
    fresh = mint(claims_for(member_id, ver=2))
    assert_refused(await api.get("/api/v1/users/me", headers=bearer(fresh)), "current version")
    refresh = await api.post("/api/v1/auth/refresh", json={"refresh_token": member.refresh_token})
    assert_refused(refresh, "refresh token")
    assert_refused(await sign_in(api, member.username), "password")


async def test_a_refresh_token_is_no_access_token_and_the_reverse(api: httpx.AsyncClient) -> None:
    user = await signed_in_user(api)

    as_access = await api.get("/api/v1/users/me", headers=bearer(user.refresh_token))
    as_refresh = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.access_token})

    assert_refused(as_access, "refresh token as bearer")
    assert_refused(as_refresh, "access token as refresh token")
    # Neither misuse cost the real client its session.
    assert (await api.get("/api/v1/users/me", headers=user.headers)).status_code == 200
    rotated = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert rotated.status_code == 200


async def test_a_revoked_refresh_token_stays_revoked(api: httpx.AsyncClient) -> None:
    user = await signed_in_user(api)
    rotated = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    newest = rotated.json()["refresh_token"]

    assert (
        await api.post("/api/v1/auth/logout", json={"refresh_token": newest})
    ).status_code == 204

    for token in (newest, user.refresh_token):
        response = await api.post("/api/v1/auth/refresh", json={"refresh_token": token})
        assert_refused(response, "revoked")
        assert response.json()["detail"] == BAD_TOKEN


async def test_an_expired_refresh_token_is_refused(api: httpx.AsyncClient) -> None:
    user = await signed_in_user(api)
    async with api.runtime.unit_of_work() as uow:  # type: ignore[attr-defined]
        await uow.session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == digest_token(user.refresh_token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()

    response = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})

    assert_refused(response, "expired refresh token")
    assert response.json()["detail"] == BAD_TOKEN


async def test_odd_authorization_headers_are_401_problems(api: httpx.AsyncClient) -> None:
    for authorization in (
        "Bearer",
        "Bearer ",
        "Bearer a b c",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer " + "A" * 8000,
        "Bearer \u00ff\u00fe.\u00fd",
    ):
        headers = [(b"authorization", authorization.encode("latin-1"))]

        response = await api.get("/api/v1/users/me", headers=headers)

        assert_refused(response, authorization[:20])


async def test_a_bad_token_is_refused_even_where_signing_in_is_optional(
    api: httpx.AsyncClient,
) -> None:
    """A client that sends a token means to be signed in: a bad one must be refused, not
    quietly answered as if it had been left out."""
    forged = mint(claims_for("1"), key="someone-elses-key-which-is-long-enough")

    for path in ("/api/v1/explore", "/api/v1/users/nobody.here/photos", "/api/v1/photos/1"):
        assert_refused(await api.get(path, headers=bearer(forged)), path)
