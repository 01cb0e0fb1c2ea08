from tests.support.factories import PASSWORD, register, sign_in, signed_in_user


async def test_public_profile_has_no_email(api):
    data = await register(api, display_name="Katherine")

    response = await api.get(f"/api/v1/users/{data['username']}")

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == data["username"]
    assert body["display_name"] == "Katherine"
    assert set(body) >= {"id", "username", "display_name", "bio", "created_at"}
    assert "email" not in body
    assert data["email"] not in response.text


async def test_profile_lookup_ignores_case(api):
    data = await register(api, username="dorothy")
    response = await api.get("/api/v1/users/DOROTHY")
    assert response.status_code == 200
    assert response.json()["username"] == data["username"]


async def test_unknown_profile_is_a_404_problem(api):
    response = await api.get("/api/v1/users/nobody")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


async def test_edit_profile_and_read_it_back_everywhere(api):
    user = await signed_in_user(api)
    before = await api.get(f"/api/v1/users/{user.username}")  # warms the profile cache
    assert before.json()["bio"] == ""

    response = await api.patch(
        "/api/v1/users/me",
        headers=user.headers,
        json={"display_name": "  Radia  ", "bio": "Spanning trees.\nAnd more."},
    )

    assert response.status_code == 200
    assert response.json()["display_name"] == "Radia"
    public = (await api.get(f"/api/v1/users/{user.username}")).json()
    assert public["display_name"] == "Radia"
    assert public["bio"] == "Spanning trees.\nAnd more."
    me = (await api.get("/api/v1/users/me", headers=user.headers)).json()
    assert me["bio"] == "Spanning trees.\nAnd more."


async def test_partial_update_leaves_other_fields(api):
    user = await signed_in_user(api, display_name="Barbara")
    await api.patch("/api/v1/users/me", headers=user.headers, json={"bio": "Liskov"})
    me = (await api.get("/api/v1/users/me", headers=user.headers)).json()
    assert me["display_name"] == "Barbara"
    assert me["bio"] == "Liskov"


async def test_change_email_to_a_taken_one_is_a_409(api):
    other = await register(api)
    user = await signed_in_user(api)

    response = await api.patch(
        "/api/v1/users/me", headers=user.headers, json={"email": other["email"].upper()}
    )

    assert response.status_code == 409
    me = (await api.get("/api/v1/users/me", headers=user.headers)).json()
    assert me["email"] == user.email  # nothing changed


async def test_change_email_then_sign_in_with_it(api):
    user = await signed_in_user(api)
    response = await api.patch(
        "/api/v1/users/me", headers=user.headers, json={"email": "new.address@example.com"}
    )
    assert response.status_code == 200
    assert (await sign_in(api, "new.address@example.com")).status_code == 200


async def test_unknown_fields_and_bad_values_are_refused(api):
    user = await signed_in_user(api)
    for body in ({"is_admin": True}, {"email": "nope"}, {"bio": "x" * 301}):
        response = await api.patch("/api/v1/users/me", headers=user.headers, json=body)
        assert response.status_code == 422, body
    me = (await api.get("/api/v1/users/me", headers=user.headers)).json()
    assert me["is_admin"] is False


async def test_change_password_ends_every_other_session(api):
    user = await signed_in_user(api)
    other_device = (await sign_in(api, user.username)).json()

    response = await api.post(
        "/api/v1/users/me/password",
        headers=user.headers,
        json={"current_password": PASSWORD, "new_password": "a-brand-new-secret"},
    )

    assert response.status_code == 200
    fresh = response.json()
    assert (await api.get("/api/v1/users/me", headers=user.headers)).status_code == 401
    other_access = {"Authorization": f"Bearer {other_device['access_token']}"}
    assert (await api.get("/api/v1/users/me", headers=other_access)).status_code == 401
    refresh = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": other_device["refresh_token"]}
    )
    assert refresh.status_code == 401
    fresh_access = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert (await api.get("/api/v1/users/me", headers=fresh_access)).status_code == 200
    assert (await sign_in(api, user.username, PASSWORD)).status_code == 401
    assert (await sign_in(api, user.username, "a-brand-new-secret")).status_code == 200


async def test_change_password_needs_the_current_one(api):
    user = await signed_in_user(api)
    response = await api.post(
        "/api/v1/users/me/password",
        headers=user.headers,
        json={"current_password": "wrong-one-here", "new_password": "a-brand-new-secret"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "current_password"
    assert (await sign_in(api, user.username, PASSWORD)).status_code == 200


async def test_new_password_must_be_acceptable(api):
    user = await signed_in_user(api)
    response = await api.post(
        "/api/v1/users/me/password",
        headers=user.headers,
        json={"current_password": PASSWORD, "new_password": "12345678"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "new_password"


async def test_list_users_pages_newest_first_without_gaps_or_repeats(api):
    names = [(await register(api))["username"] for _ in range(7)]

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/api/v1/users", params=params)).json()
        seen += [item["username"] for item in page["items"]]
        assert all("email" not in item for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        await register(api)  # a newcomer mid-listing shifts nothing already paged

    assert seen == list(reversed(names))


async def test_list_users_default_limit_and_bounds(api):
    for _ in range(21):
        await register(api)
    page = (await api.get("/api/v1/users")).json()
    assert len(page["items"]) == 20
    assert page["next_cursor"]
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "garbage!"}):
        response = await api.get("/api/v1/users", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"


async def test_names_no_account_can_have_are_404_not_500(api):
    for name in ("a%00b", "%E2%80%AE", "..", "x" * 40):
        response = await api.get(f"/api/v1/users/{name}")
        assert response.status_code in (404, 422), name
        assert response.headers["content-type"] == "application/problem+json"
