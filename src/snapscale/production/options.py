"""What a production server is asked to run, and the defaults: cheap to import, so the
command line can show them without loading gunicorn."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

Kind = Literal["api", "web"]

DEFAULT_BIND: dict[Kind, str] = {"api": "127.0.0.1:8000", "web": "127.0.0.1:8001"}
# See README "Production servers" for the measurements behind the site's defaults.
SITE_THREADS = 4


def cpu_count() -> int:
    """CPUs this process may run on (a container's cpuset, not the whole host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(kind: Kind) -> int:
    # The API is async: one worker per CPU keeps every CPU busy. The site's threads wait
    # on the core's event loop and the GIL, so it takes one more process than CPUs.
    return cpu_count() if kind == "api" else cpu_count() + 1


@dataclass(frozen=True)
class ServerOptions:
    kind: Kind
    bind: str
    workers: int
    threads: int = SITE_THREADS
