"""Tests of cvxdual.heads: the fast solvers against the CVXPY definition, KKT, sensitivities."""

from __future__ import annotations

import numpy as np
import pytest

from cvxdual import heads
from cvxdual.exceptions import SolverError
from cvxdual.heads import HeadSolution, NormBoundedHead
from cvxdual.losses import get_loss
from cvxdual.sets import L1Ball, L2Ball, LinfBall, NonNegative

FAST_LOSSES = ["squared", "logistic", "multinomial", "squared_hinge"]


def _problem(loss, n=40, d=4, seed=0, K=3):
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


def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))


def _assert_same(fast: HeadSolution, exact: HeadSolution, *, loss, coef_rtol=1e-4):
    assert fast.objective == pytest.approx(exact.objective, rel=1e-6)
    if loss == "multinomial":
        # The loss only sees differences between classes: with an ℓ∞ bound a row
        # of W with no entry at ±r can shift freely, so compare centred rows.
        def centred(coef):
            return coef - coef.mean(axis=1, keepdims=True)

        assert _rel(centred(fast.coef), centred(exact.coef)) <= coef_rtol
    else:
        assert _rel(fast.coef, exact.coef) <= coef_rtol
    lam_f, lam_e = fast.duals["norm"], exact.duals["norm"]
    assert abs(lam_f - lam_e) <= 1e-4 * max(abs(lam_e), 1e-6)
    assert _rel(fast.sample_duals, exact.sample_duals) <= 1e-4
    if loss == "multinomial":
        # Intercepts are defined up to a common shift.
        assert (
            _rel(fast.intercept - fast.intercept.mean(), exact.intercept - exact.intercept.mean())
            <= 1e-4
        )
    else:
        assert _rel(fast.intercept, exact.intercept) <= 1e-4


def _radius_scale(loss, Phi, y, ball):
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


@pytest.mark.parametrize("loss", FAST_LOSSES)
@pytest.mark.parametrize("ball", [L2Ball, L1Ball, LinfBall])
@pytest.mark.parametrize("where", ["binding", "near", "inside"])
def test_fast_solver_matches_cvxpy(loss, ball, where):
    Phi, y = _problem(loss)
    scale = _radius_scale(loss, Phi, y, ball)
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
            _assert_same(fast, exact, loss=loss)
    else:
        assert fast.duals["norm"] > 0
        _assert_same(fast, exact, loss=loss)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("ball", [L2Ball, L1Ball])
def test_two_cvxpy_solvers_and_weights(loss, ball):
    Phi, y = _problem(loss, n=25, d=3, seed=3)
    weights = np.random.default_rng(3).uniform(0.2, 2.0, size=25)
    radius = 0.4 * _radius_scale(loss, Phi, y, ball)
    fast = NormBoundedHead(loss, ball(radius)).solve(Phi, y, sample_weight=weights)
    for solver in ("CLARABEL", "SCS"):
        exact = NormBoundedHead(loss, ball(radius), solver=solver).solve(
            Phi, y, sample_weight=weights
        )
        assert exact.solver == solver
        _assert_same(fast, exact, loss=loss)


def _kkt_residuals(sol, loss, Phi, y, ball, radius, weights=None):
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


@pytest.mark.parametrize("loss", FAST_LOSSES)
@pytest.mark.parametrize("ball", [L2Ball, L1Ball, LinfBall])
def test_kkt_conditions_of_fast_solution(loss, ball):
    Phi, y = _problem(loss, seed=5)
    weights = np.random.default_rng(5).uniform(0.5, 1.5, size=Phi.shape[0])
    radius = 0.5 * _radius_scale(loss, Phi, y, ball)
    sol = NormBoundedHead(loss, ball(radius)).solve(Phi, y, sample_weight=weights)
    residuals = _kkt_residuals(sol, loss, Phi, y, ball, radius, weights)
    scale = np.max(np.abs(Phi.T @ sol.sample_duals))
    for name, value in residuals.items():
        assert value <= 1e-7 * max(scale, 1.0), (name, value)


