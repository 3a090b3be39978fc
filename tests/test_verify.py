"""The verification helpers themselves: they pass on exact answers and fail on wrong ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from cvxdual import (
    Box,
    ConstrainedMLPClassifier,
    ConstrainedMLPRegressor,
    ConvexReLUClassifier,
    ConvexReLURegressor,
    Intersection,
    L2Ball,
    MaxNorm,
    NonNegative,
    NormBoundedLinearClassifier,
    NormBoundedLinearRegressor,
    Polyhedron,
    SpectralBall,
    project,
)
from cvxdual.projection import ProjectionResult
from cvxdual.verify import (
    VerificationReport,
    compare_with_cvxpy,
    finite_difference,
    projection_kkt,
    verify_estimator,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_finite_difference_of_known_functions():
    assert finite_difference(lambda x: x**3, 2.0) == pytest.approx(12.0, rel=1e-8)
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(finite_difference(lambda a: np.sum(a**2), x), 2 * x, rtol=1e-8)


def test_compare_with_cvxpy_reports_every_dual(rng):
    V = 2 * rng.normal(size=(4, 3))
    S = Intersection(NonNegative(), L2Ball(1.0))
    diff = compare_with_cvxpy(V, S)
    assert set(diff) == {"weights", "0.nonneg", "1.norm"}
    assert diff["weights"] == 0.0  # both sides run CVXPY for a set without a closed form


def test_kkt_residuals_flag_each_violated_condition(rng):
    V = 2 * rng.normal(size=(4, 3))
    A = rng.normal(size=(5, 12))
    S = Polyhedron(A, np.ones(5))
    good = project(V, S)
    assert projection_kkt(V, S, good).max() < 1e-8
    # Infeasible weights.
    outside = ProjectionResult(V, good.duals, "optimal", "x")
    assert projection_kkt(V, S, outside).primal_feasibility > 1e-3
    # Negative multipliers.
    negative = ProjectionResult(good.weights, {"ineq": -np.abs(good.duals["ineq"]) - 1},
                                "optimal", "x")
    assert projection_kkt(V, S, negative).dual_feasibility >= 1.0
    # Multipliers on slack constraints break complementary slackness.
    slack = ProjectionResult(good.weights, {"ineq": good.duals["ineq"] + 1.0}, "optimal", "x")
    assert projection_kkt(V, S, slack).complementary_slackness > 1e-3


def test_kkt_rejects_constraint_kinds_it_cannot_check():
    from cvxdual import CvxpySet

    S = CvxpySet(lambda W: {"psd": W >> 0})
    V = np.array([[1.0, 2.0], [2.0, -1.0]])
    result = project(V, S)
    with pytest.raises(ValueError, match="PSD constraint"):
        projection_kkt(V, S, result)


@pytest.mark.parametrize("step", [0.0, -1e-6, np.nan])
def test_finite_difference_rejects_a_non_positive_step(step):
    with pytest.raises(ValueError, match="step"):
        finite_difference(lambda x: x**2, 3.0, step=step)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
@pytest.mark.parametrize("ball", ["l2", "l1", "spectral"])
def test_norm_ball_kkt_check_at_extreme_scales_is_never_nan(scale, ball, rng):
    from cvxdual import L1Ball, SpectralBall

    S = {"l2": L2Ball, "l1": L1Ball, "spectral": SpectralBall}[ball](0.5 * scale)
    V = rng.normal(size=(4, 3)) * scale
    with np.errstate(over="ignore", under="ignore"):
        residuals = projection_kkt(V, S, project(V, S))
    assert not any(np.isnan(v) for v in vars(residuals).values())
    assert residuals.stationarity <= 1e-14 * scale


# ---------------------------------------------------------------------------
# verify_estimator



@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=40)
    return X, y, np.digitize(y, [-1.0, 1.0])


@pytest.mark.parametrize(
    "make, target",
    [
        (lambda: NormBoundedLinearRegressor(1.0), "reg"),
        (lambda: NormBoundedLinearRegressor(1.0, norm="l1"), "reg"),
        (lambda: NormBoundedLinearClassifier(0.5, norm="linf"), "bin"),
        (lambda: NormBoundedLinearClassifier(1.0), "multi"),
        (lambda: NormBoundedLinearClassifier(0.5, loss="hinge"), "multi"),
        (lambda: ConstrainedMLPClassifier((6,), layer_constraints=SpectralBall(1.0),
                                          head_radius=2.0, max_iter=5, random_state=0), "multi"),
        (lambda: ConstrainedMLPRegressor((6, 4), layer_constraints=[MaxNorm(0.5), Box(-0.3, 0.3)],
                                         head_radius=1.0, max_iter=5, random_state=0), "reg"),
        (lambda: ConvexReLURegressor(1e-2, n_patterns=10, random_state=0), "reg"),
        # 40 rows x 30 patterns > 1000: "auto" takes the fast solver
        (lambda: ConvexReLUClassifier(1e-2, n_patterns=30, random_state=0), "bin"),
    ],
)
def test_verify_estimator_passes_on_fitted_estimators(make, target, data):
    X, y, y3 = data
    yy = {"reg": y, "bin": (y > 0).astype(int), "multi": y3}[target]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = make().fit(X, yy)
    report = verify_estimator(estimator, X, yy)
    assert isinstance(report, VerificationReport)
    assert report.ok, str(report)
    checks = {c.check for c in report.checks}
    assert "objective" in checks
    assert any(c.startswith("shadow price") or c == "d objective / d alpha" for c in checks)
    assert str(report).startswith(f"Verification of {type(estimator).__name__}: all checks pass")


def test_verify_estimator_checks_every_constrained_layer_and_prints_a_table(data):
    X, y, _ = data
    model = ConstrainedMLPRegressor((6, 4), layer_constraints=[MaxNorm(0.5), None],
                                    max_iter=4, random_state=0).fit(X, y)
    report = verify_estimator(model, X, y)
    assert {c.subproblem for c in report.checks} == {"head", "layer 0 projection"}
    rows = report.rows()
    assert set(rows[0]) == {"subproblem", "check", "fitted", "reference", "error", "tolerance",
                            "ok"}
    text = repr(report)
    assert "layer 0 projection" in text and "shadow price norm" in text
    pd = pytest.importorskip("pandas")
    frame = report.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(rows)


def test_verify_estimator_flags_tampered_numbers(data):
    X, y, _ = data
    model = NormBoundedLinearRegressor(1.0).fit(X, y)
    model.duals_ = {"norm": model.duals_["norm"] * 1.1}
    report = verify_estimator(model, X, y)
    failed = {c.check for c in report.failures()}
    assert not report.ok
    assert {"dual norm", "shadow price norm", "KKT stationarity (weights)"} <= failed
    assert "1 check(s) FAIL" not in str(report) and "FAIL" in str(report)

    net = ConstrainedMLPRegressor((5,), layer_constraints=SpectralBall(0.5), max_iter=3,
                                  random_state=0).fit(X, y)
    net.coefs_[0] = net.coefs_[0] * 1.01  # no longer the projection of the recorded point
    failed = {(c.subproblem, c.check) for c in verify_estimator(net, X, y).failures()}
    assert ("layer 0 projection", "weights") in failed
    assert ("layer 0 projection", "KKT primal feasibility") in failed


def test_verify_estimator_with_sample_weight(data):
    X, y, _ = data
    weights = np.linspace(0.5, 2.0, X.shape[0])
    model = NormBoundedLinearRegressor(1.0).fit(X, y, sample_weight=weights)
    assert verify_estimator(model, X, y, sample_weight=weights).ok
    assert not verify_estimator(model, X, y).ok


def test_verify_estimator_errors(data):
    X, y, _ = data
    with pytest.raises(NotFittedError):
        verify_estimator(NormBoundedLinearRegressor(), X, y)
    from sklearn.linear_model import Ridge

    with pytest.raises(ValueError, match="cvxdual's estimators"):
        verify_estimator(Ridge().fit(X, y), X, y)
    model = NormBoundedLinearClassifier().fit(X, y > 0)
    with pytest.raises(ValueError, match="labels not seen in fit"):
        verify_estimator(model, X, np.where(y > 0, "a", "b"))
    with pytest.raises(ValueError, match="features"):
        verify_estimator(model, X[:, :2], y > 0)
