"""The mixed-journey soak against `snapscale cluster`, every process's memory sampled.

The whole topology (nginx on 127.0.0.1 in front of 2 API and 2 site replicas, 2 Celery
workers and beat) runs on seeded data while the locust journey runs at a share of its
peak for a long time, and the resident memory of every process of the cluster is sampled
meanwhile.

    make chaos-soak                                   # 10 minutes at 70% of the peak
    python -m bench.cluster_soak --seconds 60 --out /tmp/soak

Seeds a scratch database (BENCH_POSTGRES_URL) and starts a private Redis, starts the
cluster against them, finds the journey's peak through nginx (--peak-seconds of closed-
loop users), then paces the same users at --share of that peak for --seconds. Writes a
JSON report (requests, errors, latency, each process's RSS at the start, the end and its
largest, with its growth) to --out, prints a summary, and exits 1 if any request failed
or any process of the cluster died. All load goes to 127.0.0.1; every phase is bounded
in time and in steps.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.servers import free_port

from bench.drivers import DriverFailed, Journey, Measurement, locust_measurement
from bench.options import number_between
from bench.processes import ROOT, children_of
from bench.seed import PASSWORD
from bench.soak import Sampler, per_worker
from bench.stack import DataSize, Stack, new_secret_key, private_redis, seeded_database
from bench.suite import MOST_STEPS_PER_USER_SECOND, progress
from snapscale.cluster import NODE_IDS

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLUSTER_START_SECONDS = 180
CLUSTER_STOP_SECONDS = 90
# Requests the journey makes beside its steps: the log-in at each user's start, and the
# photo a "photo list" step opens after the list.
NOT_STEPS = ("POST /api/v1/auth/token", "GET /api/v1/photos/[id]")
# Ports the cluster takes above its base port: API and site replicas, workers' metrics.
CLUSTER_PORT_OFFSETS = (1, 2, 101, 102, 201, 202)


@dataclass(frozen=True)
class SoakOptions:
    seconds: float
    share: float
    peak_seconds: float
    users: int
    sample_seconds: float


@dataclass
class RunningCluster:
    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    output: Path

    def alive(self) -> bool:
        return self.process.poll() is None


@contextmanager
def running_cluster(stack: Stack) -> Iterator[RunningCluster]:
    """`snapscale cluster` on the stack's database and Redis, until the block ends."""
    # nginx's workers run as nobody when this runs as root: the data folder must be
    # reachable by everyone, which a private temporary folder is not.
    data_dir = Path(
        tempfile.mkdtemp(
            prefix="snapscale-soak-",
            dir="/tmp",  # nosec B108 # a fresh folder of a unique name
        )
    )
    data_dir.chmod(0o755)
    port, base_port = free_port(), _free_base_port()
    env = stack.snapscale_env() | {
        "SNAPSCALE_DATA_DIR": str(data_dir),
        "SNAPSCALE_GRACEFUL_TIMEOUT_SECONDS": "10",
    }
    output = data_dir / "cluster.out"
    command = [sys.executable, "-m", "snapscale", "cluster", "--port", str(port)]
    command += ["--base-port", str(base_port)]
    with output.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    cluster = RunningCluster(process, f"http://127.0.0.1:{port}", data_dir, output)
    try:
        deadline = time.monotonic() + CLUSTER_START_SECONDS
        while "cluster ready" not in output.read_text(errors="replace"):
            if not cluster.alive() or time.monotonic() > deadline:
                raise DriverFailed(f"the cluster did not start:\n{_tail(output)}")
            time.sleep(0.25)
        yield cluster
    finally:
        if cluster.alive():
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=CLUSTER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


def _free_base_port() -> int:
    """A base port whose cluster ports are all free now."""
    for _ in range(50):
        base = 20000 + free_port() % 20000
        if all(_port_free(base + offset) for offset in CLUSTER_PORT_OFFSETS):
            return base
    raise DriverFailed("no free range of ports for the cluster")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tail(path: Path, characters: int = 3000) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else ""


