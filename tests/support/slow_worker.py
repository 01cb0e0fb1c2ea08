"""`snapscale worker`, with image processing slowed down so a test can kill it mid-job.

Each processing attempt writes the pid of the process running it to the file named by
SLOW_WORKER_MARKER, then sleeps SLOW_WORKER_SECONDS before doing the real work.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from snapscale.core.photos import imaging

_real_process = imaging.process


def _slow_process(data: bytes, **kwargs: Any) -> Any:
    marker = Path(os.environ["SLOW_WORKER_MARKER"])
    with marker.open("a") as log:
        log.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("SLOW_WORKER_SECONDS", "3")))
    return _real_process(data, **kwargs)


imaging.process = _slow_process  # type: ignore[assignment]

if __name__ == "__main__":
    from snapscale.cli import main

    sys.exit(main(["worker", "--concurrency", "1", *sys.argv[1:]]))
