"""The Lipschitz-margin head against its CVXPY definition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from cvxdual.exceptions import SolverError
from cvxdual.heads import HeadSolution, NormBoundedHead
from cvxdual.heads._margin import LipschitzMarginHead
from cvxdual.sets import L1Ball, L2Ball
from cvxdual.verify import finite_difference


def _data(loss, n=60, d=5, K=3, seed=0):
    rng = np.random.default_rng(seed)
    Phi = rng.normal(size=(n, d))
    if loss == "multinomial":
        y = np.argmax(Phi[:, :K] + 0.7 * rng.normal(size=(n, K)), axis=1)
    else:
        y = np.where(Phi[:, 0] - Phi[:, 1] + 0.7 * rng.normal(size=n) > 0, 1.0, -1.0)
    return Phi, y


def _objective(loss, margin, Phi, y, W, b, weights=None):
    """The margin log-loss written out directly (not through the head's code)."""
    n = len(Phi)
    weights = np.full(n, 1 / n) if weights is None else weights / weights.sum()
    z = Phi @ W + b
    if loss in ("logistic", "log_loss"):
        return float(weights @ np.logaddexp(0, -y * z[:, 0] + margin * np.linalg.norm(W)))
    labels = y.astype(int)
    gaps = np.linalg.norm(W[:, labels][:, :, None] - W[:, None, :], axis=0)  # (n, K)
    return float(weights @ (logsumexp(z + margin * gaps, axis=1) - z[np.arange(n), labels]))


def _centred(W):
    # The multinomial margin loss is invariant to adding one vector to every
    # column; only a binding norm bound fixes that component.
    return W - W.mean(axis=1, keepdims=True)


CASES = [
    ("multinomial", 0.3, 1.0),  # binding bound
    ("multinomial", 0.3, 50.0),  # bound not binding
    ("multinomial", 0.0, 1.0),
    ("log_loss", 0.3, 1.0),
    ("log_loss", 0.5, 50.0),
]


@pytest.mark.parametrize(("loss", "margin", "radius"), CASES)
def test_fast_solver_matches_cvxpy(loss, margin, radius, solver):
    Phi, y = _data(loss)
    fast = LipschitzMarginHead(loss, margin, L2Ball(radius), solver="fast").solve(Phi, y)
    exact = LipschitzMarginHead(loss, margin, L2Ball(radius), solver=solver).solve(Phi, y)
    assert fast.method == "lbfgs-margin-l2" and exact.method == "cvxpy"
    assert exact.solver == solver
    # the objective is the definition's, at the returned weights
    assert fast.objective == pytest.approx(
        _objective(loss, margin, Phi, y, fast.coef, fast.intercept), abs=1e-12
    )
    assert fast.objective == pytest.approx(exact.objective, abs=1e-7)
    np.testing.assert_allclose(fast.sample_duals, exact.sample_duals, atol=1e-6)
    assert fast.duals["norm"] == pytest.approx(exact.duals["norm"], abs=1e-6)
    coef, ref = fast.coef, exact.coef
    if loss == "multinomial" and exact.duals["norm"] < 1e-6:
        coef, ref = _centred(coef), _centred(ref)
    np.testing.assert_allclose(coef, ref, atol=2e-5)
    # KKT: stationarity in z gives the sample duals, and the norm dual is >= 0
    assert exact.duals["norm"] >= -1e-8
    if exact.duals["norm"] > 1e-6:
        assert np.linalg.norm(fast.coef) == pytest.approx(radius, rel=1e-9)


def test_sample_weights_and_no_constraint(solver):
    Phi, y = _data("multinomial", seed=1)
    weights = np.random.default_rng(1).uniform(0.2, 2.0, size=len(y))
    fast = LipschitzMarginHead("multinomial", 0.4, L2Ball(2.0)).solve(Phi, y, weights)
    exact = LipschitzMarginHead("multinomial", 0.4, L2Ball(2.0), solver=solver).solve(
        Phi, y, weights
    )
    assert fast.objective == pytest.approx(exact.objective, abs=1e-7)
    assert fast.objective == pytest.approx(
        _objective("multinomial", 0.4, Phi, y, fast.coef, fast.intercept, weights), abs=1e-12
    )
    np.testing.assert_allclose(fast.sample_duals, exact.sample_duals, atol=1e-6)
    # Unbounded head on non-separable data: the margin alone keeps W finite.
    free = LipschitzMarginHead("log_loss", 0.3).solve(*_data("log_loss", seed=2))
    ref = LipschitzMarginHead("log_loss", 0.3, solver=solver).solve(*_data("log_loss", seed=2))
    assert free.method == "lbfgs-margin" and free.duals == {} == ref.duals
    assert free.objective == pytest.approx(ref.objective, abs=1e-7)
    np.testing.assert_allclose(free.coef, ref.coef, atol=5e-5)


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_zero_margin_is_the_plain_head(loss):
    Phi, y = _data(loss, seed=3)
    margin = LipschitzMarginHead(loss, 0.0, L2Ball(1.0)).solve(Phi, y)
    plain = NormBoundedHead(loss, L2Ball(1.0)).solve(Phi, y)
    assert margin.objective == pytest.approx(plain.objective, abs=1e-10)
    np.testing.assert_allclose(margin.coef, plain.coef, atol=1e-6)
    np.testing.assert_allclose(margin.sample_duals, plain.sample_duals, atol=1e-8)


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_feature_gradient_is_the_envelope_gradient(loss):
    Phi, y = _data(loss, n=12, d=3, seed=4)
    head = LipschitzMarginHead(loss, 0.3, L2Ball(1.0))
    solution = head.solve(Phi, y)
    assert solution.method == "lbfgs-margin-l2"

    def value(P):
        return head.solve(P, y, warm_start=solution).objective

    numeric = finite_difference(value, Phi, step=1e-5)
    np.testing.assert_allclose(solution.feature_gradient(), numeric, atol=1e-7)


def test_warm_start_and_compiled_once(solver):
    Phi, y = _data("multinomial", seed=5)
    head = LipschitzMarginHead("multinomial", 0.3, L2Ball(1.0), solver=solver)
    first = head.solve(Phi, y)
    problem = head.compiled(*Phi.shape, 3)
    moved = Phi + 0.05 * np.random.default_rng(5).normal(size=Phi.shape)
    again = head.solve(moved, y)
    assert head.compiled(*Phi.shape, 3) is problem  # re-solved, not rebuilt
    fresh = LipschitzMarginHead("multinomial", 0.3, L2Ball(1.0), solver=solver).solve(moved, y)
    assert again.objective == pytest.approx(fresh.objective, abs=1e-8)
    warm = LipschitzMarginHead("multinomial", 0.3, L2Ball(1.0)).solve(moved, y, warm_start=first)
    assert warm.objective == pytest.approx(fresh.objective, abs=1e-7)


def test_kink_at_the_solution_falls_back_to_cvxpy():
    # A margin this large makes every column equal at the optimum (W = 0),
    # where the objective is not differentiable: the fast solver must not
    # certify anything, and "auto" solves the CVXPY problem.
    Phi, y = _data("multinomial", seed=6)
    head = LipschitzMarginHead("multinomial", 20.0, L2Ball(1.0))
    solution = head.solve(Phi, y)
    assert solution.method == "cvxpy"
    assert np.abs(solution.coef).max() < 1e-5
    with pytest.raises(SolverError, match="could not certify"):
        LipschitzMarginHead("multinomial", 20.0, L2Ball(1.0), solver="fast").solve(Phi, y)


def test_other_constraints_use_cvxpy():
    Phi, y = _data("multinomial", seed=7)
    head = LipschitzMarginHead("multinomial", 0.2, L1Ball(1.0))
    assert not head.has_fast_solver
    solution = head.solve(Phi, y)
    assert solution.method == "cvxpy" and set(solution.duals) == {"norm"}
    assert isinstance(solution, HeadSolution)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": "squared", "margin": 0.1}, "loss must be one of"),
        ({"loss": "multinomial", "margin": -1.0}, "margin must be a finite number >= 0"),
        ({"loss": "multinomial", "margin": np.inf}, "margin must be a finite number >= 0"),
        ({"loss": "multinomial", "margin": 0.1, "constraint": "ball"}, "ConvexSet"),
        (
            {"loss": "multinomial", "margin": 0.1, "constraint": L1Ball(1.0), "solver": "fast"},
            "solver='fast' needs",
        ),
    ],
)
def test_invalid_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LipschitzMarginHead(**kwargs)


def test_invalid_data():
    head = LipschitzMarginHead("multinomial", 0.1)
    with pytest.raises(ValueError, match="features must be"):
        head.solve(np.array([1.0, 2.0]), [0, 1])
    with pytest.raises(ValueError, match="sample_weight"):
        head.solve(np.eye(2), [0, 1], sample_weight=[-1.0, 1.0])
    with pytest.raises(ValueError, match="samples"):
        head.solve(np.eye(2), [0, 1, 1])
