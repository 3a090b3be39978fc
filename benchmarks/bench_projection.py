"""Projection speed against bare NumPy closed forms and naive CVXPY re-solves.

Run: ``python benchmarks/bench_projection.py [--threads 1]``. Prints a markdown table of
ratios measured in this process (ours / baseline; below 1 means faster).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cvxpy as cp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import add_threads_option, best_time, row, thread_limit

from cvxdual import project
from cvxdual.sets import (
    Box,
    L1Ball,
    L2Ball,
    LinfBall,
    MaxNorm,
    NonNegative,
    NuclearBall,
    Polyhedron,
    Simplex,
    SpectralBall,
)


def naive_cvxpy(V, S):
    """Build and solve the defining CVXPY problem from scratch (the baseline)."""
    W = cp.Variable(V.shape)
    constraints = S.constraints(W)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W - V)), list(constraints.values()))
    problem.solve(solver="CLARABEL")
    return W.value, {k: c.dual_value for k, c in constraints.items()}


def bare_l2(V, r):
    norm = np.linalg.norm(V)
    return V * (r / norm) if norm > r else V


def bare_svd_clip(V, r):
    U, s, Vt = np.linalg.svd(V, full_matrices=False)
    return (U * np.minimum(s, r)) @ Vt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_threads_option(parser)
    with thread_limit(parser.parse_args().threads):
        _run()


def _run() -> None:
    rng = np.random.default_rng(0)
    print("| case | ours (ms) | baseline (ms) | ratio | target |")
    print("|---|---|---|---|---|")

    V = rng.normal(size=(512, 512))
    S = L2Ball(10.0)
    print(row("L2Ball 512×512 vs bare NumPy", best_time(lambda: project(V, S), number=20),
              best_time(lambda: bare_l2(V, 10.0), number=20), "≤ 2"))

    V = rng.normal(size=(256, 256))
    S = SpectralBall(2.0)
    print(row("SpectralBall 256×256 vs bare SVD clip", best_time(lambda: project(V, S)),
              best_time(lambda: bare_svd_clip(V, 2.0)), "≤ 1.5"))

    V = 2 * rng.normal(size=(64, 64))  # the hidden-layer size of bench_mlp.py
    for S in (L2Ball(3.0), L1Ball(5.0), LinfBall(0.5), SpectralBall(2.0), NuclearBall(4.0),
              MaxNorm(1.0), NonNegative(), Box(-0.5, 0.5), Simplex(1.0)):
        print(row(f"{S!r} 64×64 vs CVXPY build+solve", best_time(lambda: project(V, S)),  # noqa: B023
                  # Rebuilt from scratch on every call: nothing to warm up.
                  best_time(lambda: naive_cvxpy(V, S), repeat=1, warmup=False),  # noqa: B023
                  "≤ 0.001"))

    A = rng.normal(size=(20, 32 * 16))
    b = rng.uniform(0.5, 1.0, 20)
    S = Polyhedron(A, b)
    V = rng.normal(size=(32, 16))
    print(row("Polyhedron 32×16, 20 rows: compiled vs CVXPY build+solve",
              best_time(lambda: project(V, S)), best_time(lambda: naive_cvxpy(V, S)), "≤ 0.5"))


if __name__ == "__main__":
    main()
