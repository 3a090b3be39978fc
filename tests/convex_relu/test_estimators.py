"""Tests of ConvexReLURegressor and ConvexReLUClassifier."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from cvxdual.convex_relu import (
    network_objective,
)
from cvxdual.estimators._convex_relu import ConvexReLUClassifier, ConvexReLURegressor

from ._helpers import ALPHA, _augment, _data


@pytest.mark.parametrize("solver", ["cvxpy", "fast"])
def test_regressor_matches_its_network(solver):
    X, y = _data(30, 2, seed=8)
    reg = ConvexReLURegressor(alpha=ALPHA, solver=solver, n_patterns=2000).fit(X, y)
    assert reg.patterns_complete_  # rank 3 and few enough cells: all patterns
    assert reg.hidden_weights_.shape == (3, reg.n_neurons_)
    assert reg.output_weights_.shape == (reg.n_neurons_,)
    np.testing.assert_allclose(
        reg.predict(X), np.maximum(_augment(X) @ reg.hidden_weights_, 0) @ reg.output_weights_
    )
    np.testing.assert_allclose(
        reg.objective_, network_objective(X, y, reg.hidden_weights_, reg.output_weights_, ALPHA)
    )
    assert reg.lower_bound_ <= reg.objective_ * (1 + 1e-12)
    assert (reg.objective_ - reg.lower_bound_) / reg.objective_ <= reg.tol
    assert set(reg.duals_) == {"sample_duals", "cone_v", "cone_w", "dual_scale"}
    assert reg.duals_["cone_v"].shape == reg.patterns_.shape


def test_regressor_without_intercept_shapes():
    X, y = _data(20, 3, seed=9)
    reg = ConvexReLURegressor(alpha=ALPHA, fit_intercept=False, n_patterns=20,
                              random_state=0).fit(X, y)
    assert reg.hidden_weights_.shape == (3, reg.n_neurons_)
    np.testing.assert_allclose(
        reg.predict(X), np.maximum(X @ reg.hidden_weights_, 0) @ reg.output_weights_
    )


def test_classifier_binary_and_multiclass():
    X, y = _data(30, 2, seed=10)
    yb = (y > np.median(y)).astype(int)
    clf = ConvexReLUClassifier(alpha=ALPHA, loss="log_loss", n_patterns=30,
                               random_state=0).fit(X, yb)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(proba[:, 1] > 0.5).astype(int)])
    assert clf.lower_bound_ <= clf.objective_ * (1 + 1e-12)
    y3 = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    clf3 = ConvexReLUClassifier(alpha=ALPHA, n_patterns=30, random_state=0).fit(X, y3)
    assert clf3.decision_function(X).shape == (30, 3)
    assert clf3.output_weights_.shape == (clf3.n_neurons_, 3)
    assert clf3.duals_["sample_duals"].shape == (30, 3)
    assert not hasattr(clf3, "predict_proba")  # squared hinge has no probabilities
    assert clf3.score(X, y3) > 0.8


def test_classifier_fast_matches_cvxpy():
    X, y = _data(24, 2, seed=12)
    yb = (y > np.median(y)).astype(int)
    kw = dict(alpha=ALPHA, n_patterns=15, random_state=0)
    a = ConvexReLUClassifier(solver="fast", **kw).fit(X, yb)
    b = ConvexReLUClassifier(solver="cvxpy", **kw).fit(X, yb)
    np.testing.assert_allclose(a.objective_, b.objective_, rtol=1e-4)


def test_fit_does_not_mutate_inputs():
    X, y = _data(12, 2)
    X0, y0 = X.copy(), y.copy()
    ConvexReLURegressor(n_patterns=10, random_state=0).fit(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


@parametrize_with_checks(
    [
        ConvexReLURegressor(n_patterns=10, random_state=0),
        ConvexReLUClassifier(n_patterns=10, random_state=0),
        # the fast path on the same degenerate data sets
        ConvexReLURegressor(n_patterns=5, solver="fast", random_state=0),
        ConvexReLUClassifier(n_patterns=5, solver="fast", random_state=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
