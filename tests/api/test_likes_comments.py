"""Likes and comments on photos."""

from tests.support import images
from tests.support.factories import signed_in_user
from tests.support.photos import finish_jobs, upload


async def _ready_photo(api, owner) -> str:
    photo = (await upload(api, owner.headers, images.jpeg(320, 240))).json()
    await finish_jobs(api)
    return photo["id"]


async def test_likes_are_idempotent_counted_and_personal(api):
    owner = await signed_in_user(api)
    fan = await signed_in_user(api)
    photo_id = await _ready_photo(api, owner)

    for _ in range(2):
        assert (
            await api.put(f"/api/v1/photos/{photo_id}/like", headers=fan.headers)
        ).status_code == 204

    as_fan = (await api.get(f"/api/v1/photos/{photo_id}", headers=fan.headers)).json()
    as_owner = (await api.get(f"/api/v1/photos/{photo_id}", headers=owner.headers)).json()
    anonymous = (await api.get(f"/api/v1/photos/{photo_id}")).json()
    assert as_fan["like_count"] == 1
    assert as_fan["liked_by_me"] is True
    assert as_owner["liked_by_me"] is False
    assert anonymous["liked_by_me"] is None

    for _ in range(2):
        assert (
            await api.delete(f"/api/v1/photos/{photo_id}/like", headers=fan.headers)
        ).status_code == 204
    assert (await api.get(f"/api/v1/photos/{photo_id}", headers=fan.headers)).json()[
        "like_count"
    ] == 0


async def test_liking_needs_a_visible_photo_and_a_user(api):
    owner = await signed_in_user(api)
    fan = await signed_in_user(api)
    processing = (await upload(api, owner.headers, images.jpeg(64, 64))).json()["id"]
    assert (
        await api.put(f"/api/v1/photos/{processing}/like", headers=fan.headers)
    ).status_code == 404
    await finish_jobs(api)
    assert (await api.put(f"/api/v1/photos/{processing}/like")).status_code == 401
    assert (await api.put("/api/v1/photos/1/like", headers=fan.headers)).status_code == 404


async def test_comments_are_added_listed_oldest_first_and_counted(api):
    owner = await signed_in_user(api)
    fan = await signed_in_user(api)
    photo_id = await _ready_photo(api, owner)

    created = []
    for n in range(3):
        response = await api.post(
            f"/api/v1/photos/{photo_id}/comments", headers=fan.headers, json={"text": f"nice {n}"}
        )
        assert response.status_code == 201
        created.append(response.json())
    assert created[0]["author"]["username"] == fan.username
    assert set(created[0]) == {"id", "text", "author", "created_at"}

    first = (await api.get(f"/api/v1/photos/{photo_id}/comments", params={"limit": 2})).json()
    rest = (
        await api.get(
            f"/api/v1/photos/{photo_id}/comments", params={"cursor": first["next_cursor"]}
        )
    ).json()
    assert [c["text"] for c in first["items"] + rest["items"]] == ["nice 0", "nice 1", "nice 2"]
    assert rest["next_cursor"] is None
    assert (await api.get(f"/api/v1/photos/{photo_id}")).json()["comment_count"] == 3


async def test_comment_text_limits(api):
    owner = await signed_in_user(api)
    photo_id = await _ready_photo(api, owner)
    for text in ("", "   ", "x" * 1001):
        response = await api.post(
            f"/api/v1/photos/{photo_id}/comments", headers=owner.headers, json={"text": text}
        )
        assert response.status_code == 422, text
    ok = await api.post(
        f"/api/v1/photos/{photo_id}/comments", headers=owner.headers, json={"text": "x" * 1000}
    )
    assert ok.status_code == 201


async def test_who_may_delete_a_comment(api):
    owner = await signed_in_user(api)
    author = await signed_in_user(api)
    stranger = await signed_in_user(api)
    photo_id = await _ready_photo(api, owner)

    async def comment() -> str:
        response = await api.post(
            f"/api/v1/photos/{photo_id}/comments", headers=author.headers, json={"text": "hi"}
        )
        return response.json()["id"]

    first, second = await comment(), await comment()
    assert (
        await api.delete(f"/api/v1/comments/{first}", headers=stranger.headers)
    ).status_code == 403
    assert (
        await api.delete(f"/api/v1/comments/{first}", headers=author.headers)
    ).status_code == 204
    assert (
        await api.delete(f"/api/v1/comments/{second}", headers=owner.headers)
    ).status_code == 204
    assert (
        await api.delete(f"/api/v1/comments/{second}", headers=owner.headers)
    ).status_code == 404
    photo = (await api.get(f"/api/v1/photos/{photo_id}")).json()
    assert photo["comment_count"] == 0


async def test_photos_count_follows_ready_and_deleted_photos(api):
    owner = await signed_in_user(api)
    photo_id = await _ready_photo(api, owner)
    await _ready_photo(api, owner)
    assert (await api.get(f"/api/v1/users/{owner.username}")).json()["photos_count"] == 2

    await api.delete(f"/api/v1/photos/{photo_id}", headers=owner.headers)

    assert (await api.get(f"/api/v1/users/{owner.username}")).json()["photos_count"] == 1


async def test_carriage_returns_are_dropped_from_what_is_kept(api):
    owner = await signed_in_user(api)
    photo_id = await _ready_photo(api, owner)
    text = "\r\n".join(["x" * 99] * 10)  # 1,008 characters sent: over the limit of 1,000

    too_long = await api.post(
        f"/api/v1/photos/{photo_id}/comments", headers=owner.headers, json={"text": text}
    )
    assert too_long.status_code == 422
    text = "\r\n".join(["x" * 99] * 9)

    response = await api.post(
        f"/api/v1/photos/{photo_id}/comments", headers=owner.headers, json={"text": text}
    )

    assert response.status_code == 201
    assert response.json()["text"] == "\n".join(["x" * 99] * 9)
