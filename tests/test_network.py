"""Tests of cvxdual.network: activations, forward/backward passes, init, optimizers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from cvxdual.network import (
    ACTIVATIONS,
    SGD,
    Adam,
    activate,
    activation_derivative,
    backward,
    forward,
    init_params,
)


def _objective(X, coefs, intercepts, activation, G0):
    """A scalar of the features whose gradient w.r.t. them is exactly ``G0``."""
    return float(np.sum(G0 * forward(X, coefs, intercepts, activation)[-1]))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_matches_finite_differences(activation):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3))
    coefs, intercepts = init_params([3, 5, 4], activation, random_state=1)
    G0 = rng.normal(size=(7, 4))
    acts = forward(X, coefs, intercepts, activation)
    coef_grads, intercept_grads = backward(acts, coefs, G0, activation)

    eps = 1e-6
    for params, grads in ((coefs, coef_grads), (intercepts, intercept_grads)):
        for p, g in zip(params, grads, strict=True):
            assert g.shape == p.shape
            fd = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + eps
                up = _objective(X, coefs, intercepts, activation, G0)
                p[idx] = old - eps
                down = _objective(X, coefs, intercepts, activation, G0)
                p[idx] = old
                fd[idx] = (up - down) / (2 * eps)
            np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_derivative_matches_finite_differences(activation):
    z = np.linspace(-3, 3, 13) + 0.05  # avoid relu's kink at 0
    eps = 1e-6
    fd = (activate(z + eps, activation) - activate(z - eps, activation)) / (2 * eps)
    np.testing.assert_allclose(
        activation_derivative(activate(z, activation), activation), fd, rtol=1e-6, atol=1e-8
    )


def test_forward_keeps_every_activation_and_does_not_modify_inputs():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 2))
    X0 = X.copy()
    coefs, intercepts = init_params([2, 3, 5], "tanh", random_state=0)
    acts = forward(X, coefs, intercepts, "tanh")
    assert [a.shape for a in acts] == [(4, 2), (4, 3), (4, 5)]
    np.testing.assert_allclose(acts[1], np.tanh(X @ coefs[0] + intercepts[0]))
    np.testing.assert_array_equal(X, X0)


def test_logistic_activation_does_not_overflow():
    with np.errstate(all="raise"):
        out = activate(np.array([-1000.0, 1000.0]), "logistic")
    np.testing.assert_array_equal(out, [0.0, 1.0])


def test_init_params_is_glorot_uniform_and_deterministic():
    coefs, intercepts = init_params([30, 20], "relu", random_state=0)
    bound = np.sqrt(6 / 50)
    assert np.abs(coefs[0]).max() <= bound
    assert np.abs(coefs[0]).max() > 0.9 * bound  # actually spread over the interval
    coefs2, _ = init_params([30, 20], "relu", random_state=0)
    np.testing.assert_array_equal(coefs[0], coefs2[0])
    logistic, _ = init_params([30, 20], "logistic", random_state=0)
    np.testing.assert_allclose(logistic[0], coefs[0] * np.sqrt(2 / 6))
    # sklearn draws each layer's weights then its intercepts from the same stream.
    rng = np.random.RandomState(0)
    np.testing.assert_array_equal(coefs[0], rng.uniform(-bound, bound, (30, 20)))
    np.testing.assert_array_equal(intercepts[0], rng.uniform(-bound, bound, 20))


@pytest.mark.parametrize(
    "sizes, activation", [([3], "relu"), ([3, 0], "relu"), ([3, 2], "softplus")]
)
def test_init_params_rejects_bad_input(sizes, activation):
    with pytest.raises(ValueError, match=r"layer_sizes|activation"):
        init_params(sizes, activation)


def test_backward_rejects_wrong_gradient_shape():
    coefs, intercepts = init_params([2, 3], random_state=0)
    acts = forward(np.ones((4, 2)), coefs, intercepts)
    with pytest.raises(ValueError, match="grad_features must have the shape"):
        backward(acts, coefs, np.ones((4, 2)))


def test_sgd_without_momentum_is_plain_gradient_descent():
    w = np.array([[1.0, 2.0]])
    g = np.array([[0.5, -1.0]])
    SGD(learning_rate=0.1, momentum=0.0).step([w], [g])
    np.testing.assert_allclose(w, [[0.95, 2.1]])


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_matches_sklearn(nesterov):
    rng = np.random.default_rng(2)
    ours = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    theirs = [p.copy() for p in ours]
    opt = SGD(learning_rate=0.05, momentum=0.8, nesterov=nesterov)
    ref = SGDOptimizer(theirs, 0.05, "constant", momentum=0.8, nesterov=nesterov)
    for _ in range(4):
        grads = [rng.normal(size=p.shape) for p in ours]
        opt.step(ours, grads)
        ref.update_params(theirs, grads)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_adam_matches_sklearn():
    rng = np.random.default_rng(3)
    ours = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    theirs = [p.copy() for p in ours]
    opt = Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-7)
    ref = AdamOptimizer(theirs, 0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-7)
    for _ in range(5):
        grads = [rng.normal(size=p.shape) for p in ours]
        opt.step(ours, grads)
        ref.update_params(theirs, grads)
    assert opt.t == 5
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SGD(learning_rate=0.0), "learning_rate must be > 0"),
        (lambda: SGD(momentum=1.5), "momentum must be in"),
        (lambda: Adam(beta_1=1.0), "beta_1 must be in"),
        (lambda: Adam(epsilon=0.0), "epsilon must be > 0"),
    ],
)
def test_optimizers_validate_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_optimizer_rejects_mismatched_lists():
    with pytest.raises(ValueError, match="same length"):
        Adam().step([np.zeros(2)], [np.zeros(2), np.zeros(2)])
