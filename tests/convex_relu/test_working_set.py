"""Tests of cvxdual.convex_relu._working_set: constraint and column generation."""

from __future__ import annotations

import numpy as np
import pytest

from cvxdual.convex_relu import (
    _certificate,
    _common,
    _working_set,
    network_objective,
    recover_network,
    sample_patterns,
    solve_convex_relu,
)

from ._helpers import ALPHA, _augment, _data, _dual_feasibility, _fast_stages


@pytest.mark.parametrize("stage", ["interior-point", "working-set"])
@pytest.mark.parametrize("n, d, n_gates, alpha", [(40, 4, 30, 1e-2), (80, 6, 60, 2e-3)])
def test_fast_stages_match_cvxpy_two_sizes(n, d, n_gates, alpha, stage):
    # "working-set": the interior-point stage skipped
    schedule = {"ipm_max_iter": 0} if stage == "working-set" else {}
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, d))
    y = np.sin(X @ rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)
    D = sample_patterns(X, n_gates, random_state=1)
    fast = _fast_stages(X, y, alpha, D, **schedule)
    ref = solve_convex_relu(X, y, alpha, D, method="cvxpy", solver="CLARABEL")
    assert fast.converged and fast.relative_gap <= 1e-5
    # the stage that produced the answer: the interior-point method, or the
    # exact working-set solve
    assert fast.solver == ("interior-point" if stage == "interior-point" else "CLARABEL")
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-5)
    assert fast.lower_bound <= ref.objective * (1 + 1e-9)
    assert ref.lower_bound <= fast.objective * (1 + 1e-9)
    # the certificate's multipliers are a dual-feasible point: every neuron's
    # dual constraint holds at the scaled ν, and μ ≥ 0
    assert min(fast.duals["cone_v"].min(), fast.duals["cone_w"].min()) >= 0
    assert _dual_feasibility(X, D, fast, alpha) <= 1 + 1e-9
    # exactly cone-feasible weights, whose network has exactly the objective
    S = 2.0 * D - 1.0
    assert (S * (_augment(X) @ fast.v)).min() >= -1e-12
    assert (S * (_augment(X) @ fast.w)).min() >= -1e-12
    U, a = recover_network(fast.v, fast.w)
    np.testing.assert_allclose(network_objective(X, y, U, a, alpha), fast.objective, rtol=1e-10)
    # the same predictions as the CVXPY optimum (the fitted values are unique)
    Xt = _augment(X)
    np.testing.assert_allclose(np.sum(D * (Xt @ (fast.v - fast.w)), axis=1),
                               np.sum(D * (Xt @ (ref.v - ref.w)), axis=1), atol=1e-3)


@pytest.mark.parametrize("loss", ["squared", "squared_hinge"])
def test_direct_clarabel_restricted_problem_matches_cvxpy(loss):
    X, y = _data(30, 3, seed=13)
    if loss != "squared":
        y = np.where(y > np.median(y), 1.0, -1.0)
    D = sample_patterns(X, 20, random_state=0)
    cert = _certificate._Certifier(_augment(X), D, _common._get_loss(loss), y, ALPHA)
    groups = np.array([0, 3, 5, 8, 21, 30])
    rows = np.random.default_rng(0).random((30, groups.size)) < 0.5  # a cone-row subset
    th_a, mu_a, name = _working_set._restricted_clarabel(cert, groups, rows)
    th_b, _, _ = _working_set._restricted_cvxpy(cert, groups, rows, "CLARABEL")
    assert name == "CLARABEL"
    full_a, full_b = np.zeros((4, 40)), np.zeros((4, 40))
    full_a[:, groups], full_b[:, groups] = th_a, th_b
    np.testing.assert_allclose(cert.primal(full_a), cert.primal(full_b), rtol=1e-7)
    np.testing.assert_allclose(th_a, th_b, atol=1e-5)
    # the multipliers need not be unique: check the KKT conditions they certify
    assert np.all(mu_a[~rows] == 0) and mu_a.min() >= 0
    Xt = _augment(X)
    S, MS = cert.S[:, groups], cert.MS[:, groups]
    slack = S * (Xt @ th_a)
    assert slack[rows].min() >= -1e-7 and np.abs(mu_a * slack).max() < 1e-7
    nu = cert.loss_derivative(np.sum(MS * (Xt @ th_a), axis=1)) / len(y)
    G = Xt.T @ (S * mu_a - MS * nu[:, None])
    nrm = np.linalg.norm(th_a, axis=0)
    on = nrm > 1e-6 * nrm.max()
    assert on.any()
    np.testing.assert_allclose(G[:, on], ALPHA * th_a[:, on] / nrm[on], atol=1e-5)
    assert np.linalg.norm(G, axis=0).max() <= ALPHA * (1 + 1e-4)


def test_working_set_from_cold_and_warm_iterates_agree():
    # the working-set path only (no interior-point stage)
    X, y = _data(50, 4, seed=14)
    D = sample_patterns(X, 40, random_state=2)
    warm = _fast_stages(X, y, 5e-3, D, ipm_max_iter=0)
    # cold: the working set starts from a one-iteration iterate
    cold = _fast_stages(X, y, 5e-3, D, ipm_max_iter=0, warmup_iters=1)
    assert cold.converged and warm.converged
    assert cold.n_iter < warm.n_iter
    np.testing.assert_allclose(cold.objective, warm.objective, rtol=1e-5)
    assert max(cold.lower_bound, warm.lower_bound) <= min(cold.objective, warm.objective) * (
        1 + 1e-9)
    # deterministic
    again = _fast_stages(X, y, 5e-3, D, ipm_max_iter=0, warmup_iters=1)
    assert again.objective == cold.objective
