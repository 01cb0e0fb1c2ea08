"""The mixed-journey soak against `snapscale cluster`, short: `python -m bench.cluster_soak`
seeds a database, starts the whole topology behind nginx, finds the journey's peak and
runs it at 70% of that for half a minute (SNAPSCALE_CHAOS_SECONDS under `make chaos`).
No request fails, no process of the cluster dies, and no process's memory grows past a
generous bound once warm. `make chaos-soak` runs the same for 10 minutes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.load import load_seconds
from tests.support.servers import PostgresServer

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="needs Debian's nginx"),
]

ROOT = Path(__file__).resolve().parents[2]
RUN_LIMIT_SECONDS = 900  # a hung run fails the test instead of hanging the suite
# From the first sample of the paced soak (after the peak run warmed every process up) to
# the last, no process may grow by more than this share of its size.
MOST_GROWTH = 0.5
EVERY_ROLE = {"api-1", "api-2", "web-1", "web-2", "worker-1", "worker-2", "beat", "nginx"}


def test_a_short_soak_of_the_mixed_journey_on_the_cluster(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    out = tmp_path / "soak"
    seconds = load_seconds(30.0)
    command = [sys.executable, "-m", "bench.cluster_soak", "--seconds", f"{seconds:g}"]
    command += ["--peak-seconds", "8", "--users", "4", "--accounts", "200"]
    command += ["--photos-per-user", "2", "--out", str(out), "--postgres", postgres.base_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPSCALE_")}
    finished = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT_SECONDS + seconds,
        check=False,
    )
    output = finished.stdout + finished.stderr[-5000:]
    assert finished.returncode == 0, output
    [report_file] = out.glob("cluster-soak-*.json")
    report = json.loads(report_file.read_text())

    assert report["errors"] == 0, report["error_kinds"]
    assert not report["cluster_died"], output
    assert report["requests"] > 0
    processes = report["processes"]
    assert {p["name"] for p in processes} >= EVERY_ROLE, output
    for process in processes:
        # Seen from the first sample to the last: none crashed and was started again.
        assert process["samples"] >= 2, process
        assert process["growth"] < MOST_GROWTH, f"{process['name']} grew: {output}"
