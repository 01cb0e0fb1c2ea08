"""The default run: every scenario against every server that has it, one server at a time."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, replace

from bench import scenarios as s
from bench.drivers import (
    Journey,
    Load,
    Measurement,
    Plan,
    locust_measurement,
    run_wrk,
    wrk_measurement,
)
from bench.processes import ROOT, Server, clean_environment, serving
from bench.stack import Stack

# Count bounds of each wrk run, far above what the machine can do, so that a run ends on
# its duration unless something is badly wrong: requests per second of duration.
MOST_REQUESTS_PER_SECOND = 50_000
MOST_UPLOADS_PER_SECOND = 20
LOGINS_PER_WORKER = 4
MOST_STEPS_PER_USER_SECOND = 200
# Every simulated user logs in first (a password hash each, all at once): the journey
# runs twice as long as a wrk row, and some seconds at least, to be mostly journey.
MIN_JOURNEY_SECONDS = 8.0


def journey_seconds(duration: float) -> float:
    return max(2 * duration, MIN_JOURNEY_SECONDS)


FEED_BENCH_SECONDS = 1800
# What gunicorn logs when it kills a worker that stopped answering its heartbeat.
WORKER_KILLED = ("WORKER TIMEOUT", "was sent SIGKILL")
SPEED_UP = re.compile(r"speed-up \(median\): ([0-9.]+)x")


@dataclass(frozen=True)
class SuiteOptions:
    workers: int
    connections: int
    duration: float
    warmup: float
    follows: int
    upload_mb: float
    journey_users: int


STARTED = time.monotonic()


def progress(message: str) -> None:
    """A line on stderr, stamped with the minutes and seconds since the run started."""
    minutes, seconds = divmod(int(time.monotonic() - STARTED), 60)
    print(f"[{minutes:02d}:{seconds:02d}] {message}", file=sys.stderr, flush=True)


def connections(load: Load) -> str:
    return "1 connection" if load.connections == 1 else f"{load.connections} connections"


class Suite:
    def __init__(self, stack: Stack, options: SuiteOptions) -> None:
        self.stack = stack
        self.options = options
        self.measurements: list[Measurement] = []
        self.journey_steps: list[dict[str, object]] = []
        self.workdir = stack.workdir
        self.load = Load(
            options.connections,
            options.duration,
            max_requests=int(options.duration * MOST_REQUESTS_PER_SECOND),
        )
        # Each log-in hashes a password (argon2id, CPU-bound by design): a few per worker
        # keep every CPU busy, more would only queue and measure the queue.
        self.login_load = Load(
            min(options.connections, LOGINS_PER_WORKER * options.workers),
            options.duration,
            max_requests=int(options.duration * MOST_REQUESTS_PER_SECOND),
        )
        self.upload_load = Load(
            options.workers,
            options.duration,
            max_requests=max(1, int(options.duration * MOST_UPLOADS_PER_SECOND)),
        )
        self.feed_label = f"{s.FEED} (following {options.follows})"
        self.upload_label = f"{s.UPLOAD} ({options.upload_mb:g} MB)"
        self.upload_type, self.upload_body = s.upload_body(self.workdir, options.upload_mb)

    def measure(
        self, scenario: str, server: Server, name: str, plan: Plan, load: Load, note: str
    ) -> None:
        slug = re.sub(r"[^a-z0-9]+", "-", f"{name}-{scenario}".lower())
        plan_file = plan.write(self.workdir / f"plan-{slug}.txt")
        log_start = server.log_size()
        if self.options.warmup > 0:
            share = self.options.warmup / load.seconds
            warmup = replace(
                load,
                seconds=self.options.warmup,
                max_requests=max(1, int(load.max_requests * share)),
            )
            run_wrk(server.url, plan_file, warmup)
        result = wrk_measurement(scenario, name, server.url, plan_file, load, note)
        killed = sum(server.log_count(text, since=log_start) for text in WORKER_KILLED)
        if killed:
            # The master killed a worker that stopped answering: requests were dropped.
            result = replace(result, note=f"{note}; {killed} hung worker(s) killed by gunicorn")
        self.record(result)

    def record(self, result: Measurement) -> None:
        progress(
            f"  {result.scenario} / {result.server}: {result.requests_per_second:,.0f} req/s, "
            f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, {result.errors} errors"
            + (f" ({result.error_kinds})" if result.error_kinds else "")
        )
        self.measurements.append(result)

    def run(self) -> list[Measurement]:
        data, stack = self.stack.data, self.stack
        by_id = s.profile_by_id(data)
        workers = "1 worker" if self.options.workers == 1 else f"{self.options.workers} workers"
        progress(f"bare_asgi ({workers})")
        with serving(stack.peer("bare_asgi")) as bare:
            self.measure(
                s.PROFILE, bare, s.BARE_ASGI, by_id, self.load, "any path: a fixed 60-byte JSON"
            )
            receive = s.upload("/upload", self.upload_type, self.upload_body)
            note = f"receive only; {connections(self.upload_load)}"
            self.measure(self.upload_label, bare, s.BARE_ASGI, receive, self.upload_load, note)
        for peer, name in (("seed_fastapi", s.SEED_FASTAPI), ("seed_flask", s.SEED_FLASK)):
            progress(f"{name} ({workers})")
            with serving(stack.peer(peer)) as server:
                self.measure(s.PROFILE, server, name, by_id, self.load, "GET /users/{id}")
        progress(f"Snapscale API ({workers}) and a job worker")
        with serving(stack.snapscale("api"), stack.job_worker()) as api:
            self.run_api(api)
        progress(f"Snapscale site ({workers})")
        with serving(stack.snapscale("web")) as site:
            note = "GET /u/{username}: HTML page with 18 photos"
            self.measure(s.PROFILE, site, s.SNAPSCALE_SITE, s.site_profile(data), self.load, note)
        return sorted(self.measurements, key=self._table_order)

    def run_api(self, api: Server) -> None:
        data, name, load = self.stack.data, s.SNAPSCALE_API, self.load
        self.measure(
            s.PROFILE, api, name, s.api_profile(data), load, "GET /api/v1/users/{username}"
        )
        note = "GET /api/v1/users/{username}/photos: 20 photos"
        self.measure(s.PHOTOS, api, name, s.api_photos(data), load, note)
        reader = s.access_token(api.url, data.reader, data.password)
        note = "GET /api/v1/feed with a bearer token: 20 photos"
        self.measure(self.feed_label, api, name, s.api_feed(reader), load, note)
        note = (
            "POST /api/v1/auth/token: argon2id check, new refresh token; "
            f"{connections(self.login_load)}"
        )
        self.measure(s.LOGIN, api, name, s.api_login(data), self.login_load, note)
        uploader = s.access_token(api.url, data.usernames[0], data.password)
        plan = s.upload("/api/v1/photos", self.upload_type, self.upload_body, uploader)
        note = f"POST /api/v1/photos, answered 202; {connections(self.upload_load)}"
        self.measure(self.upload_label, api, name, plan, self.upload_load, note)
        seconds = journey_seconds(self.options.duration)
        journey = Journey(
            users=self.options.journey_users,
            seconds=seconds,
            accounts=len(data.usernames),
            password=data.password,
            max_tasks_per_user=int(seconds * MOST_STEPS_PER_USER_SECOND),
        )
        result, self.journey_steps = locust_measurement(
            s.JOURNEY, name, api.url, journey, self.workdir
        )
        self.record(result)

    def _table_order(self, m: Measurement) -> tuple[int, int]:
        scenarios = [s.PROFILE, s.PHOTOS, self.feed_label, s.LOGIN, self.upload_label, s.JOURNEY]
        servers = [s.SNAPSCALE_API, s.SNAPSCALE_SITE, s.SEED_FASTAPI, s.SEED_FLASK, s.BARE_ASGI]
        return scenarios.index(m.scenario), servers.index(m.server)


def feed_bench(args: tuple[str, ...], postgres_url: str, redis_url: str) -> dict[str, object]:
    """Runs `python -m bench.feed` (timeline against JOIN) and keeps its printed table."""
    env = {
        **clean_environment(),
        "BENCH_POSTGRES_URL": postgres_url,
        "BENCH_REDIS_URL": f"{redis_url.rsplit('/', 1)[0]}/2",
    }
    command = [sys.executable, "-m", "bench.feed", *args]
    finished = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=FEED_BENCH_SECONDS,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:])} failed:\n{finished.stderr[-3000:]}")
    found = SPEED_UP.search(finished.stdout)
    return {
        "command": "python " + " ".join(command[1:]),
        "output": f"$ python {' '.join(command[1:])}\n{finished.stdout}",
        "speed_up": float(found.group(1)) if found else None,
    }


def feed_bench_args(smoke: bool) -> tuple[str, ...]:
    if smoke:
        return (
            "--authors",
            "300",
            "--photos-per-author",
            "3",
            "--followees",
            "50",
            "--reads",
            "10",
        )
    return ()
