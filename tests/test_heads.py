"""Tests of cvxdual.heads: the public head against the CVXPY definition, dispatch, config."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import replace

import numpy as np
import pytest
from heads_support import FAST_LOSSES, assert_same, kkt_residuals, problem, radius_scale

from cvxdual.exceptions import SolverError
from cvxdual.heads import NormBoundedHead
from cvxdual.heads import _config as config_module
from cvxdual.heads._config import _DEFAULT_CONFIG, _HeadConfig
from cvxdual.heads._head import _FAST_SOLVERS
from cvxdual.sets import L1Ball, L2Ball, LinfBall, NonNegative


@pytest.mark.parametrize("loss", FAST_LOSSES)
@pytest.mark.parametrize("ball", [L2Ball, L1Ball, LinfBall])
@pytest.mark.parametrize("where", ["binding", "near", "inside"])
def test_fast_solver_matches_cvxpy(loss, ball, where):
    Phi, y = problem(loss)
    scale = radius_scale(loss, Phi, y, ball)
    radius = {"binding": 0.3 * scale, "near": 0.9 * scale, "inside": 1.5 * scale}[where]
    fast = NormBoundedHead(loss, ball(radius)).solve(Phi, y)
    exact = NormBoundedHead(loss, ball(radius), solver="CLARABEL").solve(Phi, y)
    assert fast.method != "cvxpy" and exact.method == "cvxpy"
    assert fast.status == exact.status == "optimal"
    if where == "inside":
        assert fast.duals["norm"] == 0.0
        assert exact.duals["norm"] <= 1e-7
        # The bound does not bind, so only the objective is unique for the
        # multinomial loss (rows of W can be shifted); compare that only.
        assert fast.objective == pytest.approx(exact.objective, rel=1e-6)
        if loss != "multinomial":
            assert_same(fast, exact, loss=loss)
    else:
        assert fast.duals["norm"] > 0
        assert_same(fast, exact, loss=loss)


@pytest.mark.parametrize("loss", FAST_LOSSES)
@pytest.mark.parametrize("ball", [L2Ball, L1Ball, LinfBall])
def test_kkt_conditions_of_fast_solution(loss, ball):
    Phi, y = problem(loss, seed=5)
    weights = np.random.default_rng(5).uniform(0.5, 1.5, size=Phi.shape[0])
    radius = 0.5 * radius_scale(loss, Phi, y, ball)
    sol = NormBoundedHead(loss, ball(radius)).solve(Phi, y, sample_weight=weights)
    residuals = kkt_residuals(sol, loss, Phi, y, ball, radius, weights)
    scale = np.max(np.abs(Phi.T @ sol.sample_duals))
    for name, value in residuals.items():
        assert value <= 1e-7 * max(scale, 1.0), (name, value)


@pytest.mark.parametrize(
    ("loss", "ball"),
    [("log_loss", L2Ball), ("squared", L1Ball), ("multinomial", L2Ball), ("hinge", L2Ball)],
)
def test_objective_derivative_in_radius_is_minus_dual(loss, ball):
    Phi, y = problem(loss, seed=8)
    r = 0.5 * radius_scale(loss if loss != "hinge" else "squared_hinge", Phi, y, ball)
    h = 1e-4 * r

    def objective(radius):
        return NormBoundedHead(loss, ball(radius)).solve(Phi, y).objective

    derivative = (objective(r + h) - objective(r - h)) / (2 * h)
    lam = NormBoundedHead(loss, ball(r)).solve(Phi, y).duals["norm"]
    assert lam > 0
    assert derivative == pytest.approx(-lam, rel=1e-4)


@pytest.mark.parametrize("loss", ["log_loss", "multinomial", "squared"])
@pytest.mark.parametrize("ball", [L2Ball, L1Ball])
def test_feature_gradient_matches_finite_differences(loss, ball):
    Phi, y = problem(loss, n=15, d=3, seed=9)
    r = 0.5 * radius_scale(loss, Phi, y, ball)
    head = NormBoundedHead(loss, ball(r))
    sol = head.solve(Phi, y)
    grad = sol.feature_gradient()
    assert grad.shape == Phi.shape
    np.testing.assert_allclose(grad, sol.sample_duals @ sol.coef.T)
    eps = 1e-6
    for i, j in [(0, 0), (3, 1), (7, 2), (14, 0)]:
        plus, minus = Phi.copy(), Phi.copy()
        plus[i, j] += eps
        minus[i, j] -= eps
        numeric = (head.solve(plus, y).objective - head.solve(minus, y).objective) / (2 * eps)
        assert numeric == pytest.approx(grad[i, j], rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("ball", [L2Ball, L1Ball, LinfBall])
def test_warm_start_reduces_iterations(ball):
    Phi, y = problem("log_loss", n=60, d=6, seed=10)
    r = 0.5 * radius_scale("log_loss", Phi, y, ball)
    head = NormBoundedHead("log_loss", ball(r))
    previous = head.solve(Phi, y)
    Phi2 = Phi + 0.01 * np.random.default_rng(1).normal(size=Phi.shape)
    cold = head.solve(Phi2, y)
    warm = head.solve(Phi2, y, warm_start=previous)
    assert warm.n_iter < cold.n_iter
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
    np.testing.assert_allclose(warm.coef, cold.coef, rtol=1e-5, atol=1e-8)


def test_multi_output_squared_and_shapes():
    rng = np.random.default_rng(12)
    Phi = rng.normal(size=(30, 4))
    Y = Phi @ rng.normal(size=(4, 2)) + 0.3 * rng.normal(size=(30, 2))
    fast = NormBoundedHead("squared", L2Ball(0.8)).solve(Phi, Y)
    exact = NormBoundedHead("squared", L2Ball(0.8), solver="CLARABEL").solve(Phi, Y)
    assert fast.coef.shape == (4, 2) and fast.intercept.shape == (2,)
    assert fast.sample_duals.shape == (30, 2)
    assert_same(fast, exact, loss="squared")
    binary = NormBoundedHead("log_loss", L2Ball(0.3)).solve(*problem("log_loss"))
    assert binary.coef.shape == (4, 1) and binary.sample_duals.shape == (40, 1)


def test_multinomial_fast_intercepts_are_centred():
    Phi, y = problem("multinomial", seed=13)
    sol = NormBoundedHead("multinomial", L2Ball(0.5)).solve(Phi, y)
    assert sol.coef.shape == (4, 3)
    assert abs(sol.intercept.sum()) < 1e-10
    np.testing.assert_allclose(sol.coef.sum(axis=1), 0.0, atol=1e-10)


@pytest.mark.parametrize(
    "ball, scale",
    [
        *[
            (ball, scale)
            for ball in (None, L2Ball, L1Ball, LinfBall)
            for scale in (1e-16, 1e-9, 1e-3, 1e12)
        ],
    ],
)
def test_fast_solver_is_exact_at_any_feature_scale(ball, scale):
    # Scaling the features by c and the radius by 1/c scales W by 1/c and λ by c;
    # the fast solvers once returned the intercept-only fit (multinomial gauge term
    # at one scale for all coordinates) or gave up, and CVXPY then returned
    # inaccurate "optimal" answers.
    Phi, y = problem("multinomial", n=30, seed=21)
    ref = NormBoundedHead("multinomial", ball(0.5) if ball else None).solve(Phi, y)
    head = NormBoundedHead("multinomial", ball(0.5 / scale) if ball else None)
    sol = head.solve(Phi * scale, y)
    assert sol.method != "cvxpy"
    assert sol.objective == pytest.approx(ref.objective, rel=1e-12)
    np.testing.assert_allclose(sol.coef * scale, ref.coef, atol=1e-9)
    np.testing.assert_allclose(sol.intercept, ref.intercept, atol=1e-9)
    np.testing.assert_allclose(sol.sample_duals, ref.sample_duals, atol=1e-12)
    if ball is not None:
        assert sol.duals["norm"] / scale == pytest.approx(ref.duals["norm"], rel=1e-9)


def test_mixed_feature_scales_unconstrained_multinomial():
    Phi, y = problem("multinomial", n=30, seed=22)
    ref = NormBoundedHead("multinomial").solve(Phi, y)
    column_scales = np.array([1e-8, 1.0, 1e6, 1.0])
    sol = NormBoundedHead("multinomial").solve(Phi * column_scales, y)
    assert sol.method == "newton"
    assert sol.objective == pytest.approx(ref.objective, rel=1e-12)
    np.testing.assert_allclose(sol.coef * column_scales[:, None], ref.coef, atol=1e-8)


@pytest.mark.parametrize("ball", [L2Ball, L1Ball, LinfBall])
def test_features_without_signal(ball):
    # ∇_W f = 0 at W = 0 (all-zero features): W = 0 is optimal and the bound inactive.
    y = np.where(np.arange(20) % 3 == 0, 1.0, -1.0)
    sol = NormBoundedHead("log_loss", ball(0.5)).solve(np.zeros((20, 3)), y)
    assert sol.method != "cvxpy"
    assert sol.duals["norm"] == 0.0
    np.testing.assert_array_equal(sol.coef, 0.0)
    assert sol.intercept[0] == pytest.approx(np.log(7 / 13), rel=1e-9)


def test_huge_sample_weights_are_normalised_without_overflow():
    Phi, y = problem("squared", seed=24)
    ref = NormBoundedHead("squared", L2Ball(0.5)).solve(Phi, y)
    sol = NormBoundedHead("squared", L2Ball(0.5)).solve(Phi, y, sample_weight=np.full(40, 1e307))
    assert sol.objective == pytest.approx(ref.objective, rel=1e-12)
    np.testing.assert_allclose(sol.coef, ref.coef, atol=1e-12)


def test_falls_back_to_cvxpy_when_fast_solver_fails(monkeypatch):
    monkeypatch.setitem(_FAST_SOLVERS, L2Ball, lambda *args, **kwargs: None)
    Phi, y = problem("squared", seed=19)
    assert NormBoundedHead("squared", L2Ball(0.3)).solve(Phi, y).method == "cvxpy"
    with pytest.raises(SolverError, match="fast solver did not converge"):
        NormBoundedHead("squared", L2Ball(0.3), solver="fast").solve(Phi, y)


@pytest.mark.parametrize("error", [ZeroDivisionError, OverflowError, np.linalg.LinAlgError])
def test_arithmetic_errors_in_the_fast_solver_fall_back_to_cvxpy(monkeypatch, error):
    def broken(*args, **kwargs):
        raise error("test")

    monkeypatch.setitem(_FAST_SOLVERS, L2Ball, broken)
    Phi, y = problem("squared", seed=19)
    fallback = NormBoundedHead("squared", L2Ball(0.3)).solve(Phi, y)
    exact = NormBoundedHead("squared", L2Ball(0.3), solver="cvxpy").solve(Phi, y)
    assert fallback.method == "cvxpy"
    np.testing.assert_array_equal(fallback.coef, exact.coef)
    with pytest.raises(SolverError, match="fast solver did not converge"):
        NormBoundedHead("squared", L2Ball(0.3), solver="fast").solve(Phi, y)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": "cubic"}, "loss must be one of"),
        ({"loss": "squared", "solver": "nope"}, "solver must be one of"),
        ({"loss": "squared", "tol": 0.0}, "tol must be in"),
        ({"loss": "squared", "max_iter": 0}, "max_iter must be a positive integer"),
        ({"loss": "squared", "constraint": "l2"}, "constraint must be"),
        ({"loss": "hinge", "solver": "fast"}, "solver='fast' needs"),
        ({"loss": "squared", "constraint": NonNegative(), "solver": "fast"}, "solver='fast'"),
    ],
)
def test_bad_head_parameters(kwargs, match):
    kwargs = dict(kwargs)
    loss = kwargs.pop("loss")
    constraint = kwargs.pop("constraint", None)
    with pytest.raises(ValueError, match=match):
        NormBoundedHead(loss, constraint, **kwargs)


@pytest.mark.parametrize(
    ("features", "y", "weights", "match"),
    [
        (np.array([[np.nan, 1.0], [0.0, 1.0]]), [1.0, 2.0], None, "NaN or infinity"),
        (np.ones((3, 2)), [1.0, 2.0], None, "y has 2 samples"),
        (np.ones(3), [1.0, 2.0, 3.0], None, "2-D"),
        (np.ones((0, 2)), [], None, "must not be empty"),
        (np.ones((2, 2)), [1.0, np.inf], None, "y contains NaN"),
        (np.ones((2, 2)), [1.0, 2.0], [1.0, -1.0], "non-negative"),
        (np.ones((2, 2)), [1.0, 2.0], [0.0, 0.0], "positive sum"),
        (np.ones((2, 2)), [1.0, 2.0], [1.0], "sample_weight has 1"),
        (np.ones((2, 2)) * (1 + 1j), [1.0, 2.0], None, "Complex data not supported"),
        (np.ones((2, 2)), [1.0, 2.0], [1.0, 1j], "Complex data not supported"),
    ],
)
def test_bad_head_input(features, y, weights, match):
    head = NormBoundedHead("squared", L2Ball(1.0))
    with pytest.raises(ValueError, match=match):
        head.solve(features, np.asarray(y), sample_weight=weights)


def test_inputs_are_not_modified():
    Phi, y = problem("log_loss", seed=20)
    weights = np.ones(40)
    copies = Phi.copy(), y.copy(), weights.copy()
    S = L2Ball(0.4)
    NormBoundedHead("log_loss", S).solve(Phi, y, sample_weight=weights)
    NormBoundedHead("log_loss", S, solver="cvxpy").solve(Phi, y, sample_weight=weights)
    for before, after in zip(copies, (Phi, y, weights), strict=True):
        np.testing.assert_array_equal(before, after)
    assert S.radius == 0.4


def test_warm_start_must_be_a_head_solution():
    Phi, y = problem("squared", seed=25)
    with pytest.raises(ValueError, match="warm_start must be a HeadSolution"):
        NormBoundedHead("squared", L2Ball(0.5)).solve(Phi, y, warm_start={"coef": 1})


def test_absurd_multinomial_labels_are_rejected_not_one_hot_encoded():
    Phi, _ = problem("squared", seed=26)
    y = np.zeros(40, dtype=int)
    y[0] = 10**9
    with pytest.raises(ValueError, match="LabelEncoder"):
        NormBoundedHead("multinomial").solve(Phi, y)


def test_log_loss_is_the_logistic_loss_and_logistic_is_deprecated():
    Phi, y = problem("log_loss", seed=40)
    new = NormBoundedHead("log_loss", L2Ball(0.3))
    with pytest.warns(FutureWarning, match="loss='logistic' was deprecated.*use loss='log_loss'"):
        old = NormBoundedHead("logistic", L2Ball(0.3))
    assert old.loss is new.loss
    np.testing.assert_array_equal(old.solve(Phi, y).coef, new.solve(Phi, y).coef)


# ---------------------------------------------------------------------------
# Dispatch: one table from the constraint's type to its fast solver.


def test_fast_solver_table_holds_exactly_the_fast_sets():
    assert set(_FAST_SOLVERS) == {None, L2Ball, L1Ball, LinfBall}
    assert all(callable(solve) for solve in _FAST_SOLVERS.values())


def test_subclasses_of_fast_sets_go_to_cvxpy():
    # Exact types: a subclass may change the definition, so the table does not match it.
    class Renamed(L2Ball):
        pass

    head = NormBoundedHead("squared", Renamed(0.3))
    assert not head.has_fast_solver
    assert head.solve(*problem("squared", seed=41)).method == "cvxpy"
    with pytest.raises(ValueError, match="solver='fast' needs"):
        NormBoundedHead("squared", Renamed(0.3), solver="fast")


@pytest.mark.parametrize(
    ("ball", "method"),
    [(None, "newton"), (L2Ball, "newton-l2"), (L1Ball, "face-newton-l1"),
     (LinfBall, "face-newton-linf")],
)
def test_each_constraint_type_calls_its_table_entry_once(monkeypatch, ball, method):
    calls = []
    original = _FAST_SOLVERS[ball]

    def spy(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setitem(_FAST_SOLVERS, ball, spy)
    Phi, y = problem("squared", seed=42)
    config = _HeadConfig(fista_check=5)
    head = NormBoundedHead("squared", None if ball is None else ball(0.3), _config=config)
    sol = head.solve(Phi, y)
    assert sol.method == method and len(calls) == 1
    _smooth, radius, start, tol, max_iter, passed = calls[0]
    assert passed is config and tol == head.tol and max_iter == head.max_iter
    assert (radius is None) == (ball is None)
    assert start.lam is None and start.chord is None and not np.any(start.theta)


# ---------------------------------------------------------------------------
# The tuning constants: one frozen config per head instead of module globals.


def test_config_is_frozen_and_its_defaults_are_the_default_config():
    config = _HeadConfig()
    assert config == _DEFAULT_CONFIG
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.kkt_rtol = 1.0
    assert NormBoundedHead("squared")._config is _DEFAULT_CONFIG


def test_every_config_field_has_a_comment_saying_why():
    # Fields sharing one comment follow it directly: walk up past them.
    names = {field.name for field in dataclasses.fields(_HeadConfig)}
    lines = [text.strip() for text in inspect.getsource(config_module._HeadConfig).splitlines()]

    def is_field(text):
        return text.split(":")[0] in names

    for i, text in enumerate(lines):
        if is_field(text):
            j = i - 1
            while is_field(lines[j]):
                j -= 1
            assert lines[j].startswith("#"), text
    assert sum(is_field(text) for text in lines) == len(names)


def test_head_rejects_a_config_of_another_type():
    with pytest.raises(ValueError, match="_config must be a _HeadConfig"):
        NormBoundedHead("squared", _config={"kkt_rtol": 1e-7})


def test_a_config_steers_only_its_own_head():
    Phi, y = problem("multinomial", n=80, d=6, seed=22)
    steered = NormBoundedHead("multinomial", L2Ball(0.5), _config=_HeadConfig(newton_max_work=0))
    default = NormBoundedHead("multinomial", L2Ball(0.5))
    first = steered.solve(Phi, y)
    second = default.solve(Phi, y)
    assert first.method == "lbfgs-newton-l2" and second.method == "newton-l2"
    assert first.objective == pytest.approx(second.objective, rel=1e-10)


def test_config_defaults_leave_the_numbers_unchanged():
    Phi, y = problem("log_loss", seed=43)
    a = NormBoundedHead("log_loss", L1Ball(0.3)).solve(Phi, y)
    b = NormBoundedHead("log_loss", L1Ball(0.3), _config=replace(_DEFAULT_CONFIG)).solve(Phi, y)
    np.testing.assert_array_equal(a.coef, b.coef)
    assert a.duals == b.duals and a.n_iter == b.n_iter
