"""The demo behind ``python -m cvxdual``: constraints, their multipliers, and proof.

Run ``python -m cvxdual`` (``--quick`` for a shorter run). Each section prints
what a user of cvxdual sees: projected weights, which constraints bind and the
Lagrange multipliers that say how hard, each checked against the CVXPY problem
that defines it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from .projection import project
from .sets import (
    Box,
    Intersection,
    L1Ball,
    L2Ball,
    MaxNorm,
    NonNegative,
    NuclearBall,
    Polyhedron,
    Simplex,
    SpectralBall,
)
from .verify import compare_with_cvxpy, projection_kkt


def _fmt(value) -> str:
    value = np.asarray(value, dtype=float)
    if value.ndim == 0:
        return f"{float(value):.6g}"
    return f"array{value.shape}, max {value.max():.4g}, active {int(np.sum(value > 1e-9))}"


def projections_section(rng: np.random.Generator) -> None:
    """Project one matrix onto several sets; print duals and the checks."""
    print("== Projections: minimize ½‖W − V‖² s.t. W ∈ S ==")
    V = 2.0 * rng.normal(size=(8, 5))
    # Monotone rows: W[i, j] <= W[i + 1, j], as A @ vec(W) <= 0 (row-major vec).
    monotone = Polyhedron(np.kron(np.eye(7, 8) - np.eye(7, 8, 1), np.eye(5)), np.zeros(35))
    sets = [
        L2Ball(3.0),
        L1Ball(5.0),
        SpectralBall(2.0),
        NuclearBall(4.0),
        MaxNorm(1.0),
        NonNegative(),
        Box(-0.5, 0.5),
        Simplex(1.0),
        monotone,
        Intersection(NonNegative(), SpectralBall(1.0)),
    ]
    print(f"{'set':44s} {'method':12s} {'max |Δ| vs CVXPY':>18s} {'KKT':>9s}  duals")
    for S in sets:
        start = time.perf_counter()
        result = project(V, S)
        elapsed = time.perf_counter() - start
        diff = max(compare_with_cvxpy(V, S).values())
        kkt = projection_kkt(V, S, result).max()
        duals = "; ".join(f"{k}: {_fmt(v)}" for k, v in result.duals.items())
        name = repr(S) if len(repr(S)) <= 44 else repr(S)[:41] + "..."
        print(f"{name:44s} {result.method:12s} {diff:18.1e} {kkt:9.1e}  {duals}"
              f"  ({elapsed * 1e3:.2f} ms)")
    print()


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the process exit code.

    Examples
    --------
    >>> from cvxdual.demo import main
    >>> callable(main)
    True
    """
    parser = argparse.ArgumentParser(prog="python -m cvxdual", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller problems, fewer epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    projections_section(rng)
    return 0
