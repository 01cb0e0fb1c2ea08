"""A site process of its own answers its load balancer's probes: /healthz without touching
any dependency, /readyz naming the dependency that failed."""

from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from snapscale.config import Settings
from snapscale.web.app import create_site
from snapscale.web.core_access import EXTENSION_KEY


@pytest.fixture
def site_for() -> Iterator[Callable[[Settings], FlaskClient]]:
    """Makes a standalone site (own event loop and runtime) on the given settings."""
    apps = []

    def make(settings: Settings) -> FlaskClient:
        app = create_site(settings)
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions[EXTENSION_KEY].close()


def test_healthz_and_readyz_answer_json(site_for, settings, stack):
    # Patient: a busy test machine must not turn a slow first connection into a failure.
    patient = {"ready_timeout_seconds": 8.0, "redis_timeout_seconds": 5.0}
    site = site_for(settings.model_copy(update=patient))

    live = site.get("/healthz")
    ready = site.get("/readyz")

    assert live.status_code == 200
    assert live.json == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.headers["Cache-Control"] == "no-store"
    expected = {"database": "ok", "storage": "ok"}
    if stack == "postgresql":
        expected["redis"] = "ok"
    assert ready.json == {"status": "ready", "checks": expected}


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
def test_redis_stopped_keeps_both_probes_up_and_readyz_names_redis(
    site_for, settings, private_redis
):
    site = site_for(settings.model_copy(update={"redis_url": private_redis.url}))
    private_redis.stop()

    live = site.get("/healthz")
    ready = site.get("/readyz")

    assert live.status_code == 200
    # Signed out, the site still serves every page: the replica stays in rotation.
    assert ready.status_code == 200
    assert ready.json["status"] == "degraded"
    assert ready.json["checks"]["redis"] == "connection refused"


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
def test_hung_redis_is_degraded_instead_of_a_hang(site_for, settings, private_redis):
    site = site_for(settings.model_copy(update={"redis_url": private_redis.url}))
    private_redis.pause()
    try:
        ready = site.get("/readyz")
    finally:
        private_redis.resume()

    assert ready.status_code == 200
    assert ready.json["status"] == "degraded"
    assert ready.json["checks"]["redis"] == "timed out after 0.25s"


def test_unwritable_media_folder_is_not_ready_naming_storage(site_for, settings):
    (settings.data_dir / "media").write_bytes(b"a file where the media folder should be")
    site = site_for(settings)

    ready = site.get("/readyz")

    assert ready.status_code == 503
    assert ready.mimetype == "application/problem+json"
    problem = ready.json
    assert problem["type"] == "urn:snapscale:problem:not-ready"
    assert (problem["title"], problem["status"], problem["instance"]) == (
        "Not ready",
        503,
        "/readyz",
    )
    assert any(part.startswith("storage: Media folder ") for part in problem["detail"].split("; "))
