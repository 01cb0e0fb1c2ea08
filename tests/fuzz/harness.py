"""The API under fuzzing: the real app in process, two signed-in accounts and their things.

Schemathesis drives the ASGI app through its own client, on an event loop of its own, so
the app owns its runtime (database pool, Redis, jobs) on that loop from start to finish.
Account A ("the owner") and account B ("the other") each start with a ready photo,
comments on both photos, and follow each other, so the fuzzer has something to read and
something to aim at from its first step.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import schemathesis
from fastapi import FastAPI
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.transport.serialization import Binary

from snapscale.api.app import create_api
from snapscale.config import Settings
from tests.fuzz.ledger import Ledger
from tests.fuzz.links import with_links
from tests.support import images

PASSWORD = "fuzzing-tulips-77"
SCHEMA_PATH = "/openapi.json"
API = "/api/v1"
PROCESSING_LIMIT_SECONDS = 30
# CI fuzzes from one seed; `make fuzz` draws a new one each run to explore further. The
# seed starts the same requests, but answers (new ids) steer the later ones, so a finding
# is reproduced from the failure's own report (schemathesis prints the curl command).
SEED = int(os.environ.get("SNAPSCALE_FUZZ_SEED", "20240611"))


@dataclass(frozen=True)
class Account:
    username: str
    email: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass(frozen=True)
class OwnersThings:
    """What only A may change: its photo, and its comment on it."""

    photo_id: str
    caption: str
    comment_id: str


@dataclass
class FuzzTarget:
    app: FastAPI
    client: asgi.ASGIClient
    schema: Any  # schemathesis' OpenApiSchema
    a: Account
    b: Account
    owners: OwnersThings
    ledger: Ledger

    def headers_for(self, actor: str | None) -> dict[str, str]:
        """`actor` is "a", "b" or None (signed out)."""
        if actor is None:
            return {}
        return self.a.headers if actor == "a" else self.b.headers


def fuzz_config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # Valid inputs and broken ones (wrong types, missing fields, out of range...);
            # who signs in is ours to choose (`prepare`), not a generated header.
            "generation": {"mode": "all", "with-security-parameters": False},
        }
    )


def prepare(case: schemathesis.Case, headers: dict[str, str]) -> None:
    """Send the case as the chosen account, and with a real image where one is expected.

    Random bytes are never an image, so without this every upload would be a 415 and
    nothing past it (processing, editing, likes, comments) would be reached; broken
    uploads still come from the negative cases, which are left as generated.
    """
    for name in [name for name in case.headers if name.lower() == "authorization"]:
        del case.headers[name]
    case.headers.update(headers)
    if is_positive(case) and case.media_type == "multipart/form-data":
        for name, value in dict(case.body).items():
            if isinstance(value, Binary):
                case.body[name] = Binary(images.png(64, 48, seed=len(value.data)))


def is_positive(case: schemathesis.Case) -> bool:
    return case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE


def fuzz_settings(settings: Settings) -> Settings:
    # The fuzzer sends hundreds of requests a minute from one address and signs up
    # accounts at will; the limits would turn most of them into 429s. They have tests of
    # their own (tests/api/test_ratelimit.py).
    return settings.model_copy(update={"rate_limits_enabled": False})


def start(settings: Settings) -> Iterator[FuzzTarget]:
    """Start the app, sign up and seed the two accounts, load the schema; stop after."""
    app = create_api(fuzz_settings(settings))
    with asgi.get_client(app) as client:
        try:
            a = _sign_up(client, "fuzz_owner")
            b = _sign_up(client, "fuzz_other")
            ledger = Ledger(tokens={a.access_token: a.username, b.access_token: b.username})
            owners = _seed(client, a, b, ledger)
            raw = client.get(SCHEMA_PATH).json()
            schema = schemathesis.openapi.from_dict(with_links(raw), config=fuzz_config())
            schema.app = app
            schema.location = SCHEMA_PATH
            yield FuzzTarget(app, client, schema, a, b, owners, ledger)
        finally:
            asgi.shutdown_lifespans()


def _sign_up(client: asgi.ASGIClient, username: str) -> Account:
    email = f"{username}@example.com"
    registered = client.post(
        f"{API}/auth/register", json={"username": username, "email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    signed_in = client.post(f"{API}/auth/token", data={"username": username, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return Account(username, email, signed_in.json()["access_token"])


def _seed(client: asgi.ASGIClient, a: Account, b: Account, ledger: Ledger) -> OwnersThings:
    a_photo = _ready_photo(client, a, "the owner's photo")
    b_photo = _ready_photo(client, b, "the other's photo")
    a_comment = _comment(client, ledger, a, a_photo, "mine, on mine")
    _comment(client, ledger, b, a_photo, "the other's, on the owner's photo")
    _comment(client, ledger, a, b_photo, "the owner's, on the other's photo")
    for follower, followee in ((a, b), (b, a)):
        followed = client.put(f"{API}/users/{followee.username}/follow", headers=follower.headers)
        assert followed.status_code == 204, followed.text
    liked = client.put(f"{API}/photos/{a_photo}/like", headers=a.headers)
    assert liked.status_code == 204, liked.text
    for photo_id, owner in ((a_photo, a), (b_photo, b)):
        ledger.photo_owners[photo_id] = owner.username
    return OwnersThings(photo_id=a_photo, caption="the owner's photo", comment_id=a_comment)


def _ready_photo(client: asgi.ASGIClient, account: Account, caption: str) -> str:
    uploaded = client.post(
        f"{API}/photos",
        headers=account.headers,
        files={"file": ("photo.png", images.png(64, 48), "image/png")},
        data={"caption": caption},
    )
    assert uploaded.status_code == 202, uploaded.text
    photo_id: str = uploaded.json()["id"]
    deadline = time.monotonic() + PROCESSING_LIMIT_SECONDS
    while client.get(f"{API}/photos/{photo_id}").status_code != 200:
        assert time.monotonic() < deadline, "the seeded photo was never processed"
        time.sleep(0.05)
    return photo_id


def _comment(
    client: asgi.ASGIClient, ledger: Ledger, author: Account, photo_id: str, text: str
) -> str:
    response = client.post(
        f"{API}/photos/{photo_id}/comments", headers=author.headers, json={"text": text}
    )
    assert response.status_code == 201, response.text
    comment_id: str = response.json()["id"]
    ledger.comments[comment_id] = (author.username, photo_id)
    return comment_id
