"""Reading processes from /proc: whether one still runs, and which it started."""

from __future__ import annotations

import time
from pathlib import Path


def _stat_fields(pid: int) -> list[str]:
    # The command name is in parentheses and may hold spaces: split after it.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def parent_of(pid: int) -> int:
    return int(_stat_fields(pid)[1])


def alive(pid: int) -> bool:
    try:
        state = _stat_fields(pid)[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left to collect


def children_of(pid: int) -> list[int]:
    """The processes ``pid`` started that still run (any of its threads may have)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += map(int, (task / "children").read_text().split())
        except OSError:
            continue  # the thread ended meanwhile
    return children


def wait_until_ended(pids: list[int], seconds: float) -> list[int]:
    """Those of ``pids`` still running after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while (running := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return running
