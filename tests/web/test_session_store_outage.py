"""The site's policy when Redis, its session store, is stopped: browse signed out, no 500."""

import pytest

from snapscale.web.app import create_site
from snapscale.web.core_access import EXTENSION_KEY
from tests.web.helpers import is_signed_in, log_in, log_out, sign_up


@pytest.fixture
def site_on_redis(settings, private_redis):
    app = create_site(settings.model_copy(update={"redis_url": private_redis.url}))
    yield app.test_client()
    app.extensions[EXTENSION_KEY].close()


def test_pages_render_signed_out_while_the_store_is_down(site_on_redis, private_redis):
    data = sign_up(site_on_redis)
    assert is_signed_in(site_on_redis)

    private_redis.stop()
    home = site_on_redis.get("/")
    profile = site_on_redis.get(f"/u/{data['username']}")

    assert home.status_code == 200
    assert "Signing in is unavailable for a moment" in home.text
    assert profile.status_code == 200
    assert data["display_name"] in profile.text


def test_log_in_while_the_store_is_down_is_a_clear_503(site_on_redis, private_redis):
    data = sign_up(site_on_redis)
    log_out(site_on_redis)
    assert site_on_redis.get("/login").status_code == 200

    private_redis.stop()
    response = site_on_redis.post(
        "/login", data={"login": data["username"], "password": data["password"]}
    )

    assert response.status_code == 503
    assert "Signing in is paused" in response.text


def test_the_session_is_back_when_the_store_is(site_on_redis, private_redis):
    data = sign_up(site_on_redis)
    private_redis.pause()
    assert not is_signed_in(site_on_redis)

    private_redis.resume()
    # Nothing was written while the store was away, so the same cookie signs in again.
    assert is_signed_in(site_on_redis)
    log_out(site_on_redis)
    assert log_in(site_on_redis, data["username"], data["password"]).status_code == 302