def cluster_processes(root: int) -> dict[int, str]:
    """Every process under the cluster command, named by its role: "api-1" (a gunicorn
    master) and "api-1 child" (its worker), "worker-2", "beat", "nginx"..."""
    names = {root: "cluster"}

    def visit(pid: int, parent: str) -> None:
        for child in children_of(pid):
            names[child] = _name(child, parent)
            visit(child, names[child])

    visit(root, "cluster")
    return names


def _name(pid: int, parent: str) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return "ended"
    # nginx rewrites its command line: "nginx: master process ...", "nginx: worker process".
    if argv[0].startswith(b"nginx") or Path(argv[0].decode(errors="replace")).name == "nginx":
        return "nginx child" if parent.startswith("nginx") else "nginx"
    node = next((e.split(b"=", 1)[1] for e in environ if e.startswith(b"SNAPSCALE_NODE_ID=")), b"")
    role = _role(int(node)) if node.isdigit() else Path(argv[0].decode(errors="replace")).name
    return f"{role} child" if parent == role else role


def _role(node: int) -> str:
    for role, base in NODE_IDS.items():
        if base <= node < base + 100:
            return role if node == base else f"{role}-{node - base}"
    return f"node-{node}"


class ClusterSampler(Sampler):
    """The RSS of every process of the cluster, and each one's role."""

    def __init__(self, root: int, every: float) -> None:
        super().__init__(every)
        self.root = root
        self.names: dict[str, str] = {}

    def pids(self) -> list[int]:
        processes = cluster_processes(self.root)
        self.names.update({str(pid): name for pid, name in processes.items()})
        return list(processes)


def steps_share(steps: list[dict[str, object]]) -> float:
    """Of the journey's requests, the share that are steps (what the pacing counts)."""
    total = sum(int(str(step["requests"])) for step in steps)
    extra = sum(int(str(step["requests"])) for step in steps if step["step"] in NOT_STEPS)
    return (total - extra) / total if total else 1.0


def run(stack: Stack, options: SoakOptions, workdir: Path) -> dict[str, Any]:
    accounts = len(stack.data.usernames)
    with running_cluster(stack) as cluster:
        progress(f"cluster ready on {cluster.url}; the journey's peak, {options.users} users")
        peak_journey = Journey(
            users=options.users,
            seconds=options.peak_seconds,
            accounts=accounts,
            password=PASSWORD,
            max_tasks_per_user=int(options.peak_seconds * MOST_STEPS_PER_USER_SECOND),
        )
        peak, steps = _journey("journey peak", cluster, peak_journey, workdir / "peak")
        target = peak.requests_per_second * options.share
        pace = target * steps_share(steps) / options.users
        progress(
            f"  peak {peak.requests_per_second:,.1f} req/s; soaking at {target:,.1f} req/s "
            f"({pace:.2f} steps/s per user) for {options.seconds:g} s"
        )
        paced = Journey(
            users=options.users,
            seconds=options.seconds,
            accounts=accounts,
            password=PASSWORD,
            max_tasks_per_user=int(pace * options.seconds * 1.5) + 10,
            steps_per_user_second=pace,
        )
        sampler = ClusterSampler(cluster.process.pid, options.sample_seconds)
        sampler.sample()
        sampler.start()
        try:
            soaked, _ = _journey("journey soak", cluster, paced, workdir / "soak")
        finally:
            sampler.stop()
        died = not cluster.alive()
        logs = cluster.data_dir / "cluster" / "logs"
        kept_logs = workdir / "cluster-logs"
        if logs.is_dir():
            shutil.copytree(logs, kept_logs, dirs_exist_ok=True)
    processes = [
        {"name": sampler.names.get(str(w["pid"]), "?"), **w} for w in per_worker(sampler.samples)
    ]
    return {
        "seconds": options.seconds,
        "share": options.share,
        "users": options.users,
        "peak_rps": peak.requests_per_second,
        "target_rps": target,
        "achieved_rps": soaked.requests_per_second,
        "achieved_share": soaked.requests_per_second / max(peak.requests_per_second, 1e-9),
        "requests": soaked.requests,
        "errors": soaked.errors + peak.errors,
        "error_kinds": "; ".join(k for k in (peak.error_kinds, soaked.error_kinds) if k),
        "p50_ms": soaked.p50_ms,
        "p99_ms": soaked.p99_ms,
        "cluster_died": died,
        "processes": processes,
        "samples": sampler.samples,
    }


