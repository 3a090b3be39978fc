"""Tests of cvxdual.losses: values, gradients, CVXPY expressions, target encodings."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from scipy.special import logsumexp

from cvxdual.losses import LOSSES, get_loss

ALL = sorted(LOSSES)
SMOOTH = ["squared", "logistic", "multinomial", "squared_hinge"]


def _data(name, n=7, K=3, seed=0):
    rng = np.random.default_rng(seed)
    if name == "squared":
        y = rng.normal(size=(n, 2))
        K = 2
    elif name in ("multinomial", "multiclass_hinge", "multiclass_squared_hinge"):
        y = np.arange(n) % K
    else:
        y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        K = 1
    loss = get_loss(name)
    Y = loss.encode_targets(y)
    z = 2.0 * rng.normal(size=(n, K))
    weights = rng.uniform(0.2, 2.0, size=n)
    return loss, Y, z, weights


def _reference(name, z, Y):
    """Each loss written out once more, naively, per sample."""
    out = []
    for zi, yi in zip(z, Y, strict=True):
        if name == "squared":
            out.append(0.5 * np.sum((zi - yi) ** 2))
        elif name == "logistic":
            out.append(np.log1p(np.exp(-yi[0] * zi[0])))
        elif name == "multinomial":
            out.append(np.log(np.sum(np.exp(zi))) - zi[np.argmax(yi)])
        elif name == "hinge":
            out.append(max(0.0, 1.0 - yi[0] * zi[0]))
        elif name == "squared_hinge":
            out.append(max(0.0, 1.0 - yi[0] * zi[0]) ** 2)
        else:
            k = np.argmax(yi)
            margin = max(0.0, 1.0 + np.max(np.delete(zi, k)) - zi[k])
            out.append(margin if name == "multiclass_hinge" else margin**2)
    return np.array(out)


@pytest.mark.parametrize("name", ALL)
def test_value_matches_reference_and_weighted_mean(name):
    loss, Y, z, weights = _data(name)
    np.testing.assert_allclose(loss.per_sample(z, Y), _reference(name, z, Y), rtol=1e-12)
    assert loss.value(z, Y) == pytest.approx(np.mean(_reference(name, z, Y)), rel=1e-12)
    expected = weights @ _reference(name, z, Y) / weights.sum()
    assert loss.value(z, Y, weights) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_gradient_matches_finite_differences(name):
    loss, Y, z, _ = _data(name, seed=1)
    G = loss.gradient(z, Y)
    assert G.shape == z.shape
    eps = 1e-6
    numeric = np.zeros_like(z)
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += eps
        zm[idx] -= eps
        numeric[idx] = (loss.per_sample(zp, Y) - loss.per_sample(zm, Y))[idx[0]] / (2 * eps)
    # The random scores are away from the kinks of the hinge losses.
    np.testing.assert_allclose(G, numeric, atol=1e-6)


@pytest.mark.parametrize("name", ["squared", "logistic", "squared_hinge"])
def test_hessian_diag_matches_finite_differences(name):
    loss, Y, z, _ = _data(name, seed=2)
    eps = 1e-6
    numeric = (loss.gradient(z + eps, Y) - loss.gradient(z - eps, Y)) / (2 * eps)
    np.testing.assert_allclose(loss.hessian_diag(z, Y), numeric, atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_cvxpy_expression_equals_value_and_is_dpp(name):
    loss, Y, z, weights = _data(name, seed=3)
    n, K = z.shape
    params = loss.cvxpy_parameters(n, K)
    w = weights / weights.sum()
    for key, value in loss.parameter_values(Y, w).items():
        params[key].value = value
    expr = loss.cvxpy_objective(cp.Constant(z), params)
    assert float(expr.value) == pytest.approx(loss.value(z, Y, weights), rel=1e-10)
    variable = cp.Variable((n, K))
    problem = cp.Problem(cp.Minimize(loss.cvxpy_objective(variable, params)))
    assert problem.is_dcp(dpp=True)


@pytest.mark.parametrize("name", ALL)
def test_cvxpy_minimum_matches_numpy(name):
    # Minimising the expression over z with a small ridge checks its curvature
    # and sign conventions against the NumPy value, not just at one point.
    loss, Y, _, weights = _data(name, seed=4)
    n, K = Y.shape[0], max(Y.shape[1], 1)
    params = loss.cvxpy_parameters(n, K)
    w = weights / weights.sum()
    for key, value in loss.parameter_values(Y, w).items():
        params[key].value = value
    z = cp.Variable((n, K))
    problem = cp.Problem(cp.Minimize(loss.cvxpy_objective(z, params) + 0.1 * cp.sum_squares(z)))
    problem.solve(solver="CLARABEL")
    value = loss.value(z.value, Y, weights) + 0.1 * np.sum(z.value**2)
    assert problem.value == pytest.approx(value, rel=1e-6, abs=1e-8)


def test_numerically_stable_at_large_scores():
    z = np.array([[800.0], [-800.0]])
    s = np.array([[1.0], [1.0]])
    logistic = get_loss("logistic")
    np.testing.assert_allclose(logistic.per_sample(z, s), [0.0, 800.0])
    np.testing.assert_allclose(logistic.gradient(z, s).ravel(), [0.0, -1.0])
    multinomial = get_loss("multinomial")
    Z = np.array([[1000.0, 0.0, -1000.0]])
    Y = multinomial.encode_targets(np.array([2]))
    assert multinomial.per_sample(Z, Y)[0] == pytest.approx(2000.0)
    assert np.all(np.isfinite(multinomial.gradient(Z, Y)))
    # Scores of +inf: as SciPy's logsumexp.
    Y = multinomial.encode_targets(np.array([0, 1]))
    Z = np.array([[0.0, np.inf], [0.0, 1.0]])
    with np.errstate(invalid="ignore"):
        ref = logsumexp(Z, axis=1) - np.sum(Y * Z, axis=1)
        np.testing.assert_array_equal(multinomial.per_sample(Z, Y), ref)


def test_target_encodings():
    assert get_loss("squared").encode_targets([1.0, 2.0]).shape == (2, 1)
    assert get_loss("squared").encode_targets(np.ones((3, 2))).shape == (3, 2)
    Y = get_loss("multinomial").encode_targets(np.array([0, 2, 1]))
    np.testing.assert_array_equal(Y, np.eye(3)[[0, 2, 1]])
    soft = np.array([[0.5, 0.5], [1.0, 0.0]])
    np.testing.assert_array_equal(get_loss("multinomial").encode_targets(soft), soft)
    np.testing.assert_array_equal(
        get_loss("logistic").encode_targets(np.array([1, -1])), [[1.0], [-1.0]]
    )


@pytest.mark.parametrize(
    ("name", "y", "match"),
    [
        ("logistic", np.array([0.0, 1.0]), "-1 and \\+1"),
        ("hinge", np.array([2.0, 1.0]), "-1 and \\+1"),
        ("squared_hinge", np.ones((2, 2)), "1-D"),
        ("multinomial", np.array([0.5, 1.0]), "integer labels"),
        ("multinomial", np.array([-1, 1]), "integer labels"),
        ("multinomial", np.array([[0.5, 0.2]]), "summing to 1"),
        ("multiclass_hinge", np.array([[0.5, 0.5]]), "one-hot"),
        ("squared", np.ones((2, 2, 2)), "1-D or 2-D"),
    ],
)
def test_bad_targets(name, y, match):
    with pytest.raises(ValueError, match=match):
        get_loss(name).encode_targets(y)


def test_get_loss():
    assert get_loss("hinge") is LOSSES["hinge"]
    assert get_loss(LOSSES["squared"]) is LOSSES["squared"]
    with pytest.raises(ValueError, match="loss must be one of"):
        get_loss("cubic")


def test_row_max_in_either_memory_order():
    from cvxdual.losses import _row_max

    z = np.random.default_rng(0).normal(size=(50, 7))
    z[3, 2] = np.nan
    for array in (z, np.asfortranarray(z), z[:, :1], np.asfortranarray(z)[::2]):
        expected = np.max(array, axis=1)
        np.testing.assert_array_equal(_row_max(array), expected)
