"""Factory functions for test data, through the public API like a real client (only an
administrator is made through the core, as the API never makes one)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import httpx

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Registration

PASSWORD = "tulip-garden-42"
_counter = itertools.count(1)


@dataclass
class SignedIn:
    username: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def registration(**overrides: str) -> dict[str, str]:
    n = next(_counter)
    data = {"username": f"user{n}", "email": f"user{n}@example.com", "password": PASSWORD}
    data.update(overrides)
    return data


async def register(api: httpx.AsyncClient, **overrides: str) -> dict[str, str]:
    data = registration(**overrides)
    response = await api.post("/api/v1/auth/register", json=data)
    assert response.status_code == 201, response.text
    return data


async def sign_in(api: httpx.AsyncClient, login: str, password: str = PASSWORD) -> httpx.Response:
    return await api.post("/api/v1/auth/token", data={"username": login, "password": password})


async def signed_in_user(api: httpx.AsyncClient, **overrides: str) -> SignedIn:
    return await _signed_in(api, await register(api, **overrides))


async def signed_in_admin(api: httpx.AsyncClient) -> SignedIn:
    """An administrator (made through the core: the API never makes one), signed in."""
    data = registration()
    await api.runtime.run(  # type: ignore[attr-defined]
        account_service.register, data=Registration(**data), is_admin=True
    )
    return await _signed_in(api, data)


async def _signed_in(api: httpx.AsyncClient, data: dict[str, str]) -> SignedIn:
    response = await sign_in(api, data["username"], data["password"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    return SignedIn(
        data["username"],
        data["email"],
        data["password"],
        tokens["access_token"],
        tokens["refresh_token"],
    )
