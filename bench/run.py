"""Snapscale against the classic guides' own example code and the ceiling of its server,
side by side in one run on one machine, over the same seeded PostgreSQL data.

    make bench                       # python -m bench.run
    make bench-soak                  # python -m bench.run --soak: the 10-minute memory soak
    python -m bench.run --smoke      # every scenario on tiny data, seconds each

Seeds a scratch database (bench/seed.py) and starts a private Redis, then starts each
server in turn with the same number of workers, waits until it answers, loads it with
wrk (and locust for the mixed journey), stops it, and prints one table. Writes
docs/PERFORMANCE.md and PNG charts in docs/performance/ (or under --out). Needs wrk
(scripts/ensure-bench-tools installs it) and PostgreSQL (BENCH_POSTGRES_URL, default the
local server). All load goes to 127.0.0.1 and every run is bounded in time and count.
Exits 1 if any request of any scenario failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import charts, machine
from bench.drivers import REQUEST_TIMEOUT_SECONDS, Measurement
from bench.options import number_between
from bench.processes import ROOT, ServerFailed
from bench.report import markdown, text_table
from bench.soak import SoakOptions, run_soak
from bench.stack import DataSize, Stack, new_secret_key, private_redis, seeded_database
from bench.suite import Suite, SuiteOptions, feed_bench, feed_bench_args, progress
from bench.targets import judge

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# The machine counts as busy when other work keeps this share of its CPUs running.
BUSY_LOAD_PER_CPU = 0.5

# Simulated users of the journey: enough to keep each worker busy, few enough that their
# log-ins (a password hash each, all at the start) leave most of the run to the journey.
JOURNEY_USERS_PER_WORKER = 4
# Defaults of the full run, sized for a 2-core machine, and of --smoke.
FULL = {"duration": 15, "warmup": 5, "connections": 64, "users": 10_000, "photos": 20}
FULL |= {"follows": 500, "upload_mb": 10}
SMOKE = {"duration": 2, "warmup": 0, "connections": 8, "users": 200, "photos": 3}
SMOKE |= {"follows": 50, "upload_mb": 1}


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    add = parser.add_argument
    add("--smoke", action="store_true", help="every scenario on tiny data, seconds each")
    add("--soak", action="store_true", help="the memory soak instead of the scenarios")
    add("--workers", type=number_between(int, 1, 64), help="per server [CPUs; smoke 1]")
    add("--connections", type=number_between(int, 1, 4096), help="wrk connections [64; smoke 8]")
    add("--duration", type=number_between(float, 1, 3600), help="seconds per row [15; smoke 2]")
    add("--warmup", type=number_between(float, 0, 600), help="warm-up seconds [3; smoke 0]")
    add("--users", type=number_between(int, 20, 1_000_000), help="seeded users [10000; smoke 200]")
    add("--photos-per-user", type=number_between(int, 1, 200), help="[20; smoke 3]")
    add(
        "--follows",
        type=number_between(int, 1, 1_000_000),
        help="the reader's followees [500; smoke 50]",
    )
    add("--upload-mb", type=number_between(float, 0.1, 20), help="upload size [10; smoke 1]")
    add("--journey-users", type=number_between(int, 1, 1000), help="locust users [4 per worker]")
    add(
        "--soak-duration",
        type=number_between(float, 10, 86_400),
        default=600.0,
        help="seconds [600]",
    )
    add("--soak-share", type=number_between(float, 0.05, 1), default=0.7, help="of the peak [0.7]")
    add("--out", type=Path, help="where PERFORMANCE.md goes [docs/; smoke: nowhere]")
    add("--postgres", default=POSTGRES, help="PostgreSQL server URL [BENCH_POSTGRES_URL]")
    options = parser.parse_args(argv)
    defaults = SMOKE if options.smoke else FULL
    options.workers = options.workers or (1 if options.smoke else len(os.sched_getaffinity(0)))
    options.duration = float(options.duration or defaults["duration"])
    options.warmup = float(defaults["warmup"] if options.warmup is None else options.warmup)
    options.connections = options.connections or defaults["connections"]
    options.users = options.users or defaults["users"]
    options.photos_per_user = options.photos_per_user or defaults["photos"]
    options.follows = options.follows or defaults["follows"]
    options.upload_mb = float(options.upload_mb or defaults["upload_mb"])
    options.journey_users = options.journey_users or JOURNEY_USERS_PER_WORKER * options.workers
    if options.follows > options.users:
        parser.error(f"--follows {options.follows} is more than --users {options.users}")
    if options.smoke and options.soak:
        parser.error("--smoke and --soak are separate runs: choose one")
    return options


def command_line(options: argparse.Namespace) -> str:
    command = " ".join(["python -m bench.run", *map(shlex.quote, sys.argv[1:])])
    if os.environ.get("MAKELEVEL"):
        return f"make {'bench-soak' if options.soak else 'bench'}   # {command}"
    return command


def caveat(load_before: tuple[float, float, float]) -> str:
    cpus = len(os.sched_getaffinity(0))
    one, five, _ = load_before
    if max(one, five) > BUSY_LOAD_PER_CPU * cpus:
        return (
            f"The machine was busy with other work when this run started (load average "
            f"{one:.1f} over 1 minute, {five:.1f} over 5, on {cpus} CPUs): the numbers are "
            "noisy; compare the rows of one run with each other rather than across runs."
        )
    return f"The machine was otherwise idle when this run started ({cpus} CPUs)."


def write_report(out: Path) -> None:
    """docs/PERFORMANCE.md and its charts from the saved results of the last runs."""
    folder = out / "performance"
    results_file, soak_file = folder / "results.json", folder / "soak.json"
    soak = json.loads(soak_file.read_text()) if soak_file.exists() else None
    if soak is not None:
        charts.soak_memory(soak, folder / "soak.png")
    if not results_file.exists():
        progress(f"no scenario results in {folder} yet: run `make bench` to write PERFORMANCE.md")
        return
    results = json.loads(results_file.read_text())
    measurements = [Measurement.from_dict(m) for m in results["measurements"]]
    charts.throughput(measurements, folder / "throughput.png")
    charts.latency(measurements, folder / "latency.png")
    targets = judge(measurements, results["feed_bench"]["speed_up"], soak)
    (out / "PERFORMANCE.md").write_text(markdown(results, soak, targets))
    print("\n".join(f"{t.verdict:>12}  {t.name}: {t.measured}" for t in targets))


def _keep_logs(workdir: Path, started_at: str) -> None:
    """The servers' logs outlive a failed run (the rest of its scratch files do not)."""
    logs = workdir / "logs"
    if logs.is_dir():
        kept = ROOT / "var" / "bench-logs" / started_at.replace(":", "")
        shutil.copytree(logs, kept, dirs_exist_ok=True)
        progress(f"the servers' logs are kept in {kept}")


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    if shutil.which("wrk") is None:
        progress("wrk is not installed: run scripts/ensure-bench-tools (Debian's wrk package)")
        return 2
    out = options.out or (None if options.smoke else ROOT / "docs")
    load_before = os.getloadavg()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    size = DataSize(options.users, options.photos_per_user, options.follows)
    secret = new_secret_key()
    with tempfile.TemporaryDirectory(prefix="snapscale-bench-") as temporary:
        workdir = Path(temporary)
        out = out or workdir / "report"
        (out / "performance").mkdir(parents=True, exist_ok=True)
        with private_redis(workdir) as redis_url:
            facts = machine.describe(options.postgres, redis_url)
            facts["Redis"] += " (a private instance for the run)"
            progress(f"seeding {size.users:,} users x {size.photos_per_user} photos")
            with seeded_database(
                options.postgres, size, secret_key=secret, workdir=workdir
            ) as data:
                stack = Stack(data, redis_url, workdir, options.workers, secret)
                try:
                    if options.soak:
                        status = _soak(stack, options, out, facts, started_at)
                    else:
                        status = _scenarios(stack, options, out, facts, started_at, load_before)
                except ServerFailed as exc:
                    progress(f"a server failed: {exc}")
                    status = 2
                except BaseException:
                    _keep_logs(workdir, started_at)
                    raise
                if status != 0:
                    _keep_logs(workdir, started_at)
                return status


