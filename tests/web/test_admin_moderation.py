"""Moderation on the site: finding accounts and photos, deactivating and reactivating an
account (seen through the API and the site alike), removing a photo; every change behind
a confirmation page and a CSRF-protected POST, and written to the moderation log."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from snapscale.core.accounts import service as account_service
from snapscale.core.errors import InvalidInput
from tests.support.factories import PASSWORD, SignedIn, sign_in, signed_in_user
from tests.support.photos import finish_jobs, stored_keys, upload
from tests.web.helpers import csrf_token, is_signed_in, log_in, sign_up
from tests.web.test_admin_dashboard import core_of, create_admin

MODERATION_LOG = "snapscale.core.admin.audit"


def confirm(client: FlaskClient, path: str) -> TestResponse:
    """Open a confirmation page and press its button, as an administrator would."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def account_id(client: FlaskClient, username: str) -> int:
    """The id the moderation page shows for an account."""
    page = client.get(f"/admin/users/{username}")
    found = re.search(r"account id (\d+)", page.text)
    assert found is not None, page.text
    return int(found.group(1))


def moderation_log(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == MODERATION_LOG]


async def member_with_photo(api: httpx.AsyncClient) -> tuple[SignedIn, str]:
    """A member, signed in to the API, with one processed photo."""
    member = await signed_in_user(api)
    response = await upload(api, member.headers)
    assert response.status_code == 202, response.text
    await finish_jobs(api)
    return member, response.json()["id"]


