"""Following: idempotent, counted correctly, listed newest first."""

import asyncio

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Registration
from snapscale.core.social import service as social_service
from tests.support.factories import PASSWORD, signed_in_user


async def _profile(api, username: str) -> dict:
    return (await api.get(f"/api/v1/users/{username}")).json()


async def test_follow_and_unfollow_are_idempotent_and_counted(api):
    alice = await signed_in_user(api)
    bob = await signed_in_user(api)

    for _ in range(2):
        response = await api.put(f"/api/v1/users/{bob.username}/follow", headers=alice.headers)
        assert response.status_code == 204
    assert (await _profile(api, bob.username))["followers_count"] == 1
    assert (await _profile(api, alice.username))["following_count"] == 1

    for _ in range(2):
        response = await api.delete(f"/api/v1/users/{bob.username}/follow", headers=alice.headers)
        assert response.status_code == 204
    assert (await _profile(api, bob.username))["followers_count"] == 0
    assert (await _profile(api, alice.username))["following_count"] == 0


async def test_following_yourself_is_a_422(api):
    alice = await signed_in_user(api)
    response = await api.put(f"/api/v1/users/{alice.username}/follow", headers=alice.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_following_needs_a_user_and_a_target(api):
    alice = await signed_in_user(api)
    assert (await api.put(f"/api/v1/users/{alice.username}/follow")).status_code == 401
    response = await api.put("/api/v1/users/nobody/follow", headers=alice.headers)
    assert response.status_code == 404


async def test_followers_and_following_lists_page_newest_first(api):
    star = await signed_in_user(api)
    fans = [await signed_in_user(api) for _ in range(5)]
    for fan in fans:
        await api.put(f"/api/v1/users/{star.username}/follow", headers=fan.headers)
    await api.put(f"/api/v1/users/{fans[0].username}/follow", headers=star.headers)

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(f"/api/v1/users/{star.username}/followers", params=params)).json()
        seen += [person["username"] for person in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    following = (await api.get(f"/api/v1/users/{star.username}/following")).json()

    assert seen == [fan.username for fan in reversed(fans)]
    assert [person["username"] for person in following["items"]] == [fans[0].username]
    assert all("email" not in person for person in following["items"])


async def test_counters_stay_exact_under_concurrent_follows_and_unfollows(runtime):
    async def register(name: str) -> int:
        data = Registration(username=name, email=f"{name}@example.com", password=PASSWORD)
        return (await runtime.run(account_service.register, data=data)).id

    await register("star")
    fans = [await register(f"fan{n}") for n in range(12)]

    async def churn(fan_id: int, follow_last: bool) -> None:
        for _ in range(3):
            await runtime.run(social_service.follow, follower_id=fan_id, username="star")
            await runtime.run(social_service.unfollow, follower_id=fan_id, username="star")
        if follow_last:
            await runtime.run(social_service.follow, follower_id=fan_id, username="star")

    await asyncio.gather(*(churn(fan, n % 2 == 0) for n, fan in enumerate(fans)))

    star = await runtime.run(account_service.get_public_profile, username="star")
    page = await runtime.run(social_service.list_followers, username="star", cursor=None, limit=100)
    assert star.followers_count == len(page.items) == 6