def _scenarios(
    stack: Stack,
    options: argparse.Namespace,
    out: Path,
    facts: dict[str, str],
    started_at: str,
    load_before: tuple[float, float, float],
) -> int:
    args = feed_bench_args(options.smoke)
    progress("python -m bench.feed " + " ".join(args))
    feed = feed_bench(args, options.postgres, stack.redis_url)
    suite_options = SuiteOptions(
        workers=options.workers,
        connections=options.connections,
        duration=options.duration,
        warmup=options.warmup,
        follows=options.follows,
        upload_mb=options.upload_mb,
        journey_users=options.journey_users,
    )
    suite = Suite(stack, suite_options)
    measurements = suite.run()
    facts["load average after (1/5/15 min)"] = machine.load_average()
    results = {
        "started_at": started_at,
        "command": command_line(options),
        "caveat": caveat(load_before),
        "options": {
            key: getattr(options, key)
            for key in (
                "workers",
                "connections",
                "duration",
                "warmup",
                "users",
                "photos_per_user",
                "follows",
                "upload_mb",
                "journey_users",
                "smoke",
            )
        },
        "machine": facts,
        "request_timeout_seconds": REQUEST_TIMEOUT_SECONDS,
        "feed_bench": feed,
        "measurements": [m.as_dict() for m in measurements],
        "journey_steps": suite.journey_steps,
    }
    (out / "performance" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(text_table(measurements))
    write_report(out)
    print(f"report: {out / 'PERFORMANCE.md'}")
    failed = [m for m in measurements if m.errors]
    for m in failed:
        progress(
            f"errors: {m.scenario} / {m.server}: {m.errors} of {m.requests} requests"
            + (f" ({m.error_kinds})" if m.error_kinds else "")
        )
    return 1 if failed else 0


def _soak(
    stack: Stack, options: argparse.Namespace, out: Path, facts: dict[str, str], started_at: str
) -> int:
    soak_options = SoakOptions(
        connections=options.connections,
        warmup=max(options.warmup, 1.0),
        peak_seconds=options.duration,
        seconds=options.soak_duration,
        share=options.soak_share,
        sample_seconds=5.0 if options.soak_duration >= 120 else 2.0,
    )
    soak = run_soak(stack, soak_options)
    soak.update(started_at=started_at, command=command_line(options), machine=facts)
    (out / "performance" / "soak.json").write_text(json.dumps(soak, indent=2) + "\n")
    write_report(out)
    return 1 if soak["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
