"""Tests of the group-fairness constraints, the fair head and the fair linear estimators."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from cvxdual import FairLinearClassifier, FairLinearRegressor, NormBoundedLinearClassifier
from cvxdual.exceptions import InfeasibleSetError
from cvxdual.fairness import (
    BoundedGroupLoss,
    DemographicParity,
    EqualOpportunity,
    encode_groups,
)
from cvxdual.heads._fair import FairHead
from cvxdual.losses import get_loss
from cvxdual.sets import L1Ball, L2Ball

# Tolerances against the CVXPY definition. Objectives agree to ~1e-11; Clarabel's
# weights (interior point, 1e-10 gap settings) are off by up to ~5e-6 where the
# curvature is small (the intercept), where SCS (1e-9 settings) often agrees to 1e-10.
_TOL = {"CLARABEL": 2e-5, "SCS": 3e-4}


def _data(n=120, d=3, seed=0, task="binary"):
    """Three groups of unequal sizes, correlated with the features and the labels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    groups = np.where(X[:, 0] + 0.5 * rng.normal(size=n) > 0.3, "a", "b").astype(object)
    groups[: n // 8] = "c"
    signal = X @ np.linspace(1.0, -0.5, d) + 0.8 * (groups == "a")
    if task == "binary":
        y = np.where(signal + 0.5 * rng.normal(size=n) > 0, 1.0, -1.0)
    elif task == "regression":
        y = 2.0 * signal + 0.3 * rng.normal(size=n)
    else:
        y = np.digitize(signal + 1.5 * rng.normal(size=n), [-0.7, 0.7])
    return X, y, groups


def _values(fairness, loss, z, groups, y, weights=None):
    codes, labels = encode_groups(groups)
    loss = get_loss(loss)
    Y = loss.encode_targets(y)
    w = np.full(len(z), 1.0 / len(z)) if weights is None else weights / weights.sum()
    return fairness.values(np.asarray(z).reshape(len(z), -1), codes, labels, Y, w, loss)


def _assert_same(a, b, tol):
    scale = max(1.0, float(np.max(np.abs(a.coef))))
    np.testing.assert_allclose(a.coef, b.coef, atol=tol * scale, rtol=0)
    np.testing.assert_allclose(a.intercept, b.intercept, atol=tol * scale, rtol=0)
    assert a.objective == pytest.approx(b.objective, abs=tol * max(1.0, abs(b.objective)))
    assert set(a.duals) == set(b.duals)
    for key in a.duals:
        dual_scale = max(1.0, float(np.max(np.abs(b.duals[key]))))
        np.testing.assert_allclose(a.duals[key], b.duals[key], atol=tol * dual_scale, rtol=0)
    nu_scale = float(np.max(np.abs(b.sample_duals)))
    np.testing.assert_allclose(a.sample_duals, b.sample_duals, atol=tol * nu_scale, rtol=0)


# ---------------------------------------------------------------------------
# The fast solver against the CVXPY definition.

_FAST_CASES = [
    (loss, fairness, bound, radius)
    for loss in ("log_loss", "squared", "squared_hinge")
    for fairness in (DemographicParity, EqualOpportunity)
    if not (loss == "squared" and fairness is EqualOpportunity)
    # tight (binding far inside), on the edge of binding, loose
    for bound in (0.02, 0.3, 50.0)
    for radius in (None, 0.6)
]


@pytest.mark.parametrize(("loss", "fairness", "bound", "radius"), _FAST_CASES)
def test_fast_solver_equals_cvxpy(loss, fairness, bound, radius, solver):
    X, y, groups = _data(task="regression" if loss == "squared" else "binary")
    ball = None if radius is None else L2Ball(radius)
    fast = FairHead(loss, fairness(bound), ball, sensitive_features=groups, solver="fast")
    exact = FairHead(loss, fairness(bound), ball, sensitive_features=groups, solver=solver)
    a, b = fast.solve(X, y), exact.solve(X, y)
    assert a.method.startswith("active-set-newton") and b.method == "cvxpy"
    _assert_same(a, b, _TOL[solver])
    # the fast solution meets the constraints on the training data
    z = X @ a.coef + a.intercept
    for value in _values(fairness(bound), loss, z, groups, y).values():
        assert np.max(value) <= 1e-7
    if radius is not None:
        assert np.linalg.norm(a.coef) <= radius * (1 + 1e-9)


@pytest.mark.parametrize("fairness", [DemographicParity(0.05), EqualOpportunity(0.1),
                                      DemographicParity(50.0)])
def test_multinomial_fast_solver_equals_cvxpy(fairness, solver):
    X, y, groups = _data(task="multiclass")
    fast = FairHead("multinomial", fairness, L2Ball(0.5), sensitive_features=groups,
                    solver="fast").solve(X, y)
    exact = FairHead("multinomial", fairness, L2Ball(0.5), sensitive_features=groups,
                     solver=solver).solve(X, y)
    assert fast.method == "active-set-newton-l2"
    # only intercept differences are defined
    fast.intercept -= fast.intercept.mean()
    exact.intercept -= exact.intercept.mean()
    _assert_same(fast, exact, _TOL[solver])
    z = X @ fast.coef + fast.intercept
    for value in _values(fairness, "multinomial", z, groups, y).values():
        assert np.max(value) <= 1e-7


def test_multinomial_without_a_binding_ball_goes_to_cvxpy():
    X, y, groups = _data(task="multiclass")
    assert not FairHead("multinomial", DemographicParity(0.1)).has_fast_solver
    sol = FairHead("multinomial", DemographicParity(0.1), L2Ball(100.0),
                   sensitive_features=groups).solve(X, y)
    assert sol.method == "cvxpy"


def test_weighted_fast_solver_equals_cvxpy():
    X, y, groups = _data(seed=3)
    w = np.random.default_rng(1).uniform(0.2, 3.0, size=len(y))
    a = FairHead("log_loss", DemographicParity(0.05), sensitive_features=groups).solve(
        X, y, sample_weight=w
    )
    b = FairHead(
        "log_loss", DemographicParity(0.05), sensitive_features=groups, solver="CLARABEL"
    ).solve(X, y, sample_weight=w)
    assert np.max(a.duals["upper"]) + np.max(a.duals["lower"]) > 1e-3  # binding
    _assert_same(a, b, _TOL["CLARABEL"])
    values = _values(DemographicParity(0.05), "log_loss", X @ a.coef + a.intercept, groups, y, w)
    assert max(np.max(v) for v in values.values()) <= 1e-7


def test_balanced_groups_get_the_central_multipliers():
    # Two groups of equal weight: group a's "upper" row is group b's "lower" row,
    # so only their sum is determined; both the fast solver and the
    # interior-point definition split it equally (the analytic centre).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    groups = np.repeat([0, 1], 25)
    y = np.where(X.sum(axis=1) + groups + rng.normal(size=50) > 0.5, 1.0, -1.0)
    a = FairHead("log_loss", DemographicParity(0.1), sensitive_features=groups).solve(X, y)
    b = FairHead(
        "log_loss", DemographicParity(0.1), sensitive_features=groups, solver="CLARABEL"
    ).solve(X, y)
    assert a.method == "active-set-newton"
    assert a.duals["upper"][1, 0] == pytest.approx(a.duals["lower"][0, 0], rel=1e-9)
    _assert_same(a, b, 1e-6)


def test_warm_start_reaches_the_same_solution():
    X, y, groups = _data(seed=5)
    head = FairHead("log_loss", DemographicParity(0.05), L2Ball(0.8), sensitive_features=groups)
    first = head.solve(X, y)
    again = head.solve(X + 0.01, y, warm_start=first)
    cold = head.solve(X + 0.01, y)
    _assert_same(again, cold, 1e-8)


@pytest.mark.parametrize(("loss", "task", "radius"), [("multinomial", "multiclass", 0.3),
                                                    ("log_loss", "binary", None)])
def test_warm_sequences_of_chord_steps_equal_cvxpy(loss, task, radius, solver):
    # A training loop's solves: the features drift, each solve warm-starts from the
    # last; the Newton iterations reuse one Hessian (chord steps), yet every answer
    # is the CVXPY definition's.
    X, y, groups = _data(seed=7, task=task)
    ball = None if radius is None else L2Ball(radius)
    head = FairHead(loss, DemographicParity(0.05), ball, sensitive_features=groups)
    exact = FairHead(loss, DemographicParity(0.05), ball, sensitive_features=groups,
                     solver=solver)
    rng = np.random.default_rng(7)
    warm = head.solve(X, y)
    for _ in range(3):
        X = X + 0.05 * rng.normal(size=X.shape)
        warm = head.solve(X, y, warm_start=warm)
        assert warm.method.startswith("active-set-newton")
        reference = exact.solve(X, y)
        if loss == "multinomial":  # (only intercept differences are defined)
            reference.intercept -= reference.intercept.mean()
            assert warm.intercept.sum() == pytest.approx(0.0, abs=1e-12)
        _assert_same(warm, reference, _TOL[solver])


def test_chord_steps_assemble_fewer_hessians_than_newton_steps(monkeypatch):
    import cvxdual.heads._fair as fair

    X, y, groups = _data(seed=8, task="multiclass")
    head = FairHead("multinomial", DemographicParity(0.05), L2Ball(0.3),
                    sensitive_features=groups)
    first = head.solve(X, y)
    calls = []
    original = fair._Objective.loss_hessian
    monkeypatch.setattr(fair._Objective, "loss_hessian",
                        lambda self, z: calls.append(1) or original(self, z))
    moved = X + 0.03 * np.random.default_rng(8).normal(size=X.shape)
    chord = head.solve(moved, y, warm_start=first)
    assert chord.method == "active-set-newton-l2" and chord.n_iter > 2
    # (the warm start's Hessian is the first chord matrix: none, or a few, are new)
    assert len(calls) < chord.n_iter / 2
    # the same answer as exact Newton steps (a Hessian at every step)
    # (chord systems all "singular": every step a Newton step)
    monkeypatch.setattr(fair._Curvature, "kkt_solve", lambda self, *args: None)
    newton = head.solve(moved, y, warm_start=first)
    _assert_same(chord, newton, 1e-8)


def test_joint_chord_steps_give_the_root_finds_answer(monkeypatch):
    # A binding warm start moves θ and μ together (_binding_chord); the answer is
    # the one the root find in μ reaches, and that path remains when it fails.
    import cvxdual.heads._fair as fair

    X, y, groups = _data(seed=10, task="multiclass")
    head = FairHead("multinomial", DemographicParity(0.05), L2Ball(0.3),
                    sensitive_features=groups)
    first = head.solve(X, y)
    moved = X + 0.03 * np.random.default_rng(10).normal(size=X.shape)
    outcomes = []
    joint = fair._binding_chord
    monkeypatch.setattr(fair, "_binding_chord",
                        lambda *args: outcomes.append(joint(*args)) or outcomes[-1])
    together = head.solve(moved, y, warm_start=first)
    assert outcomes and outcomes[0] is not None  # (it converged)
    monkeypatch.setattr(fair, "_binding_chord", lambda *args: None)
    root_find = head.solve(moved, y, warm_start=first)
    assert together.method == root_find.method == "active-set-newton-l2"
    _assert_same(together, root_find, 1e-8)
    assert np.linalg.norm(together.coef) == pytest.approx(0.3, rel=1e-9)


def test_chord_kkt_solve_is_the_augmented_system():
    from cvxdual.heads._fair_solver import _Curvature, _kkt_solve

    rng = np.random.default_rng(9)
    p, m = 12, 3
    A = rng.normal(size=(p, p))

    class _F:
        mask = (np.arange(p) < 9).astype(float)
        loss = get_loss("squared")

        def loss_hessian(self, z):
            return A @ A.T + 0.1 * np.eye(p)

    curvature = _Curvature(_F(), None)
    C, top, bottom = rng.normal(size=(m, p)), rng.normal(size=p), rng.normal(size=m)
    for mu in (0.0, 0.5):
        x, lam = curvature.kkt_solve(mu, C, top, bottom)
        K = A @ A.T + 0.1 * np.eye(p) + mu * np.diag(_F.mask)
        x_ref, lam_ref = _kkt_solve(K, C, top, bottom)
        np.testing.assert_allclose(x, x_ref, atol=1e-10)
        np.testing.assert_allclose(lam, lam_ref, atol=1e-10)
        assert curvature.decrement(x) == pytest.approx(float(x @ K @ x), rel=1e-12)
        # two right-hand sides at once: the columns of the two solves
        X, Lam = curvature.kkt_solve(mu, C, np.column_stack([top, 2 * top]),
                                     np.column_stack([bottom, np.zeros(m)]))
        x0, lam0 = _kkt_solve(K, C, 2 * top, np.zeros(m))
        np.testing.assert_allclose(X, np.column_stack([x_ref, x0]), atol=1e-10)
        np.testing.assert_allclose(Lam, np.column_stack([lam_ref, lam0]), atol=1e-10)
    # dependent rows: no Schur factor, the caller takes the least-squares path
    assert curvature.kkt_solve(0.5, np.vstack([C, C[:1]]), top, np.r_[bottom, 0.0]) is None


# ---------------------------------------------------------------------------
# The CVXPY definition: signs, envelope theorem and prices.


def test_scores_dual_carries_the_fairness_multipliers():
    X, y, groups = _data()
    loss = get_loss("log_loss")
    sol = FairHead(loss, DemographicParity(0.05), sensitive_features=groups,
                   solver="CLARABEL").solve(X, y)
    codes, labels = encode_groups(groups)
    w = np.full(len(y), 1.0 / len(y))
    Y = loss.encode_targets(y)
    A = DemographicParity(0.05).parity_matrices(codes, labels, Y, w, loss)[0]
    z = X @ sol.coef + sol.intercept
    expected = w[:, None] * loss.gradient(z, Y) + A.T @ (sol.duals["upper"] - sol.duals["lower"])
    np.testing.assert_allclose(sol.sample_duals, expected, atol=1e-8)
    # stationarity in W and b: Xᵀν = 0 and Σν = 0 without a ball
    np.testing.assert_allclose(X.T @ sol.sample_duals, 0.0, atol=1e-8)
    assert abs(sol.sample_duals.sum()) < 1e-8


@pytest.mark.parametrize(
    ("fairness", "loss", "radius"),
    [
        (DemographicParity(0.05), "log_loss", None),
        (EqualOpportunity(0.05), "log_loss", 0.8),
        (DemographicParity(0.1), "squared", 1.0),
        (BoundedGroupLoss(0.35), "log_loss", None),
    ],
)
def test_feature_gradient_by_finite_differences(fairness, loss, radius):
    X, y, groups = _data(n=60, d=2, task="regression" if loss == "squared" else "binary")
    ball = None if radius is None else L2Ball(radius)
    head = FairHead(loss, fairness, ball, sensitive_features=groups)
    sol = head.solve(X, y)
    assert max(float(np.max(v)) for v in sol.duals.values()) > 1e-4  # something binds
    grad = sol.feature_gradient()
    # CVXPY's objectives (the bounded group loss) carry ~1e-9 noise: wider steps
    fast = sol.method != "cvxpy"
    eps, tol = (1e-5, 1e-6) if fast else (3e-4, 5e-6)
    for i, j in [(0, 0), (7, 1), (20, 0), (59, 1)]:
        E = np.zeros_like(X)
        E[i, j] = eps
        numeric = (head.solve(X + E, y).objective - head.solve(X - E, y).objective) / (2 * eps)
        assert numeric == pytest.approx(grad[i, j], abs=tol * max(1.0, np.abs(grad).max()))


@pytest.mark.parametrize(
    ("make", "bound", "loss", "solver"),
    [
        (DemographicParity, 0.05, "log_loss", "auto"),
        (EqualOpportunity, 0.05, "squared_hinge", "auto"),
        (DemographicParity, 0.1, "multinomial", "CLARABEL"),
        (BoundedGroupLoss, 0.2, "log_loss", "cvxpy"),
    ],
)
def test_price_of_the_bound_by_finite_differences(make, bound, loss, solver):
    X, y, groups = _data(task="multiclass" if loss == "multinomial" else "binary")
    radius = L2Ball(2.0) if loss == "multinomial" else None

    def solve(value):
        return FairHead(loss, make(value), radius, sensitive_features=groups,
                        solver=solver).solve(X, y)

    sol = solve(bound)
    keys = make(bound).keys
    price = -sum(float(np.sum(sol.duals[key])) for key in keys)
    assert price < -1e-3  # binding
    fast = sol.method != "cvxpy"
    h = 1e-4 if fast else 3e-4  # CVXPY's objectives carry ~1e-9 noise
    numeric = (solve(bound + h).objective - solve(bound - h).objective) / (2 * h)
    assert numeric == pytest.approx(price, rel=1e-5 if fast else 3e-4)


def test_loose_bound_equals_the_unconstrained_models():
    X, y, groups = _data()
    labels = np.where(y > 0, "yes", "no")
    fair = FairLinearClassifier(DemographicParity(100.0)).fit(X, labels, sensitive_features=groups)
    assert np.all(fair.duals_["upper"] == 0) and np.all(fair.duals_["lower"] == 0)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, labels)
    np.testing.assert_allclose(fair.coef_, ref.coef_, rtol=1e-5)
    np.testing.assert_allclose(fair.intercept_, ref.intercept_, rtol=1e-5, atol=1e-6)
    bounded = FairLinearClassifier(DemographicParity(100.0), radius=0.5).fit(
        X, labels, sensitive_features=groups
    )
    norm = NormBoundedLinearClassifier(0.5).fit(X, labels)
    np.testing.assert_allclose(bounded.coef_, norm.coef_, atol=1e-8)
    assert bounded.duals_["norm"] == pytest.approx(norm.duals_["norm"], rel=1e-7)
    np.testing.assert_allclose(bounded.sample_duals_, norm.sample_duals_, atol=1e-10)
    Xr, yr, gr = _data(task="regression")
    reg = FairLinearRegressor(DemographicParity(100.0)).fit(Xr, yr, sensitive_features=gr)
    lin = LinearRegression().fit(Xr, yr)
    np.testing.assert_allclose(reg.coef_, lin.coef_, rtol=1e-8)
    assert reg.intercept_ == pytest.approx(lin.intercept_, rel=1e-8)


