"""A cached profile is answered before routing, byte for byte what the route answers,
with every header the route's answer has, and never once the profile changed."""

from __future__ import annotations

from snapscale.core.accounts import service as account_service
from tests.support.factories import signed_in_user

# Headers whose values differ between any two responses.
PER_RESPONSE = {"x-request-id", "date", "server", "ratelimit-remaining", "ratelimit-reset"}


def _stable(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in PER_RESPONSE}


async def _is_cached(api, username: str) -> bool:
    cache = api.runtime.cache
    return await account_service.cached_public_profile_json(cache, username=username) is not None


async def test_a_cached_profile_is_the_same_answer_as_the_route_gives(api):
    user = await signed_in_user(api, username="ada")
    changes = {"display_name": "Ada Lovelace ☕ <b>", "bio": 'Notes on "G"\nand \\ more'}
    assert (await api.patch("/api/v1/users/me", json=changes, headers=user.headers)).is_success
    assert not await _is_cached(api, "ada")

    from_the_route = await api.get("/api/v1/users/ada")
    assert await _is_cached(api, "ada")
    from_the_cache = await api.get("/api/v1/users/ada")

    assert from_the_cache.status_code == from_the_route.status_code == 200
    assert from_the_cache.content == from_the_route.content
    assert from_the_cache.json()["display_name"] == "Ada Lovelace ☕ <b>"
    assert _stable(dict(from_the_cache.headers)) == _stable(dict(from_the_route.headers))
    assert from_the_cache.headers["content-security-policy"].startswith("default-src 'none'")
    assert from_the_cache.headers["x-request-id"] != from_the_route.headers["x-request-id"]


async def test_an_edit_is_seen_at_once(api):
    user = await signed_in_user(api, username="grace")
    await api.get("/api/v1/users/grace")  # cached now

    edited = await api.patch("/api/v1/users/me", json={"bio": "compilers"}, headers=user.headers)
    assert edited.status_code == 200

    assert (await api.get("/api/v1/users/grace")).json()["bio"] == "compilers"


async def test_other_user_routes_are_not_taken_for_profiles(api):
    user = await signed_in_user(api, username="linus")
    await api.get("/api/v1/users/linus")

    assert (await api.get("/api/v1/users/me")).status_code == 401
    me = await api.get("/api/v1/users/me", headers=user.headers)
    assert me.json()["email"]  # the owner's view, not the public profile
    photos = await api.get("/api/v1/users/linus/photos")
    assert photos.status_code == 200
    assert photos.json()["items"] == []
    assert (await api.post("/api/v1/users/linus")).status_code == 405


async def test_names_no_account_can_have_still_get_the_routes_answers(api):
    too_long = await api.get("/api/v1/users/" + "x" * 65)
    assert too_long.status_code == 422
    assert too_long.headers["content-type"] == "application/problem+json"
    unknown = await api.get("/api/v1/users/nobody-here")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_cached_reads_are_counted_under_their_route(api):
    await signed_in_user(api, username="barbara")
    before = await _profile_reads_counted(api)
    for _ in range(3):
        assert (await api.get("/api/v1/users/barbara")).status_code == 200

    assert await _profile_reads_counted(api) == before + 3


async def _profile_reads_counted(api) -> float:
    """http_requests_total for 200s of the profile route (the process counts across tests)."""
    exposition = (await api.get("/metrics")).text
    for line in exposition.splitlines():
        if (
            line.startswith("http_requests_total{")
            and 'route="/api/v1/users/{username}"' in line
            and 'status="200"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
