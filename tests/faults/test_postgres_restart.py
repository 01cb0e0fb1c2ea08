"""PostgreSQL restarted, or frozen, under load: while it is away every request fails fast
with a 503 problem (never a 500, never a hang), the pool reconnects by itself once it is
back, and every write that was answered with a success is in the database afterwards.

The server is a private one (never the suite's shared PostgreSQL), stopped with a fast
shutdown, as an operator's restart or a failover cuts every session at once, or frozen
(SIGSTOP), as a stalled host or a cut network leaves connections open and unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from flask import Flask
from sqlalchemy import text

from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.core.migrate import upgrade
from snapscale.web.app import create_site
from snapscale.web.core_access import EXTENSION_KEY
from tests.conftest import TEST_SECRET
from tests.faults.load import Call, Load, load_seconds
from tests.support import images
from tests.support.factories import SignedIn, registration, signed_in_user
from tests.support.photos import finish_jobs, upload
from tests.support.private_postgres import PrivatePostgres
from tests.support.servers import RedisServer

pytestmark = pytest.mark.chaos

CLIENTS = 6
FAIL_FAST_SECONDS = 5.0
# The pool must serve again this soon after PostgreSQL accepts connections.
RECOVERED_WITHIN_SECONDS = 3.0
# The frozen-server test's query and connect timeouts (the defaults are longer).
QUERY_LIMIT_SECONDS = 1.5
PROBLEM = "application/problem+json"
WRITES = ("comment", "follow", "register")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres().start()
    yield server
    server.cleanup()


@pytest.fixture
def on_private_postgres(
    private_postgres: PrivatePostgres, private_redis: RedisServer, tmp_path: Path
) -> Settings:
    """Production settings against the private PostgreSQL (migrated) and a private Redis."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=private_postgres.url,
        redis_url=private_redis.url,
        secret_key=TEST_SECRET,
        # Sign-ups are part of the load; the per-address limits are not under test here.
        rate_limits_enabled=False,
    )
    upgrade(settings)
    return settings


