"""The performance targets, judged against a run's numbers: met, or missed by how much."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.drivers import Measurement
from bench.scenarios import (
    BARE_ASGI,
    FEED,
    PROFILE,
    SEED_FASTAPI,
    SNAPSCALE_API,
    UPLOAD,
)

MEMORY_GROWTH_LIMIT = 0.10
SOAK_SECONDS = 600


@dataclass(frozen=True)
class Target:
    name: str
    wanted: str
    measured: str
    met: bool | None  # None: not measured by this run
    partial: bool = False  # measured, but over less than the target asks for

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "not measured"
        verdict = "met" if self.met else "missed"
        return f"{verdict} (shorter run)" if self.partial else verdict


def find(measurements: Sequence[Measurement], scenario: str, server: str) -> Measurement | None:
    return next(
        (m for m in measurements if m.scenario.startswith(scenario) and m.server == server), None
    )


def _at_least(name: str, got: float | None, wanted: float, unit: str, what: str) -> Target:
    if got is None:
        return Target(name, f">= {wanted:g}{unit}", "no measurement", None)
    met = got >= wanted
    shortfall = "" if met else f", missed by {(1 - got / wanted) * 100:.0f}%"
    return Target(name, f">= {wanted:g}{unit}", f"{got:.2f}{unit} {what}{shortfall}", met)


def _at_most(name: str, got: float | None, wanted: float, unit: str, what: str) -> Target:
    if got is None:
        return Target(name, f"<= {wanted:g}{unit}", "no measurement", None)
    met = got <= wanted
    excess = "" if met else f", over by {(got / wanted - 1) * 100:.0f}%"
    return Target(name, f"<= {wanted:g}{unit}", f"{got:.2f}{unit} {what}{excess}", met)


def _ratio(a: Measurement | None, b: Measurement | None, field: str) -> float | None:
    if a is None or b is None:
        return None
    top, bottom = float(getattr(a, field)), float(getattr(b, field))
    return top / bottom if bottom > 0 else None


def judge(
    measurements: Sequence[Measurement],
    feed_speed_up: float | None,
    soak: dict[str, Any] | None,
) -> list[Target]:
    ours = find(measurements, PROFILE, SNAPSCALE_API)
    seed = find(measurements, PROFILE, SEED_FASTAPI)
    bare = find(measurements, PROFILE, BARE_ASGI)
    feed = find(measurements, FEED, SNAPSCALE_API)
    upload = find(measurements, UPLOAD, SNAPSCALE_API)
    receive = find(measurements, UPLOAD, BARE_ASGI)
    rps = "requests_per_second"
    targets = [
        _at_least(
            "profile read: throughput against seed_fastapi",
            _ratio(ours, seed, rps),
            8,
            "x",
            "seed_fastapi's requests/s",
        ),
        _at_most(
            "profile read: p99 against seed_fastapi's p99",
            _ratio(ours, seed, "p99_ms"),
            0.2,
            "x",
            "seed_fastapi's p99",
        ),
        _at_least(
            "profile read: throughput against bare_asgi (the ceiling)",
            _ratio(ours, bare, rps),
            0.2,
            "x",
            "bare_asgi's requests/s",
        ),
        _at_least(
            "feed page: timeline against the JOIN feed (python -m bench.feed, medians)",
            feed_speed_up,
            5,
            "x",
            "faster than the JOIN",
        ),
        _at_least(
            "feed page: throughput against the profile read",
            _ratio(feed, ours, rps),
            0.5,
            "x",
            "the profile read's requests/s",
        ),
        _at_most(
            "upload: answer time against merely receiving the bytes (medians)",
            _ratio(upload, receive, "p50_ms"),
            2,
            "x",
            "the receive-only median",
        ),
    ]
    targets.append(memory_target(soak))
    return targets


def memory_target(soak: dict[str, Any] | None) -> Target:
    name = "memory: API worker RSS growth over the soak at 70% of peak, zero errors"
    wanted = f"< {MEMORY_GROWTH_LIMIT:.0%} growth over {SOAK_SECONDS // 60} min, 0 errors"
    if soak is None:
        return Target(name, wanted, "no soak result yet: run `make bench-soak`", None)
    growth = max(worker["growth"] for worker in soak["workers"])
    errors = int(soak["errors"])
    met = growth < MEMORY_GROWTH_LIMIT and errors == 0
    seconds = soak["seconds"]
    length = duration_text(seconds)
    measured = (
        f"largest growth {growth:+.1%} over {length} at "
        f"{soak['achieved_share']:.0%} of peak, {errors} errors"
    )
    if not met and growth >= MEMORY_GROWTH_LIMIT:
        measured += f", over by {(growth - MEMORY_GROWTH_LIMIT) * 100:.1f} points"
    partial = seconds < SOAK_SECONDS
    if partial:
        measured += f" (the target asks for {SOAK_SECONDS // 60} min)"
    return Target(name, wanted, measured, met, partial)


def duration_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
