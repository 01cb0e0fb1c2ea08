"""The load generators: wrk (throughput and latency of one kind of request) and locust
(a mixed user journey). Both are bounded in time and in request count, and both refuse
any target but 127.0.0.1."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.processes import HOST, ROOT

WRK_SCRIPT = ROOT / "bench" / "wrk" / "plan.lua"
JOURNEY = ROOT / "bench" / "journey.py"
RESULT_MARKER = "BENCH_RESULT "
# A request not answered within this long counts as an error (wrk's own default is 2 s,
# which a saturated log-in, hashing passwords, can exceed without anything being wrong).
REQUEST_TIMEOUT_SECONDS = 10
# wrk or locust get this much longer than the run itself before they count as hung.
GRACE_SECONDS = 60


class DriverFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Measurement:
    """One scenario against one server."""

    scenario: str
    server: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    connections: int
    note: str = ""
    error_kinds: str = ""  # what the errors were: "409 x1", "timeout x3"...

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "requests_per_second": self.requests_per_second}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Measurement:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)  # type: ignore[arg-type]


@dataclass
class Plan:
    """What a wrk run sends: requests picked at random, with shared headers and body."""

    requests: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    body_file: Path | None = None

    def write(self, path: Path) -> Path:
        lines = [f"H {name}: {value}" for name, value in self.headers.items()]
        if self.body_file is not None:
            lines.append(f"B {self.body_file}")
        lines += self.requests
        path.write_text("\n".join(lines) + "\n")
        return path


@dataclass(frozen=True)
class Load:
    """How hard and how long: connections, seconds, and the most requests sent."""

    connections: int
    seconds: float
    max_requests: int
    rate_per_second: float = 0.0  # 0: as fast as the server answers

    def threads(self) -> int:
        # One wrk thread per CPU at most: more only contend with the server for CPUs.
        return max(1, min(self.connections, len(os.sched_getaffinity(0))))


def only_loopback(url: str) -> None:
    if urlsplit(url).hostname != HOST:
        raise DriverFailed(f"refusing to send load to {url}: benchmarks target {HOST} only")


def run_wrk(url: str, plan_file: Path, load: Load) -> dict[str, Any]:
    """wrk's summary (see bench/wrk/plan.lua) of one run."""
    only_loopback(url)
    threads = load.threads()
    per_thread = max(1, load.max_requests // threads)
    rate = load.rate_per_second / threads
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={max(load.connections, threads)}",
        f"--duration={max(1, round(load.seconds))}s",
        f"--timeout={REQUEST_TIMEOUT_SECONDS}s",
        f"--script={WRK_SCRIPT}",
        url,
        "--",
        str(plan_file),
        str(per_thread),
        f"{rate:.3f}",
    ]
    try:
        finished = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=load.seconds + GRACE_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise DriverFailed("wrk is not installed: run scripts/ensure-bench-tools") from None
    for line in finished.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            result: dict[str, Any] = json.loads(line.removeprefix(RESULT_MARKER))
            return result
    raise DriverFailed(f"wrk gave no summary (exit {finished.returncode}): {finished.stderr}")


def wrk_measurement(
    scenario: str, server: str, url: str, plan_file: Path, load: Load, note: str = ""
) -> Measurement:
    result = run_wrk(url, plan_file, load)
    latency = result["latency_us"]
    kinds = {f"{status}": count for status, count in result["statuses"].items()}
    for key in ("connect_errors", "read_errors", "write_errors", "timeouts"):
        if result[key]:
            kinds[key.removesuffix("s").replace("_", " ")] = result[key]
    errors = result["not_2xx"] + sum(
        result[key] for key in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    # Threads that stopped at their request bound end before wrk's own clock does.
    active_us = result["active_us"] or result["duration_us"]
    return Measurement(
        scenario=scenario,
        server=server,
        requests=result["requests"],
        seconds=active_us / 1e6,
        p50_ms=latency["p50"] / 1000,
        p99_ms=latency["p99"] / 1000,
        errors=errors,
        connections=load.connections,
        note=note,
        error_kinds=", ".join(f"{kind} x{count}" for kind, count in sorted(kinds.items())),
    )


@dataclass(frozen=True)
class Journey:
    """The locust journey: simulated users, for how long, against how many accounts."""

    users: int
    seconds: float
    accounts: int
    password: str
    max_tasks_per_user: int
    # Steps each user takes a second at most; 0: as fast as the server answers.
    steps_per_user_second: float = 0.0


def locust_measurement(
    scenario: str, server: str, url: str, journey: Journey, workdir: Path
) -> tuple[Measurement, list[dict[str, object]]]:
    """Runs bench/journey.py headless; locust's aggregated statistics, and each step's."""
    only_loopback(url)
    prefix = workdir / "journey"
    env = {
        **os.environ,
        "BENCH_ACCOUNTS": str(journey.accounts),
        "BENCH_PASSWORD": journey.password,
        "BENCH_MAX_TASKS_PER_USER": str(journey.max_tasks_per_user),
        "BENCH_STEPS_PER_USER_SECOND": str(journey.steps_per_user_second),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        f"--locustfile={JOURNEY}",
        "--headless",
        f"--users={journey.users}",
        f"--spawn-rate={journey.users}",
        f"--run-time={max(1, round(journey.seconds))}s",
        "--stop-timeout=5",
        f"--host={url}",
        f"--csv={prefix}",
        "--only-summary",
        "--loglevel=WARNING",
        "--exit-code-on-error=0",
    ]
    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=journey.seconds + GRACE_SECONDS,
        check=False,
    )
    stats = Path(f"{prefix}_stats.csv")
    if finished.returncode != 0 or not stats.exists():
        raise DriverFailed(f"locust failed (exit {finished.returncode}): {finished.stderr[-3000:]}")
    with stats.open() as file:
        rows = list(csv.DictReader(file))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    if int(total["Request Count"]) == 0:
        raise DriverFailed(f"the journey completed no request in {journey.seconds:g} s")
    steps = [
        {
            "step": f"{row['Type']} {row['Name']}",
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "p50_ms": row["50%"],
            "p99_ms": row["99%"],
        }
        for row in rows
        if row["Name"] != "Aggregated"
    ]
    failures = Path(f"{prefix}_failures.csv")
    kinds = []
    if failures.exists():
        with failures.open() as file:
            kinds = [
                f"{row['Method']} {row['Name']}: {row['Error'][:80]} x{row['Occurrences']}"
                for row in csv.DictReader(file)
            ]
    measurement = Measurement(
        scenario=scenario,
        server=server,
        requests=int(total["Request Count"]),
        seconds=int(total["Request Count"]) / max(float(total["Requests/s"]), 1e-9),
        p50_ms=float(total["50%"]),
        p99_ms=float(total["99%"]),
        errors=int(total["Failure Count"]),
        connections=journey.users,
        note=f"{journey.users} simulated users, locust",
        error_kinds="; ".join(kinds),
    )
    return measurement, steps
