"""The memory soak: the API at a share of its peak throughput for a long time, with the
resident memory of each of its worker processes sampled from /proc meanwhile.

A worker whose memory keeps growing under a steady load leaks: after the warm-up (caches
full, pools open) it should level off. The load is a mix of the reads most requests are:
profiles, photo lists and the home feed, spread over every user.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench import scenarios as s
from bench.drivers import Load, Plan, run_wrk, wrk_measurement
from bench.processes import Server, rss_kib, serving
from bench.stack import Stack
from bench.suite import MOST_REQUESTS_PER_SECOND, progress


@dataclass(frozen=True)
class SoakOptions:
    connections: int
    warmup: float
    peak_seconds: float
    seconds: float
    share: float
    sample_seconds: float


class Sampler(threading.Thread):
    """Reads the RSS of some processes every few seconds until stopped."""

    def __init__(self, every: float) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.samples: list[dict[str, Any]] = []
        self.started_at = time.monotonic()
        self._stop_event = threading.Event()

    def pids(self) -> list[int]:
        raise NotImplementedError

    def sample(self) -> None:
        sizes = {str(pid): rss_kib(pid) for pid in self.pids()}
        elapsed = round(time.monotonic() - self.started_at, 1)
        self.samples.append({"t": elapsed, "rss_kib": sizes})

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=self.every + 5)
        self.sample()


class WorkerSampler(Sampler):
    """The RSS of a server's workers."""

    def __init__(self, server: Server, every: float) -> None:
        super().__init__(every)
        self.server = server

    def pids(self) -> list[int]:
        return self.server.worker_pids()


def mixed_reads(stack: Stack, token: str) -> Plan:
    """Profiles, photo lists and the feed, all as the signed-in reader."""
    profiles = s.api_profile(stack.data).requests
    photos = s.api_photos(stack.data).requests
    feed = ["GET /api/v1/feed"] * (len(profiles) // 2)
    return Plan(profiles + photos + feed, headers={"Authorization": f"Bearer {token}"})


def per_worker(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """First, last and largest RSS of every worker seen, and its growth first to last."""
    workers = []
    pids = sorted({pid for sample in samples for pid in sample["rss_kib"]}, key=int)
    for pid in pids:
        sizes = [sample["rss_kib"][pid] for sample in samples if sample["rss_kib"].get(pid)]
        if not sizes:
            continue
        start, end = sizes[0], sizes[-1]
        workers.append(
            {
                "pid": int(pid),
                "start_kib": start,
                "end_kib": end,
                "max_kib": max(sizes),
                "growth": (end - start) / start,
                "samples": len(sizes),
            }
        )
    return workers


def run_soak(stack: Stack, options: SoakOptions) -> dict[str, Any]:
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    plan_file = stack.workdir / "plan-soak.txt"
    progress(f"Snapscale API ({stack.workers} workers): finding its peak on the mixed reads")
    with serving(stack.snapscale("api")) as api:
        token = s.access_token(api.url, stack.data.reader, stack.data.password)
        mixed_reads(stack, token).write(plan_file)
        full = Load(
            options.connections,
            options.warmup,
            max_requests=int(options.warmup * MOST_REQUESTS_PER_SECOND),
        )
        run_wrk(api.url, plan_file, full)
        peak_load = Load(
            options.connections,
            options.peak_seconds,
            max_requests=int(options.peak_seconds * MOST_REQUESTS_PER_SECOND),
        )
        peak = wrk_measurement("soak peak", s.SNAPSCALE_API, api.url, plan_file, peak_load)
        target = peak.requests_per_second * options.share
        progress(
            f"  peak {peak.requests_per_second:,.0f} req/s; soaking at {target:,.0f} req/s "
            f"for {options.seconds:.0f} s, sampling worker memory every "
            f"{options.sample_seconds:g} s"
        )
        paced = Load(
            options.connections,
            options.seconds,
            max_requests=int(target * options.seconds * 1.2) + 1,
            rate_per_second=target,
        )
        sampler = WorkerSampler(api, options.sample_seconds)
        sampler.sample()
        sampler.start()
        try:
            soaked = wrk_measurement("soak", s.SNAPSCALE_API, api.url, plan_file, paced)
        finally:
            sampler.stop()
    workers = per_worker(sampler.samples)
    progress(
        f"  soak: {soaked.requests_per_second:,.0f} req/s, {soaked.errors} errors; largest "
        f"worker growth {max((w['growth'] for w in workers), default=0):+.1%}"
    )
    return {
        "started_at": started_at,
        "seconds": options.seconds,
        "share": options.share,
        "sample_seconds": options.sample_seconds,
        "connections": options.connections,
        "peak_rps": peak.requests_per_second,
        "target_rps": target,
        "achieved_rps": soaked.requests_per_second,
        "achieved_share": soaked.requests_per_second / peak.requests_per_second,
        "requests": soaked.requests,
        "errors": soaked.errors + peak.errors,
        "p50_ms": soaked.p50_ms,
        "p99_ms": soaked.p99_ms,
        "workers": workers,
        "samples": sampler.samples,
    }
