"""/metrics in the Prometheus text format: requests by route template (never raw paths),
cache hits and misses, upload bytes, database connections in use and job queues."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from flask.testing import FlaskClient
from sqlalchemy import text

from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.core.errors import Unavailable
from snapscale.core.jobs import InProcessJobs
from snapscale.core.live_stats import combine
from snapscale.core.runtime import Runtime
from snapscale.embedded import EmbeddedApp
from snapscale.web.core_access import EXTENSION_KEY
from tests.observability.scraping import Samples, label_values, parse, value
from tests.support import images
from tests.support.factories import register, signed_in_user
from tests.support.photos import upload
from tests.web.helpers import sign_up
from tests.web.test_photos import uploaded

only_sqlite = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def scrape_site(site: FlaskClient) -> Samples:
    response = site.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


@only_sqlite
async def test_metrics_are_not_part_of_the_api_schema(api):
    schema = (await api.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]
    assert "http_requests_total" in (await api.get("/metrics")).text


@only_sqlite
async def test_api_requests_are_counted_by_route_template_never_by_raw_path(api):
    first, second = await register(api), await register(api)
    strays = [f"/api/v1/{uuid.uuid4().hex}" for _ in range(3)]
    before = await scrape(api)

    for name in (first["username"], second["username"], "nobody-here"):
        await api.get(f"/api/v1/users/{name}")
    for path in strays:
        assert (await api.get(path)).status_code == 404
    brewed = await api.request("BREW", "/healthz")

    after = await scrape(api)
    profile = {"app": "api", "method": "GET", "route": "/api/v1/users/{username}"}

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("http_requests_total", **profile, status="200") == 2
    assert grew("http_requests_total", **profile, status="404") == 1
    assert grew("http_request_duration_seconds_count", **profile) == 3
    unmatched = {"app": "api", "method": "GET", "route": "<unmatched>", "status": "404"}
    assert grew("http_requests_total", **unmatched) == 3
    assert brewed.status_code == 405
    assert grew("http_requests_total", app="api", method="other", route="/healthz", status="405")
    routes = label_values(after, "route")
    assert not any(first["username"] in route or "nobody" in route for route in routes)
    assert not any(path.rsplit("/", 1)[1] in route for path in strays for route in routes)


@only_sqlite
def test_site_requests_are_counted_under_their_url_rule(site):
    before = scrape_site(site)
    assert site.get("/u/nobody-at-all").status_code == 404
    assert site.get(f"/{uuid.uuid4().hex}").status_code == 404
    after = scrape_site(site)

    profile = {"app": "site", "method": "GET", "route": "/u/<username>", "status": "404"}
    unmatched = {"app": "site", "method": "GET", "route": "<unmatched>", "status": "404"}
    for labels in (profile, unmatched):
        assert (
            value(after, "http_requests_total", **labels)
            - value(before, "http_requests_total", **labels)
            == 1
        )
    assert not any("nobody" in route for route in label_values(after, "route"))


async def test_cache_hits_and_misses_are_counted_by_key_family(api):
    user = await register(api)
    before = await scrape(api)
    await api.get(f"/api/v1/users/{user['username']}")  # a miss fills the cache
    await api.get(f"/api/v1/users/{user['username']}")  # then a hit
    after = await scrape(api)

    for name in ("snapscale_cache_misses_total", "snapscale_cache_hits_total"):
        assert value(after, name, family="profile") - value(before, name, family="profile") == 1
    assert user["username"] not in label_values(after, "family")


@only_sqlite
async def test_bytes_uploaded_through_the_api_are_counted_once(api):
    user = await signed_in_user(api)
    photo = images.jpeg(640, 480)
    before = await scrape(api)
    assert (await upload(api, user.headers, photo)).status_code == 202
    after = await scrape(api)
    grown = value(after, "snapscale_upload_bytes_total") - value(
        before, "snapscale_upload_bytes_total"
    )
    assert grown == len(photo)


@only_sqlite
def test_bytes_uploaded_through_the_site_are_counted_once(site):
    sign_up(site)
    photo = images.jpeg(640, 480)
    before = scrape_site(site)
    uploaded(site, photo)
    after = scrape_site(site)
    grown = value(after, "snapscale_upload_bytes_total") - value(
        before, "snapscale_upload_bytes_total"
    )
    assert grown == len(photo)


async def test_connections_in_use_are_read_from_the_database_pool(api):
    idle = value(await scrape(api), "snapscale_db_pool_connections_in_use")
    async with api.runtime.unit_of_work() as uow:
        await uow.session.execute(text("SELECT 1"))  # holds a pooled connection
        busy = value(await scrape(api), "snapscale_db_pool_connections_in_use")
    released = value(await scrape(api), "snapscale_db_pool_connections_in_use")

    assert busy == idle + 1
    assert released == idle


class BlockingJobs:
    """Job handlers for the test: one that waits to be released, one that fails once
    for a passing reason, one that always fails."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.flaky_calls = 0

    async def wait(self, _runtime: Runtime) -> None:
        await self.release.wait()

    async def flaky(self, _runtime: Runtime) -> None:
        self.flaky_calls += 1
        if self.flaky_calls == 1:
            raise Unavailable("the store blinked")

    async def broken(self, _runtime: Runtime) -> None:
        raise ValueError("bad data")


