"""Timing helper shared by the benchmark scripts: best of k repeats, same process."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(
    fn: Callable[[], object], *, repeat: int = 7, number: int = 1, warmup: bool = True
) -> float:
    """Return the best wall time (seconds) of ``number`` calls of ``fn``, over ``repeat`` runs."""
    if warmup:
        fn()  # imports, caches, compiled problems
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def row(name: str, ours: float, baseline: float, target: str) -> str:
    """One markdown table row: times in ms and the ratio ours / baseline."""
    return (
        f"| {name} | {ours * 1e3:.3f} | {baseline * 1e3:.3f} | {ours / baseline:.3g} | {target} |"
    )
