"""Fixtures of the convex ReLU tests."""

from __future__ import annotations

import pytest

from cvxdual.convex_relu import (
    ConvexReLUProgram,
    enumerate_patterns,
)

from ._helpers import ALPHA, _data


@pytest.fixture(scope="package")
def small_problem():
    X, y = _data(20, 2, seed=7)
    D = enumerate_patterns(X)
    prog = ConvexReLUProgram(X, D)
    sol = prog.solve(y, ALPHA)
    sol.value = prog.problem.value  # CVXPY's optimal value, kept before any re-solve
    return X, y, D, prog, sol