async def test_deactivating_ends_every_session_and_hides_the_account(
    api: httpx.AsyncClient,
    site: FlaskClient,
    other_browser: FlaskClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    member, photo_id = await member_with_photo(api)
    assert log_in(other_browser, member.username, PASSWORD).status_code == 302
    admin = create_admin(site)
    path = f"/admin/users/{member.username}/deactivate"

    # The confirmation page changes nothing by itself.
    page = site.get(path)
    assert page.status_code == 200
    assert f"Deactivate @{member.username}?" in page.text
    assert (await api.get("/api/v1/users/me", headers=member.headers)).status_code == 200
    # (and the public profile is in the cache now, as it would be on a busy site)
    assert (await api.get(f"/api/v1/users/{member.username}")).status_code == 200

    with caplog.at_level(logging.INFO, logger=MODERATION_LOG):
        done = site.post(path, data={"csrf_token": csrf_token(site, path)})
    assert done.status_code == 303
    assert done.headers["Location"] == f"/admin/users/{member.username}"
    account_page = site.get(done.headers["Location"]).text
    assert "is deactivated: signed out everywhere" in account_page
    assert "Deactivated" in account_page and "Reactivate…" in account_page

    # API: the access and refresh tokens are dead, and the right password is refused
    # exactly like a wrong one.
    assert (await api.get("/api/v1/users/me", headers=member.headers)).status_code == 401
    refresh = await api.post("/api/v1/auth/refresh", json={"refresh_token": member.refresh_token})
    assert refresh.status_code == 401
    right = await sign_in(api, member.username, PASSWORD)
    wrong = await sign_in(api, member.username, "not-the-password")
    assert right.status_code == wrong.status_code == 401
    assert right.json() == wrong.json()
    # Site: the open session has ended, and logging in again fails as a wrong password does.
    assert not is_signed_in(other_browser)
    refused = log_in(other_browser, member.username, PASSWORD)
    assert refused.status_code == 401
    assert "Incorrect username, email or password." in refused.text
    # Nobody sees the profile or the photos any more.
    assert (await api.get(f"/api/v1/users/{member.username}")).status_code == 404
    assert (await api.get(f"/api/v1/photos/{photo_id}")).status_code == 404
    assert (await api.get(f"/api/v1/users/{member.username}/photos")).status_code == 404
    assert other_browser.get(f"/u/{member.username}").status_code == 404
    assert other_browser.get(f"/p/{photo_id}").status_code == 404
    # The moderation log names who did it, and to whom.
    [entry] = moderation_log(caplog)
    target, actor = account_id(site, member.username), account_id(site, admin["username"])
    assert entry.getMessage() == f"moderation: admin_id={actor} deactivated target_user_id={target}"
    assert (entry.admin_id, entry.target_user_id) == (actor, target)  # type: ignore[attr-defined]


async def test_reactivating_brings_the_account_back_but_not_its_old_sessions(
    api: httpx.AsyncClient,
    site: FlaskClient,
    other_browser: FlaskClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    member, photo_id = await member_with_photo(api)
    create_admin(site)
    assert confirm(site, f"/admin/users/{member.username}/deactivate").status_code == 303

    with caplog.at_level(logging.INFO, logger=MODERATION_LOG):
        done = confirm(site, f"/admin/users/{member.username}/reactivate")

    assert done.status_code == 303
    assert "is active again" in site.get(done.headers["Location"]).text
    assert "reactivated" in moderation_log(caplog)[0].getMessage()
    assert (await sign_in(api, member.username, PASSWORD)).status_code == 200
    assert log_in(other_browser, member.username, PASSWORD).status_code == 302
    assert (await api.get(f"/api/v1/users/{member.username}")).status_code == 200
    assert (await api.get(f"/api/v1/photos/{photo_id}")).status_code == 200
    assert other_browser.get(f"/u/{member.username}").status_code == 200
    assert other_browser.get(f"/p/{photo_id}").status_code == 200
    # Tokens from before the deactivation stay ended: the person signs in afresh.
    assert (await api.get("/api/v1/users/me", headers=member.headers)).status_code == 401


def test_administrators_cannot_deactivate_themselves(site: FlaskClient) -> None:
    admin = create_admin(site)
    path = f"/admin/users/{admin['username']}/deactivate"

    page = site.get(path)
    posted = site.post(path, data={"csrf_token": csrf_token(site, "/admin")})

    for response in (page, posted):
        assert response.status_code == 422
        assert "You cannot deactivate yourself" in response.text
    assert is_signed_in(site)
    assert "Deactivate…" not in site.get(f"/admin/users/{admin['username']}").text
    # The core holds the same rule, whatever front end asks.
    admin_user_id = account_id(site, admin["username"])
    with pytest.raises(InvalidInput, match="You cannot deactivate your own account"):
        core_of(site).run(account_service.deactivate, user_id=admin_user_id, admin_id=admin_user_id)


async def test_removing_a_photo_hides_it_and_deletes_its_files(
    api: httpx.AsyncClient, site: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    member, photo_id = await member_with_photo(api)
    assert await stored_keys(api, photo_id)  # the original and its renditions
    create_admin(site)
    path = f"/admin/photos/{photo_id}/remove"

    page = site.get(path)
    assert page.status_code == 200
    assert "Remove this photo?" in page.text
    assert 'class="admin-confirm-photo"' in page.text
    with caplog.at_level(logging.INFO, logger=MODERATION_LOG):
        done = site.post(path, data={"csrf_token": csrf_token(site, path)})

    assert done.status_code == 303
    assert done.headers["Location"] == f"/admin/users/{member.username}"
    assert f"The photo by @{member.username} is removed." in site.get(done.headers["Location"]).text
    assert (await api.get(f"/api/v1/photos/{photo_id}")).status_code == 404
    assert site.get(f"/p/{photo_id}").status_code == 404
    assert (await api.get(f"/api/v1/users/{member.username}")).json()["photos_count"] == 0
    # The site's own job queue removes the files, as for a deletion by the owner.
    core = core_of(site)
    core.bridge.call(core.runtime.jobs.wait_idle, 60)  # type: ignore[attr-defined]
    assert await stored_keys(api, photo_id) == []
    [entry] = moderation_log(caplog)
    assert f"removed photo photo_id={photo_id}" in entry.getMessage()
    assert site.get(path).status_code == 404  # gone: nothing left to remove


async def test_moderation_needs_the_forms_csrf_token(
    api: httpx.AsyncClient, site: FlaskClient
) -> None:
    member, photo_id = await member_with_photo(api)
    create_admin(site)

    for path in (
        f"/admin/users/{member.username}/deactivate",
        f"/admin/photos/{photo_id}/remove",
    ):
        for data in ({}, {"csrf_token": "forged"}):
            response = site.post(path, data=data)
            assert response.status_code == 400, path
            assert "Your form expired" in response.text

    assert (await api.get("/api/v1/users/me", headers=member.headers)).status_code == 200
    assert (await api.get(f"/api/v1/photos/{photo_id}")).status_code == 200


def test_finding_accounts_by_the_start_of_their_username(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    create_admin(site)
    alice = sign_up(other_browser, username="mod_alice", email="alice@example.com")
    sign_up(site.application.test_client(), username="mod_alan", email="alan@example.com")
    sign_up(site.application.test_client(), username="modxalan", email="x@example.com")
    assert confirm(site, f"/admin/users/{alice['username']}/deactivate").status_code == 303

    both = site.get("/admin/users?q=mod_al").text
    just_alice = site.get("/admin/users?q=@MOD_ALI").text

    assert 'href="/admin/users/mod_alice"' in both and 'href="/admin/users/mod_alan"' in both
    assert "modxalan" not in both  # "_" is a letter here, not a wildcard
    assert 'href="/admin/users/mod_alice"' in just_alice and "mod_alan" not in just_alice
    assert "Deactivated" in just_alice  # deactivated accounts are found too, and marked
    for query in ("%", "<b>x</b>", "a\x00b"):
        page = site.get("/admin/users", query_string={"q": query})
        assert page.status_code == 200
        assert "No username starts with" in page.text
        assert "<b>x</b>" not in page.text
    assert site.get("/admin/users/nobody.here").status_code == 404


def test_finding_a_photo_by_its_link(site: FlaskClient) -> None:
    create_admin(site)

    for reference in ("123", "/p/123", "https://snapscale.example/p/123?x=1#comments"):
        response = site.get("/admin/photos", query_string={"ref": reference})
        assert response.status_code == 302, reference
        assert response.headers["Location"] == "/admin/photos/123/remove"
    assert site.get("/admin/photos/123/remove").status_code == 404  # no such photo
    bad = site.get("/admin/photos", query_string={"ref": "<script>"})
    assert bad.status_code == 422
    assert "Paste a photo" in bad.text
    assert "<script>" not in bad.text
