"""Helpers for photo tests: upload through the API, wait for background jobs, or hold them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import images


async def upload(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes | None = None,
    *,
    caption: str = "",
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    idempotency_key: str | None = None,
) -> httpx.Response:
    extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return await api.post(
        "/api/v1/photos",
        headers=headers | extra,
        files={
            "file": (filename, data if data is not None else images.jpeg(800, 600), content_type)
        },
        data={"caption": caption} if caption else {},
    )


async def finish_jobs(api: httpx.AsyncClient) -> None:
    """Wait until the in-process queue has run every job sent so far."""
    await api.runtime.jobs.wait_idle(limit_seconds=60)  # type: ignore[attr-defined]


async def stored_keys(api: httpx.AsyncClient, photo_id: str) -> list[str]:
    return sorted(await api.runtime.storage.list_keys(f"photos/{photo_id}/"))  # type: ignore[attr-defined]


class HeldJobs:
    """A job queue that keeps every job instead of running it: the photos it is sent stay
    "processing" until a test runs their jobs itself, if it does."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send(self, name: str, kwargs: dict[str, Any]) -> None:
        self.sent.append((name, kwargs))

    async def aclose(self) -> None:
        pass
