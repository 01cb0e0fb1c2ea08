"""Photo files behave the same in a local folder and in an S3 bucket, and a dead store
fails fast with a 503 instead of hanging a request."""

from __future__ import annotations

import asyncio
import errno
import os
import time
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from snapscale.config import Settings
from snapscale.core.storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    Storage,
    StorageUnavailable,
    create_storage,
)
from snapscale.core.storage import local as local_module
from snapscale.core.storage import s3 as s3_module
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from tests.support.servers import free_port

KEY = "photos/1/large.webp"


def _s3_storage(
    server: S3Server,
    bucket: str,
    *,
    prefix: str = "",
    public_base_url: str | None = None,
) -> S3Storage:
    return S3Storage(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=server.endpoint_url,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        public_base_url=public_base_url,
        presign_seconds=300,
    )


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "media")
        return
    server = request.getfixturevalue("s3_server")
    store = _s3_storage(server, request.getfixturevalue("s3_bucket"))
    yield store
    store.close()


async def _put_all(storage: Storage, *keys: str) -> None:
    for key in keys:
        await storage.put(key, key.encode(), content_type="image/webp")


# --- behaviour both backends share -------------------------------------------------------


async def test_put_then_get_round_trips_the_bytes(storage: Storage) -> None:
    data = bytes(range(256)) * 100

    await storage.put(KEY, data, content_type="image/webp")

    assert await storage.get(KEY) == data


async def test_put_overwrites_the_previous_object(storage: Storage) -> None:
    await storage.put(KEY, b"first", content_type="image/webp")

    await storage.put(KEY, b"second", content_type="image/webp")

    assert await storage.get(KEY) == b"second"


async def test_get_of_a_missing_key_raises_object_not_found(storage: Storage) -> None:
    with pytest.raises(ObjectNotFound) as caught:
        await storage.get("photos/404/original")

    assert caught.value.status == 404


async def test_a_folder_is_not_an_object(storage: Storage) -> None:
    await _put_all(storage, KEY)

    with pytest.raises(ObjectNotFound):
        await storage.get("photos/1")
    assert not await storage.exists("photos/1")


async def test_exists_tells_stored_from_missing(storage: Storage) -> None:
    await _put_all(storage, KEY)

    assert await storage.exists(KEY)
    assert not await storage.exists("photos/1/small.webp")


async def test_delete_removes_many_keys_and_skips_missing_ones(storage: Storage) -> None:
    await _put_all(storage, "photos/1/a.webp", "photos/1/b.webp", "photos/2/a.webp")

    await storage.delete(["photos/1/a.webp", "photos/1/b.webp", "photos/1/never-stored.webp"])

    assert await storage.list_keys("") == ["photos/2/a.webp"]


async def test_delete_is_idempotent(storage: Storage) -> None:
    await _put_all(storage, KEY)

    await storage.delete([KEY])
    await storage.delete([KEY])
    await storage.delete([])

    assert not await storage.exists(KEY)


async def test_delete_takes_keys_in_batches(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "DELETE_BATCH", 2)  # instead of storing 1001 objects
    keys = [f"photos/{n}/original" for n in range(5)]
    await _put_all(storage, *keys)

    await storage.delete(iter(keys))  # any iterable, even a one-shot one

    assert await storage.list_keys("") == []


async def test_delete_refuses_a_bare_string(storage: Storage) -> None:
    with pytest.raises(TypeError):
        await storage.delete(KEY)


async def test_list_keys_filters_by_prefix(storage: Storage) -> None:
    await _put_all(
        storage, "photos/1/original", "photos/1/large.webp", "photos/12/original", "avatars/1.webp"
    )

    assert await storage.list_keys("photos/1/") == ["photos/1/large.webp", "photos/1/original"]
    assert await storage.list_keys("photos/1") == [
        "photos/1/large.webp",
        "photos/1/original",
        "photos/12/original",
    ]
    assert await storage.list_keys("") == [
        "avatars/1.webp",
        "photos/1/large.webp",
        "photos/1/original",
        "photos/12/original",
    ]
    assert await storage.list_keys("videos/") == []


