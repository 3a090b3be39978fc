"""Tests of cvxdual.convex_relu._certificate and certify: lower bounds and gaps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cvxdual.convex_relu import (
    certify,
    dual_lower_bound,
    enumerate_patterns,
    network_objective,
    recover_network,
)
from cvxdual.estimators._convex_relu import ConvexReLURegressor

from ._helpers import ALPHA, _augment, _data, _gd


def test_certificate_tight_on_rank3_with_all_patterns(small_problem):
    X, y, _D, _prog, sol = small_problem
    assert sol.lower_bound <= sol.value * (1 + 1e-12)
    assert sol.relative_gap <= 1e-6
    U, a = recover_network(sol.v, sol.w)
    c = certify(X, y, U, a, ALPHA)
    assert c.is_global
    assert c.relative_gap <= 1e-6 and c.gap >= -1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_certificate_never_exceeds_objective_of_any_network(small_problem, seed):
    X, y, D, _prog, sol = small_problem
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((3, 8))
    a = rng.standard_normal(8)
    # with the residual of an arbitrary network as the dual point
    lb = dual_lower_bound(X, y, ALPHA, D, (np.maximum(_augment(X) @ U, 0) @ a - y) / len(y))
    assert lb <= sol.value * (1 + 1e-12)
    assert lb <= network_objective(X, y, U, a, ALPHA)
    c = certify(X, y, U, a, ALPHA, dual="residual")
    assert c.lower_bound <= sol.value * (1 + 1e-12) and c.gap >= 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_convex_solution_no_worse_than_gradient_descent(small_problem, seed):
    X, y, _D, _prog, sol = small_problem
    U, a = _gd(X, y, ALPHA, seed=seed)
    gd_obj = network_objective(X, y, U, a, ALPHA)
    assert sol.objective <= gd_obj + 1e-10
    # certify() on the GD network: global bound = the convex optimum
    c = certify(X, y, U, a, ALPHA)
    assert c.is_global
    np.testing.assert_allclose(c.objective, gd_obj)
    np.testing.assert_allclose(c.lower_bound, sol.objective, rtol=1e-5)
    assert c.gap >= 0
    # the residual-only bound is valid but no better than the solved one
    assert certify(X, y, U, a, ALPHA, dual="residual").lower_bound <= c.lower_bound + 1e-12


@pytest.mark.parametrize("seed", [0, 1])
def test_global_certificate_for_small_n_of_higher_rank(seed):
    # three features with an intercept (rank 4): every pattern by the ray search
    X, y = _data(10, 3, seed=8)
    reg = ConvexReLURegressor(alpha=ALPHA, n_patterns=300, random_state=0).fit(X, y)
    assert reg.patterns_complete_ and reg.patterns_.shape[1] == 2 * (1 + 9 + 36 + 84) - 1
    assert reg.objective_ - reg.lower_bound_ <= 1e-6 * reg.objective_
    U, a = _gd(X, y, ALPHA, seed=seed)
    gd_obj = network_objective(X, y, U, a, ALPHA)
    assert reg.objective_ <= gd_obj + 1e-10
    c = certify(X, y, U, a, ALPHA)
    assert c.is_global
    np.testing.assert_allclose(c.lower_bound, reg.objective_, rtol=1e-5)


def test_certify_sampled_patterns_is_not_global():
    X, y = _data(30, 5, seed=3)
    U, a = _gd(X, y, ALPHA, m=10, steps=500)
    c = certify(X, y, U, a, ALPHA, n_patterns=20, random_state=0)
    assert not c.is_global
    assert c.gap >= 0  # the network's own patterns are in the set


def test_dual_bounds_and_gaps_are_never_nan():
    X, y = _data(10, 2)
    D = enumerate_patterns(X)
    # the bound depends on ν only through its direction
    base = dual_lower_bound(X, y, ALPHA, D, -y)
    assert base > 0
    np.testing.assert_allclose(dual_lower_bound(X, y, ALPHA, D, -y * 1e300), base, rtol=1e-12)
    # (below the scale where t = 1 is infeasible no cone projection tightens c(ν):
    # a weaker bound, the same for every such scale)
    tiny = dual_lower_bound(X, y, ALPHA, D, -y * 1e-300)
    np.testing.assert_allclose(tiny, dual_lower_bound(X, y, ALPHA, D, -y * 1e-150), rtol=1e-12)
    assert 0 < tiny <= base
    assert dual_lower_bound(X, y, ALPHA, D, np.full(10, 1e300)) == 0.0
    for loss, labels in [("squared_hinge", np.sign(y)), ("log_loss", np.sign(y))]:
        lb = dual_lower_bound(X, labels, ALPHA, D, -labels * 1e300, loss=loss)
        assert lb == dual_lower_bound(X, labels, ALPHA, D, -labels, loss=loss) and lb > 0
    with pytest.raises(ValueError, match="cone_duals must not contain"):
        dual_lower_bound(X, y, ALPHA, D, -y, np.full((10, 2 * D.shape[1]), np.nan))
    # a network whose objective overflows: a finite bound, an infinite gap
    U = np.random.default_rng(0).normal(size=(3, 4)) * 1e200
    a = np.random.default_rng(1).normal(size=4)
    for dual in ("solve", "residual"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow notices
            c = certify(X, y, U, a, ALPHA, dual=dual)
        assert c.objective == np.inf and np.isfinite(c.lower_bound) and c.lower_bound >= 0
        assert c.gap == np.inf and c.relative_gap == np.inf
    # predictions inf − inf leave the objective undefined: a clear error, not NaN
    Xbig = X * 1e300
    with pytest.raises(ValueError, match="overflow"):
        network_objective(Xbig, y, np.ones((3, 2)) * 1e10, np.array([1.0, -1.0]), ALPHA)