def test_cvxpy_dual_sign_convention():
    # CVXPY's Lagrangian is f + <ν, Phi W + b − z>, so ν = +w ∂ℓ/∂z (not minus).
    Phi, y = _problem("logistic", n=20, d=3, seed=7)
    sol = NormBoundedHead("logistic", L2Ball(0.3), solver="CLARABEL").solve(Phi, y)
    Y = get_loss("logistic").encode_targets(y)
    expected = get_loss("logistic").gradient(Phi @ sol.coef + sol.intercept, Y) / 20
    # Clarabel's exponential-cone duals are accurate to about 1e-5 relative.
    np.testing.assert_allclose(sol.sample_duals, expected, rtol=1e-4)
    assert np.max(np.abs(sol.sample_duals + expected)) > 1e-3  # the opposite sign is far


@pytest.mark.parametrize(
    ("loss", "ball"),
    [("logistic", L2Ball), ("squared", L1Ball), ("multinomial", L2Ball), ("hinge", L2Ball)],
)
def test_objective_derivative_in_radius_is_minus_dual(loss, ball):
    Phi, y = _problem(loss, seed=8)
    r = 0.5 * _radius_scale(loss if loss != "hinge" else "squared_hinge", Phi, y, ball)
    h = 1e-4 * r

    def objective(radius):
        return NormBoundedHead(loss, ball(radius)).solve(Phi, y).objective

    derivative = (objective(r + h) - objective(r - h)) / (2 * h)
    lam = NormBoundedHead(loss, ball(r)).solve(Phi, y).duals["norm"]
    assert lam > 0
    assert derivative == pytest.approx(-lam, rel=1e-4)


@pytest.mark.parametrize("loss", ["logistic", "multinomial", "squared"])
@pytest.mark.parametrize("ball", [L2Ball, L1Ball])
def test_feature_gradient_matches_finite_differences(loss, ball):
    Phi, y = _problem(loss, n=15, d=3, seed=9)
    r = 0.5 * _radius_scale(loss, Phi, y, ball)
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
    Phi, y = _problem("logistic", n=60, d=6, seed=10)
    r = 0.5 * _radius_scale("logistic", Phi, y, ball)
    head = NormBoundedHead("logistic", ball(r))
    previous = head.solve(Phi, y)
    Phi2 = Phi + 0.01 * np.random.default_rng(1).normal(size=Phi.shape)
    cold = head.solve(Phi2, y)
    warm = head.solve(Phi2, y, warm_start=previous)
    assert warm.n_iter < cold.n_iter
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
    np.testing.assert_allclose(warm.coef, cold.coef, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("polish", ["newton", "chord", None])
@pytest.mark.parametrize("loss", ["logistic", "multinomial", "squared"])
def test_lbfgs_path_matches_cvxpy(monkeypatch, loss, polish):
    # Large problems run L-BFGS on the sphere, then a Newton polish when cheap, or
    # chord steps from one Hessian when L-BFGS stopped short of the KKT residual of
    # the other fast solvers: force those paths on a small problem.
    monkeypatch.setattr(heads, "_NEWTON_MAX_WORK", 0)
    if polish != "newton":
        monkeypatch.setattr(heads, "_POLISH_MAX_WORK", 0)
    if polish == "chord":
        monkeypatch.setattr(heads, "_KKT_RTOL", 1e-300)  # L-BFGS always "stops short"
    if polish is None:
        monkeypatch.setattr(heads, "_CHORD_MAX_WORK", 0)
    Phi, y = _problem(loss, seed=11)
    r = 0.4 * _radius_scale(loss, Phi, y, L2Ball)
    fast = NormBoundedHead(loss, L2Ball(r)).solve(Phi, y)
    assert fast.method == {"newton": "lbfgs-newton-l2", "chord": "lbfgs-chord-l2"}.get(
        polish, "lbfgs-l2"
    )
    exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi, y)
    _assert_same(fast, exact, loss=loss)
    # the KKT conditions ∇f + μ P θ = 0 with λ = μ r: to 1e-9 after a polish, and
    # to the residual every fast solve must reach (1e-7) with L-BFGS alone
    smooth = heads._Smooth(heads.get_loss(loss), Phi, heads.get_loss(loss).encode_targets(y),
                           np.full(len(y), 1 / len(y)), True)
    theta = smooth.theta(fast.coef, fast.intercept)
    residual = heads._l2_kkt_residual(smooth, r, theta, fast.duals["norm"])
    assert residual <= (1e-9 if polish is not None else 1e-7)
    # Not binding: L-BFGS finds λ <= 0 on the sphere and solves the free problem.
    inside = NormBoundedHead(loss, L2Ball(3.0 * r / 0.4)).solve(Phi, y)
    assert inside.duals["norm"] == 0.0
    assert inside.method == ("lbfgs-newton-l2" if polish == "newton" else "lbfgs-l2")


