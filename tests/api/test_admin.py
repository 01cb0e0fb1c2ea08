"""The same administration through the API (/api/v1/admin/...): administrators' tokens
only, problem+json answers, and the same effects as the site's moderation pages."""

from __future__ import annotations

import httpx
import pytest

from tests.support.factories import (
    sign_in,
    signed_in_admin,
    signed_in_user,
)
from tests.support.photos import finish_jobs, stored_keys, upload

PROBLEM = "application/problem+json"


def admin_routes(username: str) -> list[tuple[str, str]]:
    return [
        ("GET", "/api/v1/admin/stats"),
        ("GET", "/api/v1/admin/users?prefix=a"),
        ("POST", f"/api/v1/admin/users/{username}/deactivate"),
        ("POST", f"/api/v1/admin/users/{username}/reactivate"),
        ("DELETE", "/api/v1/admin/photos/123"),
    ]


async def test_only_administrators_tokens_open_the_admin_routes(api: httpx.AsyncClient) -> None:
    member = await signed_in_user(api)

    for method, path in admin_routes(member.username):
        anonymous = await api.request(method, path)
        assert anonymous.status_code == 401, path
        forbidden = await api.request(method, path, headers=member.headers)
        assert forbidden.status_code == 403, path
        assert forbidden.headers["content-type"] == PROBLEM
        assert forbidden.json()["detail"] == "Only administrators may do that."
    assert (await api.get("/api/v1/users/me", headers=member.headers)).status_code == 200


async def test_administrators_read_the_figures(api: httpx.AsyncClient) -> None:
    admin = await signed_in_admin(api)
    await signed_in_user(api)

    response = await api.get("/api/v1/admin/stats", headers=admin.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["users"] == {"total": 2, "new_last_day": 2, "active": 2}
    assert len(body["series"]) == 30
    assert body["jobs"]["known"] is True


async def test_deactivate_and_reactivate_through_the_api(api: httpx.AsyncClient) -> None:
    admin = await signed_in_admin(api)
    member = await signed_in_user(api)

    done = await api.post(
        f"/api/v1/admin/users/{member.username}/deactivate", headers=admin.headers
    )

    assert done.status_code == 200
    assert done.json()["is_active"] is False
    assert (await api.get("/api/v1/users/me", headers=member.headers)).status_code == 401
    assert (await sign_in(api, member.username)).status_code == 401
    assert (await api.get(f"/api/v1/users/{member.username}")).status_code == 404
    found = await api.get(
        "/api/v1/admin/users", params={"prefix": member.username}, headers=admin.headers
    )
    assert [(u["username"], u["is_active"]) for u in found.json()] == [(member.username, False)]

    again = await api.post(
        f"/api/v1/admin/users/{member.username}/reactivate", headers=admin.headers
    )
    assert again.status_code == 200 and again.json()["is_active"] is True
    assert (await sign_in(api, member.username)).status_code == 200
    assert (await api.get(f"/api/v1/users/{member.username}")).status_code == 200


@pytest.mark.parametrize(
    ("target", "status"),
    [("self", 422), ("nobody.here", 404), ("a%00b", 404)],
)
async def test_deactivation_refusals_are_problems(
    api: httpx.AsyncClient, target: str, status: int
) -> None:
    admin = await signed_in_admin(api)
    username = admin.username if target == "self" else target

    response = await api.post(f"/api/v1/admin/users/{username}/deactivate", headers=admin.headers)

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert (await api.get("/api/v1/users/me", headers=admin.headers)).status_code == 200


async def test_removing_a_photo_through_the_api(api: httpx.AsyncClient) -> None:
    admin = await signed_in_admin(api)
    member = await signed_in_user(api)
    photo_id = (await upload(api, member.headers)).json()["id"]
    await finish_jobs(api)

    removed = await api.delete(f"/api/v1/admin/photos/{photo_id}", headers=admin.headers)

    assert removed.status_code == 204
    assert (await api.get(f"/api/v1/photos/{photo_id}")).status_code == 404
    await finish_jobs(api)
    assert await stored_keys(api, photo_id) == []
    again = await api.delete(f"/api/v1/admin/photos/{photo_id}", headers=admin.headers)
    assert again.status_code == 404
    assert again.headers["content-type"] == PROBLEM
