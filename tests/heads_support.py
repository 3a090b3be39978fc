"""Problems and comparisons shared by the head tests (tests/test_heads*.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cvxdual.heads import HeadSolution, NormBoundedHead
from cvxdual.losses import get_loss
from cvxdual.sets import L2Ball, LinfBall

FAST_LOSSES = ["squared", "log_loss", "multinomial", "squared_hinge"]


def problem(loss, n=40, d=4, seed=0, K=3):
    """Features and targets with noise, so that the unconstrained optimum exists."""
    rng = np.random.default_rng(seed)
    Phi = rng.normal(size=(n, d))
    if loss == "squared":
        y = Phi @ rng.normal(size=d) + 0.5 * rng.normal(size=n) + 1.0
    elif loss in ("multinomial", "multiclass_hinge", "multiclass_squared_hinge"):
        y = np.argmax(Phi[:, :K] + 1.5 * rng.normal(size=(n, K)), axis=1)
    else:
        y = np.where(Phi[:, 0] + 1.0 * rng.normal(size=n) > 0.3, 1.0, -1.0)
    return Phi, y


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))


def assert_same(fast: HeadSolution, exact: HeadSolution, *, loss, coef_rtol=1e-4):
    assert fast.objective == pytest.approx(exact.objective, rel=1e-6)
    if loss == "multinomial":
        # The loss only sees differences between classes: with an ℓ∞ bound a row
        # of W with no entry at ±r can shift freely, so compare centred rows.
        def centred(coef):
            return coef - coef.mean(axis=1, keepdims=True)

        assert rel(centred(fast.coef), centred(exact.coef)) <= coef_rtol
    else:
        assert rel(fast.coef, exact.coef) <= coef_rtol
    lam_f, lam_e = fast.duals["norm"], exact.duals["norm"]
    assert abs(lam_f - lam_e) <= 1e-4 * max(abs(lam_e), 1e-6)
    assert rel(fast.sample_duals, exact.sample_duals) <= 1e-4
    if loss == "multinomial":
        # Intercepts are defined up to a common shift.
        assert (
            rel(fast.intercept - fast.intercept.mean(), exact.intercept - exact.intercept.mean())
            <= 1e-4
        )
    else:
        assert rel(fast.intercept, exact.intercept) <= 1e-4


def radius_scale(loss, Phi, y, ball):
    """The norm of the unconstrained optimum (in the ball's norm)."""
    sol = NormBoundedHead(loss).solve(Phi, y)
    coef = sol.coef
    if ball is L2Ball:
        return float(np.linalg.norm(coef))
    if ball is LinfBall:
        if loss == "multinomial":
            # The mid-range shift of each row has the least largest entry.
            coef = coef - 0.5 * (coef.max(axis=1, keepdims=True) + coef.min(axis=1, keepdims=True))
        return float(np.abs(coef).max())
    if loss == "multinomial":
        # Rows of W can be shifted freely; the median shift has the least ℓ1 norm.
        coef = coef - np.median(coef, axis=1, keepdims=True)
    return float(np.abs(coef).sum())


def kkt_residuals(sol, loss, Phi, y, ball, radius, weights=None):
    """Each KKT condition of the head problem, as a number that should be ~0."""
    loss = get_loss(loss)
    Y = loss.encode_targets(y)
    n = Phi.shape[0]
    w = np.full(n, 1.0 / n) if weights is None else weights / weights.sum()
    z = Phi @ sol.coef + sol.intercept
    lam = sol.duals["norm"]
    nu = sol.sample_duals
    out = {
        # ν is w ∂ℓ/∂z: stationarity in z with CVXPY's sign convention.
        "nu": np.max(np.abs(nu - w[:, None] * loss.gradient(z, Y))),
        # Stationarity in b: Σ_i ν_i = 0.
        "intercept": np.max(np.abs(nu.sum(axis=0))),
        "dual_feasible": max(-lam, 0.0),
    }
    g = Phi.T @ nu
    if ball is L2Ball:
        norm = np.linalg.norm(sol.coef)
        out["stationarity"] = np.max(np.abs(g + lam * sol.coef / max(norm, 1e-300)))
    elif ball is LinfBall:
        norm = np.abs(sol.coef).max()
        at_bound = np.abs(sol.coef) >= radius * (1 - 1e-9)
        out["stationarity"] = max(
            np.max(np.abs(g[~at_bound]), initial=0.0),  # free coefficients: zero gradient
            np.max(g[at_bound] * np.sign(sol.coef[at_bound]), initial=0.0),  # pushes outward
            abs(np.abs(g).sum() - lam),  # λ = ‖∇_W f‖_1
        )
    else:
        norm = np.abs(sol.coef).sum()
        on = np.abs(sol.coef) > 1e-8 * max(np.abs(sol.coef).max(), 1e-300)
        out["stationarity"] = max(
            np.max(np.abs(g[on] + lam * np.sign(sol.coef[on])), initial=0.0),
            max(np.max(np.abs(g)) - lam, 0.0),
        )
    out["primal_feasible"] = max(norm - radius, 0.0)
    out["complementarity"] = abs(lam * (norm - radius))
    return out
