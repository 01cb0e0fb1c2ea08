"""How long making the three renditions of a 12 MP photo takes, and how much memory.

    uv run python bench/renditions.py [--runs 5]

Compares snapscale's imaging.process (libvips: one shrink-on-load decode, every output
derived from it, plus placeholder, colour and pHash) with plain Pillow (open, thumbnail,
save, once per rendition, the way most tutorials do it). Both write WebP at quality 80
with the encoder's default effort. Each contender runs in its own subprocess so its peak
RSS (ru_maxrss) is its own; "import RSS" is that process before any image work.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyvips  # type: ignore[import-untyped]
from PIL import Image

WIDTH, HEIGHT = 4000, 3000
QUALITY = 80
MAX_PIXELS = 50_000_000


def make_photo() -> bytes:
    """A deterministic 12 MP JPEG that compresses like a photo (about 3.5 MB): gradients,
    soft shapes, hard edges, texture and grain. Pure noise or a bare gradient would
    flatter one side or the other."""

    xy = pyvips.Image.xyz(WIDTH, HEIGHT)
    x, y = xy[0], xy[1]
    base = (x / WIDTH * 160 + 40).bandjoin(
        [y / HEIGHT * 140 + 60, (x + y) / (WIDTH + HEIGHT) * 120 + 70]
    )
    # Large soft shapes (smooth noise blown up), hard-edged blocks, texture and grain.
    shapes = pyvips.Image.gaussnoise(40, 30, mean=0, sigma=40, seed=1).resize(100, kernel="cubic")
    blocks = pyvips.Image.gaussnoise(16, 12, mean=0, sigma=25, seed=2).resize(250, kernel="nearest")
    texture = pyvips.Image.gaussnoise(WIDTH, HEIGHT, mean=0, sigma=90, seed=3).gaussblur(6)
    grain = pyvips.Image.gaussnoise(WIDTH, HEIGHT, mean=0, sigma=5, seed=4)
    picture = base + shapes.bandjoin([shapes.rot180(), shapes.fliphor()]) + blocks
    photo = (picture + texture + grain).cast("uchar").copy(interpretation="srgb")
    return bytes(photo.jpegsave_buffer(Q=90))


def with_snapscale(data: bytes) -> None:
    from snapscale.core.photos import imaging

    imaging.process(data, max_pixels=MAX_PIXELS)


def with_pillow(data: bytes) -> None:
    for box, square in ((320, True), (1080, False), (2048, False)):
        with Image.open(io.BytesIO(data)) as picture:
            if square:
                # Fit the short side to the box (thumbnail uses JPEG draft mode for the
                # heavy lifting, as it does for the others), then cut the centre out.
                scale = box / min(picture.size)
                fit = (math.ceil(picture.width * scale), math.ceil(picture.height * scale))
                picture.thumbnail(fit)
                left, top = (picture.width - box) // 2, (picture.height - box) // 2
                square_picture = picture.crop((left, top, left + box, top + box))
                square_picture.save(io.BytesIO(), "WEBP", quality=QUALITY)
            else:
                picture.thumbnail((box, box))
                picture.save(io.BytesIO(), "WEBP", quality=QUALITY)


def nothing(data: bytes) -> None:
    pass


CONTENDERS: dict[str, Callable[[bytes], None]] = {
    "imports only": nothing,
    "Pillow open/thumbnail/save": with_pillow,
    "snapscale imaging.process": with_snapscale,
}


def child(name: str, path: Path, runs: int) -> None:
    work = CONTENDERS[name]
    # Everything either side imports, in every child, so "import RSS" is the same for all
    # and the peak above it is image work. (imagehash imports scipy on its first use.)
    import scipy.fftpack  # type: ignore[import-untyped]  # noqa: F401

    import snapscale.core.photos.imaging  # noqa: F401

    data = path.read_bytes()
    rss = [_max_rss_mb()]  # after imports, after the first photo, after them all
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        work(data)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        if len(rss) == 1:
            rss.append(_max_rss_mb())
    rss.append(_max_rss_mb())
    print(json.dumps({"wall": min(walls), "cpu": min(cpus), "rss": rss}))


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.input, args.runs)
        return

    data = make_photo()
    print(
        f"input: {WIDTH}x{HEIGHT} JPEG, {len(data) / 1e6:.1f} MB; best of {args.runs}; "
        f"{os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "photo.jpg")
        path.write_bytes(data)
        results = {name: _run_child(name, path, args.runs) for name in CONTENDERS}

    pillow = results["Pillow open/thumbnail/save"]
    print(
        f"{'':27} {'wall ms':>7} {'cpu ms':>7} {'speed-up':>9} "
        f"{'RSS: imports':>13} {'1 photo':>8} {f'{args.runs} photos':>9}"
    )
    for name, r in results.items():
        speedup = f"{pillow['wall'] / r['wall']:.2f}x" if r["wall"] > 0.001 else "-"
        imports, first, last = r["rss"]
        print(
            f"{name:27} {r['wall'] * 1000:7.0f} {r['cpu'] * 1000:7.0f} {speedup:>9} "
            f"{imports:10.0f} MB {first:5.0f} MB {last:6.0f} MB"
        )


def _run_child(name: str, path: Path, runs: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", name, "--input", str(path), "--runs", str(runs)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    main()
