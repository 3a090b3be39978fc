"""Tests of cvxdual.convex_relu._program: the CVXPY definition, its duals and recovery."""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from cvxdual.convex_relu import (
    network_objective,
    recover_network,
)

from ._helpers import ALPHA, _augment


def test_program_is_dpp_and_reused(small_problem):
    _X, y, _D, prog, sol = small_problem
    assert prog.problem.is_dcp(dpp=True)
    sol2 = prog.solve(2 * y, ALPHA)  # same compiled problem, new parameter value
    assert sol2.objective > sol.objective
    assert prog.problem.status == cp.OPTIMAL
    sol3 = prog.solve(y, ALPHA)
    np.testing.assert_allclose(sol3.objective, sol.objective, rtol=1e-8)


def test_recovered_network_objective_equals_convex_optimum(small_problem):
    X, y, D, _prog, sol = small_problem
    U, a = recover_network(sol.v, sol.w)
    np.testing.assert_allclose(np.abs(a), np.linalg.norm(U, axis=0), rtol=1e-12)
    obj = network_objective(X, y, U, a, ALPHA)
    np.testing.assert_allclose(obj, sol.value, rtol=1e-7)
    np.testing.assert_allclose(obj, sol.objective, rtol=1e-7)
    # predictions of the network equal the convex model's Σ D_i X̃ (v_i − w_i)
    z = np.sum(D * (_augment(X) @ (sol.v - sol.w)), axis=1)
    np.testing.assert_allclose(np.maximum(_augment(X) @ U, 0) @ a, z, atol=1e-8)


def test_cvxpy_duals_satisfy_kkt(small_problem):
    X, y, D, prog, sol = small_problem
    Xt = _augment(X)
    S = 2.0 * D - 1.0
    mu_v, mu_w = sol.duals["cone_v"], sol.duals["cone_w"]
    np.testing.assert_array_equal(mu_v, prog.cone_v.dual_value)
    assert mu_v.min() >= -1e-9 and mu_w.min() >= -1e-9  # dual domain
    slack_v, slack_w = S * (Xt @ sol.v), S * (Xt @ sol.w)
    assert slack_v.min() >= -1e-8 and slack_w.min() >= -1e-8  # primal feasibility
    assert np.abs(mu_v * slack_v).max() < 1e-8  # complementarity
    # stationarity for each nonzero v_i: X̃ᵀ(S_i μ_i − D_i ν) = alpha v_i / ‖v_i‖
    nu = sol.duals["sample_duals"]
    np.testing.assert_allclose(nu, (np.sum(D * (Xt @ (sol.v - sol.w)), axis=1) - y) / len(y))
    G = Xt.T @ (S * mu_v - D * nu[:, None])
    nv = np.linalg.norm(sol.v, axis=0)
    on = nv > 1e-6 * nv.max()
    np.testing.assert_allclose(G[:, on], ALPHA * sol.v[:, on] / nv[on], atol=1e-6)
    assert np.linalg.norm(G, axis=0).max() <= ALPHA * (1 + 1e-5)
