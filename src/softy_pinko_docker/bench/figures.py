"""Figures from repeated runs: medians with their min-max, ratios, percentiles, the order
of the cases, sizes and CPU shares as the engine prints them."""

from __future__ import annotations

import re
import statistics
from typing import Any

_BYTES = {
    "b": 1 / 2**20,
    "kib": 1 / 1024,
    "kb": 1e3 / 2**20,
    "mib": 1.0,
    "mb": 1e6 / 2**20,
    "gib": 1024.0,
    "gb": 1e9 / 2**20,
}


def summarize(values: list[float]) -> dict[str, Any]:
    """Median with min and max (and the samples), so the noise of a figure shows."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "samples": []}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
        "samples": [round(v, 3) for v in values],
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator/denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (pct in 0..100) of unsorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil(n * pct / 100), at least 1
    return ordered[int(min(rank, len(ordered))) - 1]


def serpentine(cases: list[int], rounds: int) -> list[int]:
    """cases in order, then reversed, then in order...: each case early and late, and a
    neighbouring pair differs by one step (1,2,3,3,2,1,1,2,3)."""
    order: list[int] = []
    for n in range(rounds):
        order += cases if n % 2 == 0 else cases[::-1]
    return order


def parse_mem(usage: str) -> float:
    """MiB used from a `docker stats` MemUsage such as '12.5MiB / 23.5GiB'."""
    match = re.match(r"\s*([\d.]+)\s*([KMG]?i?B)", usage, re.I)
    if not match:
        raise ValueError(f"not a memory usage: {usage!r}")
    return float(match.group(1)) * _BYTES[match.group(2).lower()]


def cpu_share(cpu_seconds: float, wall_seconds: float) -> float:
    """Percent of one core used over a wall-clock interval."""
    return 100.0 * cpu_seconds / wall_seconds if wall_seconds > 0 else 0.0


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