# ---------------------------------------------------------------------------
# Constraints the fast solver leaves to CVXPY.


@pytest.mark.parametrize(
    ("fairness", "task", "loss"),
    [
        (DemographicParity(0.1), "multiclass", "log_loss"),
        (EqualOpportunity(0.1), "multiclass", "log_loss"),
        (DemographicParity(0.1), "binary", "hinge"),
        (BoundedGroupLoss(0.3), "binary", "log_loss"),
    ],
)
def test_cvxpy_path_meets_the_constraint_and_agrees_across_solvers(fairness, task, loss):
    X, y, groups = _data(task=task)
    fits = [
        FairLinearClassifier(fairness, radius=2.0, loss=loss, solver=s).fit(
            X, y, sensitive_features=groups
        )
        for s in ("CLARABEL", "SCS")
    ]
    head_loss = {"log_loss": "multinomial" if task == "multiclass" else "log_loss",
                 "hinge": "hinge"}[loss]
    z = fits[0].decision_function(X)
    for value in _values(fairness, head_loss, z, groups, y).values():
        assert np.max(value) <= 1e-7
    assert any(np.max(v) > 1e-4 for v in fits[0].duals_.values())  # something binds
    a, b = fits
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-4)
    for key in a.duals_:
        np.testing.assert_allclose(a.duals_[key], b.duals_[key], atol=2e-3)
    assert a.solve_method_ == "cvxpy"


