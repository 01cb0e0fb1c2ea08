"""Where photo files live: one small interface, a local-folder and an S3 backend.

Every photo file goes through a Storage, so embedded mode (a folder under data_dir) and
production (an S3-compatible bucket behind a CDN) run the same code.
"""

from __future__ import annotations

from snapscale.config import Settings
from snapscale.core.storage.base import ObjectNotFound, Storage, StorageUnavailable
from snapscale.core.storage.local import LocalStorage
from snapscale.core.storage.s3 import S3Storage

__all__ = [
    "LocalStorage",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "StorageUnavailable",
    "create_storage",
]


def create_storage(settings: Settings) -> Storage:
    if settings.storage_url is None:
        return LocalStorage(settings.data_dir / "media")
    bucket, _, prefix = settings.storage_url.removeprefix("s3://").partition("/")
    secret = settings.s3_secret_access_key
    return S3Storage(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
        public_base_url=settings.media_base_url,
        presign_seconds=settings.presigned_url_seconds,
    )