def test_multi_output_squared_and_shapes():
    rng = np.random.default_rng(12)
    Phi = rng.normal(size=(30, 4))
    Y = Phi @ rng.normal(size=(4, 2)) + 0.3 * rng.normal(size=(30, 2))
    fast = NormBoundedHead("squared", L2Ball(0.8)).solve(Phi, Y)
    exact = NormBoundedHead("squared", L2Ball(0.8), solver="CLARABEL").solve(Phi, Y)
    assert fast.coef.shape == (4, 2) and fast.intercept.shape == (2,)
    assert fast.sample_duals.shape == (30, 2)
    _assert_same(fast, exact, loss="squared")
    binary = NormBoundedHead("logistic", L2Ball(0.3)).solve(*_problem("logistic"))
    assert binary.coef.shape == (4, 1) and binary.sample_duals.shape == (40, 1)


def test_multinomial_fast_intercepts_are_centred():
    Phi, y = _problem("multinomial", seed=13)
    sol = NormBoundedHead("multinomial", L2Ball(0.5)).solve(Phi, y)
    assert sol.coef.shape == (4, 3)
    assert abs(sol.intercept.sum()) < 1e-10
    np.testing.assert_allclose(sol.coef.sum(axis=1), 0.0, atol=1e-10)


@pytest.mark.parametrize("loss", ["hinge", "multiclass_hinge", "multiclass_squared_hinge"])
def test_nonsmooth_losses_use_cvxpy_and_satisfy_kkt(loss):
    Phi, y = _problem(loss, seed=14)
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
    Phi, y = _problem("squared", seed=15)
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
    Phi, y = _problem("logistic", seed=16)
    fast = NormBoundedHead("logistic", L2Ball(0.3), fit_intercept=False).solve(Phi, y)
    exact = NormBoundedHead("logistic", L2Ball(0.3), fit_intercept=False, solver="cvxpy").solve(
        Phi, y
    )
    np.testing.assert_array_equal(fast.intercept, [0.0])
    _assert_same(fast, exact, loss="logistic")


def test_compiled_problem_is_reused_for_new_data():
    head = NormBoundedHead("logistic", L2Ball(0.3), solver="cvxpy")
    Phi, y = _problem("logistic", n=20, d=3, seed=17)
    first = head.solve(Phi, y)
    second = head.solve(2.0 * Phi, y)
    assert len(head._compiled) == 1
    assert head.compiled(20, 3, 1).problem.is_dcp(dpp=True)
    assert not np.allclose(first.coef, second.coef)
    fresh = NormBoundedHead("logistic", L2Ball(0.3), solver="cvxpy").solve(2.0 * Phi, y)
    np.testing.assert_allclose(second.coef, fresh.coef, rtol=1e-6)


def test_separable_data_binding():
    # The unconstrained logistic optimum does not exist; the bounded one does.
    rng = np.random.default_rng(18)
    Phi = rng.normal(size=(30, 2))
    y = np.where(Phi[:, 0] > 0, 1.0, -1.0)
    fast = NormBoundedHead("logistic", L2Ball(3.0)).solve(Phi, y)
    exact = NormBoundedHead("logistic", L2Ball(3.0), solver="CLARABEL").solve(Phi, y)
    assert fast.method == "newton-l2"
    _assert_same(fast, exact, loss="logistic")


def test_falls_back_to_cvxpy_when_fast_solver_fails(monkeypatch):
    monkeypatch.setattr(heads, "_solve_l2", lambda *args, **kwargs: None)
    Phi, y = _problem("squared", seed=19)
    assert NormBoundedHead("squared", L2Ball(0.3)).solve(Phi, y).method == "cvxpy"
    with pytest.raises(SolverError, match="fast solver did not converge"):
        NormBoundedHead("squared", L2Ball(0.3), solver="fast").solve(Phi, y)