def test_infeasible_bounded_group_loss_names_the_constraint():
    X, y, groups = _data()
    with pytest.raises(InfeasibleSetError, match="BoundedGroupLoss"):
        FairLinearClassifier(BoundedGroupLoss(0.01), radius=1.0).fit(
            X, y, sensitive_features=groups
        )


def test_group_without_positive_samples_names_the_constraint():
    X, y, groups = _data()
    groups = groups.copy()
    groups[(y < 0)[: len(y)] & (np.arange(len(y)) < 30)] = "only-negative"
    with pytest.raises(InfeasibleSetError, match=r"EqualOpportunity.*only-negative"):
        FairLinearClassifier(EqualOpportunity(0.1)).fit(X, y, sensitive_features=groups)
    w = np.where(groups == "c", 0.0, 1.0)
    with pytest.raises(InfeasibleSetError, match=r"DemographicParity.*'c'"):
        FairLinearClassifier(DemographicParity(0.1)).fit(
            X, y, sensitive_features=groups, sample_weight=w
        )


def test_zero_bound_is_always_feasible():
    # Constant scores meet every parity constraint: δ = 0 with a ball is feasible.
    X, y, groups = _data()
    clf = FairLinearClassifier(DemographicParity(0.0), radius=0.5).fit(
        X, y, sensitive_features=groups
    )
    z = clf.decision_function(X)
    for g in clf.groups_:
        assert abs(z[groups == g].mean() - z.mean()) <= 1e-7


