"""Tests of cvxdual.heads._cvxpy: the CVXPY definition of the head problem and its duals."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from heads_support import assert_same, problem, radius_scale

from cvxdual.heads import NormBoundedHead
from cvxdual.heads._config import _HeadConfig
from cvxdual.losses import get_loss
from cvxdual.sets import L1Ball, L2Ball, LinfBall, NonNegative


@pytest.mark.parametrize("loss", ["squared", "log_loss"])
@pytest.mark.parametrize("ball", [L2Ball, L1Ball])
def test_two_cvxpy_solvers_and_weights(loss, ball):
    Phi, y = problem(loss, n=25, d=3, seed=3)
    weights = np.random.default_rng(3).uniform(0.2, 2.0, size=25)
    radius = 0.4 * radius_scale(loss, Phi, y, ball)
    fast = NormBoundedHead(loss, ball(radius)).solve(Phi, y, sample_weight=weights)
    for solver in ("CLARABEL", "SCS"):
        exact = NormBoundedHead(loss, ball(radius), solver=solver).solve(
            Phi, y, sample_weight=weights
        )
        assert exact.solver == solver
        assert_same(fast, exact, loss=loss)


def test_cvxpy_dual_sign_convention():
    # CVXPY's Lagrangian is f + <ν, Phi W + b − z>, so ν = +w ∂ℓ/∂z (not minus).
    Phi, y = problem("log_loss", n=20, d=3, seed=7)
    sol = NormBoundedHead("log_loss", L2Ball(0.3), solver="CLARABEL").solve(Phi, y)
    Y = get_loss("log_loss").encode_targets(y)
    expected = get_loss("log_loss").gradient(Phi @ sol.coef + sol.intercept, Y) / 20
    # Clarabel's exponential-cone duals are accurate to about 1e-5 relative.
    np.testing.assert_allclose(sol.sample_duals, expected, rtol=1e-4)
    assert np.max(np.abs(sol.sample_duals + expected)) > 1e-3  # the opposite sign is far


@pytest.mark.parametrize("loss", ["hinge", "multiclass_hinge", "multiclass_squared_hinge"])
def test_nonsmooth_losses_use_cvxpy_and_satisfy_kkt(loss):
    Phi, y = problem(loss, seed=14)
    sol = NormBoundedHead(loss, L2Ball(0.2)).solve(Phi, y)
    assert sol.method == "cvxpy"
    assert sol.duals["norm"] > 0
    assert np.linalg.norm(sol.coef) == pytest.approx(0.2, rel=1e-7)
    # Stationarity in W and b holds for any subgradient the solver picked.
    g = Phi.T @ sol.sample_duals
    scale = np.max(np.abs(g))
    np.testing.assert_allclose(g, -sol.duals["norm"] * sol.coef / 0.2, atol=1e-5 * scale)
    np.testing.assert_allclose(sol.sample_duals.sum(axis=0), 0.0, atol=1e-8)
    if loss == "hinge":
        # ν is w ∂ℓ/∂z away from the kink at margin 1, and in [0, w] times −s at it.
        Y = get_loss(loss).encode_targets(y)
        z = Phi @ sol.coef + sol.intercept
        away = np.abs(Y * z - 1.0)[:, 0] > 1e-4
        expected = get_loss(loss).gradient(z, Y) / 40
        np.testing.assert_allclose(sol.sample_duals[away], expected[away], atol=1e-7)
        t = -(Y * sol.sample_duals)[~away] * 40
        assert np.all((t >= -1e-7) & (t <= 1 + 1e-7))


def test_other_sets_and_no_constraint():
    Phi, y = problem("squared", seed=15)
    for S, keys in [(LinfBall(0.2), {"norm"}), (NonNegative(), {"nonneg"})]:
        sol = NormBoundedHead("squared", S, solver="cvxpy").solve(Phi, y)
        assert sol.method == "cvxpy"
        assert set(sol.duals) == keys
        assert S.violation(sol.coef) <= 1e-8
    free = NormBoundedHead("squared").solve(Phi, y)
    assert free.method == "newton" and free.duals == {}
    lstsq = np.linalg.lstsq(np.column_stack([Phi, np.ones(40)]), y, rcond=None)[0]
    np.testing.assert_allclose(free.coef[:, 0], lstsq[:4], rtol=1e-8)
    np.testing.assert_allclose(free.intercept, lstsq[4:], rtol=1e-8)
    exact = NormBoundedHead("squared", solver="cvxpy").solve(Phi, y)
    assert exact.objective == pytest.approx(free.objective, rel=1e-8)


def test_no_intercept():
    Phi, y = problem("log_loss", seed=16)
    fast = NormBoundedHead("log_loss", L2Ball(0.3), fit_intercept=False).solve(Phi, y)
    exact = NormBoundedHead("log_loss", L2Ball(0.3), fit_intercept=False, solver="cvxpy").solve(
        Phi, y
    )
    np.testing.assert_array_equal(fast.intercept, [0.0])
    assert_same(fast, exact, loss="log_loss")


def test_compiled_problem_is_reused_for_new_data():
    head = NormBoundedHead("log_loss", L2Ball(0.3), solver="cvxpy")
    Phi, y = problem("log_loss", n=20, d=3, seed=17)
    first = head.solve(Phi, y)
    second = head.solve(2.0 * Phi, y)
    assert len(head._compiled) == 1
    assert head.compiled(20, 3, 1).problem.is_dcp(dpp=True)
    assert not np.allclose(first.coef, second.coef)
    fresh = NormBoundedHead("log_loss", L2Ball(0.3), solver="cvxpy").solve(2.0 * Phi, y)
    np.testing.assert_allclose(second.coef, fresh.coef, rtol=1e-6)


def test_large_problems_build_cvxpy_with_constants():
    # Above dpp_max_entries the CVXPY problem is built for the data (no DPP cache).
    Phi, y = problem("log_loss", n=20, d=3, seed=21)
    cached = NormBoundedHead("log_loss", L2Ball(0.3), solver="cvxpy").solve(Phi, y)
    config = replace(_HeadConfig(), dpp_max_entries=0)
    head = NormBoundedHead("log_loss", L2Ball(0.3), solver="cvxpy", _config=config)
    constant = head.solve(Phi, y, sample_weight=np.ones(20))
    assert head._compiled == {}
    assert constant.objective == pytest.approx(cached.objective, rel=1e-8)
    np.testing.assert_allclose(constant.coef, cached.coef, rtol=1e-6)
    np.testing.assert_allclose(constant.sample_duals, cached.sample_duals, rtol=1e-5)
