"""Decompression bombs cost next to nothing, on the request path and in the worker.

The measurements run in a fresh Python process: its peak resident memory is then the
bombs' doing alone, not whatever earlier tests in this process happened to allocate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# A fresh interpreter with libvips loaded peaks near 100 MB; every bomb below would
# need at least 512 MB (most need gigabytes) if anything inflated it.
PEAK_MEMORY_LIMIT_MB = 300

MEASURE = """
import json, sys, time
from snapscale.core.errors import DomainError
from snapscale.core.photos.imaging import CorruptImage, process
from snapscale.core.photos.sniffing import inspect_upload
from tests.support import hostile_uploads as hostile, images

LIMIT = 50_000_000
BOMBS = {
    "png-10-gigapixels": images.png_bomb,
    "jpeg-4-gigapixels": images.jpeg_bomb,
    "webp-268-megapixels": hostile.webp_bomb,
    "webp-huge-canvas": hostile.webp_canvas_bomb,
    "png-one-long-row": hostile.png_one_row_bomb,
    "png-ztxt-512mb": lambda: hostile.png_metadata_bomb(b"zTXt"),
    "png-itxt-512mb": lambda: hostile.png_metadata_bomb(b"iTXt"),
    "png-iccp-512mb": lambda: hostile.png_metadata_bomb(b"iCCP"),
}
results = {}
for name, make in BOMBS.items():
    data = make()
    started = time.monotonic()
    try:
        inspect_upload(data, max_pixels=LIMIT)
        gate = "accepted"
    except DomainError as exc:
        gate = exc.status
    try:
        sizes = [(r.width, r.height) for r in process(data, max_pixels=LIMIT).renditions]
        worker = "ready"
    except CorruptImage:
        sizes, worker = [], "failed"
    results[name] = {
        "bytes": len(data),
        "gate": gate,
        "worker": worker,
        "sizes": sizes,
        "seconds": time.monotonic() - started,
    }
# VmHWM, not getrusage: ru_maxrss survives exec, so it would report the test runner's
# own peak from before this process became a fresh interpreter.
with open("/proc/self/status") as status:
    [peak_kb] = [line.split()[1] for line in status if line.startswith("VmHWM:")]
peak = int(peak_kb) / 1024
json.dump({"results": results, "peak_mb": peak}, sys.stdout)
"""


def test_bombs_are_refused_or_shrugged_off_in_bounded_memory_and_time() -> None:
    child = subprocess.run(
        [sys.executable, "-c", MEASURE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout)
    results = report["results"]

    pixel_bombs = [
        "png-10-gigapixels",
        "jpeg-4-gigapixels",
        "webp-268-megapixels",
        "webp-huge-canvas",
        "png-one-long-row",
    ]
    for name in pixel_bombs:
        # Refused on the request path, and again by the worker's own check.
        assert results[name]["gate"] == 422, (name, results[name])
        assert results[name]["worker"] == "failed", (name, results[name])
        assert results[name]["bytes"] < 4096, name
    for name in ("png-ztxt-512mb", "png-itxt-512mb", "png-iccp-512mb"):
        # Half a megabyte that inflates to 512 MB of metadata: a real 16 x 16 picture,
        # processed without the metadata ever being inflated (renditions carry none).
        assert results[name]["gate"] == "accepted", (name, results[name])
        assert results[name]["worker"] == "ready", (name, results[name])
        assert results[name]["sizes"] == [[16, 16]] * 3, name
        assert results[name]["bytes"] < 1024 * 1024, name
    for name, result in results.items():
        assert result["seconds"] < 5, (name, result)
    assert report["peak_mb"] < PEAK_MEMORY_LIMIT_MB, report