def test_zero_bound_fast_solver_equals_cvxpy():
    # δ = 0 makes "upper" and "lower" the same hyperplane: only their difference is
    # determined (the weights, objective and ν are unique).
    X, y, groups = _data()
    a = FairHead("log_loss", DemographicParity(0.0), sensitive_features=groups).solve(X, y)
    b = FairHead("log_loss", DemographicParity(0.0), sensitive_features=groups,
                 solver="CLARABEL").solve(X, y)
    assert a.method == "active-set-newton"
    np.testing.assert_allclose(a.coef, b.coef, atol=2e-5)
    assert a.objective == pytest.approx(b.objective, abs=1e-9)
    scale = np.abs(b.sample_duals).max()
    np.testing.assert_allclose(a.sample_duals, b.sample_duals, atol=2e-5 * scale)
    # The weighted group gaps sum to zero (Σ_g W_g A_g = 0), so the net multipliers
    # are determined up to a multiple of the group weights W_g.
    diff = (a.duals["upper"] - a.duals["lower"] - b.duals["upper"] + b.duals["lower"])[:, 0]
    share = np.array([np.mean(groups == g) for g in ("a", "b", "c")])
    np.testing.assert_allclose(diff, diff.sum() * share, atol=1e-4)


# ---------------------------------------------------------------------------
# Estimators: API, inputs, scikit-learn integration.


