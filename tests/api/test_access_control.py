"""Access control in the API: one account cannot change, delete or read what belongs to
another, nobody reaches what they cannot see, and the administration is for
administrators. Every refusal is a problem, and the data is unchanged afterwards."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import update

from snapscale.core.models import Photo, PhotoStatus
from tests.support import images
from tests.support.factories import (
    SignedIn,
    sign_in,
    signed_in_admin,
    signed_in_user,
)
from tests.support.photos import finish_jobs, stored_keys, upload

PROBLEM = "application/problem+json"


@dataclass
class Alice:
    """The victim: an account with a ready photo, a comment on it, and a photo still
    being processed."""

    user: SignedIn
    photo: str
    comment: str
    processing: str


async def alice_with_content(api: httpx.AsyncClient) -> Alice:
    user = await signed_in_user(api, display_name="Alice")
    photo = (await upload(api, user.headers, images.jpeg(320, 240), caption="mine")).json()["id"]
    await finish_jobs(api)
    comment = await api.post(
        f"/api/v1/photos/{photo}/comments", headers=user.headers, json={"text": "first!"}
    )
    assert comment.status_code == 201
    processing = (await upload(api, user.headers, images.jpeg(64, 48, seed=3))).json()["id"]
    await finish_jobs(api)
    # Held as processing, as if its job had not run yet, however fast the machine is.
    async with api.runtime.unit_of_work() as uow:  # type: ignore[attr-defined]
        await uow.session.execute(
            update(Photo).where(Photo.id == int(processing)).values(status=PhotoStatus.PROCESSING)
        )
        await uow.commit()
    return Alice(user, photo, comment.json()["id"], processing)


def attacks_on(alice: Alice) -> list[tuple[str, str, dict | None, int]]:
    """(method, path, JSON body, the status another signed-in account gets)."""
    name, photo, processing = alice.user.username, alice.photo, alice.processing
    return [
        ("PATCH", f"/api/v1/photos/{photo}", {"caption": "defaced"}, 403),
        ("DELETE", f"/api/v1/photos/{photo}", None, 403),
        ("DELETE", f"/api/v1/comments/{alice.comment}", None, 403),
        # There is no route to another account's profile or password: only /me.
        ("PATCH", f"/api/v1/users/{name}", {"display_name": "defaced"}, 405),
        ("POST", f"/api/v1/users/{name}/password", {"new_password": "x-y-z-1-2-3"}, 404),
        ("PATCH", "/api/v1/users/me", {"username": name}, 422),
        ("PATCH", "/api/v1/users/me", {"id": "1"}, 422),
        # A photo still processing is Alice's alone: others cannot tell it exists.
        ("GET", f"/api/v1/photos/{processing}", None, 404),
        ("PATCH", f"/api/v1/photos/{processing}", {"caption": "defaced"}, 404),
        ("DELETE", f"/api/v1/photos/{processing}", None, 404),
        ("PUT", f"/api/v1/photos/{processing}/like", None, 404),
        ("POST", f"/api/v1/photos/{processing}/comments", {"text": "found it"}, 404),
        ("GET", f"/api/v1/photos/{processing}/comments", None, 404),
        # Moderation is for administrators only.
        ("POST", f"/api/v1/admin/users/{name}/deactivate", None, 403),
        ("DELETE", f"/api/v1/admin/photos/{photo}", None, 403),
    ]


async def assert_alice_untouched(api: httpx.AsyncClient, alice: Alice) -> None:
    me = (await api.get("/api/v1/users/me", headers=alice.user.headers)).json()
    assert me["username"] == alice.user.username
    assert me["display_name"] == "Alice"
    photo = await api.get(f"/api/v1/photos/{alice.photo}")
    assert photo.status_code == 200
    assert photo.json()["caption"] == "mine"
    assert photo.json()["comment_count"] == 1
    comments = (await api.get(f"/api/v1/photos/{alice.photo}/comments")).json()["items"]
    assert [comment["id"] for comment in comments] == [alice.comment]
    processing = await api.get(f"/api/v1/photos/{alice.processing}", headers=alice.user.headers)
    assert processing.status_code == 200
    held = processing.json()
    assert (held["status"], held["caption"], held["like_count"], held["comment_count"]) == (
        "processing",
        "",
        0,
        0,
    )
    assert (await sign_in(api, alice.user.username)).status_code == 200


async def test_another_account_cannot_touch_alices_things(api: httpx.AsyncClient) -> None:
    alice = await alice_with_content(api)
    mallory = await signed_in_user(api)

    for method, path, body, status in attacks_on(alice):
        response = await api.request(method, path, headers=mallory.headers, json=body)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM, (method, path)

    await assert_alice_untouched(api, alice)


async def test_anonymous_clients_cannot_touch_alices_things(api: httpx.AsyncClient) -> None:
    alice = await alice_with_content(api)

    for method, path, body, status in attacks_on(alice):
        if method == "GET" or status in (404, 405):
            continue  # reads are public; routes that do not exist do not exist for anyone
        response = await api.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"

    await assert_alice_untouched(api, alice)


@pytest.mark.parametrize("gone", ["deleted", "owner deactivated"])
async def test_a_photo_that_is_gone_takes_no_likes_or_comments(
    api: httpx.AsyncClient, gone: str
) -> None:
    owner = await signed_in_user(api)
    fan = await signed_in_user(api)
    photo = (await upload(api, owner.headers, images.jpeg(320, 240))).json()["id"]
    await finish_jobs(api)
    admin = await signed_in_admin(api)
    if gone == "deleted":
        assert (
            await api.delete(f"/api/v1/photos/{photo}", headers=owner.headers)
        ).status_code == 204
    else:
        deactivated = await api.post(
            f"/api/v1/admin/users/{owner.username}/deactivate", headers=admin.headers
        )
        assert deactivated.status_code == 200

    attempts = [
        await api.put(f"/api/v1/photos/{photo}/like", headers=fan.headers),
        await api.post(f"/api/v1/photos/{photo}/comments", headers=fan.headers, json={"text": "!"}),
        await api.get(f"/api/v1/photos/{photo}/comments", headers=fan.headers),
        await api.get(f"/api/v1/photos/{photo}", headers=fan.headers),
    ]

    assert [attempt.status_code for attempt in attempts] == [404] * 4
    assert all(attempt.headers["content-type"] == PROBLEM for attempt in attempts)
    if gone == "owner deactivated":
        # Brought back, the photo shows that nothing was added while it was hidden.
        back = await api.post(
            f"/api/v1/admin/users/{owner.username}/reactivate", headers=admin.headers
        )
        assert back.status_code == 200
        shown = (await api.get(f"/api/v1/photos/{photo}")).json()
        assert (shown["like_count"], shown["comment_count"]) == (0, 0)
        comments = (await api.get(f"/api/v1/photos/{photo}/comments")).json()
        assert comments["items"] == []


async def test_a_deactivated_accounts_content_is_hidden_from_everyone(
    api: httpx.AsyncClient,
) -> None:
    owner = await signed_in_user(api)
    reader = await signed_in_user(api)
    photo = (await upload(api, owner.headers, images.jpeg(320, 240))).json()["id"]
    await finish_jobs(api)
    admin = await signed_in_admin(api)
    await api.post(f"/api/v1/admin/users/{owner.username}/deactivate", headers=admin.headers)

    for path in (
        f"/api/v1/users/{owner.username}",
        f"/api/v1/users/{owner.username}/photos",
        f"/api/v1/users/{owner.username}/followers",
        f"/api/v1/photos/{photo}",
    ):
        response = await api.get(path, headers=reader.headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM, path
    listed = (await api.get("/api/v1/users", headers=reader.headers)).json()["items"]
    assert owner.username not in [user["username"] for user in listed]
    follow = await api.put(f"/api/v1/users/{owner.username}/follow", headers=reader.headers)
    assert follow.status_code == 404


async def test_nothing_anyone_else_reads_carries_an_accounts_email(
    api: httpx.AsyncClient,
) -> None:
    alice = await alice_with_content(api)
    reader = await signed_in_user(api)
    await api.put(f"/api/v1/users/{alice.user.username}/follow", headers=reader.headers)
    await api.put(f"/api/v1/users/{reader.username}/follow", headers=alice.user.headers)
    await api.put(f"/api/v1/photos/{alice.photo}/like", headers=reader.headers)
    await finish_jobs(api)
    name = alice.user.username

    for path in (
        "/api/v1/users",
        f"/api/v1/users/{name}",
        f"/api/v1/users/{name}/photos",
        f"/api/v1/users/{name}/followers",
        f"/api/v1/users/{name}/following",
        f"/api/v1/users/{reader.username}/followers",
        f"/api/v1/photos/{alice.photo}",
        f"/api/v1/photos/{alice.photo}/comments",
        "/api/v1/explore",
        "/api/v1/feed",
    ):
        for headers in (reader.headers, {}):
            if path == "/api/v1/feed" and not headers:
                continue
            response = await api.get(path, headers=headers)
            assert response.status_code == 200, path
            assert alice.user.email.lower() not in response.text.lower(), path
            assert "password" not in response.text, path
    assert name in (await api.get("/api/v1/feed", headers=reader.headers)).text


async def test_originals_and_files_outside_the_renditions_are_never_served(
    api: httpx.AsyncClient,
) -> None:
    user = await signed_in_user(api)
    photo = (await upload(api, user.headers, images.jpeg(320, 240, gps=True))).json()["id"]
    await finish_jobs(api)
    assert f"photos/{photo}/original" in await stored_keys(api, photo)

    for path in (
        f"/media/photos/{photo}/original",
        f"/media/photos/{photo}/original.webp",
        f"/media/photos/{photo}/../{photo}/original",
        f"/media/photos/{photo}/%2e%2e/%2e%2e/snapscale.db",
        "/media/..%2fsecret_key",
        "/media/%2e%2e/%2e%2e/etc/passwd",
    ):
        response = await api.get(path, headers=user.headers)
        assert response.status_code == 404, path
        assert b"\xff\xd8" not in response.content[:2], path  # no JPEG bytes


async def test_a_deactivated_administrators_token_no_longer_moderates(
    api: httpx.AsyncClient,
) -> None:
    first = await signed_in_admin(api)
    second = await signed_in_admin(api)
    member = await signed_in_user(api)

    # One administrator deactivates another: the other's token dies with the account.
    await api.post(f"/api/v1/admin/users/{second.username}/deactivate", headers=first.headers)
    attempt = await api.post(
        f"/api/v1/admin/users/{member.username}/deactivate", headers=second.headers
    )
    stats = await api.get("/api/v1/admin/stats", headers=second.headers)

    assert attempt.status_code == stats.status_code == 401
    assert attempt.headers["content-type"] == PROBLEM
    assert (await api.get("/api/v1/users/me", headers=member.headers)).status_code == 200