@pytest.mark.parametrize("error", [ZeroDivisionError, OverflowError, np.linalg.LinAlgError])
def test_arithmetic_errors_in_the_fast_solver_fall_back_to_cvxpy(monkeypatch, error):
    def broken(*args, **kwargs):
        raise error("test")

    monkeypatch.setattr(heads, "_solve_l2", broken)
    Phi, y = _problem("squared", seed=19)
    fallback = NormBoundedHead("squared", L2Ball(0.3)).solve(Phi, y)
    exact = NormBoundedHead("squared", L2Ball(0.3), solver="cvxpy").solve(Phi, y)
    assert fallback.method == "cvxpy"
    np.testing.assert_array_equal(fallback.coef, exact.coef)
    with pytest.raises(SolverError, match="fast solver did not converge"):
        NormBoundedHead("squared", L2Ball(0.3), solver="fast").solve(Phi, y)


def test_kkt_iterations_give_up_without_a_step_in_mu():
    # From W = 0 the KKT step has no μ-direction (Pθ = 0): both KKT iterations
    # return None (the caller then solves from scratch) instead of dividing by 0.
    Phi, y = _problem("squared", seed=20)
    loss = get_loss("squared")
    smooth = heads._Smooth(loss, Phi, loss.encode_targets(y), np.full(40, 1 / 40), True)
    theta = np.zeros(smooth.p1 * smooth.K)
    assert heads._solve_l2_chord(smooth, 0.3, theta, 1.0, None, 1e-9) is None
    assert heads._polish_l2(smooth, 0.3, theta, 1.0, 1e-9, 10) is None


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
    Phi, y = _problem("logistic", seed=20)
    weights = np.ones(40)
    copies = Phi.copy(), y.copy(), weights.copy()
    S = L2Ball(0.4)
    NormBoundedHead("logistic", S).solve(Phi, y, sample_weight=weights)
    NormBoundedHead("logistic", S, solver="cvxpy").solve(Phi, y, sample_weight=weights)
    for before, after in zip(copies, (Phi, y, weights), strict=True):
        np.testing.assert_array_equal(before, after)
    assert S.radius == 0.4


def test_large_problems_build_cvxpy_with_constants(monkeypatch):
    # Above _DPP_MAX_ENTRIES the CVXPY problem is built for the data (no DPP cache).
    Phi, y = _problem("logistic", n=20, d=3, seed=21)
    cached = NormBoundedHead("logistic", L2Ball(0.3), solver="cvxpy").solve(Phi, y)
    monkeypatch.setattr(heads, "_DPP_MAX_ENTRIES", 0)
    head = NormBoundedHead("logistic", L2Ball(0.3), solver="cvxpy")
    constant = head.solve(Phi, y, sample_weight=np.ones(20))
    assert head._compiled == {}
    assert constant.objective == pytest.approx(cached.objective, rel=1e-8)
    np.testing.assert_allclose(constant.coef, cached.coef, rtol=1e-6)
    np.testing.assert_allclose(constant.sample_duals, cached.sample_duals, rtol=1e-5)


@pytest.mark.parametrize("ball", [L2Ball, L1Ball, LinfBall])
def test_features_without_signal(ball):
    # ∇_W f = 0 at W = 0 (all-zero features): W = 0 is optimal and the bound inactive.
    y = np.where(np.arange(20) % 3 == 0, 1.0, -1.0)
    sol = NormBoundedHead("logistic", ball(0.5)).solve(np.zeros((20, 3)), y)
    assert sol.method != "cvxpy"
    assert sol.duals["norm"] == 0.0
    np.testing.assert_array_equal(sol.coef, 0.0)
    assert sol.intercept[0] == pytest.approx(np.log(7 / 13), rel=1e-9)


def test_warm_start_reduces_lbfgs_iterations(monkeypatch):
    monkeypatch.setattr(heads, "_NEWTON_MAX_WORK", 0)
    monkeypatch.setattr(heads, "_POLISH_MAX_WORK", 0)
    monkeypatch.setattr(heads, "_CHORD_MAX_ITER", 0)  # the chord method gives up at once
    Phi, y = _problem("multinomial", n=80, d=6, seed=22)
    head = NormBoundedHead("multinomial", L2Ball(0.5))
    previous = head.solve(Phi, y)
    Phi2 = Phi + 0.01 * np.random.default_rng(2).normal(size=Phi.shape)
    cold = head.solve(Phi2, y)
    warm = head.solve(Phi2, y, warm_start=previous)
    assert cold.method == warm.method == "lbfgs-l2"
    assert warm.n_iter < cold.n_iter
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)