def test_classifier_attributes_and_two_column_groups():
    X, y, groups = _data(task="multiclass")
    both = np.column_stack([groups, (X[:, 1] > 0).astype(int)])
    clf = FairLinearClassifier(DemographicParity(0.2), radius=2.0).fit(
        X, y, sensitive_features=both
    )
    G = clf.groups_.shape[0]
    assert G == 6 and "a,0" in clf.groups_.tolist()
    assert clf.coef_.shape == (3, X.shape[1]) and clf.intercept_.shape == (3,)
    assert abs(clf.intercept_.sum()) < 1e-9
    assert clf.duals_["upper"].shape == (G, 3) and clf.duals_["lower"].shape == (G, 3)
    assert isinstance(clf.duals_["norm"], float)
    assert clf.sample_duals_.shape == (len(y), 3)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= set(clf.classes_)


def test_inputs_are_not_modified():
    X, y, groups = _data()
    w = np.linspace(0.5, 2.0, len(y))
    copies = [a.copy() for a in (X, y, groups, w)]
    constraint = DemographicParity(0.05)
    FairLinearClassifier(constraint, radius=1.0).fit(
        X, y, sensitive_features=groups, sample_weight=w
    )
    for a, b in zip((X, y, groups, w), copies, strict=True):
        np.testing.assert_array_equal(a, b)
    assert constraint == DemographicParity(0.05)


