"""Edges of the API's contract that fuzzing found: ids past the 63-bit range, the methods
a 405 offers, the 400 every body-reading operation can answer, and input rules the
schema documents (so clients, and the fuzzer, can send what the server takes)."""

from __future__ import annotations

import re

import pytest

from snapscale.core.ids import MAX_ID
from tests.support import images
from tests.support.factories import registration, signed_in_user
from tests.support.photos import upload

PAST_THE_LARGEST = (str(MAX_ID + 1), "9" * 30, "0" * 5 + "9" * 25)


@pytest.mark.parametrize("photo_id", PAST_THE_LARGEST)
async def test_ids_past_the_largest_name_nothing(api, photo_id):
    user = await signed_in_user(api)
    calls = [
        ("GET", f"/api/v1/photos/{photo_id}", None),
        ("PATCH", f"/api/v1/photos/{photo_id}", {"caption": "x"}),
        ("DELETE", f"/api/v1/photos/{photo_id}", None),
        ("PUT", f"/api/v1/photos/{photo_id}/like", None),
        ("DELETE", f"/api/v1/photos/{photo_id}/like", None),
        ("GET", f"/api/v1/photos/{photo_id}/comments", None),
        ("POST", f"/api/v1/photos/{photo_id}/comments", {"text": "hello"}),
        ("DELETE", f"/api/v1/comments/{photo_id}", None),
    ]
    for method, path, body in calls:
        response = await api.request(method, path, json=body, headers=user.headers)

        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == f"Nothing has that id: ids are at most {MAX_ID}."


@pytest.mark.parametrize("photo_id", ["%C2%B2", "%EF%BC%91%EF%BC%92", "-1x", "1.5"])
async def test_ids_that_are_not_ascii_digits_are_invalid_input(api, photo_id):
    response = await api.get(f"/api/v1/photos/{photo_id}")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "photo_id"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/api/v1/users/someone/follow", "DELETE, PUT"),
        ("POST", "/api/v1/photos/1/like", "DELETE, PUT"),
        ("PUT", "/api/v1/photos/1", "DELETE, GET, HEAD, PATCH"),
        ("DELETE", "/api/v1/users/me", "GET, HEAD, PATCH"),
    ],
)
async def test_a_405_offers_every_method_of_the_path(api, method, path, allowed):
    response = await api.request(method, path)

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == allowed


async def test_every_operation_that_reads_a_body_documents_the_400(api):
    schema = (await api.get("/openapi.json")).json()
    reading = [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]

    assert len(reading) >= 7  # sign-up, tokens, profile, password, upload, caption, comment
    for method, path, operation in reading:
        documented = operation["responses"].get("400", {})
        assert "application/problem+json" in documented.get("content", {}), (method, path)

    broken = await api.post(
        "/api/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.headers["content-type"] == "application/problem+json"


async def test_a_retried_upload_of_a_deleted_photo_is_a_documented_404(api):
    schema = (await api.get("/openapi.json")).json()
    assert "404" in schema["paths"]["/api/v1/photos"]["post"]["responses"]
    owner = await signed_in_user(api)
    first = await upload(api, owner.headers, idempotency_key="retry-me")
    assert first.status_code == 202, first.text
    deleted = await api.delete(f"/api/v1/photos/{first.json()['id']}", headers=owner.headers)
    assert deleted.status_code == 204

    retried = await upload(api, owner.headers, idempotency_key="retry-me")

    assert retried.status_code == 404
    assert retried.headers["content-type"] == "application/problem+json"


async def test_the_schema_states_the_sign_up_rules_the_server_applies(api):
    schema = (await api.get("/openapi.json")).json()
    fields = schema["components"]["schemas"]["Registration"]["properties"]
    username, password = fields["username"], fields["password"]
    assert (password["minLength"], password["maxLength"]) == (8, 128)
    assert (username["minLength"], username["maxLength"]) == (3, 30)

    for name, documented_valid in [
        ("ada.l", True),
        ("Ada_99", True),
        ("a.b.c", True),
        (".ada", False),
        ("ada.", False),
        ("a..b", False),
        ("ada-l", False),
        (" ada", False),
        ("ada\t", False),
    ]:
        assert bool(re.fullmatch(username["pattern"], name)) is documented_valid, name
        response = await api.post("/api/v1/auth/register", json=registration(username=name))
        assert (response.status_code == 201) is documented_valid, (name, response.text)

    short = await api.post("/api/v1/auth/register", json=registration(password="seven77"))
    assert short.status_code == 422


# `format: email` is an address alone; the email validator would quietly drop the spaces
# or the name and keep the rest, so the server would accept what the schema refuses.
NOT_AN_ADDRESS_ALONE = [" ada@example.com", "ada@example.com\t", "Ada <ada@example.com>"]


@pytest.mark.parametrize("email", NOT_AN_ADDRESS_ALONE)
async def test_an_email_with_spaces_or_a_name_around_it_is_refused(api, email):
    response = await api.post("/api/v1/auth/register", json=registration(email=email))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "email address alone" in response.text


@pytest.mark.parametrize("email", NOT_AN_ADDRESS_ALONE)
async def test_an_email_change_with_spaces_or_a_name_is_refused_and_nothing_changes(api, email):
    user = await signed_in_user(api)

    response = await api.patch("/api/v1/users/me", headers=user.headers, json={"email": email})

    assert response.status_code == 422, response.text
    me = await api.get("/api/v1/users/me", headers=user.headers)
    assert me.json()["email"] == user.email


async def test_the_schema_asks_comments_for_a_visible_character(api):
    schema = (await api.get("/openapi.json")).json()
    pattern = schema["components"]["schemas"]["NewComment"]["properties"]["text"]["pattern"]
    owner = await signed_in_user(api)
    photo = await upload(api, owner.headers, images.png(32, 32), content_type="image/png")
    assert photo.status_code == 202, photo.text
    path = f"/api/v1/photos/{photo.json()['id']}/comments"

    for text in ["\u0003", " \t\n ", "\x7f\x00", "\u0085", "\u3000", "hi", " a ", "\u00e9"]:
        documented_valid = re.search(pattern, text) is not None
        response = await api.post(path, headers=owner.headers, json={"text": text})
        assert (response.status_code == 201) is documented_valid, (repr(text), response.text)


# Each free-text field, where it is sent, and its documented limit.
TEXT_FIELDS = [
    ("PATCH", "/api/v1/photos/{photo}", "caption", 2200),
    ("POST", "/api/v1/photos/{photo}/comments", "text", 1000),
    ("PATCH", "/api/v1/users/me", "bio", 300),
    ("PATCH", "/api/v1/users/me", "display_name", 60),
]


@pytest.mark.parametrize(("method", "path", "field", "limit"), TEXT_FIELDS)
async def test_text_limits_count_what_is_sent_as_the_schema_says(api, method, path, field, limit):
    """The limit is on the characters sent: one more than documented is refused even when
    it is a control character or a space the server would have dropped."""
    owner = await signed_in_user(api)
    photo = await upload(api, owner.headers, images.png(32, 32), content_type="image/png")
    assert photo.status_code == 202, photo.text
    url = path.format(photo=photo.json()["id"])

    for over in ["x" * limit + "\x01", "x" * limit + " ", "\u00e9" * (limit + 1)]:
        response = await api.request(method, url, headers=owner.headers, json={field: over})
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"

    at_the_limit = "\x01" + "x" * (limit - 2) + " "
    response = await api.request(method, url, headers=owner.headers, json={field: at_the_limit})
    assert response.status_code in (200, 201), (field, response.text)
    assert response.json()[field] == "x" * (limit - 2)