def _count_chord_matrices(monkeypatch):
    built = []
    original = heads._ChordMatrix.__init__

    def init(self, *args):
        built.append(1)
        original(self, *args)

    monkeypatch.setattr(heads._ChordMatrix, "__init__", init)
    return built


@pytest.mark.parametrize("loss", FAST_LOSSES)
def test_chord_warm_start_matches_cvxpy_and_reuses_curvature(monkeypatch, loss):
    # Warm-started binding L2 solves run chord steps with the previous solve's
    # Hessian factor: same numbers as CVXPY, KKT to 1e-7, fewer iterations than cold.
    built = _count_chord_matrices(monkeypatch)
    Phi, y = _problem(loss, n=60, d=5, seed=30)
    r = 0.4 * _radius_scale(loss, Phi, y, L2Ball)
    head = NormBoundedHead(loss, L2Ball(r))
    rng = np.random.default_rng(3)
    previous = head.solve(Phi, y)
    assert previous.method == "newton-l2" and not built
    for step in range(1, 4):
        Phi_t = Phi + 0.01 * step * rng.normal(size=Phi.shape)
        warm = head.solve(Phi_t, y, warm_start=previous)
        assert warm.method == "chord-l2"
        exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi_t, y)
        _assert_same(warm, exact, loss=loss)
        residuals = _kkt_residuals(warm, loss, Phi_t, y, L2Ball, r)
        scale = np.max(np.abs(Phi_t.T @ warm.sample_duals))
        for name, value in residuals.items():
            assert value <= 1e-7 * max(scale, 1.0), (name, value)
        cold = head.solve(Phi_t, y)
        assert warm.n_iter < cold.n_iter
        assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
        previous = warm
    # The first chord solve builds a chord matrix; later ones reuse the cached one
    # (the squared loss has a constant Hessian: its chord steps are Newton steps).
    assert len(built) < 3


def test_chord_gives_up_when_the_bound_stops_binding():
    Phi, y = _problem("multinomial", n=60, d=5, seed=31)
    r = 0.4 * _radius_scale("multinomial", Phi, y, L2Ball)
    binding = NormBoundedHead("multinomial", L2Ball(r)).solve(Phi, y)
    head = NormBoundedHead("multinomial", L2Ball(5.0 * r / 0.4))
    sol = head.solve(Phi, y, warm_start=binding)
    assert sol.method == "newton-l2" and sol.duals["norm"] == 0.0
    exact = NormBoundedHead("multinomial", L2Ball(5.0 * r / 0.4), solver="CLARABEL").solve(Phi, y)
    assert sol.objective == pytest.approx(exact.objective, rel=1e-6)


def test_chord_ignores_curvature_of_another_problem(monkeypatch):
    # A warm start from another loss (same shapes) brings a Hessian factor that
    # does not apply: a new chord matrix is built, and the answer is still exact.
    built = _count_chord_matrices(monkeypatch)
    Phi, y = _problem("logistic", n=60, d=5, seed=32)
    r = 0.4 * min(_radius_scale(loss, Phi, y, L2Ball) for loss in ("squared", "logistic"))
    squared = NormBoundedHead("squared", L2Ball(r))
    first = squared.solve(Phi, y)
    second = squared.solve(Phi + 0.01, y, warm_start=first)
    assert second.method == "chord-l2" and len(built) == 1
    logistic = NormBoundedHead("logistic", L2Ball(r))
    sol = logistic.solve(Phi, y, warm_start=second)
    assert sol.method == "chord-l2" and len(built) == 2
    exact = NormBoundedHead("logistic", L2Ball(r), solver="CLARABEL").solve(Phi, y)
    _assert_same(sol, exact, loss="logistic")