@pytest.mark.parametrize(
    "key",
    ["../escape", "photos/../../escape", "/etc/passwd", "photos//1", "photos/1/", "photos/./1",
     "", "Photos/1", "photos\\1", "photos/1/a b", "photos/1/..", "~tmp-x"],
)  # fmt: skip
async def test_malformed_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.put(key, b"x", content_type="image/webp")
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.get(key)
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.url(key)


@pytest.mark.parametrize("prefix", ["../", "/photos", "photos//", "photos/../"])
async def test_malformed_prefixes_are_refused(storage: Storage, prefix: str) -> None:
    with pytest.raises(ValueError, match="invalid storage prefix"):
        await storage.list_keys(prefix)


async def test_check_passes_on_a_healthy_store(storage: Storage) -> None:
    await storage.check()


# --- local folder -------------------------------------------------------------------------


async def test_local_url_is_under_media(tmp_path: Path) -> None:
    assert LocalStorage(tmp_path).url(KEY) == "/media/photos/1/large.webp"
    assert LocalStorage(tmp_path, url_prefix="/files/").url(KEY) == "/files/photos/1/large.webp"


async def test_local_object_lives_in_the_file_path_for_names(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")

    await storage.put(KEY, b"pixels", content_type="image/webp")

    assert storage.path_for(KEY) == tmp_path / "media" / "photos" / "1" / "large.webp"
    assert storage.path_for(KEY).read_bytes() == b"pixels"


async def test_local_traversal_keys_touch_nothing_outside_the_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")

    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.put("../escape", b"x", content_type="image/webp")
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.path_for("../../etc/passwd")
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.delete(["../escape"])

    assert not (tmp_path / "escape").exists()


def _all_files(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


async def test_local_write_leaves_no_temp_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)

    await storage.put(KEY, b"pixels", content_type="image/webp")
    await storage.put(KEY, b"pixels again", content_type="image/webp")

    assert _all_files(tmp_path) == [KEY]


async def test_local_failed_write_keeps_the_old_object_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(tmp_path)
    await storage.put(KEY, b"old", content_type="image/webp")

    def disk_full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(local_module.os, "replace", disk_full)

    with pytest.raises(StorageUnavailable, match="could not write"):
        await storage.put(KEY, b"new", content_type="image/webp")

    assert await storage.get(KEY) == b"old"
    assert _all_files(tmp_path) == [KEY]


async def test_local_readers_never_see_a_partial_object(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    small, large = b"a" * 10, b"b" * 4_000_000
    await storage.put(KEY, small, content_type="image/webp")

    async def read_while_writing() -> set[bytes]:
        seen = set()
        for _ in range(50):
            seen.add(await storage.get(KEY))
        return seen

    writes = [storage.put(KEY, data, content_type="image/webp") for data in (large, small) * 5]
    seen, *_ = await asyncio.gather(read_while_writing(), *writes)

    assert seen <= {small, large}


async def test_local_check_fails_when_the_folder_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    storage = LocalStorage(tmp_path / "a-file" / "media")

    with pytest.raises(StorageUnavailable, match="not writable"):
        await storage.check()


# --- S3 -----------------------------------------------------------------------------------


async def test_s3_prefix_setting_isolates_keys(s3_server: S3Server, s3_bucket: str) -> None:
    ours = _s3_storage(s3_server, s3_bucket, prefix="some/prefix")
    theirs = _s3_storage(s3_server, s3_bucket, prefix="/other/")
    await ours.put(KEY, b"ours", content_type="image/webp")
    await theirs.put(KEY, b"theirs", content_type="image/webp")

    assert await ours.get(KEY) == b"ours"
    assert await ours.list_keys("") == [KEY]
    await ours.delete([KEY])
    assert await theirs.get(KEY) == b"theirs"
    raw = s3_server.client().list_objects_v2(Bucket=s3_bucket)
    assert [item["Key"] for item in raw["Contents"]] == [f"other/{KEY}"]


async def test_s3_url_with_a_public_base_is_base_plus_full_key(
    s3_server: S3Server, s3_bucket: str
) -> None:
    storage = _s3_storage(
        s3_server, s3_bucket, prefix="some/prefix", public_base_url="https://cdn.example.com/m/"
    )

    assert storage.url(KEY) == "https://cdn.example.com/m/some/prefix/photos/1/large.webp"


async def test_s3_url_without_a_public_base_is_a_working_presigned_url(
    s3_server: S3Server, s3_bucket: str
) -> None:
    storage = _s3_storage(s3_server, s3_bucket, prefix="some/prefix")
    await storage.put(KEY, b"pixels", content_type="image/webp")

    url = storage.url(KEY)

    assert url.startswith(f"{s3_server.endpoint_url}/{s3_bucket}/some/prefix/{KEY}?")
    assert "X-Amz-Expires=300" in url  # SigV4, valid presign_seconds
    body, headers = await asyncio.to_thread(_download, url)
    assert body == b"pixels"
    assert headers["Content-Type"] == "image/webp"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    storage.close()


def _download(url: str) -> tuple[bytes, Message]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a test URL)
        return response.read(), response.headers  # looked up case-insensitively


def _unreachable_store(*, bucket: str = "photos") -> S3Storage:
    return S3Storage(
        bucket=bucket,
        endpoint_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        region=REGION,
        access_key_id="AKIAEXAMPLE",
        secret_access_key="very-secret-do-not-show",
        public_base_url=None,
        presign_seconds=300,
    )


@pytest.mark.parametrize("operation", ["put", "get", "exists", "delete", "list_keys", "check"])
async def test_s3_unreachable_store_fails_fast_without_leaking_secrets(operation: str) -> None:
    storage = _unreachable_store()
    calls = {
        "put": lambda: storage.put(KEY, b"x", content_type="image/webp"),
        "get": lambda: storage.get(KEY),
        "exists": lambda: storage.exists(KEY),
        "delete": lambda: storage.delete([KEY]),
        "list_keys": lambda: storage.list_keys(""),
        "check": storage.check,
    }
    started = time.monotonic()

    with pytest.raises(StorageUnavailable) as caught:
        await calls[operation]()

    assert time.monotonic() - started < 5
    assert caught.value.status == 503
    assert "cannot be reached" in caught.value.detail
    assert "very-secret" not in str(caught.value)
    assert "127.0.0.1" not in str(caught.value)  # internal hosts stay out of 503 bodies
    storage.close()


async def test_s3_missing_bucket_is_unavailable_not_not_found(s3_server: S3Server) -> None:
    storage = _s3_storage(s3_server, "no-such-bucket-here")

    with pytest.raises(StorageUnavailable):
        await storage.check()
    with pytest.raises(StorageUnavailable, match="NoSuchBucket"):
        await storage.get(KEY)
    storage.close()


# --- choosing a backend -------------------------------------------------------------------


async def test_create_storage_defaults_to_the_media_folder(tmp_path: Path) -> None:
    storage = create_storage(Settings(data_dir=tmp_path))

    assert isinstance(storage, LocalStorage)
    await storage.put(KEY, b"pixels", content_type="image/webp")
    assert (tmp_path / "media" / KEY).read_bytes() == b"pixels"


async def test_create_storage_uses_the_bucket_and_prefix_of_storage_url(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        storage_url=f"s3://{s3_bucket}/some/prefix",
        s3_endpoint_url=s3_server.endpoint_url,
        s3_region=REGION,
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
        media_base_url="https://cdn.example.com",
        presigned_url_seconds=600,
    )

    storage = create_storage(settings)

    assert isinstance(storage, S3Storage)
    await storage.put(KEY, b"pixels", content_type="image/webp")
    raw = s3_server.client().get_object(Bucket=s3_bucket, Key=f"some/prefix/{KEY}")
    assert raw["Body"].read() == b"pixels"
    assert storage.url(KEY) == f"https://cdn.example.com/some/prefix/{KEY}"
    storage.close()


async def test_create_storage_with_a_bare_bucket_has_no_prefix(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        storage_url=f"s3://{s3_bucket}",
        s3_endpoint_url=s3_server.endpoint_url,
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
    )

    storage = create_storage(settings)

    await storage.put(KEY, b"pixels", content_type="image/webp")
    assert s3_server.client().head_object(Bucket=s3_bucket, Key=KEY)["ContentLength"] == 6
    assert f"/{s3_bucket}/{KEY}?" in storage.url(KEY)
    assert isinstance(storage, S3Storage)
    storage.close()
