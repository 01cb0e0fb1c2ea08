import pytest

from tests.support.factories import PASSWORD, register, registration

PROBLEM = "application/problem+json"


async def test_register_returns_the_account_with_its_location(api):
    data = registration(username="Ada.Lovelace", display_name="Ada")
    response = await api.post("/api/v1/auth/register", json=data)

    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "ada.lovelace"  # usernames are case-insensitive, kept lower-case
    assert body["email"] == data["email"]
    assert body["display_name"] == "Ada"
    assert isinstance(body["id"], str) and body["id"].isdigit()
    assert "password" not in response.text and "password_hash" not in response.text
    assert response.headers["location"] == "/api/v1/users/ada.lovelace"


async def test_username_is_unique_whatever_the_case(api):
    await register(api, username="grace")
    response = await api.post("/api/v1/auth/register", json=registration(username="GRACE"))

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "username"


async def test_email_is_unique_whatever_the_case(api):
    await register(api, email="Hopper@Example.com")
    response = await api.post(
        "/api/v1/auth/register", json=registration(email="hopper@EXAMPLE.COM")
    )

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "email"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "ab"),
        ("username", "x" * 31),
        ("username", "has space"),
        ("username", "émile"),
        ("username", ".dot"),
        ("email", "not-an-email"),
        ("password", "short1"),
        ("password", "password123"),
        ("password", "aaaaaaaaaaaa"),
        ("display_name", "x" * 61),
    ],
)
async def test_bad_fields_are_named_in_a_422(api, field, value):
    response = await api.post("/api/v1/auth/register", json=registration(**{field: value}))

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 422 and body["title"] and body["detail"]
    assert [error["field"] for error in body["errors"]] == [field]


async def test_every_missing_field_is_listed(api):
    response = await api.post("/api/v1/auth/register", json={})

    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"username", "email", "password"}


async def test_password_may_not_be_the_username(api):
    response = await api.post(
        "/api/v1/auth/register",
        json={"username": "longusername1", "email": "l@example.com", "password": "LongUsername1"},
    )
    assert response.status_code == 422


async def test_body_that_is_not_json_is_a_400(api):
    response = await api.post(
        "/api/v1/auth/register", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


async def test_form_body_where_json_is_expected_is_a_415(api):
    response = await api.post("/api/v1/auth/register", data={"username": "abc"})
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM


async def test_the_new_account_can_sign_in(api):
    data = await register(api)
    response = await api.post(
        "/api/v1/auth/token", data={"username": data["username"], "password": PASSWORD}
    )
    assert response.status_code == 200