def test_bad_inputs():
    X, y, groups = _data()
    clf = FairLinearClassifier(DemographicParity(0.1))
    with pytest.raises(ValueError, match="requires sensitive_features"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="sensitive_features has 119 entries"):
        clf.fit(X, y, sensitive_features=groups[1:])
    with pytest.raises(ValueError, match=r"difference_bound must be >= 0, got -0\.1"):
        DemographicParity(-0.1)
    with pytest.raises(ValueError, match="upper_bound must be finite"):
        BoundedGroupLoss(np.inf)
    with pytest.raises(InvalidParameterError, match="constraint"):
        FairLinearClassifier(0.1).fit(X, y, sensitive_features=groups)
    with pytest.raises(ValueError, match="solver='fast' needs"):
        FairLinearClassifier(BoundedGroupLoss(1.0), solver="fast").fit(
            X, y, sensitive_features=groups
        )
    with pytest.raises(ValueError, match="EqualOpportunity needs class labels"):
        FairLinearRegressor(EqualOpportunity(0.1)).fit(X, y, sensitive_features=groups)
    with pytest.raises(ValueError, match=r"fairness must be a cvxdual\.fairness constraint"):
        FairHead("log_loss", L1Ball(1.0))


def test_sample_weight_equals_repetition():
    X, y, groups = _data(n=60, seed=2)
    reps = np.arange(60) % 3 + 1
    a = FairLinearClassifier(DemographicParity(0.05)).fit(
        X, y, sensitive_features=groups, sample_weight=reps
    )
    b = FairLinearClassifier(DemographicParity(0.05)).fit(
        np.repeat(X, reps, axis=0), np.repeat(y, reps), sensitive_features=np.repeat(groups, reps)
    )
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-7)
    np.testing.assert_allclose(a.duals_["upper"], b.duals_["upper"], atol=1e-9)


