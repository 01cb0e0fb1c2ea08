"""`python -m bench.run --smoke`: every benchmark scenario runs end to end against real
servers (Snapscale's API and site, the peers, the ceiling) on tiny data, and the run
prints its table and writes its report with no failed request. Nothing here judges a
number: only that each measurement exists and nothing failed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bench.drivers import DriverFailed, Load, run_wrk

from tests.support.servers import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
SMOKE_SECONDS = 900  # a hung run fails the test instead of hanging the suite

EXPECTED_ROWS = [
    ("profile read", "Snapscale API"),
    ("profile read", "Snapscale site (Flask)"),
    ("profile read", "seed_fastapi"),
    ("profile read", "seed_flask"),
    ("profile read", "bare_asgi"),
    ("photo list page", "Snapscale API"),
    ("home feed page (following 50)", "Snapscale API"),
    ("token login", "Snapscale API"),
    ("photo upload (1 MB)", "Snapscale API"),
    ("photo upload (1 MB)", "bare_asgi"),
    ("user journey (mixed)", "Snapscale API"),
]
HEADER = ["scenario", "server", "requests/s", "p50 ms", "p99 ms", "errors"]


def _bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.run", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SMOKE_SECONDS,
        check=False,
    )


@pytest.fixture(scope="module")
def smoke(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    tools = subprocess.run([ROOT / "scripts" / "ensure-bench-tools"], check=False)
    if tools.returncode != 0:
        pytest.fail("the benchmarks need wrk: install your distribution's wrk package")
    out = tmp_path_factory.mktemp("bench-report")
    env = {**os.environ, "BENCH_POSTGRES_URL": postgres.base_url}
    return _bench("--smoke", "--out", str(out), env=env), out


def _table(stdout: str) -> dict[tuple[str, str], dict[str, str]]:
    """The printed table, by (scenario, server)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["scenario", "server"])
    header = re.split(r"\s{2,}", lines[start].strip())
    rows = {}
    for line in lines[start + 2 :]:
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) != len(header):
            break
        row = dict(zip(header, cells, strict=True))
        rows[row["scenario"], row["server"]] = row
    return rows


def test_smoke_run_measures_every_scenario_without_a_failed_request(
    smoke: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    finished, _ = smoke
    assert finished.returncode == 0, finished.stderr[-4000:]
    table = _table(finished.stdout)
    assert sorted(table) == sorted(EXPECTED_ROWS)
    for key, row in table.items():
        assert set(HEADER) <= set(row), key
        assert row["errors"] == "0", (key, row)


def test_smoke_run_writes_the_report_with_its_charts(
    smoke: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    finished, out = smoke
    assert finished.returncode == 0, finished.stderr[-4000:]
    report = (out / "PERFORMANCE.md").read_text()
    for heading in ("## Results", "## Targets", "## The journey", "## Feed", "## Machine"):
        assert heading in report
    # Every simulated user logs in first; the later steps are picked at random.
    assert "| POST /api/v1/auth/token |" in report
    for scenario, server in EXPECTED_ROWS:
        assert f"| {scenario} | {server} |" in report
    assert "python -m bench.run --smoke" in report
    assert "speed-up (median)" in report  # python -m bench.feed ran and was kept
    for target in ("profile read: throughput against seed_fastapi", "upload: answer time"):
        assert target in report
    for chart in ("throughput.png", "latency.png"):
        png = (out / "performance" / chart).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert f"(performance/{chart})" in report
    results = json.loads((out / "performance" / "results.json").read_text())
    assert len(results["measurements"]) == len(EXPECTED_ROWS)


def test_bad_options_are_refused_with_a_readable_message() -> None:
    finished = _bench("--duration", "0")
    assert finished.returncode == 2
    assert "--duration: 0.0 is not between 1 and 3600" in finished.stderr
    finished = _bench("--smoke", "--soak")
    assert finished.returncode == 2
    assert "choose one" in finished.stderr


def test_load_is_only_ever_sent_to_loopback(tmp_path: Path) -> None:
    plan = tmp_path / "plan.txt"
    plan.write_text("GET /\n")
    with pytest.raises(DriverFailed, match=r"127\.0\.0\.1 only"):
        run_wrk("http://192.0.2.1:8000", plan, Load(connections=1, seconds=1, max_requests=1))
