"""Uploading: 202 at once, processing in the background, hostile files refused."""

import pytest

from tests.support import images
from tests.support.factories import signed_in_user
from tests.support.photos import finish_jobs, stored_keys, upload

PROBLEM = "application/problem+json"


async def test_upload_answers_202_processing_then_becomes_ready(api):
    user = await signed_in_user(api)

    response = await upload(api, user.headers, images.jpeg(1600, 1200), caption="Sunset")

    assert response.status_code == 202
    photo = response.json()
    assert photo["status"] == "processing"
    assert photo["caption"] == "Sunset"
    assert photo["owner"]["username"] == user.username
    assert (photo["width"], photo["height"]) == (1600, 1200)
    assert photo["renditions"] is None
    assert response.headers["location"] == f"/api/v1/photos/{photo['id']}"

    await finish_jobs(api)
    ready = (await api.get(f"/api/v1/photos/{photo['id']}", headers=user.headers)).json()
    assert ready["status"] == "ready"
    sizes = {name: (r["width"], r["height"]) for name, r in ready["renditions"].items()}
    assert sizes == {"thumb": (320, 320), "medium": (1080, 810), "large": (1600, 1200)}
    assert ready["placeholder"]["color"].startswith("#")
    assert ready["placeholder"]["blurhash"]


async def test_renditions_are_served_cacheable_and_without_metadata(api):
    user = await signed_in_user(api)
    photo = (await upload(api, user.headers, images.jpeg(1200, 900, gps=True))).json()
    await finish_jobs(api)
    ready = (await api.get(f"/api/v1/photos/{photo['id']}")).json()

    for rendition in ready["renditions"].values():
        served = await api.get(rendition["url"])
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/webp"
        assert "immutable" in served.headers["cache-control"]
        assert served.headers["x-content-type-options"] == "nosniff"
        assert images.metadata_fields(served.content) == set()  # no EXIF, XMP, GPS at all
        again = await api.get(rendition["url"], headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304


async def test_the_original_is_never_served(api):
    user = await signed_in_user(api)
    photo = (await upload(api, user.headers, images.jpeg(600, 400, gps=True))).json()
    await finish_jobs(api)

    response = await api.get(f"/media/photos/{photo['id']}/original")

    assert response.status_code == 404


async def test_exif_orientation_is_applied(api):
    user = await signed_in_user(api)
    photo = (await upload(api, user.headers, images.jpeg(800, 400, orientation=6))).json()
    assert (photo["width"], photo["height"]) == (400, 800)
    await finish_jobs(api)
    ready = (await api.get(f"/api/v1/photos/{photo['id']}")).json()
    assert (ready["renditions"]["large"]["width"], ready["renditions"]["large"]["height"]) == (
        400,
        800,
    )


async def test_png_and_webp_are_accepted_whatever_the_client_claims(api):
    user = await signed_in_user(api)
    for data in (images.png(300, 200), images.webp(300, 200)):
        response = await upload(
            api, user.headers, data, filename="../../etc/passwd", content_type="text/plain"
        )
        assert response.status_code == 202, response.text
    await finish_jobs(api)
    page = (await api.get(f"/api/v1/users/{user.username}/photos")).json()
    assert [item["status"] for item in page["items"]] == ["ready", "ready"]
    for item in page["items"]:
        keys = await stored_keys(api, item["id"])
        assert all("passwd" not in key and ".." not in key for key in keys)


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("svg", 415),
        ("gif", 415),
        ("html", 415),
        ("pdf", 415),
        ("zip", 415),
        ("text", 415),
        ("empty", 422),
        ("png_bomb", 422),
        ("truncated_jpeg", 422),
        ("huge_declared_jpeg", 422),
    ],
)
async def test_hostile_files_get_a_clear_problem_and_nothing_is_kept(api, name, status):
    user = await signed_in_user(api)
    data = images.HOSTILE[name]()

    response = await upload(api, user.headers, data, filename=f"x.{name}")

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"]
    page = (await api.get(f"/api/v1/users/{user.username}/photos", headers=user.headers)).json()
    assert page["items"] == []
    assert await api.runtime.storage.list_keys("photos/") == []


