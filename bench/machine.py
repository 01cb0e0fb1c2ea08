"""The machine a run measured: numbers mean little without it."""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
from pathlib import Path

import asyncpg
import redis


def _first(path: str, prefix: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _version_of(command: list[str]) -> str:
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    output = (finished.stdout or finished.stderr).strip().splitlines()
    return output[0] if output else "unknown"


async def _postgres_version(server_url: str) -> str:
    connection = await asyncpg.connect(server_url)
    try:
        version: str = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return version


def _redis_version(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url)
    try:
        return str(client.info("server")["redis_version"])
    finally:
        client.close()


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def describe(postgres_url: str, redis_url: str) -> dict[str, str]:
    mem_kib = _first("/proc/meminfo", "MemTotal").split()[0]
    ram = f"{int(mem_kib) / 1024 / 1024:.1f} GiB" if mem_kib.isdigit() else "unknown"
    return {
        "CPU": _first("/proc/cpuinfo", "model name"),
        "cores": f"{len(os.sched_getaffinity(0))} usable of {os.cpu_count()}",
        "RAM": ram,
        "kernel": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": asyncio.run(_postgres_version(postgres_url)),
        "Redis": _redis_version(redis_url),
        "wrk": _version_of(["wrk", "--version"]).split(" [")[0],
        "locust": _version_of([sys.executable, "-m", "locust", "--version"]).split(" from ")[0],
        "load average before (1/5/15 min)": load_average(),
    }
