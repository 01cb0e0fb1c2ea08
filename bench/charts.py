"""PNG charts of a run (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from bench.drivers import Measurement
from bench.scenarios import (
    BARE_ASGI,
    SEED_FASTAPI,
    SEED_FLASK,
    SNAPSCALE_API,
    SNAPSCALE_SITE,
)

COLOURS = {
    SNAPSCALE_API: "#1f6feb",
    SNAPSCALE_SITE: "#6f42c1",
    SEED_FASTAPI: "#d97706",
    SEED_FLASK: "#b45309",
    BARE_ASGI: "#6b7280",
}
DPI = 120


def _label(m: Measurement) -> str:
    return f"{m.scenario}\n{m.server}"


def _plain_number(value: float, _position: object) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def throughput(measurements: Sequence[Measurement], path: Path) -> None:
    rows = list(reversed(measurements))  # matplotlib draws the first bar at the bottom
    figure, axes = plt.subplots(figsize=(10, 0.55 * len(rows) + 1.6), dpi=DPI)
    values = [m.requests_per_second for m in rows]
    bars = axes.barh(
        [_label(m) for m in rows],
        values,
        color=[COLOURS.get(m.server, "#999999") for m in rows],
    )
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(_plain_number))
    axes.set_xlabel("requests per second (log scale; higher is better)")
    axes.set_title("Throughput per scenario and server")
    for bar, value in zip(bars, values, strict=True):
        axes.text(
            bar.get_width() * 1.05,
            bar.get_y() + bar.get_height() / 2,
            f"{value:,.0f}" if value >= 10 else f"{value:.1f}",
            va="center",
            fontsize=9,
        )
    axes.set_xlim(right=max(values, default=1) * 4)
    axes.tick_params(axis="y", labelsize=9)
    axes.grid(axis="x", which="major", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def latency(measurements: Sequence[Measurement], path: Path) -> None:
    rows = list(reversed(measurements))
    figure, axes = plt.subplots(figsize=(10, 0.65 * len(rows) + 1.6), dpi=DPI)
    positions = range(len(rows))
    height = 0.38
    p50 = [max(m.p50_ms, 0.01) for m in rows]
    p99 = [max(m.p99_ms, 0.01) for m in rows]
    axes.barh([p + height / 2 for p in positions], p50, height, label="p50", color="#1f6feb")
    axes.barh([p - height / 2 for p in positions], p99, height, label="p99", color="#f59e0b")
    for p, (low, high) in enumerate(zip(p50, p99, strict=True)):
        axes.text(low * 1.05, p + height / 2, f"{low:.1f}", va="center", fontsize=8)
        axes.text(high * 1.05, p - height / 2, f"{high:.1f}", va="center", fontsize=8)
    axes.set_yticks(list(positions), [_label(m) for m in rows], fontsize=9)
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(_plain_number))
    axes.set_xlim(right=max(p99, default=1) * 4)
    axes.set_xlabel("milliseconds (log scale; lower is better)")
    axes.set_title("Latency per scenario and server")
    axes.legend(loc="upper right", framealpha=0.95)
    axes.grid(axis="x", which="major", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def soak_memory(soak: dict[str, Any], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(10, 5), dpi=DPI)
    for worker in soak["workers"]:
        pid = str(worker["pid"])
        points = [
            (sample["t"] / 60, sample["rss_kib"][pid] / 1024)
            for sample in soak["samples"]
            if sample["rss_kib"].get(pid) is not None
        ]
        if not points:
            continue
        minutes, mib = zip(*points, strict=True)
        line = axes.plot(minutes, mib, marker=".", label=f"worker {pid}")[0]
        axes.axhline(
            worker["start_kib"] / 1024 * 1.1,
            color=line.get_color(),
            linestyle="--",
            alpha=0.5,
            label=f"worker {pid}: +10% of its start",
        )
    axes.set_xlabel("minutes into the soak")
    axes.set_ylabel("resident memory (MiB)")
    highest = max((w["max_kib"] for w in soak["workers"]), default=0)
    limits = max((w["start_kib"] * 1.1 for w in soak["workers"]), default=0)
    axes.set_ylim(0, max(highest, limits) / 1024 * 1.12)
    axes.set_title(
        f"API worker memory at {soak['achieved_share']:.0%} of peak throughput "
        f"({soak['achieved_rps']:,.0f} requests/s)"
    )
    axes.legend(loc="lower right", fontsize=9)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
