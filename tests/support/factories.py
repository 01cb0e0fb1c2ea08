"""Factory functions for test data, through the public API like a real client."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import httpx

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
    data = await register(api, **overrides)
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