def test_pipeline_and_grid_search_route_sensitive_features():
    X, y, groups = _data(n=150)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = FairLinearClassifier(DemographicParity(0.1)).set_fit_request(
            sensitive_features=True, sample_weight=False
        )
        pipe = make_pipeline(StandardScaler(), clf)
        pipe.fit(X, y, sensitive_features=groups)
        z = pipe.decision_function(X)
        assert max(abs(z[groups == g].mean() - z.mean()) for g in "abc") <= 0.1 + 1e-7
        search = GridSearchCV(
            pipe, {"fairlinearclassifier__constraint": [DemographicParity(0.05),
                                                        DemographicParity(1.0)]}, cv=3
        )
        search.fit(X, y, sensitive_features=groups)
        assert search.best_params_["fairlinearclassifier__constraint"] in (
            DemographicParity(0.05), DemographicParity(1.0))


def _groups_from_x(X):
    """The sign of the first feature as the group; None for inputs fit must reject."""
    try:
        X = np.asarray(X)
        if X.dtype.kind == "c":
            return None
        X = X.astype(float)
    except (TypeError, ValueError):
        return None
    if X.ndim != 2 or X.shape[1] == 0:
        return None
    return X[:, 0] > 0


class _GroupsFromX(FairLinearClassifier):
    """For scikit-learn's checks only: groups from the sign of the first feature.

    The checks call ``fit(X, y)`` and cannot pass ``sensitive_features``; a
    group that is a function of the row keeps the subset and weight checks
    meaningful.
    """

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        if sensitive_features is None:
            sensitive_features = _groups_from_x(X)
        return super().fit(X, y, sensitive_features=sensitive_features,
                           sample_weight=sample_weight)