def _journey(
    scenario: str, cluster: RunningCluster, journey: Journey, workdir: Path
) -> tuple[Measurement, list[dict[str, object]]]:
    workdir.mkdir(parents=True, exist_ok=True)
    return locust_measurement(scenario, "Snapscale cluster", cluster.url, journey, workdir)


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"{report['requests']:,} requests at {report['achieved_rps']:,.1f} req/s "
        f"({report['achieved_share']:.0%} of the peak {report['peak_rps']:,.1f}), "
        f"{report['errors']} errors, p50 {report['p50_ms']:g} ms, p99 {report['p99_ms']:g} ms"
        + ("; A PROCESS OF THE CLUSTER DIED" if report["cluster_died"] else ""),
        f"{'process':<16}{'pid':>9}{'start MiB':>11}{'end MiB':>9}{'max MiB':>9}{'growth':>9}",
    ]
    for p in sorted(report["processes"], key=lambda p: (p["name"], p["pid"])):
        lines.append(
            f"{p['name']:<16}{p['pid']:>9}{p['start_kib'] / 1024:>11.1f}"
            f"{p['end_kib'] / 1024:>9.1f}{p['max_kib'] / 1024:>9.1f}{p['growth']:>+9.1%}"
        )
    return "\n".join(lines)


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cluster_soak",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    add = parser.add_argument
    add(
        "--seconds",
        type=number_between(float, 5, 86_400),
        default=600.0,
        help="length of the paced soak [600]",
    )
    add(
        "--share",
        type=number_between(float, 0.05, 1),
        default=0.7,
        help="pace, as a share of the peak [0.7]",
    )
    add(
        "--peak-seconds",
        type=number_between(float, 5, 600),
        default=30.0,
        help="length of the closed-loop peak run [30]",
    )
    add(
        "--users", type=number_between(int, 1, 500), default=16, help="simulated users, locust [16]"
    )
    add(
        "--accounts",
        type=number_between(int, 20, 1_000_000),
        default=2000,
        help="seeded accounts [2000]",
    )
    add(
        "--photos-per-user",
        type=number_between(int, 1, 100),
        default=3,
        help="seeded photos per account [3]",
    )
    add(
        "--sample-seconds",
        type=number_between(float, 0.5, 600),
        help="between memory samples [5; 2 under 2 min]",
    )
    add(
        "--out",
        type=Path,
        default=ROOT / "var" / "chaos-soak",
        help="folder of the JSON report [var/chaos-soak]",
    )
    add("--postgres", default=POSTGRES, help="PostgreSQL server URL [BENCH_POSTGRES_URL]")
    options = parser.parse_args(argv)
    if options.sample_seconds is None:
        options.sample_seconds = 5.0 if options.seconds >= 120 else 2.0
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    soak = SoakOptions(
        options.seconds, options.share, options.peak_seconds, options.users, options.sample_seconds
    )
    size = DataSize(options.accounts, options.photos_per_user, min(50, options.accounts))
    secret = new_secret_key()
    out: Path = options.out
    out.mkdir(parents=True, exist_ok=True)
    stamp = started_at.replace(":", "")
    with tempfile.TemporaryDirectory(prefix="snapscale-cluster-soak-") as temporary:
        workdir = Path(temporary)
        with private_redis(workdir) as redis_url:
            progress(f"seeding {size.users:,} users x {size.photos_per_user} photos")
            with seeded_database(
                options.postgres, size, secret_key=secret, workdir=workdir
            ) as data:
                stack = Stack(data, redis_url, workdir, 1, secret)
                try:
                    report = run(stack, soak, workdir)
                except DriverFailed as exc:
                    progress(f"the soak could not run: {exc}")
                    return 2
                failed = report["errors"] > 0 or report["cluster_died"]
                if failed and (workdir / "cluster-logs").is_dir():
                    shutil.copytree(workdir / "cluster-logs", out / f"logs-{stamp}")
    report.update(
        started_at=started_at, command=" ".join(["python -m bench.cluster_soak", *sys.argv[1:]])
    )
    path = out / f"cluster-soak-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(summary(report))
    print(f"report: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
