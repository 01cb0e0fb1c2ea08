"""Where a request's CPU goes: the API in this process, called straight through ASGI (no
server, no sockets), over the benchmark's seeded data, under pyinstrument.

    python -m bench.profile                    # every hot path, reports in docs/profiles/
    python -m bench.profile --path profile     # one of them

Each hot path is called ``--requests`` times after a warm-up, one request at a time, so
the figure printed (CPU microseconds per request) is the application's own cost: what a
server worker spends on top of its HTTP parsing. The text reports say where it goes.
Production settings (PostgreSQL, a private Redis, prometheus-client in multiprocess
mode as under gunicorn), rate limits off as in `make bench`.
"""

from __future__ import annotations

import os
import tempfile

# As under gunicorn: metrics written to per-process files. prometheus-client reads this
# as it is imported, so it is set before anything of Snapscale's is.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="snapscale-metrics-"))

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench.payloads import multipart_upload, photo_of_size
from bench.processes import ROOT
from bench.stack import DataSize, new_secret_key, private_redis, seeded_database

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SIZE = DataSize(users=2_000, photos_per_user=5, reader_follows=200)
PATHS = ("profile", "photos", "feed", "upload")
CHUNK = 64 * 1024
UPLOADS = 40  # of UPLOAD_MEGABYTES each
UPLOAD_MEGABYTES = 10


class Caller:
    """Calls one ASGI app directly and checks each answer is a 200."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def get(self, path: str, headers: list[tuple[bytes, bytes]]) -> bytes:
        return await self.call("GET", path, headers, b"", expect=200)

    async def call(
        self,
        method: str,
        path: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        expect: int,
    ) -> bytes:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1"), (b"accept-encoding", b"gzip"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        status = 0
        answer = bytearray()
        # The request body in the pieces a server hands over (uvicorn: up to 64 KiB).
        pieces = [body[at : at + CHUNK] for at in range(0, len(body), CHUNK)] or [b""]

        async def receive() -> dict[str, Any]:
            piece = pieces.pop(0) if pieces else b""
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                answer.extend(message.get("body", b""))

        await self.app(scope, receive, send)
        if status != expect:
            raise RuntimeError(f"{method} {path} answered {status}: {bytes(answer)[:200]!r}")
        return bytes(answer)


async def _token(caller: Caller, username: str, password: str) -> bytes:
    import json

    from httpx import ASGITransport, AsyncClient

    async with AsyncClient(transport=ASGITransport(caller.app), base_url="http://t") as client:
        answer = await client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        answer.raise_for_status()
    return f"Bearer {json.loads(answer.content)['access_token']}".encode()


async def measure(args: argparse.Namespace, data: Any, redis_url: str, out: Path) -> None:
    from pyinstrument import Profiler

    from snapscale.api.app import create_api
    from snapscale.config import Settings
    from snapscale.observability.logs import configure_logging

    settings = Settings(
        database_url=data.database_url,
        redis_url=redis_url,
        broker_url=redis_url.rsplit("/", 1)[0] + "/1",
        secret_key=new_secret_key(),
        data_dir=Path(tempfile.mkdtemp(prefix="snapscale-profile-")),
        rate_limits_enabled=False,
    )
    # The access line of every request, as production writes it (JSON), to a file.
    log_file = (settings.data_dir / "server.log").open("w")
    configure_logging(settings, stream=log_file)
    app = create_api(settings)
    async with AsyncExitStack() as stack:
        stack.callback(log_file.close)
        await stack.enter_async_context(app.router.lifespan_context(app))
        caller = Caller(app)
        bearer = [(b"authorization", await _token(caller, data.reader, data.password))]
        content_type, form = multipart_upload(photo_of_size(UPLOAD_MEGABYTES))
        form_type = [(b"content-type", content_type.encode())]
        rng = random.Random(11)
        names = data.usernames
        calls: dict[str, Callable[[str], Awaitable[bytes]]] = {
            "profile": lambda user: caller.get(f"/api/v1/users/{user}", []),
            "photos": lambda user: caller.get(f"/api/v1/users/{user}/photos", []),
            "feed": lambda _: caller.get("/api/v1/feed", bearer),
            "upload": lambda _: caller.call(
                "POST", "/api/v1/photos", [*bearer, *form_type], form, expect=202
            ),
        }
        for name in args.path or PATHS:
            call = calls[name]
            # Warm every cache the path uses, as a server that has run for a while has.
            for user in names if name != "upload" else names[:5]:
                await call(user)
            requests = args.requests if name != "upload" else UPLOADS
            # First without the profiler (its sampling costs CPU too), then under it.
            cpu_started = time.process_time()
            for _ in range(requests):
                await call(rng.choice(names))
            per_request = (time.process_time() - cpu_started) / requests * 1e6
            print(f"{name}: {per_request:,.0f} CPU µs per request ({requests} requests)")
            profiler = Profiler(interval=0.0002, async_mode="enabled")
            with profiler:
                for _ in range(requests):
                    await call(rng.choice(names))
            report = profiler.output_text(unicode=True, color=False, show_all=False)
            header = (
                f"# {name}: {per_request:,.0f} CPU µs per request without the profiler "
                f"({requests} requests; `python -m bench.profile --path {name}`)\n"
            )
            (out / f"{name}.txt").write_text(header + report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", choices=PATHS, action="append", help="one hot path (repeatable)")
    parser.add_argument("--requests", type=int, default=2_000, help="requests per path")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "profiles")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="snapscale-profile-"))
    (workdir / "logs").mkdir()
    with (
        private_redis(workdir) as redis_url,
        seeded_database(POSTGRES, SIZE, secret_key=new_secret_key(), workdir=workdir) as data,
    ):
        asyncio.run(measure(args, data, redis_url, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