@pytest.fixture
async def queue_api(
    settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, InProcessJobs, BlockingJobs]]:
    handlers = BlockingJobs()
    jobs = InProcessJobs(
        {"test.wait": handlers.wait, "test.flaky": handlers.flaky, "test.broken": handlers.broken}
    )
    runtime = Runtime(settings, jobs=jobs)
    jobs.bind(runtime)
    app = create_api(settings, runtime=runtime)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, jobs, handlers
    await runtime.aclose()


@only_sqlite
async def test_embedded_queue_depth_age_and_job_outcomes(queue_api):
    api, jobs, handlers = queue_api
    before = await scrape(api)
    for name in ("test.wait", "test.wait", "test.flaky", "test.broken"):
        await jobs.send(name, {})
    await asyncio.sleep(0)  # the first job starts and waits; the others queue behind it

    waiting = await scrape(api)
    assert value(waiting, "snapscale_job_queue_depth") == 3
    assert value(waiting, "snapscale_job_queue_oldest_age_seconds") > 0

    handlers.release.set()
    await jobs.wait_idle(limit_seconds=30)
    after = await scrape(api)

    def grew(name: str, job: str) -> float:
        return value(after, name, job=job) - value(before, name, job=job)

    assert value(after, "snapscale_job_queue_depth") == 0
    assert value(after, "snapscale_job_queue_oldest_age_seconds") == 0
    assert grew("snapscale_jobs_started_total", "test.wait") == 2
    assert grew("snapscale_jobs_succeeded_total", "test.wait") == 2
    assert grew("snapscale_jobs_retried_total", "test.flaky") == 1
    assert grew("snapscale_jobs_succeeded_total", "test.flaky") == 1
    assert grew("snapscale_jobs_started_total", "test.flaky") == 2
    assert grew("snapscale_jobs_failed_total", "test.broken") == 1
    assert grew("snapscale_job_duration_seconds_count", "test.flaky") == 2


@only_sqlite
async def test_embedded_mode_serves_the_whole_process_metrics_at_one_address(settings):
    app = EmbeddedApp(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as server:
            before = await scrape(server)
            assert (await server.get("/login")).status_code == 200
            after = await scrape(server)

    labels = {"app": "site", "method": "GET", "route": "/login", "status": "200"}
    assert (
        value(after, "http_requests_total", **labels)
        - value(before, "http_requests_total", **labels)
        == 1
    )
    assert value(
        after, "http_requests_total", app="api", method="GET", route="/metrics", status="200"
    )


async def test_every_api_and_site_request_reaches_the_admin_dashboards_figures(api, site):
    for _ in range(3):
        assert (await api.get("/api/v1/users")).status_code == 200
    assert (await api.get("/api/v1/users/nobody-here")).status_code == 404
    assert site.get("/").status_code == 200

    api_figures = combine(m for _, m in (await api.runtime.live_stats.series(5)).minutes)
    assert api_figures.requests >= 4  # 3 lists and the 404, whatever else ran
    core = site.application.extensions[EXTENSION_KEY]
    site_figures = combine(
        m for _, m in core.bridge.call(core.runtime.live_stats.series, 5).minutes
    )
    assert site_figures.requests >= 1
