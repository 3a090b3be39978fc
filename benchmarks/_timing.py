"""Timing helper shared by the benchmark scripts: best of k repeats, same process."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from threadpoolctl import threadpool_limits


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


def add_threads_option(parser) -> None:
    """``--threads N``: limit every BLAS/OpenMP pool to N threads (default: as installed)."""
    parser.add_argument(
        "--threads", type=int, default=None,
        help="limit BLAS/OpenMP to this many threads for both sides (default: the "
             "libraries' defaults, as a user runs them)",
    )  # fmt: skip


def thread_limit(threads: int | None, **kwargs):
    """``threadpool_limits(threads, **kwargs)``, or nothing for ``threads=None``."""
    if threads is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, **kwargs)
