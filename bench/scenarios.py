"""The scenarios: what each server is asked, as wrk plans over the seeded data."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import TypeVar

import httpx

from bench.drivers import Plan
from bench.payloads import multipart_upload, photo_of_size
from bench.stack import Data

PROFILE = "profile read"
PHOTOS = "photo list page"
FEED = "home feed page"
LOGIN = "token login"
UPLOAD = "photo upload"
JOURNEY = "user journey (mixed)"

SNAPSCALE_API = "Snapscale API"
SNAPSCALE_SITE = "Snapscale site (Flask)"
SEED_FASTAPI = "seed_fastapi"
SEED_FLASK = "seed_flask"
BARE_ASGI = "bare_asgi"

TOKEN_ATTEMPTS = 5
TOKEN_RETRY_SECONDS = 2.0
# Request lines per plan: enough that every connection keeps hitting different rows.
PLAN_SIZE = 10_000

T = TypeVar("T")


def _spread(items: list[T]) -> list[T]:
    """Up to PLAN_SIZE items picked at random (the same ones every run)."""
    rng = random.Random(11)
    return items if len(items) <= PLAN_SIZE else rng.sample(items, PLAN_SIZE)


def profile_by_id(data: Data) -> Plan:
    """The peers' read: one user by integer id."""
    return Plan([f"GET /users/{user_id}" for user_id in _spread(data.user_ids)])


def api_profile(data: Data) -> Plan:
    return Plan([f"GET /api/v1/users/{name}" for name in _spread(data.usernames)])


def site_profile(data: Data) -> Plan:
    return Plan([f"GET /u/{name}" for name in _spread(data.usernames)])


def api_photos(data: Data) -> Plan:
    return Plan([f"GET /api/v1/users/{name}/photos" for name in _spread(data.usernames)])


def api_feed(token: str) -> Plan:
    return Plan(["GET /api/v1/feed"], headers={"Authorization": f"Bearer {token}"})


def api_login(data: Data) -> Plan:
    return Plan(
        [
            f"POST /api/v1/auth/token username={name}&password={data.password}"
            for name in _spread(data.usernames)
        ],
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def upload_body(workdir: Path, megabytes: float) -> tuple[str, Path]:
    """The multipart form uploading one JPEG of ``megabytes``, written once to a file."""
    content_type, body = multipart_upload(photo_of_size(megabytes))
    path = workdir / "upload.body"
    path.write_bytes(body)
    return content_type, path


def upload(path: str, content_type: str, body: Path, token: str | None = None) -> Plan:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return Plan([f"POST {path}"], headers=headers, body_file=body)


def access_token(base_url: str, username: str, password: str) -> str:
    """Logs in, as a client would, retrying a dropped connection a few times: a server
    still busy with the previous scenario's backlog may drop one."""
    for attempt in range(TOKEN_ATTEMPTS):
        try:
            response = httpx.post(
                f"{base_url}/api/v1/auth/token",
                data={"username": username, "password": password},
                timeout=30,
            )
            break
        except httpx.TransportError:
            if attempt == TOKEN_ATTEMPTS - 1:
                raise
            time.sleep(TOKEN_RETRY_SECONDS)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token