@pytest.fixture
async def api(on_private_postgres: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(on_private_postgres) as client:
        yield client


@pytest.fixture
async def impatient_api(on_private_postgres: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with short query and connect timeouts, so a freeze is felt within seconds."""
    impatient = on_private_postgres.model_copy(
        update={
            "db_command_timeout_seconds": QUERY_LIMIT_SECONDS,
            "db_pool_timeout_seconds": QUERY_LIMIT_SECONDS,
        }
    )
    async with serving(impatient) as client:
        yield client


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(settings)
    async with LifespanManager(app) as manager:
        # As a server would: an unhandled error becomes a 500 answer, which the test sees.
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.runtime = app.state.runtime  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def site_app(on_private_postgres: Settings) -> Iterator[Flask]:
    app = create_site(on_private_postgres)
    app.config["TESTING"] = True
    yield app
    app.extensions[EXTENSION_KEY].close()


@dataclass
class Ledger:
    """What the clients were told was saved, and every answer that broke a promise."""

    comments: dict[str, str] = field(default_factory=dict)  # id -> text
    follows: set[tuple[str, str]] = field(default_factory=set)  # (follower, followee)
    users: set[str] = field(default_factory=set)
    bad_answers: list[str] = field(default_factory=list)

    def check_problem(self, response: httpx.Response) -> None:
        """A 503 must be a problem document a client can act on; other failures are bad."""
        if response.status_code < 400:
            return
        if response.status_code != 503:
            self.bad_answers.append(f"{response.status_code} {response.text[:300]}")
            return
        body = response.json() if response.headers.get("content-type") == PROBLEM else None
        if body is None or body.get("status") != 503 or not body.get("detail"):
            self.bad_answers.append(f"503 that is not a problem document: {response.text[:300]}")
        elif "Traceback" in response.text or "asyncpg" in response.text:
            self.bad_answers.append(f"503 that leaks internals: {response.text[:300]}")


class Clients:
    """The calls the load makes: reads and writes of several kinds, each recording in the
    ledger what a successful answer promised."""

    def __init__(
        self, api: httpx.AsyncClient, people: list[SignedIn], photo_id: str, ledger: Ledger
    ) -> None:
        self.api = api
        self.people = people
        self.photo_id = photo_id
        self.ledger = ledger
        self.turn = itertools.count()
        self.followees = [person.username for person in people]

    @classmethod
    async def with_people(cls, api: httpx.AsyncClient) -> Clients:
        """CLIENTS signed-in people, the first owning a ready photo the others comment on."""
        owner = await signed_in_user(api)
        photo_id = (await upload(api, owner.headers, images.jpeg(400, 300))).json()["id"]
        await finish_jobs(api)
        people = [owner] + [await signed_in_user(api) for _ in range(CLIENTS - 1)]
        return cls(api, people, photo_id, Ledger())

    def load(self, outage_seconds: float) -> Load:
        """The calls, from CLIENTS clients, for an outage this long and a minute around it."""
        return Load(
            self.calls(),
            clients=CLIENTS,
            pause=0.02,
            limit_seconds=outage_seconds + 60,
            # Above what the clients can send (50 a second each at most): the count never
            # cuts the load short, it only bounds it.
            max_requests=int(CLIENTS * 50 * (outage_seconds + 70)),
            request_timeout=2 * FAIL_FAST_SECONDS,
        )

    async def try_each_write(self) -> dict[str, tuple[int, float]]:
        """One of each kind of write, sent together: each one's status and seconds taken.

        The load alone cannot promise that every kind of write is sent while PostgreSQL is
        away: the clients' turns fall where they fall."""
        calls = self.calls()

        async def timed(name: str) -> tuple[str, tuple[int, float]]:
            started = time.monotonic()
            response = await calls[name]()
            return name, (response.status_code, time.monotonic() - started)

        return dict(await asyncio.gather(*(timed(name) for name in WRITES)))

    def calls(self) -> dict[str, Call]:
        return {
            "comment": self.comment,
            "follow": self.follow,
            "read profile": self.read_profile,
            "register": self.register,
            "read comments": self.read_comments,
        }

    def _someone(self) -> tuple[SignedIn, int]:
        n = next(self.turn)
        return self.people[n % len(self.people)], n

    async def comment(self) -> httpx.Response:
        person, n = self._someone()
        text = f"comment {n} by {person.username}"
        response = await self.api.post(
            f"/api/v1/photos/{self.photo_id}/comments", json={"text": text}, headers=person.headers
        )
        if response.status_code == 201:
            self.ledger.comments[response.json()["id"]] = text
        self.ledger.check_problem(response)
        return response

    async def follow(self) -> httpx.Response:
        person, n = self._someone()
        candidates = [name for name in self.followees if name != person.username]
        followee = candidates[n % len(candidates)]
        response = await self.api.put(f"/api/v1/users/{followee}/follow", headers=person.headers)
        if response.status_code == 204:
            self.ledger.follows.add((person.username, followee))
        self.ledger.check_problem(response)
        return response

    async def register(self) -> httpx.Response:
        data = registration()
        response = await self.api.post("/api/v1/auth/register", json=data)
        if response.status_code == 201:
            self.ledger.users.add(data["username"])
            self.followees.append(data["username"])
        self.ledger.check_problem(response)
        return response

    async def read_profile(self) -> httpx.Response:
        _, n = self._someone()
        response = await self.api.get(f"/api/v1/users/{self.followees[n % len(self.followees)]}")
        self.ledger.check_problem(response)
        return response

    async def read_comments(self) -> httpx.Response:
        person, _ = self._someone()
        response = await self.api.get(
            f"/api/v1/photos/{self.photo_id}/comments?limit=5", headers=person.headers
        )
        self.ledger.check_problem(response)
        return response


@dataclass
class Restart:
    stopping_at: float = 0.0  # the fast shutdown begins
    down_at: float = 0.0  # PostgreSQL has stopped
    restarting_at: float = 0.0  # PostgreSQL is being started again
    up_at: float = 0.0  # PostgreSQL accepts connections again
    site_page: tuple[int, str, str] | None = None  # status, content type, body
    writes_tried: dict[str, tuple[int, float]] = field(default_factory=dict)


async def restart_postgres(
    server: PrivatePostgres, site_app: Flask, clients: Clients, *, down_seconds: float
) -> Restart:
    restart = Restart(stopping_at=time.monotonic())
    await asyncio.to_thread(server.stop_fast)
    restart.down_at = time.monotonic()

    def visit_site() -> tuple[int, str, str]:
        # A profile nobody has read yet: no cache can answer it, only the database.
        response = site_app.test_client().get("/u/neverreadbefore")
        return response.status_code, response.content_type, response.get_data(as_text=True)

    restart.site_page = await asyncio.to_thread(visit_site)
    restart.writes_tried = await clients.try_each_write()
    await asyncio.sleep(max(0.0, down_seconds - (time.monotonic() - restart.down_at)))
    restart.restarting_at = time.monotonic()
    await asyncio.to_thread(server.start_again)
    restart.up_at = time.monotonic()
    return restart


async def test_postgres_restart_under_load(
    api: httpx.AsyncClient, private_postgres: PrivatePostgres, site_app: Flask
) -> None:
    clients = await Clients.with_people(api)
    ledger, photo_id = clients.ledger, clients.photo_id
    down_seconds = load_seconds(2.0)

    async with clients.load(down_seconds) as load:
        await asyncio.sleep(1.0)
        restart = await restart_postgres(
            private_postgres, site_app, clients, down_seconds=down_seconds
        )
        await asyncio.sleep(RECOVERED_WITHIN_SECONDS + 2.0)

    # Every answer is a success or a 503 problem document, and none took long.
    assert not ledger.bad_answers, ledger.bad_answers[:5]
    assert all(o.status is not None for o in load.outcomes), load.summary()
    assert not load.slower_than(FAIL_FAST_SECONDS), load.summary()

    # While PostgreSQL was down, what needed it was refused with a 503.
    during = load.between(restart.down_at, restart.restarting_at)
    assert during, load.summary()
    assert {o.status for o in during} <= {200, 201, 204, 503}, load.statuses(during)
    assert_each_write_refused_fast(restart.writes_tried)

    # The site says so in a page, not a traceback.
    assert restart.site_page is not None
    status, content_type, page = restart.site_page
    assert (status, content_type) == (503, "text/html; charset=utf-8"), page[:500]
    assert "try again" in page.lower()
    assert "Traceback" not in page

    # Soon after PostgreSQL is back, every request succeeds again (the pool reconnected).
    recovered = load.between(restart.up_at + RECOVERED_WITHIN_SECONDS, time.monotonic())
    assert len(recovered) >= CLIENTS, load.summary()
    assert not [o for o in recovered if o.status not in (200, 201, 204)], load.statuses(recovered)
    before = [o for o in load.outcomes if o.started + o.seconds < restart.stopping_at]
    assert before and all(o.status in (200, 201, 204) for o in before), load.statuses(before)

    await assert_every_acknowledged_write_is_stored(private_postgres, ledger, photo_id)


async def test_a_frozen_postgres_fails_requests_fast_and_the_pool_recovers(
    impatient_api: httpx.AsyncClient, private_postgres: PrivatePostgres
) -> None:
    """Frozen, PostgreSQL closes nothing: without a query timeout every request on an open
    connection would wait for it for as long as it stays frozen."""
    clients = await Clients.with_people(impatient_api)
    ledger, photo_id = clients.ledger, clients.photo_id
    frozen_seconds = load_seconds(8.0)

    async with clients.load(frozen_seconds) as load:
        await asyncio.sleep(1.0)  # the pool's connections are open and in use
        frozen_at = time.monotonic()
        private_postgres.freeze()
        try:
            writes_tried = await clients.try_each_write()
            await asyncio.sleep(max(0.0, frozen_seconds - (time.monotonic() - frozen_at)))
        finally:
            thawed_at = time.monotonic()
            private_postgres.thaw()
        await asyncio.sleep(RECOVERED_WITHIN_SECONDS + 2.0)

    assert not ledger.bad_answers, ledger.bad_answers[:5]
    assert all(o.status is not None for o in load.outcomes), load.summary()
    # A request waits for a connection, then for its query, QUERY_LIMIT_SECONDS each.
    assert not load.slower_than(FAIL_FAST_SECONDS), load.summary()

    # What was asked, and answered, while PostgreSQL was frozen: refused, or from a cache.
    during = [o for o in load.between(frozen_at, thawed_at) if o.started + o.seconds < thawed_at]
    assert len(during) >= 2 * CLIENTS, load.summary()
    assert {o.status for o in during} <= {200, 201, 204, 503}, load.statuses(during)
    assert_each_write_refused_fast(writes_tried)

    recovered = load.between(thawed_at + RECOVERED_WITHIN_SECONDS, time.monotonic())
    assert len(recovered) >= CLIENTS, load.summary()
    assert not [o for o in recovered if o.status not in (200, 201, 204)], load.statuses(recovered)

    await assert_every_acknowledged_write_is_stored(private_postgres, ledger, photo_id)


def assert_each_write_refused_fast(tried: dict[str, tuple[int, float]]) -> None:
    """Every kind of write was refused with a 503 (its problem document checked by the
    ledger), and soon."""
    assert {name: status for name, (status, _) in tried.items()} == dict.fromkeys(WRITES, 503)
    assert all(seconds < FAIL_FAST_SECONDS for _, seconds in tried.values()), tried


async def assert_every_acknowledged_write_is_stored(
    server: PrivatePostgres, ledger: Ledger, photo_id: str
) -> None:
    assert ledger.comments and ledger.follows and ledger.users
    comments = {
        str(row["id"]): row["text"] for row in await server.fetch("SELECT id, text FROM comments")
    }
    assert ledger.comments.items() <= comments.items()
    follows = {
        (row["follower"], row["followee"])
        for row in await server.fetch(
            "SELECT a.username AS follower, b.username AS followee FROM follows f"
            " JOIN users a ON a.id = f.follower_id JOIN users b ON b.id = f.followee_id"
        )
    }
    assert ledger.follows <= follows
    users = {row["username"] for row in await server.fetch("SELECT username FROM users")}
    assert ledger.users <= users
    # Counters move in the same transaction as the rows they count, so a transaction cut
    # by the restart leaves both unchanged: they still match.
    drift = await server.fetch(
        "SELECT u.username, u.followers_count, u.following_count,"
        " (SELECT count(*) FROM follows f WHERE f.followee_id = u.id) AS followers,"
        " (SELECT count(*) FROM follows f WHERE f.follower_id = u.id) AS following"
        " FROM users u WHERE u.followers_count <> (SELECT count(*) FROM follows f"
        " WHERE f.followee_id = u.id) OR u.following_count <> (SELECT count(*) FROM follows f"
        " WHERE f.follower_id = u.id)"
    )
    assert not drift, [dict(row) for row in drift]
    [photo] = await server.fetch(
        "SELECT comment_count, (SELECT count(*) FROM comments c WHERE c.photo_id = p.id) AS n"
        " FROM photos p WHERE p.id = $1",
        int(photo_id),
    )
    assert photo["comment_count"] == photo["n"] == len(comments)


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
async def test_a_request_that_waits_too_long_for_a_connection_is_a_503(settings: Settings) -> None:
    """Every pooled connection busy (a stuck query, a burst): a request waits the pool
    timeout at most, then is refused like any other database outage."""
    tight = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_seconds": 0.5}
    )
    app = create_api(tight)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            runtime = app.state.runtime
            async with runtime.unit_of_work() as holder:
                await holder.session.execute(text("SELECT 1"))  # holds the only connection
                started = time.monotonic()
                refused = await api.get("/api/v1/users/nobodyreadsthis")
                seconds = time.monotonic() - started
            served = await api.get("/api/v1/users/nobodyreadsthis")

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["status"] == 503
    assert seconds < FAIL_FAST_SECONDS
    assert served.status_code == 404  # the connection is back: an ordinary answer again
