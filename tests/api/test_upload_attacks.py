"""Hostile uploads through the API: refused with a problem and nothing kept, or accepted
only as what they really are (a photo), re-encoded, and served as an inert image.

What the client says about a file (its name, its Content-Type) is never believed: every
table below sends its files as ``photo.jpg`` with ``image/jpeg``, or with names built to
escape the media folder.
"""

from __future__ import annotations

import io
import re
import resource
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from snapscale.api.app import create_api
from tests.support import hostile_uploads as hostile
from tests.support import images
from tests.support.factories import SignedIn, signed_in_user
from tests.support.photos import finish_jobs, stored_keys, upload
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY

PROBLEM = "application/problem+json"
RENDITION_FILES = ["large.webp", "medium.webp", "original", "thumb.webp"]
BOUNDARY = "hostile-upload-boundary-7f3a"
# Bytes that mark each kind of payload: none may survive into a served rendition.
PAYLOAD_MARKERS = (b"<script", b"<html", b"%PDF", b"PK\x03\x04", b"PK\x05\x06", hostile.ZIP_TEXT)
# A decoded bomb would need gigabytes; refusing it from its header needs next to nothing.
BOMB_MEMORY_ALLOWANCE_MB = 256

only_sqlite = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)


async def raw_upload(
    api: httpx.AsyncClient,
    user: SignedIn,
    disposition_params: bytes,
    data: bytes,
    content_type: bytes = b"image/jpeg",
) -> httpx.Response:
    return await api.post(
        "/api/v1/photos",
        headers=user.headers | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        content=hostile.multipart(
            BOUNDARY,
            fields={},
            file_params=disposition_params,
            data=data,
            content_type=content_type,
        ),
    )


async def assert_nothing_kept(api: httpx.AsyncClient, user: SignedIn, media: Path) -> None:
    page = (await api.get(f"/api/v1/users/{user.username}/photos", headers=user.headers)).json()
    assert page["items"] == []
    assert await api.runtime.storage.list_keys("photos/") == []  # type: ignore[attr-defined]
    assert files_under(media) == []


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def served_renditions(api: httpx.AsyncClient, photo_id: str) -> list[httpx.Response]:
    ready = (await api.get(f"/api/v1/photos/{photo_id}")).json()
    assert ready["status"] == "ready", ready
    return [await api.get(r["url"]) for r in ready["renditions"].values()]


def assert_inert_image(response: httpx.Response) -> None:
    """Served as a WebP picture that no browser may sniff into, or run as, anything else."""
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WEBP"


@pytest.fixture
def media(settings) -> Path:
    return settings.data_dir / "media"


async def test_files_that_are_not_whole_photos_are_refused_whatever_they_claim(api, media):
    user = await signed_in_user(api)

    for name, make, status, detail in hostile.NOT_PHOTOS:
        response = await upload(api, user.headers, make(), filename="photo.jpg")

        assert response.status_code == status, name
        assert response.headers["content-type"] == PROBLEM, name
        problem = response.json()
        assert problem["detail"] == detail, name
        assert problem["errors"] == [{"field": "file", "location": "body", "detail": detail}]
    await assert_nothing_kept(api, user, media)


async def test_decompression_bombs_are_refused_from_their_header(api, media):
    user = await signed_in_user(api)

    for name, make, detail in hostile.BOMBS:
        bomb = make()
        assert len(bomb) < 4096, name  # a tiny file...
        peak_before = peak_memory_mb()
        started = time.monotonic()

        response = await upload(api, user.headers, bomb, filename="photo.jpg")

        assert time.monotonic() - started < 5, name
        # ...that would take gigabytes to decode: it was never decoded.
        assert peak_memory_mb() - peak_before < BOMB_MEMORY_ALLOWANCE_MB, name
        assert response.status_code == 422, name
        assert response.headers["content-type"] == PROBLEM, name
        assert detail in response.json()["detail"], name
    await assert_nothing_kept(api, user, media)


