"""Storage over a local folder: embedded mode, and tests.

Blocking file I/O runs in worker threads so the event loop keeps serving other requests
while a large photo is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from snapscale.core.storage.base import (
    ObjectNotFound,
    StorageUnavailable,
    validate_key,
    validate_keys,
    validate_prefix,
)

log = logging.getLogger(__name__)

# "~" cannot appear in a key, so a half-written temp file is never mistaken for an object.
_TEMP_PREFIX = "~tmp-"


class LocalStorage:
    def __init__(self, root: Path, *, url_prefix: str = "/media/") -> None:
        # Resolved once: a later chdir must not move the store.
        self.root = root.resolve()
        self.url_prefix = url_prefix

    def path_for(self, key: str) -> Path:
        return self.root / validate_key(key)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        # The content type is not kept: the app serves files with FileResponse, which
        # derives it from the key's extension.
        path = self.path_for(key)
        await asyncio.to_thread(_write_atomically, path, data, key)

    async def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise _unavailable("read", key, exc) from exc

    async def delete(self, keys: Iterable[str]) -> None:
        paths = [(key, self.path_for(key)) for key in validate_keys(keys)]
        if paths:
            await asyncio.to_thread(_unlink_all, paths)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    async def list_keys(self, prefix: str) -> list[str]:
        validate_prefix(prefix)
        return await asyncio.to_thread(self._list_keys, prefix)

    def url(self, key: str) -> str:
        return self.url_prefix + validate_key(key)

    async def check(self) -> None:
        await asyncio.to_thread(self._check)

    def close(self) -> None:
        """Nothing to release; here so callers can close any backend alike."""

    def _list_keys(self, prefix: str) -> list[str]:
        # Walk only the deepest folder the prefix names, not the whole store.
        start = self.root / prefix.rpartition("/")[0]
        found: list[str] = []
        for folder, _, files in os.walk(start):
            relative = Path(folder).relative_to(self.root).as_posix()
            for name in files:
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix) and not name.startswith(_TEMP_PREFIX):
                    found.append(key)
        return sorted(found)

    def _check(self) -> None:
        # Writing a probe file is the only reliable test: permissions, a read-only
        # mount or a full disk all show up here rather than on the first upload.
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root, prefix=_TEMP_PREFIX) as probe:
                probe.write(b"ok")
        except OSError as exc:
            raise StorageUnavailable(
                f"Media folder {self.root} is not writable: {exc.strerror}."
            ) from exc


def _write_atomically(path: Path, data: bytes, key: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Same folder as the target, so os.replace is a rename within one filesystem
        # (atomic) rather than a copy.
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
    except OSError as exc:
        raise _unavailable("write", key, exc) from exc
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            # Without fsync a crash soon after the rename can leave an empty file under
            # the final name on some filesystems.
            os.fsync(temp.fileno())
        # mkstemp makes files private (0600); media is public and may be served by a
        # web server running as another user.
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(exc, OSError):
            raise _unavailable("write", key, exc) from exc
        raise


def _unlink_all(paths: list[tuple[str, Path]]) -> None:
    # Emptied folders are left in place: removing one could race with a put that has
    # just created it for a new file.
    for key, path in paths:
        try:
            path.unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            continue  # the key names a folder, or sits under a file: no object either way
        except OSError as exc:
            raise _unavailable("delete", key, exc) from exc


def _unavailable(action: str, key: str, exc: OSError) -> StorageUnavailable:
    # The client gets a plain sentence; the file and the OS error go to the log (the cause).
    log.error("could not %s media file %r: %s", action, key, exc)
    return StorageUnavailable(f"Photo storage could not {action} the file; try again shortly.")
