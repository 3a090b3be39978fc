"""Tests of cvxdual.heads._faces: the ℓ1- and ℓ∞-ball solvers (FISTA faces, face Newton)."""

from __future__ import annotations

import numpy as np
import pytest
from heads_support import problem, radius_scale

from cvxdual.exceptions import SolverError
from cvxdual.heads import NormBoundedHead
from cvxdual.heads._config import _HeadConfig
from cvxdual.sets import L1Ball, LinfBall


@pytest.mark.parametrize("radius", [1e-8, 1e-12])
def test_l1_head_with_a_tiny_radius_is_solved_fast(radius):
    # The face constraint held to eps·|intercept|, which failed a relative check,
    # and the projected iterates' ℓ1 norm (a cancelling soft threshold) looked
    # interior; CVXPY's answer there had the dual 2.23 instead of 0.386.
    Phi, y = problem("squared", seed=23)
    sol = NormBoundedHead("squared", L1Ball(radius)).solve(Phi, y)
    assert sol.method == "face-newton-l1"
    assert np.abs(sol.coef).sum() <= radius * (1 + 1e-12)
    # λ = ‖∇_W f‖_∞ at the solution (KKT of the ℓ1 ball)
    grad = Phi.T @ sol.sample_duals
    assert sol.duals["norm"] == pytest.approx(np.abs(grad).max(), rel=1e-6)


@pytest.mark.parametrize("seed, radius", [(0, 0.5), (1, 0.5), (3, 0.2), (5, 0.2), (5, 0.5)])
def test_multinomial_linf_head_with_room_to_shift_rows_is_solved_fast(seed, radius):
    # Rows of W may shift in every class at no cost, so where the box leaves room the
    # optimum is not unique: the face search once never settled (or Newton left the
    # box along that direction) and these fell back to CVXPY.
    Phi, y = problem("multinomial", n=30, seed=seed)
    fast = NormBoundedHead("multinomial", LinfBall(radius)).solve(Phi, y)
    exact = NormBoundedHead("multinomial", LinfBall(radius), solver="CLARABEL").solve(Phi, y)
    assert fast.method == "face-newton-linf"
    assert np.abs(fast.coef).max() <= radius * (1 + 1e-9)
    assert fast.objective == pytest.approx(exact.objective, rel=1e-9)
    assert fast.duals["norm"] == pytest.approx(exact.duals["norm"], rel=1e-5)
    np.testing.assert_allclose(fast.sample_duals, exact.sample_duals, atol=1e-6)


@pytest.mark.parametrize("ball", [L1Ball, LinfBall])
def test_face_solvers_give_up_within_their_fista_budget(ball):
    # With no projected-gradient iterations a cold solve finds no face: CVXPY solves it.
    Phi, y = problem("squared", seed=44)
    radius = 0.3 * radius_scale("squared", Phi, y, ball)
    config = _HeadConfig(fista_max_iter=0)
    assert NormBoundedHead("squared", ball(radius), _config=config).solve(Phi, y).method == "cvxpy"
    with pytest.raises(SolverError, match="fast solver did not converge"):
        NormBoundedHead("squared", ball(radius), solver="fast", _config=config).solve(Phi, y)
    fast = NormBoundedHead("squared", ball(radius)).solve(Phi, y)
    assert fast.method.startswith("face-newton")
