"""Reading, listing, editing and deleting photos; who may do what."""

from tests.support import images
from tests.support.factories import signed_in_user
from tests.support.photos import finish_jobs, stored_keys, upload


async def _ready_photo(api, user, **kwargs) -> dict:
    photo = (await upload(api, user.headers, images.jpeg(640, 480), **kwargs)).json()
    await finish_jobs(api)
    return photo


async def test_a_processing_photo_is_seen_by_its_owner_only(api):
    owner = await signed_in_user(api)
    stranger = await signed_in_user(api)
    photo = (await upload(api, owner.headers, images.jpeg(640, 480))).json()

    assert (
        await api.get(f"/api/v1/photos/{photo['id']}", headers=owner.headers)
    ).status_code == 200
    assert (
        await api.get(f"/api/v1/photos/{photo['id']}", headers=stranger.headers)
    ).status_code == 404
    assert (await api.get(f"/api/v1/photos/{photo['id']}")).status_code == 404
    await finish_jobs(api)
    assert (await api.get(f"/api/v1/photos/{photo['id']}")).status_code == 200


async def test_unknown_and_malformed_photo_ids(api):
    assert (await api.get("/api/v1/photos/123456789")).status_code == 404
    response = await api.get("/api/v1/photos/not-a-number")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_owner_edits_the_caption(api):
    owner = await signed_in_user(api)
    photo = await _ready_photo(api, owner, caption="before")

    response = await api.patch(
        f"/api/v1/photos/{photo['id']}", headers=owner.headers, json={"caption": "after"}
    )

    assert response.status_code == 200
    assert (await api.get(f"/api/v1/photos/{photo['id']}")).json()["caption"] == "after"


async def test_others_may_not_edit_or_delete(api):
    owner = await signed_in_user(api)
    stranger = await signed_in_user(api)
    photo = await _ready_photo(api, owner, caption="mine")

    edit = await api.patch(
        f"/api/v1/photos/{photo['id']}", headers=stranger.headers, json={"caption": "yours"}
    )
    delete = await api.delete(f"/api/v1/photos/{photo['id']}", headers=stranger.headers)
    anonymous = await api.delete(f"/api/v1/photos/{photo['id']}")

    assert edit.status_code == 403
    assert delete.status_code == 403
    assert anonymous.status_code == 401
    assert (await api.get(f"/api/v1/photos/{photo['id']}")).json()["caption"] == "mine"


async def test_others_get_404_for_a_photo_they_cannot_see(api):
    owner = await signed_in_user(api)
    stranger = await signed_in_user(api)
    photo = (await upload(api, owner.headers, images.jpeg(64, 64))).json()  # still processing
    response = await api.delete(f"/api/v1/photos/{photo['id']}", headers=stranger.headers)
    assert response.status_code == 404
    await finish_jobs(api)


async def test_delete_is_immediate_for_readers_and_the_files_follow(api):
    owner = await signed_in_user(api)
    photo = await _ready_photo(api, owner)
    assert len(await stored_keys(api, photo["id"])) == 4  # original and three renditions

    response = await api.delete(f"/api/v1/photos/{photo['id']}", headers=owner.headers)

    assert response.status_code == 204
    assert (
        await api.get(f"/api/v1/photos/{photo['id']}", headers=owner.headers)
    ).status_code == 404
    listing = (
        await api.get(f"/api/v1/users/{owner.username}/photos", headers=owner.headers)
    ).json()
    assert listing["items"] == []
    await finish_jobs(api)
    assert await stored_keys(api, photo["id"]) == []
    again = await api.delete(f"/api/v1/photos/{photo['id']}", headers=owner.headers)
    assert again.status_code == 404


async def test_delete_while_processing_leaves_no_files(api):
    owner = await signed_in_user(api)
    photo = (await upload(api, owner.headers, images.jpeg(1200, 900))).json()
    await api.delete(f"/api/v1/photos/{photo['id']}", headers=owner.headers)
    await finish_jobs(api)
    assert await stored_keys(api, photo["id"]) == []


async def test_user_photos_newest_first_with_stable_cursors(api):
    owner = await signed_in_user(api)
    ids = [
        (await upload(api, owner.headers, images.jpeg(64, 64, seed=n))).json()["id"]
        for n in range(5)
    ]
    await finish_jobs(api)

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(f"/api/v1/users/{owner.username}/photos", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        await upload(api, owner.headers, images.jpeg(64, 64, seed=100))  # arrives mid-listing

    assert seen == list(reversed(ids))
    await finish_jobs(api)


async def test_others_see_only_ready_photos_in_a_list(api):
    owner = await signed_in_user(api)
    await _ready_photo(api, owner)
    await upload(api, owner.headers, images.corrupt_jpeg())
    await finish_jobs(api)
    processing = (await upload(api, owner.headers, images.jpeg(64, 64))).json()

    public = (await api.get(f"/api/v1/users/{owner.username}/photos")).json()
    own = (await api.get(f"/api/v1/users/{owner.username}/photos", headers=owner.headers)).json()

    assert [p["status"] for p in public["items"]] == ["ready"]
    assert [p["status"] for p in own["items"]] == ["processing", "failed", "ready"]
    assert own["items"][0]["id"] == processing["id"]
    await finish_jobs(api)


async def test_photos_of_an_unknown_user_is_a_404(api):
    response = await api.get("/api/v1/users/nobody/photos")
    assert response.status_code == 404
