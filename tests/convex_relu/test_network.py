"""Tests of cvxdual.convex_relu._network: pruning networks."""

from __future__ import annotations

import numpy as np

from cvxdual.convex_relu import (
    enumerate_patterns,
    network_objective,
    prune_network,
    recover_network,
    solve_convex_relu,
)

from ._helpers import ALPHA, _augment, _data


def test_pruning_keeps_objective_and_predictions():
    X, y = _data(6, 2, seed=5)
    rng = np.random.default_rng(0)
    U = rng.standard_normal((3, 25))
    a = rng.standard_normal(25)
    # balance first: the pruned network is balanced
    c = np.linalg.norm(U, axis=0) * np.abs(a)
    Ub, ab = U / np.linalg.norm(U, axis=0) * np.sqrt(c), np.sign(a) * np.sqrt(c)
    U2, a2 = prune_network(X, U, a)
    assert U2.shape[1] <= X.shape[0] + 1 < U.shape[1]
    Xt = _augment(X)
    np.testing.assert_allclose(np.maximum(Xt @ U2, 0) @ a2, np.maximum(Xt @ U, 0) @ a,
                               atol=1e-10)
    np.testing.assert_allclose(network_objective(X, y, U2, a2, ALPHA),
                               network_objective(X, y, Ub, ab, ALPHA), rtol=1e-10)


def test_pruning_a_convex_solution():
    X, y = _data(8, 2, seed=6)
    sol = solve_convex_relu(X, y, 1e-4, enumerate_patterns(X), method="cvxpy")
    U, a = recover_network(sol.v, sol.w)
    U2, a2 = prune_network(X, U, a)
    assert U2.shape[1] <= X.shape[0] + 1
    np.testing.assert_allclose(network_objective(X, y, U2, a2, 1e-4), sol.objective, rtol=1e-7)