class _RegressorGroupsFromX(FairLinearRegressor):
    """As :class:`_GroupsFromX`, for the regressor."""

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        if sensitive_features is None:
            sensitive_features = _groups_from_x(X)
        return super().fit(X, y, sensitive_features=sensitive_features,
                           sample_weight=sample_weight)


# The hinge fits go through CVXPY, whose weights are accurate to ~1e-6: the
# sample-weight check compares predictions at rtol 1e-7.
_CVXPY_ACCURACY = {
    "check_sample_weight_equivalence_on_dense_data": "solved by CVXPY to ~1e-6, the check "
    "asks 1e-7 (the fast paths pass it)",
}


@parametrize_with_checks(
    [
        _GroupsFromX(DemographicParity(0.5), radius=5.0),
        _GroupsFromX(DemographicParity(0.2), radius=1.0, loss="hinge"),
        _RegressorGroupsFromX(DemographicParity(0.5), radius=1.0),
    ],
    expected_failed_checks=lambda est: _CVXPY_ACCURACY if est.loss == "hinge" else {},
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------
# The same constraint on the exact head of a network.


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_mlp_head_meets_the_constraint_and_records_its_duals():
    from cvxdual import ConstrainedMLPClassifier

    X, y, groups = _data(n=150)
    clf = ConstrainedMLPClassifier(
        (8,), head_radius=5.0, head_fairness=DemographicParity(0.05), max_iter=15,
        learning_rate_init=0.01, random_state=0,
    ).fit(X, y, sensitive_features=groups)
    z = clf._scores(X)[:, 0]  # the head's scores on the training rows
    for g in "abc":
        assert abs(z[groups == g].mean() - z.mean()) <= 0.05 + 1e-7
    assert set(clf.duals_["head"]) == {"norm", "upper", "lower"}
    assert clf.duals_["head"]["upper"].shape == (3, 1)
    assert all("upper" in record["head"]["duals"] for record in clf.dual_history_)
    assert np.max(clf.duals_["head"]["upper"]) + np.max(clf.duals_["head"]["lower"]) > 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_mlp_regressor_with_early_stopping_splits_the_groups():
    from cvxdual import ConstrainedMLPRegressor

    X, y, groups = _data(n=150, task="regression")
    reg = ConstrainedMLPRegressor(
        (6,), head_fairness=DemographicParity(0.1), max_iter=8, early_stopping=True,
        random_state=0,
    ).fit(X, y, sensitive_features=groups)
    assert reg.duals_["head"]["upper"].shape == (3, 1)


def test_mlp_fairness_inputs():
    from cvxdual import ConstrainedMLPClassifier

    X, y, groups = _data(n=60)
    with pytest.raises(ValueError, match="requires sensitive_features"):
        ConstrainedMLPClassifier((4,), head_fairness=DemographicParity(0.1), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="only used with head_fairness"):
        ConstrainedMLPClassifier((4,), max_iter=2).fit(X, y, sensitive_features=groups)
    with pytest.raises(InvalidParameterError, match="head_fairness"):
        ConstrainedMLPClassifier((4,), head_fairness=0.1, max_iter=2).fit(
            X, y, sensitive_features=groups
        )
