"""Does the upload answer time grow with processing work? It should not: the request
only checks and stores the original; the renditions are made after the response.

    uv run python bench/upload.py [--runs 15] [--megabytes 10]

Serves two apps on loopback with uvicorn, one at a time:
- a bare ASGI app that reads the whole request body and answers 200: the time it takes
  merely to receive the bytes (the floor);
- Snapscale in embedded mode, answering POST /api/v1/photos with 202.
and posts the same ~10 MB JPEG to each, sequentially (bounded count, loopback only),
printing the median and p90 of each and their ratio. The target is a ratio within 2x.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]

RECEIVER = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""


def photo_of_size(megabytes: float) -> bytes:
    """A real JPEG close to the requested size: noisy enough not to compress away."""
    side = 1000
    while True:
        rng = random.Random(side)
        noise = bytes(rng.getrandbits(8) for _ in range(side * side * 3 // 16))
        image = Image.frombytes(
            "RGB",
            (side // 4, side // 4),
            noise.ljust(side * side * 3 // 16, b"\0")[: (side // 4) ** 2 * 3],
        )
        image = image.resize((side, side), Image.Resampling.NEAREST)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=95)
        if buffer.tell() >= megabytes * 1024 * 1024 or side >= 7000:
            return buffer.getvalue()
        side += 500


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://{HOST}:{port}/", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server on port {port} did not start")


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
        receiver = Path(workdir) / "receiver.py"
        receiver.write_text(RECEIVER)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPSCALE_")}
        env["SNAPSCALE_DATA_DIR"] = str(Path(workdir) / "data")

        port = 18731
        server = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                workdir,
                "receiver:app",
                "--host",
                HOST,
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env,
            port,
        )
        try:
            floor = timed_posts(
                f"http://{HOST}:{port}/upload",
                runs,
                lambda c, u: c.post(u, files={"file": ("p.jpg", photo, "image/jpeg")}),
            )
        finally:
            server.terminate()
            server.wait(timeout=10)

        port = 18732
        server = start([sys.executable, "-m", "snapscale", "serve", "--port", str(port)], env, port)
        try:
            base = f"http://{HOST}:{port}"
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
        finally:
            server.terminate()
            server.wait(timeout=15)

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
