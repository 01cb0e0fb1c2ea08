"""Structured logs: one JSON object per line in production, readable lines in embedded
mode; one access line per request; and the request id on every line a request causes,
the lines of the background jobs it enqueued included."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask.testing import FlaskClient

from snapscale.config import Settings
from snapscale.core.accounts import repository as account_repository
from snapscale.observability.logs import log_format, log_handler
from snapscale.web.core_access import EXTENSION_KEY, SiteCore
from tests.observability.conftest import CapturedLogs
from tests.support import images
from tests.support.factories import signed_in_user
from tests.support.photos import finish_jobs, upload
from tests.web.helpers import sign_up
from tests.web.test_photos import finish_jobs as finish_site_jobs
from tests.web.test_photos import upload as upload_on_site

only_sqlite = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)


async def test_an_api_request_writes_one_access_line(api, json_logs: CapturedLogs):
    user = await signed_in_user(api)
    me = await api.get("/api/v1/users/me", headers=user.headers | {"X-Request-ID": "abc-123"})

    [line] = json_logs.events("request", request_id="abc-123")
    assert line["app"] == "api"
    assert line["logger"] == "snapscale.access"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")
    assert (line["method"], line["route"], line["path"]) == (
        "GET",
        "/api/v1/users/me",
        "/api/v1/users/me",
    )
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["user_id"] == me.json()["id"]  # a string, like every id Snapscale shows


@only_sqlite
async def test_anonymous_requests_have_no_user_and_the_template_as_route(api, json_logs):
    await api.get("/api/v1/users/somebody", headers={"X-Request-ID": "anon-1"})
    [line] = json_logs.events("request", request_id="anon-1")
    assert line["user_id"] is None
    assert line["route"] == "/api/v1/users/{username}"
    assert line["path"] == "/api/v1/users/somebody"
    assert line["status"] == 404


def _user_id(site: FlaskClient, username: str) -> str:
    core: SiteCore = site.application.extensions[EXTENSION_KEY]

    async def lookup() -> int:
        async with core.runtime.unit_of_work() as uow:
            user = await account_repository.get_user_by_username(uow.session, username)
            assert user is not None
            return user.id

    return str(core.bridge.call(lookup))


def test_a_site_request_names_the_signed_in_account(site, json_logs: CapturedLogs):
    account = sign_up(site)
    assert site.get("/settings", headers={"X-Request-ID": "page-1"}).status_code == 200

    [line] = json_logs.events("request", request_id="page-1")
    assert line["app"] == "site"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/settings", 200)
    assert line["user_id"] == _user_id(site, account["username"])
    # The next request of another visitor is not mixed up with this one.
    site.application.test_client().get("/", headers={"X-Request-ID": "page-2"})
    [anonymous] = json_logs.events("request", request_id="page-2")
    assert anonymous["user_id"] is None


@only_sqlite
async def test_an_error_logged_during_a_request_carries_its_id(failing_api, json_logs):
    await failing_api.get("/api/v1/broken", headers={"X-Request-ID": "boom-7"})

    errors = [line for line in json_logs.lines() if line["level"] == "error"]
    assert errors, json_logs.lines()
    assert all(line["request_id"] == "boom-7" for line in errors)
    assert any("this route is broken on purpose" in line.get("exception", "") for line in errors)
    [access] = json_logs.events("request", request_id="boom-7")
    assert access["status"] == 500


async def test_the_job_an_api_request_enqueued_logs_with_its_request_id(api, json_logs):
    user = await signed_in_user(api)
    response = await upload(api, user.headers | {"X-Request-ID": "abc-123"}, images.jpeg(800, 600))
    assert response.headers["X-Request-ID"] == "abc-123"
    await finish_jobs(api)

    [job] = json_logs.events("job", job="photos.process")
    assert job["request_id"] == "abc-123"
    assert job["outcome"] == "succeeded"
    assert job["logger"] == "snapscale.jobs"
    # Jobs that job sent in turn (the feed fan-out) still trace back to the request.
    assert json_logs.events("job", job="feed.fan_out", request_id="abc-123")


@only_sqlite
def test_the_job_a_site_request_enqueued_logs_with_its_request_id(site, json_logs):
    sign_up(site)
    response = upload_on_site(site, images.jpeg(800, 600), headers={"X-Request-ID": "site-5"})
    assert response.status_code == 303
    assert response.headers["X-Request-ID"] == "site-5"
    finish_site_jobs(site)

    [job] = json_logs.events("job", job="photos.process")
    assert job["request_id"] == "site-5"


@only_sqlite
def test_library_lines_share_the_format(json_logs):
    # A line from any library logger (here SQLAlchemy's) is a JSON object like ours.
    logging.getLogger("sqlalchemy.pool").warning("pool %s is %s", "main", "tired")
    [line] = [line for line in json_logs.lines() if line["logger"] == "sqlalchemy.pool"]
    assert line["event"] == "pool main is tired"
    assert line["level"] == "warning"
    assert "timestamp" in line


@only_sqlite
def test_console_lines_are_for_people(settings):
    stream = io.StringIO()
    handler = log_handler(settings.model_copy(update={"log_format": "console"}), stream)
    record = logging.LogRecord("snapscale.access", logging.INFO, __file__, 1, "request", (), None)
    record.__dict__.update(route="/u/<username>", status=200, request_id="abc-123")
    handler.handle(record)

    line = stream.getvalue()
    assert "request" in line
    assert "route=/u/<username>" in line
    assert "request_id=abc-123" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


@only_sqlite
def test_console_tracebacks_name_the_error_but_no_local_variable(settings):
    stream = io.StringIO()
    handler = log_handler(settings.model_copy(update={"log_format": "console"}), stream)
    logger = logging.getLogger("snapscale.test.tracebacks")
    logger.addHandler(handler)
    try:
        password = "hunter2-in-a-local"
        bulky = ["row"] * 10_000
        raise LookupError(f"{len(password)} {len(bulky)}")
    except LookupError:
        logger.exception("unhandled error on GET /x")
    finally:
        logger.removeHandler(handler)

    text = stream.getvalue()
    assert "unhandled error on GET /x" in text
    assert "Traceback (most recent call last)" in text
    assert "LookupError: 18 10000" in text
    assert "hunter2-in-a-local" not in text
    assert len(text.splitlines()) < 15


def test_auto_format_is_json_in_production_and_console_in_embedded_mode(tmp_path):
    production = Settings(
        database_url="postgresql://u@db/snapscale", secret_key="k" * 40, data_dir=tmp_path
    )
    embedded = Settings(data_dir=tmp_path)
    assert log_format(production) == "json"
    assert log_format(embedded) == "console"
    assert log_format(production.model_copy(update={"log_format": "console"})) == "console"
    assert log_format(embedded.model_copy(update={"log_format": "json"})) == "json"