async def test_polyglots_are_served_only_as_reencoded_webp(api, media):
    user = await signed_in_user(api)
    uploaded = {}
    for name, make in hostile.POLYGLOTS:
        response = await upload(api, user.headers, make(), filename="photo.jpg")
        assert response.status_code == 202, (name, response.text)
        uploaded[name] = response.json()["id"]
    await finish_jobs(api)

    for name, photo_id in uploaded.items():
        served = await served_renditions(api, photo_id)
        assert len(served) == 3, name
        for rendition in served:
            assert_inert_image(rendition)
            for marker in PAYLOAD_MARKERS:
                assert marker not in rendition.content, (name, marker)
            assert not zipfile.is_zipfile(io.BytesIO(rendition.content)), name
        assert (await api.get(f"/media/photos/{photo_id}/original")).status_code == 404
    # The uploaded bytes stay private: only the original under the id, never served.
    assert len(files_under(media)) == 4 * len(hostile.POLYGLOTS)


def test_the_zip_hidden_in_a_photo_is_a_working_archive() -> None:
    """The polyglot above is a working archive as uploaded, so the test proves something."""
    data = hostile.jpeg_with_zip_in_a_comment()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read(hostile.ZIP_MEMBER) == hostile.ZIP_TEXT
    assert data.endswith(b"\xff\xd9")


async def test_photos_that_cannot_be_decoded_fail_and_leave_no_files(api, media):
    user = await signed_in_user(api)
    stranger = await signed_in_user(api)
    uploaded = {}
    for name, make in hostile.UNDECODABLE:
        response = await upload(api, user.headers, make(), filename="photo.jpg")
        assert response.status_code == 202, (name, response.text)  # the header looked fine
        uploaded[name] = response.json()["id"]
    await finish_jobs(api)

    for name, photo_id in uploaded.items():
        mine = (await api.get(f"/api/v1/photos/{photo_id}", headers=user.headers)).json()
        theirs = await api.get(f"/api/v1/photos/{photo_id}", headers=stranger.headers)
        assert mine["status"] == "failed", name
        assert mine["failure_reason"] == "The image data is corrupt and could not be decoded."
        assert mine["renditions"] is None, name
        assert theirs.status_code == 404, name
        for file in ("thumb.webp", "medium.webp", "large.webp", "original"):
            assert (await api.get(f"/media/photos/{photo_id}/{file}")).status_code == 404
    listed = (await api.get(f"/api/v1/users/{user.username}/photos")).json()
    assert listed["items"] == []
    assert await api.runtime.storage.list_keys("photos/") == []  # type: ignore[attr-defined]
    assert files_under(media) == []


async def test_the_type_comes_from_the_bytes_and_the_name_is_never_stored(api, media):
    user = await signed_in_user(api)
    uploaded = {}
    for make, filename, content_type in hostile.WRONG_NAMES:
        response = await upload(
            api, user.headers, make(), filename=filename, content_type=content_type
        )
        assert response.status_code == 202, (filename, response.text)
        uploaded[filename] = response.json()["id"]
    await finish_jobs(api)

    for filename, photo_id in uploaded.items():
        for rendition in await served_renditions(api, photo_id):
            assert_inert_image(rendition)
        assert await stored_keys(api, photo_id) == [
            f"photos/{photo_id}/{file}" for file in RENDITION_FILES
        ], filename
    assert len(files_under(media)) == 4 * len(hostile.WRONG_NAMES)


async def test_file_names_never_reach_the_store(api, tmp_path):
    user = await signed_in_user(api)
    photo_ids = []
    for params in hostile.HOSTILE_FILENAMES:
        response = await raw_upload(api, user, params, images.png(64, 48), b"text/html")
        assert response.status_code == 202, (params[:80], response.text)
        photo_ids.append(response.json()["id"])
    await finish_jobs(api)

    page = (await api.get(f"/api/v1/users/{user.username}/photos?limit=50")).json()
    assert sorted(item["id"] for item in page["items"]) == sorted(photo_ids)
    assert {item["status"] for item in page["items"]} == {"ready"}
    # Everything this test's server wrote, anywhere under the test's own folder, is the
    # database and each photo's four files under the id the server chose.
    written = files_under(tmp_path)
    assert [name for name in written if name.startswith("data/media/")] == sorted(
        f"data/media/photos/{photo_id}/{file}" for photo_id in photo_ids for file in RENDITION_FILES
    )
    others = [name for name in written if not name.startswith("data/media/")]
    assert all(re.fullmatch(r"data/snapscale\.db(-wal|-shm|-journal)?", name) for name in others)


