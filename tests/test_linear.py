"""Tests of the norm-bounded linear estimators: exactness, sklearn equivalences, API."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from cvxdual.estimators._linear import NormBoundedLinearClassifier, NormBoundedLinearRegressor


def _regression(n=50, d=4, seed=0, targets=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    coef_shape, y_shape = ((d,), (n,)) if targets is None else ((d, targets), (n, targets))
    y = 2.0 * X @ rng.normal(size=coef_shape) + 0.5 * rng.normal(size=y_shape) + 1.0
    return X, y


def _classification(n=60, d=4, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    scores = X[:, :classes] * 2.0 + rng.normal(size=(n, classes))
    labels = np.array(["ant", "bee", "cat", "dog"])[:classes]
    y = labels[np.argmax(scores, axis=1)] if classes > 2 else labels[(scores[:, 0] > 0.2) * 1]
    return X, y


@parametrize_with_checks(
    [
        NormBoundedLinearRegressor(),
        NormBoundedLinearClassifier(),
        NormBoundedLinearClassifier(loss="hinge", norm="l1"),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------
# Lagrangian equivalences with scikit-learn's penalised models.


def test_l2_regressor_equals_ridge():
    X, y = _regression()
    n, r = X.shape[0], 1.0
    reg = NormBoundedLinearRegressor(r).fit(X, y)
    lam = reg.duals_["norm"]
    assert lam > 0
    assert np.linalg.norm(reg.coef_) == pytest.approx(r, rel=1e-9)
    ridge = Ridge(alpha=n * lam / r).fit(X, y)
    np.testing.assert_allclose(reg.coef_, ridge.coef_, rtol=1e-6)
    assert reg.intercept_ == pytest.approx(ridge.intercept_, rel=1e-6)


def test_l1_regressor_equals_lasso():
    X, y = _regression(seed=1)
    r = 1.5
    reg = NormBoundedLinearRegressor(r, norm="l1").fit(X, y)
    lam = reg.duals_["norm"]
    assert lam > 0
    assert np.abs(reg.coef_).sum() == pytest.approx(r, rel=1e-9)
    lasso = Lasso(alpha=lam, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(reg.coef_, lasso.coef_, rtol=1e-5, atol=1e-8)
    assert reg.intercept_ == pytest.approx(lasso.intercept_, rel=1e-6)


@pytest.mark.parametrize("classes", [2, 3])
def test_l2_classifier_equals_logistic_regression(classes):
    X, y = _classification(seed=2, classes=classes)
    n, r = X.shape[0], 0.8
    clf = NormBoundedLinearClassifier(r).fit(X, y)
    lam = clf.duals_["norm"]
    assert lam > 0
    lr = LogisticRegression(C=r / (n * lam), tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, lr.classes_)
    np.testing.assert_allclose(clf.coef_, lr.coef_, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(clf.intercept_, lr.intercept_, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(clf.predict_proba(X), lr.predict_proba(X), atol=1e-7)
    if classes > 2:
        assert abs(clf.intercept_.sum()) < 1e-12


# ---------------------------------------------------------------------------
# Exactness: CVXPY, sensitivity, duals.


@pytest.mark.parametrize("norm", ["l2", "l1", "linf"])
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_objective_derivative_in_radius(norm, kind):
    if kind == "regressor":
        X, y = _regression(seed=3)
        make = NormBoundedLinearRegressor
        r = 0.8
    else:
        X, y = _classification(seed=3)
        make = NormBoundedLinearClassifier
        r = 0.3
    h = 1e-3 * r
    fitted = make(r, norm=norm).fit(X, y)
    lam = fitted.duals_["norm"]
    assert lam > 0
    up = make(r + h, norm=norm).fit(X, y).objective_
    down = make(r - h, norm=norm).fit(X, y).objective_
    assert (up - down) / (2 * h) == pytest.approx(-lam, rel=1e-4)


@pytest.mark.parametrize("norm", ["l2", "l1", "linf"])
def test_classifier_matches_independent_cvxpy_problem(norm):
    # Written out here independently of cvxdual.losses and cvxdual.heads.
    X, y = _classification(n=30, d=3, seed=4)
    s = np.where(y == "bee", 1.0, -1.0)
    r = 0.4
    w, b = cp.Variable(3), cp.Variable()
    norms = {"l2": cp.norm(w, 2), "l1": cp.norm(w, 1), "linf": cp.norm(w, "inf")}
    bound = norms[norm] <= r
    problem = cp.Problem(
        cp.Minimize(cp.sum(cp.logistic(-cp.multiply(s, X @ w + b))) / 30), [bound]
    )
    problem.solve(solver="CLARABEL")
    clf = NormBoundedLinearClassifier(r, norm=norm).fit(X, y)
    assert clf.objective_ == pytest.approx(problem.value, rel=1e-6)
    np.testing.assert_allclose(clf.coef_[0], w.value, rtol=1e-4, atol=1e-6)
    assert clf.duals_["norm"] == pytest.approx(float(bound.dual_value), rel=1e-4)


def test_crammer_singer_matches_independent_cvxpy_problem():
    X, y = _classification(n=30, d=3, seed=5, classes=3)
    labels = np.searchsorted(np.unique(y), y)
    r = 0.5
    W, b = cp.Variable((3, 3)), cp.Variable(3)
    Z = X @ W + np.ones((30, 1)) @ cp.reshape(b, (1, 3), order="C")
    onehot = np.eye(3)[labels]
    margins = cp.max(Z + (1 - onehot), axis=1) - cp.sum(cp.multiply(onehot, Z), axis=1)
    bound = cp.norm(W, "fro") <= r
    problem = cp.Problem(cp.Minimize(cp.sum(margins) / 30), [bound])
    problem.solve(solver="CLARABEL")
    clf = NormBoundedLinearClassifier(r, loss="hinge").fit(X, y)
    assert clf.objective_ == pytest.approx(problem.value, rel=1e-6)
    assert clf.duals_["norm"] == pytest.approx(float(bound.dual_value), rel=1e-4)
    assert clf.coef_.shape == (3, 3) and clf.sample_duals_.shape == (30, 3)
    assert not hasattr(clf, "predict_proba")


def test_regressor_sample_duals_and_weights():
    X, y = _regression(seed=6)
    weights = np.random.default_rng(6).uniform(0.5, 2.0, size=50)
    reg = NormBoundedLinearRegressor(0.7).fit(X, y, sample_weight=weights)
    residual = reg.predict(X) - y
    np.testing.assert_allclose(reg.sample_duals_, weights / weights.sum() * residual, atol=1e-12)
    # Integer weights are repetitions.
    counts = np.arange(50) % 3
    weighted = NormBoundedLinearRegressor(0.7).fit(X, y, sample_weight=counts)
    repeated = NormBoundedLinearRegressor(0.7).fit(np.repeat(X, counts, 0), np.repeat(y, counts))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8)
    assert weighted.objective_ == pytest.approx(repeated.objective_, rel=1e-10)


def test_classifier_sample_duals():
    X, y = _classification(seed=7)
    clf = NormBoundedLinearClassifier(0.5).fit(X, y)
    s = np.where(y == clf.classes_[1], 1.0, -1.0)
    z = clf.decision_function(X)
    np.testing.assert_allclose(clf.sample_duals_, -s * expit(-s * z) / 60, atol=1e-12)
    assert clf.sample_duals_.shape == (60,)


def test_bound_not_binding():
    X, y = _regression(seed=8)
    reg = NormBoundedLinearRegressor(1e3).fit(X, y)
    assert reg.duals_["norm"] == 0.0
    ols = np.linalg.lstsq(np.column_stack([X, np.ones(50)]), y, rcond=None)[0]
    np.testing.assert_allclose(reg.coef_, ols[:4], rtol=1e-8)


def test_multi_output_regression():
    X, y = _regression(seed=9, targets=2)
    reg = NormBoundedLinearRegressor(1.0).fit(X, y)
    assert reg.coef_.shape == (2, 4) and reg.intercept_.shape == (2,)
    assert reg.predict(X).shape == (50, 2) and reg.sample_duals_.shape == (50, 2)
    assert np.linalg.norm(reg.coef_) == pytest.approx(1.0, rel=1e-9)
    exact = NormBoundedLinearRegressor(1.0, solver="cvxpy").fit(X, y)
    np.testing.assert_allclose(reg.coef_, exact.coef_, rtol=1e-5, atol=1e-8)


def test_predictions_and_probabilities():
    X, y = _classification(seed=10, classes=3)
    clf = NormBoundedLinearClassifier(2.0).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, y) > 0.6
    Xb, yb = _classification(seed=10)
    binary = NormBoundedLinearClassifier(2.0, loss="squared_hinge").fit(Xb, yb)
    assert binary.decision_function(Xb).shape == (60,)
    assert set(binary.predict(Xb)) <= set(binary.classes_)


def test_pipeline_and_grid_search():
    X, y = _classification(n=80, seed=11)
    pipe = make_pipeline(StandardScaler(), NormBoundedLinearClassifier())
    search = GridSearchCV(
        pipe, {"normboundedlinearclassifier__radius": [0.1, 1.0, 5.0]}, cv=3
    ).fit(X, y)
    assert search.best_params_["normboundedlinearclassifier__radius"] in (0.1, 1.0, 5.0)
    assert search.score(X, y) > 0.7
    Xr, yr = _regression(seed=11)
    reg = make_pipeline(StandardScaler(), NormBoundedLinearRegressor(3.0)).fit(Xr, yr)
    assert reg.score(Xr, yr) > 0.5


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"radius": -1.0}, "'radius' parameter"),
        ({"radius": 0.0}, "'radius' parameter"),
        ({"norm": "l3"}, "'norm' parameter"),
        ({"loss": "cubic"}, "'loss' parameter"),
        ({"solver": "nope"}, "'solver' parameter"),
    ],
)
@pytest.mark.parametrize("make", [NormBoundedLinearRegressor, NormBoundedLinearClassifier])
def test_bad_parameters(make, params, match):
    X, y = _classification(seed=12)
    if make is NormBoundedLinearRegressor:
        y = (y == "bee").astype(float)
    with pytest.raises(ValueError, match=match):
        make(**params).fit(X, y)


def test_bad_input():
    X, y = _classification(seed=13)
    with pytest.raises(ValueError, match="only one class"):
        NormBoundedLinearClassifier().fit(X, np.full(60, "ant"))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NormBoundedLinearClassifier().fit(bad, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        NormBoundedLinearRegressor().fit(X, np.ones(59))
    with pytest.raises(ValueError, match=r"[Nn]egative"):
        NormBoundedLinearRegressor().fit(X, np.ones(60), sample_weight=-np.ones(60))
    with pytest.raises(ValueError, match="0 sample"):
        NormBoundedLinearRegressor().fit(np.ones((0, 3)), np.ones(0))
    fitted = NormBoundedLinearRegressor().fit(X, np.ones(60))
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :2])


def test_does_not_modify_inputs():
    X, y = _regression(seed=14)
    weights = np.ones(50)
    copies = X.copy(), y.copy(), weights.copy()
    NormBoundedLinearRegressor(0.5, norm="l1").fit(X, y, sample_weight=weights)
    for before, after in zip(copies, (X, y, weights), strict=True):
        np.testing.assert_array_equal(before, after)