def test_chord_is_skipped_when_hessians_are_too_expensive(monkeypatch):
    monkeypatch.setattr(heads, "_CHORD_MAX_WORK", 0)
    Phi, y = _problem("logistic", n=60, d=5, seed=33)
    head = NormBoundedHead("logistic", L2Ball(0.4 * _radius_scale("logistic", Phi, y, L2Ball)))
    previous = head.solve(Phi, y)
    warm = head.solve(Phi + 0.01, y, warm_start=previous)
    assert warm.method == "newton-l2" and warm.duals["norm"] > 0


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
    Phi, y = _problem("multinomial", n=30, seed=21)
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
    Phi, y = _problem("multinomial", n=30, seed=22)
    ref = NormBoundedHead("multinomial").solve(Phi, y)
    column_scales = np.array([1e-8, 1.0, 1e6, 1.0])
    sol = NormBoundedHead("multinomial").solve(Phi * column_scales, y)
    assert sol.method == "newton"
    assert sol.objective == pytest.approx(ref.objective, rel=1e-12)
    np.testing.assert_allclose(sol.coef * column_scales[:, None], ref.coef, atol=1e-8)


@pytest.mark.parametrize("radius", [1e-8, 1e-12])
def test_l1_head_with_a_tiny_radius_is_solved_fast(radius):
    # The face constraint held to eps·|intercept|, which failed a relative check,
    # and the projected iterates' ℓ1 norm (a cancelling soft threshold) looked
    # interior; CVXPY's answer there had the dual 2.23 instead of 0.386.
    Phi, y = _problem("squared", seed=23)
    sol = NormBoundedHead("squared", L1Ball(radius)).solve(Phi, y)
    assert sol.method == "face-newton-l1"
    assert np.abs(sol.coef).sum() <= radius * (1 + 1e-12)
    # λ = ‖∇_W f‖_∞ at the solution (KKT of the ℓ1 ball)
    grad = Phi.T @ sol.sample_duals
    assert sol.duals["norm"] == pytest.approx(np.abs(grad).max(), rel=1e-6)


def test_huge_sample_weights_are_normalised_without_overflow():
    Phi, y = _problem("squared", seed=24)
    ref = NormBoundedHead("squared", L2Ball(0.5)).solve(Phi, y)
    sol = NormBoundedHead("squared", L2Ball(0.5)).solve(Phi, y, sample_weight=np.full(40, 1e307))
    assert sol.objective == pytest.approx(ref.objective, rel=1e-12)
    np.testing.assert_allclose(sol.coef, ref.coef, atol=1e-12)


def test_warm_start_must_be_a_head_solution():
    Phi, y = _problem("squared", seed=25)
    with pytest.raises(ValueError, match="warm_start must be a HeadSolution"):
        NormBoundedHead("squared", L2Ball(0.5)).solve(Phi, y, warm_start={"coef": 1})


def test_absurd_multinomial_labels_are_rejected_not_one_hot_encoded():
    Phi, _ = _problem("squared", seed=26)
    y = np.zeros(40, dtype=int)
    y[0] = 10**9
    with pytest.raises(ValueError, match="LabelEncoder"):
        NormBoundedHead("multinomial").solve(Phi, y)


@pytest.mark.parametrize("seed, radius", [(0, 0.5), (1, 0.5), (3, 0.2), (5, 0.2), (5, 0.5)])
def test_multinomial_linf_head_with_room_to_shift_rows_is_solved_fast(seed, radius):
    # Rows of W may shift in every class at no cost, so where the box leaves room the
    # optimum is not unique: the face search once never settled (or Newton left the
    # box along that direction) and these fell back to CVXPY.
    Phi, y = _problem("multinomial", n=30, seed=seed)
    fast = NormBoundedHead("multinomial", LinfBall(radius)).solve(Phi, y)
    exact = NormBoundedHead("multinomial", LinfBall(radius), solver="CLARABEL").solve(Phi, y)
    assert fast.method == "face-newton-linf"
    assert np.abs(fast.coef).max() <= radius * (1 + 1e-9)
    assert fast.objective == pytest.approx(exact.objective, rel=1e-9)
    assert fast.duals["norm"] == pytest.approx(exact.duals["norm"], rel=1e-5)
    np.testing.assert_allclose(fast.sample_duals, exact.sample_duals, atol=1e-6)
