"""Storage in any S3-compatible object store (AWS S3, MinIO, R2, ...) through boto3.

boto3 is synchronous, so every call runs in a worker thread. The client is tuned to fail
fast: a dead or hung store costs a request a few seconds and a 503, never a hung worker.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from snapscale.core.storage.base import (
    ObjectNotFound,
    StorageUnavailable,
    validate_key,
    validate_keys,
    validate_prefix,
)

T = TypeVar("T")

# Keys are per photo and rendition and never reused for other content (a retried job
# rewrites identical bytes), so browsers and CDNs may keep a copy for good.
CACHE_CONTROL = "public, max-age=31536000, immutable"
DELETE_BATCH = 1000  # the most DeleteObjects accepts in one request
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
_CHECK_REFUSALS = {
    403: "Access to bucket {!r} is denied to the configured credentials.",
    404: "Bucket {!r} does not exist.",
}


class S3Storage:
    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        public_base_url: str | None,
        presign_seconds: int,
    ) -> None:
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = validate_key(prefix) + "/" if prefix else ""
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.presign_seconds = presign_seconds
        self._endpoint_url = endpoint_url
        self._region = region
        # None for both means boto3's own chain (environment, instance role, ...).
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._client_instance: Any = None
        self._client_lock = threading.Lock()

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        full_key = self._full_key(key)
        await self._run(
            "write",
            lambda: self._client().put_object(
                Bucket=self.bucket,
                Key=full_key,
                Body=data,
                ContentType=content_type,
                CacheControl=CACHE_CONTROL,
            ),
        )

    async def get(self, key: str) -> bytes:
        full_key = self._full_key(key)

        def read() -> bytes:
            response = self._client().get_object(Bucket=self.bucket, Key=full_key)
            data: bytes = response["Body"].read()
            return data

        return await self._run("read", read, key=key)

    async def delete(self, keys: Iterable[str]) -> None:
        full_keys = [self._full_key(key) for key in validate_keys(keys)]
        for start in range(0, len(full_keys), DELETE_BATCH):
            batch = full_keys[start : start + DELETE_BATCH]
            await self._run("delete", functools.partial(self._delete_batch, batch))

    async def exists(self, key: str) -> bool:
        full_key = self._full_key(key)
        try:
            await self._run(
                "read",
                lambda: self._client().head_object(Bucket=self.bucket, Key=full_key),
                key=key,
            )
        except ObjectNotFound:
            return False
        return True

    async def list_keys(self, prefix: str) -> list[str]:
        full_prefix = self.prefix + validate_prefix(prefix)

        def list_all() -> list[str]:
            paginator = self._client().get_paginator("list_objects_v2")
            keys: list[str] = []
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                keys.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
            return sorted(keys)

        return await self._run("list", list_all)

    def url(self, key: str) -> str:
        full_key = self._full_key(key)
        if self.public_base_url is not None:
            # Keys are URL-safe by construction, so they need no quoting.
            return f"{self.public_base_url}/{full_key}"
        # Presigning is local computation (an HMAC), no request to the store.
        url: str = self._client().generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": full_key},
            ExpiresIn=self.presign_seconds,
        )
        return url

    async def check(self) -> None:
        try:
            await self._run("reach", lambda: self._client().head_bucket(Bucket=self.bucket))
        except StorageUnavailable as exc:
            # HeadBucket's answer has no body, so its status is all that says why.
            cause = exc.__cause__
            if isinstance(cause, ClientError):
                status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if status in _CHECK_REFUSALS:
                    raise StorageUnavailable(_CHECK_REFUSALS[status].format(self.bucket)) from cause
            raise

    def close(self) -> None:
        """Release the client's pooled connections."""
        with self._client_lock:
            if self._client_instance is not None:
                self._client_instance.close()
                self._client_instance = None

    def _full_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _delete_batch(self, full_keys: list[str]) -> None:
        response = self._client().delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": key} for key in full_keys], "Quiet": True},
        )
        # DeleteObjects answers 200 even when some keys failed; they are listed here.
        # (A key with no object is a success, so "missing" never shows up.)
        errors = response.get("Errors", [])
        if errors:
            code = errors[0].get("Code", "unknown error")
            raise StorageUnavailable(
                f"Photo storage refused to delete {len(errors)} object(s) ({code})."
            )

    def _client(self) -> Any:
        # boto3 clients are thread-safe once built, but building one is not; and one
        # client per store shares its connection pool across all calls.
        with self._client_lock:
            if self._client_instance is None:
                self._client_instance = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self._endpoint_url,
                    region_name=self._region,
                    aws_access_key_id=self._access_key_id,
                    aws_secret_access_key=self._secret_access_key,
                    config=_client_config(path_style=self._endpoint_url is not None),
                )
            return self._client_instance

    async def _run(self, action: str, call: Callable[[], T], *, key: str | None = None) -> T:
        """Run a boto3 call in a thread, turning its errors into domain errors."""
        try:
            return await asyncio.to_thread(call)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "unknown"))
            if key is not None and code in _NOT_FOUND_CODES:
                raise ObjectNotFound(key) from None
            raise StorageUnavailable(
                f"Photo storage refused to {action} ({code}); try again shortly."
            ) from exc
        except BotoCoreError as exc:
            # Our own wording, not str(exc): botocore's messages name internal hosts.
            raise StorageUnavailable(
                f"Photo storage could not {action}: {_describe(exc)}; try again shortly."
            ) from exc


def _client_config(*, path_style: bool) -> Config:
    return Config(
        connect_timeout=2,
        read_timeout=10,
        # One retry smooths over a dropped connection; more would multiply the wait on
        # a store that is really down.
        retries={"mode": "standard", "max_attempts": 2},
        # Presigned URLs default to the legacy SigV2 scheme, which newer AWS regions
        # and several S3-compatible stores reject.
        signature_version="s3v4",
        # Self-hosted stores (MinIO, moto) rarely have wildcard DNS for
        # bucket.host virtual-hosted addressing; AWS itself prefers virtual hosts.
        s3={"addressing_style": "path" if path_style else "auto"},
        # botocore 1.36 started sending CRC checksums on every upload, which some
        # S3-compatible stores refuse; only send them where the API requires one.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        # Matches the default thread pool's size cap, so concurrent calls reuse
        # connections instead of opening and discarding extra ones.
        max_pool_connections=32,
    )


def _describe(exc: BotoCoreError) -> str:
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return "the store cannot be reached"
    if isinstance(exc, ReadTimeoutError):
        return "the store did not answer in time"
    if isinstance(exc, NoCredentialsError):
        return "no credentials are configured"
    return type(exc).__name__
