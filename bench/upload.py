"""Does the upload answer time grow with processing work? It should not: the request
only checks and stores the original; the renditions are made after the response.

    uv run python -m bench.upload [--runs 15] [--megabytes 10]

Serves two apps on loopback with uvicorn, one at a time:
- bench/peers/bare_asgi.py, which reads the whole request body and answers: the time it
  takes merely to receive the bytes (the floor);
- Snapscale in embedded mode, answering POST /api/v1/photos with 202.
and posts the same ~10 MB JPEG to each, sequentially (bounded count, loopback only),
printing the median and p90 of each and their ratio. The target is a ratio within 2x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tests.support.servers import free_port

from bench.payloads import photo_of_size
from bench.processes import HOST, Server, clean_environment, serving


def timed_posts(url: str, runs: int, make_request) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    with httpx.Client(timeout=60) as client:
        for _ in range(runs):
            started = time.perf_counter()
            response = make_request(client, url)
            times.append(time.perf_counter() - started)
            if response.status_code not in (200, 202):
                raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--megabytes", type=float, default=10)
    options = parser.parse_args()
    runs = max(3, min(options.runs, 100))
    photo = photo_of_size(options.megabytes)
    print(f"payload: {len(photo) / 1024 / 1024:.1f} MB JPEG, {runs} sequential posts each")

    with tempfile.TemporaryDirectory() as workdir:
        env = {**clean_environment(), "SNAPSCALE_DATA_DIR": str(Path(workdir) / "data")}
        logs = Path(workdir) / "logs"

        port = free_port()
        uvicorn = [sys.executable, "-m", "uvicorn", "bench.peers.bare_asgi:app"]
        uvicorn += ["--host", HOST, "--port", str(port), "--log-level", "warning"]
        receiver = Server("receiver", uvicorn, env, logs / "receiver.log", port=port)
        with serving(receiver):
            floor = timed_posts(
                f"{receiver.url}/upload",
                runs,
                lambda c, u: c.post(u, files={"file": ("p.jpg", photo, "image/jpeg")}),
            )

        port = free_port()
        serve = [sys.executable, "-m", "snapscale", "serve", "--port", str(port)]
        snapscale = Server("snapscale", serve, env, logs / "snapscale.log", port, "/healthz")
        with serving(snapscale):
            base = snapscale.url
            httpx.post(
                f"{base}/api/v1/auth/register",
                json={
                    "username": "bench",
                    "email": "bench@example.com",
                    "password": "bench-pass-1234",
                },
            )
            token = httpx.post(
                f"{base}/api/v1/auth/token",
                data={"username": "bench", "password": "bench-pass-1234"},
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            upload = timed_posts(
                f"{base}/api/v1/photos",
                runs,
                lambda c, u: c.post(
                    u, headers=headers, files={"file": ("p.jpg", photo, "image/jpeg")}
                ),
            )

    def row(name: str, values: list[float]) -> str:
        p90 = statistics.quantiles(values, n=10)[-1]
        return f"| {name} | {statistics.median(values) * 1000:.1f} | {p90 * 1000:.1f} |"

    print("| server | median ms | p90 ms |\n| --- | --- | --- |")
    print(row("receive only (bare ASGI, uvicorn)", floor))
    print(row("Snapscale POST /api/v1/photos (202)", upload))
    ratio = statistics.median(upload) / statistics.median(floor)
    print(f"ratio of medians: {ratio:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