async def test_a_file_name_too_long_to_parse_is_a_clear_400(api, media):
    user = await signed_in_user(api)

    response = await raw_upload(
        api, user, b'filename="' + b"a" * 100_000 + b'.jpg"', images.png(8, 8)
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert "multipart" in response.json()["detail"]
    await assert_nothing_kept(api, user, media)


async def test_a_file_sent_as_a_text_field_is_a_clear_422(api, media):
    user = await signed_in_user(api)

    # No plain filename: multipart parsers take the part for a form field, not a file.
    response = await raw_upload(api, user, b"filename*=UTF-8''photo.jpg", images.png(8, 8))

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    [error] = response.json()["errors"]
    assert error["field"] == "file"
    assert error["detail"] == (
        "must be sent as a file (a multipart part with a filename), not as text"
    )
    assert "UploadFile" not in response.text and "class" not in response.text
    await assert_nothing_kept(api, user, media)


@only_sqlite
async def test_media_is_always_served_as_an_inert_webp(api):
    """Even bytes that are not a WebP at all (nothing an upload can produce) go out as
    image/webp that a browser must not sniff, with a policy that forbids any script."""
    storage = api.runtime.storage  # type: ignore[attr-defined]
    await storage.put("photos/1/planted.webp", images.html(), content_type="text/html")
    await storage.put("photos/1/planted-svg.webp", images.svg(), content_type="image/svg+xml")

    for key in ("photos/1/planted.webp", "photos/1/planted-svg.webp"):
        response = await api.get(f"/media/{key}")

        assert response.status_code == 200, key
        assert response.headers["content-type"] == "image/webp", key
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


@only_sqlite
async def test_media_serves_nothing_but_renditions(api):
    storage = api.runtime.storage  # type: ignore[attr-defined]
    for key in ("photos/1/original", "photos/1/page.html", "photos/1/image.svg"):
        await storage.put(key, images.html(), content_type="text/html")
    paths = [
        "/media/photos/1/original",
        "/media/photos/1/page.html",
        "/media/photos/1/image.svg",
        "/media/photos/1/x.webp.html",
        "/media/photos/1/page.html%00.webp",
        "/media/%2e%2e/snapscale.db",
        "/media/photos/%2e%2e/%2e%2e/snapscale.db.webp",
        "/media/photos/..%2f..%2fsnapscale.db",
        "/media/photos/1/..%2f..%2f..%2fsnapscale.db%00.webp",
        "/media//etc/passwd",
        "/media/photos/1/~tmp-x.webp",
        "/media/photos/1/",
    ]

    for path in paths:
        response = await api.get(path)

        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM, path
        assert b"<script" not in response.content, path


@only_sqlite
async def test_in_the_bucket_every_object_has_the_type_its_bytes_have(
    settings, s3_server, s3_bucket
):
    """The bucket serves objects with the Content-Type they were stored with: it must come
    from sniffing, never from the client, or the store itself would serve a page."""
    on_s3 = settings.model_copy(
        update={
            "storage_url": f"s3://{s3_bucket}/media",
            "s3_endpoint_url": s3_server.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SecretStr(SECRET_KEY),
        }
    )
    app = create_api(on_s3)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as api,
    ):
        api.runtime = app.state.runtime  # type: ignore[attr-defined]
        user = await signed_in_user(api)
        sent = {
            "image/png": await upload(
                api, user.headers, images.png(64, 48), filename="a.html", content_type="text/html"
            ),
            "image/jpeg": await upload(
                api,
                user.headers,
                images.jpeg_html_polyglot(),
                filename="b.svg",
                content_type="image/svg+xml",
            ),
        }
        refused = await upload(api, user.headers, images.svg(), filename="c.jpg")
        await finish_jobs(api)

    assert refused.status_code == 415
    client = s3_server.client()
    stored = {
        item["Key"]: client.head_object(Bucket=s3_bucket, Key=item["Key"])["ContentType"]
        for item in client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    }
    expected = {}
    for original_type, response in sent.items():
        photo_id = response.json()["id"]
        expected[f"media/photos/{photo_id}/original"] = original_type
        for name in ("thumb", "medium", "large"):
            expected[f"media/photos/{photo_id}/{name}.webp"] = "image/webp"
    assert stored == expected
