"""Object-store keys, made by the server from the photo id: deterministic, so a job that
runs twice overwrites its own files instead of leaving copies, and never derived from
anything the client sent."""

from __future__ import annotations


def photo_prefix(photo_id: int) -> str:
    return f"photos/{photo_id}/"


def original_key(photo_id: int) -> str:
    return f"{photo_prefix(photo_id)}original"


def rendition_key(photo_id: int, name: str) -> str:
    return f"{photo_prefix(photo_id)}{name}.webp"
