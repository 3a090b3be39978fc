"""Tests of solve_convex_relu's interface: input checks, names, the auto policy, verbose."""

from __future__ import annotations

import numpy as np
import pytest

from cvxdual.convex_relu import (
    certify,
    enumerate_patterns,
    network_objective,
    sample_patterns,
    solve_convex_relu,
)
from cvxdual.estimators._convex_relu import ConvexReLUClassifier, ConvexReLURegressor

from ._helpers import ALPHA, _data


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_bad_values_raise(bad):
    X, y = _data(10, 2)
    Xb = X.copy()
    Xb[0, 0] = bad
    D = enumerate_patterns(X)
    with pytest.raises(ValueError, match="NaN or infinity"):
        solve_convex_relu(Xb, y, ALPHA, D)
    yb = y.copy()
    yb[1] = bad
    with pytest.raises(ValueError, match="y must not contain"):
        solve_convex_relu(X, yb, ALPHA, D)
    with pytest.raises(ValueError):
        ConvexReLURegressor().fit(Xb, y)
    with pytest.raises(ValueError, match="finite"):
        certify(X, y, np.full((3, 2), bad), np.ones(2), ALPHA)


@pytest.mark.parametrize("alpha", [0.0, -1.0, np.nan])
def test_alpha_must_be_positive(alpha):
    X, y = _data(10, 2)
    with pytest.raises(ValueError, match="alpha"):
        solve_convex_relu(X, y, alpha, enumerate_patterns(X))
    with pytest.raises(ValueError, match="alpha"):
        certify(X, y, np.ones((3, 1)), np.ones(1), alpha)
    with pytest.raises(ValueError, match="alpha"):
        ConvexReLURegressor(alpha=alpha).fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        ConvexReLUClassifier(alpha=alpha).fit(X, y > 0)


def test_wrong_shapes_raise():
    X, y = _data(10, 2)
    D = enumerate_patterns(X)
    with pytest.raises(ValueError, match="y must be a 1-d array"):
        solve_convex_relu(X, y[:5], ALPHA, D)
    with pytest.raises(ValueError, match="patterns must"):
        solve_convex_relu(X, y, ALPHA, D[:5])
    with pytest.raises(ValueError, match="X must be a 2-d"):
        solve_convex_relu(X[:, 0], y, ALPHA, D)
    with pytest.raises(ValueError, match="hidden_weights must have shape"):
        certify(X, y, np.ones((2, 4)), np.ones(4), ALPHA)  # bias row missing
    with pytest.raises(ValueError, match="output_weights must have shape"):
        certify(X, y, np.ones((3, 4)), np.ones(3), ALPHA)
    with pytest.raises(ValueError, match="labels"):
        solve_convex_relu(X, y, ALPHA, D, loss="log_loss")
    with pytest.raises(ValueError, match="method"):
        solve_convex_relu(X, y, ALPHA, D, method="newton")
    with pytest.raises(ValueError, match="loss"):
        solve_convex_relu(X, y, ALPHA, D, loss="hinge")
    reg = ConvexReLURegressor(n_patterns=10, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        reg.predict(X[:, :1])


@pytest.mark.parametrize("call, name", [
    (lambda X, y, D: solve_convex_relu(X, y, "1", D), "alpha"),
    (lambda X, y, D: solve_convex_relu(X, y, None, D), "alpha"),
    (lambda X, y, D: solve_convex_relu(X, y, 1j, D), "alpha"),
    (lambda X, y, D: solve_convex_relu(X, y, ALPHA, D, tol=None), "tol"),
    (lambda X, y, D: solve_convex_relu(X, y, ALPHA, D, tol="1e-5"), "tol"),
    (lambda X, y, D: solve_convex_relu(X, y, ALPHA, D, max_iter=None), "max_iter"),
    (lambda X, y, D: solve_convex_relu(X, y, ALPHA, D, max_iter=np.inf), "max_iter"),
    (lambda X, y, D: solve_convex_relu(X, y, ALPHA, D, max_iter="abc"), "max_iter"),
    (lambda X, y, D: sample_patterns(X, None), "n_patterns"),
    (lambda X, y, D: sample_patterns(X, np.nan), "n_patterns"),
    (lambda X, y, D: certify(X, y, np.ones((3, 1)), np.ones(1), ALPHA, tol=None), "tol"),
    (lambda X, y, D: certify(X, y, np.ones((3, 1)), np.ones(1), ALPHA, max_iter=None),
     "max_iter"),
    (lambda X, y, D: network_objective(X, y, np.ones((3, 1)), np.ones(1), "0.1"), "alpha"),
])
def test_parameters_of_the_wrong_type_raise_value_error(call, name):
    X, y = _data(10, 2)
    D = enumerate_patterns(X)
    with pytest.raises(ValueError, match=f"{name} must be"):
        call(X, y, D)