async def test_more_than_the_size_limit_is_a_413(api, settings):
    user = await signed_in_user(api)
    too_big = b"\xff\xd8\xff" + b"\0" * (settings.upload_max_bytes + 10)

    response = await upload(api, user.headers, too_big)

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await api.runtime.storage.list_keys("photos/") == []


async def test_more_pixels_than_the_limit_is_a_422(api):
    user = await signed_in_user(api)
    api.runtime.settings = api.runtime.settings.model_copy(update={"image_max_pixels": 100_000})
    response = await upload(api, user.headers, images.jpeg(400, 300))
    assert response.status_code == 422
    assert "megapixel" in response.json()["detail"]


async def test_a_corrupt_image_ends_failed_with_a_reason_for_its_owner(api):
    user = await signed_in_user(api)
    other = await signed_in_user(api)
    photo = (await upload(api, user.headers, images.corrupt_jpeg())).json()
    await finish_jobs(api)

    mine = (await api.get(f"/api/v1/photos/{photo['id']}", headers=user.headers)).json()
    theirs = await api.get(f"/api/v1/photos/{photo['id']}", headers=other.headers)

    assert mine["status"] == "failed"
    assert mine["failure_reason"]
    assert theirs.status_code == 404


async def test_upload_needs_a_signed_in_user(api):
    response = await upload(api, {}, images.jpeg(100, 100))
    assert response.status_code == 401


async def test_caption_limit(api):
    user = await signed_in_user(api)
    response = await upload(api, user.headers, images.jpeg(100, 100), caption="x" * 2201)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "caption"


async def test_missing_file_is_a_422(api):
    user = await signed_in_user(api)
    response = await api.post("/api/v1/photos", headers=user.headers, data={"caption": "hi"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"


async def test_a_retried_upload_with_the_same_key_returns_the_same_photo(api):
    user = await signed_in_user(api)
    data = images.jpeg(640, 480)

    first = await upload(api, user.headers, data, idempotency_key="upload-1")
    retry = await upload(api, user.headers, data, idempotency_key="upload-1")
    other_file = await upload(api, user.headers, images.png(10, 10), idempotency_key="upload-1")

    assert first.status_code == retry.status_code == 202
    assert retry.json()["id"] == first.json()["id"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert other_file.status_code == 409
    page = (await api.get(f"/api/v1/users/{user.username}/photos", headers=user.headers)).json()
    assert len(page["items"]) == 1


async def test_the_same_key_from_another_user_is_a_different_photo(api):
    alice = await signed_in_user(api)
    bob = await signed_in_user(api)
    data = images.jpeg(640, 480)
    a = await upload(api, alice.headers, data, idempotency_key="same")
    b = await upload(api, bob.headers, data, idempotency_key="same")
    assert a.json()["id"] != b.json()["id"]


async def test_a_near_duplicate_is_pointed_out_to_its_owner(api):
    user = await signed_in_user(api)
    stranger = await signed_in_user(api)
    first = (await upload(api, user.headers, images.jpeg(1000, 800, seed=7))).json()
    await finish_jobs(api)
    second = (await upload(api, user.headers, images.jpeg(900, 720, seed=7, quality=70))).json()
    different = (await upload(api, user.headers, images.jpeg(1000, 800, seed=99))).json()
    await finish_jobs(api)

    mine = (await api.get(f"/api/v1/photos/{second['id']}", headers=user.headers)).json()
    unrelated = (await api.get(f"/api/v1/photos/{different['id']}", headers=user.headers)).json()
    public = (await api.get(f"/api/v1/photos/{second['id']}", headers=stranger.headers)).json()

    assert mine["near_duplicate_of"] == first["id"]
    assert unrelated["near_duplicate_of"] is None
    assert public["near_duplicate_of"] is None
