"""Certified robustness: Lipschitz bounds, certified radii, certified accuracy.

Soundness is tested against attacks on the network's own input gradient: no
perturbation inside a certified radius may change a prediction, and no pair of
inputs may show a larger Lipschitz ratio than ``lipschitz_bound_``.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_regression

from cvxdual import ConstrainedMLPClassifier, ConstrainedMLPRegressor
from cvxdual._lipschitz import (
    certified_radius_from_scores,
    lipschitz_bound,
    spectral_norm_bound,
)
from cvxdual.network import activation_derivative, forward
from cvxdual.sets import (
    Box,
    Intersection,
    L1Ball,
    L2Ball,
    LinfBall,
    MaxNorm,
    NonNegative,
    NuclearBall,
    SpectralBall,
)
from cvxdual.verify import certified_accuracy

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ATTACK_STEPS = 150  # projected-gradient steps per restart
ATTACK_RESTARTS = 3  # random starting points on the sphere (plus the centre)
SHRINK = 0.999  # attack radius as a fraction of the certified radius


def _input_gradient(X, coefs, intercepts, activation, G):
    """``∂/∂X Σ G ⊙ Φ(X)``: backpropagation through the hidden layers to the input."""
    activations = forward(X, coefs, intercepts, activation)
    delta = G * activation_derivative(activations[-1], activation)
    for i in range(len(coefs) - 1, -1, -1):
        delta = delta @ coefs[i].T
        if i > 0:
            delta = delta * activation_derivative(activations[i], activation)
    return delta


def _features(clf, X):
    return forward(X, clf.coefs_, clf.intercepts_, clf.activation)[-1]


def _attack_direction(clf, z, target):
    """Feature-space gradient of ``z_target − z_ŷ`` (binary: of ``−sign(z) z``), per row."""
    W = clf.head_coef_
    if W.shape[1] == 1:
        return -np.sign(z) * W[:, 0][None, :]
    return (W[:, [target]] - W[:, np.argmax(z, axis=1)]).T


def _pgd(clf, X, radius, rng, steps=ATTACK_STEPS, restarts=ATTACK_RESTARTS):
    """Projected gradient ascent on score gaps inside ℓ2 balls of ``radius``.

    One targeted attack per rival class (the gap ``z_t − z_ŷ`` of a fixed ``t``;
    for a binary head the one gap ``−sign(z) z``), from the centre and from
    ``restarts`` random points on the sphere. Returns the predictions at every
    iterate, shape (n_iterates, n_samples).
    """
    z0 = clf._scores(X)
    targets = [0] if z0.shape[1] == 1 else range(z0.shape[1])
    seen = []
    for target in targets:
        for restart in range(restarts + 1):
            delta = np.zeros_like(X) if restart == 0 else rng.normal(size=X.shape)
            if restart:
                delta *= (radius / np.linalg.norm(delta, axis=1))[:, None]
            for step in range(steps):
                x = X + delta
                # the gap to the *original* prediction, also after it changed
                G = _attack_direction(clf, z0, target)
                grad = _input_gradient(x, clf.coefs_, clf.intercepts_, clf.activation, G)
                norm = np.linalg.norm(grad, axis=1)
                norm[norm == 0] = 1.0
                alpha = radius * (0.5 if step < steps // 2 else 0.05)
                delta = delta + (alpha / norm)[:, None] * grad
                length = np.maximum(np.linalg.norm(delta, axis=1), 1e-300)
                delta *= np.minimum(1.0, radius / length)[:, None]
                seen.append(clf.predict(X + delta))
    return np.array(seen)


_DEFAULT_BALL = SpectralBall(1.5)


def _fit(activation="relu", constraint=_DEFAULT_BALL, centers=3, seed=0, hidden=(12, 8),
         **kwargs):
    X, y = make_blobs(n_samples=90, centers=centers, n_features=4, cluster_std=2.5,
                      random_state=seed)
    X = X / 4.0
    params = {"max_iter": 40, "learning_rate_init": 0.01, "random_state": seed, **kwargs}
    clf = ConstrainedMLPClassifier(hidden, activation, layer_constraints=constraint, **params)
    return clf.fit(X, y), X, y


# ---------------------------------------------------------------------------
# lipschitz_bound_


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_lipschitz_bound_is_product_of_exact_spectral_norms(activation):
    clf, _, _ = _fit(activation, constraint=[SpectralBall(1.5), None], max_iter=5)
    c = 0.25 if activation == "logistic" else 1.0
    expected = np.prod([c * np.linalg.norm(W, 2) for W in clf.coefs_])
    assert clf.lipschitz_bound_ == pytest.approx(expected, rel=1e-12)
    assert np.linalg.norm(clf.coefs_[0], 2) <= 1.5 + 1e-8


def test_regressor_lipschitz_bound_covers_the_head():
    X, y = make_regression(n_samples=50, n_features=3, n_targets=2, random_state=0)
    reg = ConstrainedMLPRegressor((6,), layer_constraints=SpectralBall(1.0), max_iter=5,
                                  random_state=0).fit(X, y / 100)
    expected = np.linalg.norm(reg.coefs_[0], 2) * np.linalg.norm(reg.head_coef_, 2)
    assert reg.lipschitz_bound_ == pytest.approx(expected, rel=1e-12)
    # Sound for the whole network: pairs of inputs never exceed it.
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    ratio = np.linalg.norm(reg.predict(A) - reg.predict(B), axis=1) / np.linalg.norm(A - B, axis=1)
    assert ratio.max() <= reg.lipschitz_bound_ * (1 + 1e-12)


def _lipschitz_attack(clf, X, rng, steps=100):
    """Largest ``‖Φ(x') − Φ(x)‖ / ‖x' − x‖`` found by power iteration on ``x' − x``."""
    best = 0.0
    Phi = _features(clf, X)
    for size in (1e-4, 1e-2, 0.3, 3.0):
        delta = rng.normal(size=X.shape)
        delta *= (size / np.linalg.norm(delta, axis=1))[:, None]
        for _ in range(steps):
            u = _features(clf, X + delta) - Phi
            ratio = np.linalg.norm(u, axis=1) / np.linalg.norm(delta, axis=1)
            best = max(best, float(ratio.max()))
            g = _input_gradient(X + delta, clf.coefs_, clf.intercepts_, clf.activation, u)
            norm = np.linalg.norm(g, axis=1)
            keep = norm > 0
            delta[keep] = g[keep] * (size / norm[keep])[:, None]
    return best


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_bound_never_below_the_attacked_lipschitz_ratio(activation, rng):
    clf, X, _ = _fit(activation)
    found = _lipschitz_attack(clf, X, rng)
    assert 0 < found <= clf.lipschitz_bound_ * (1 + 1e-12)


def test_lipschitz_attack_reaches_the_bound_of_a_linear_map(rng):
    # One identity layer: the bound ‖W‖₂ is the exact Lipschitz constant, so a
    # working attack must find it (the check above would be vacuous otherwise).
    clf, X, _ = _fit("identity", constraint=SpectralBall(1.0), hidden=(6,))
    found = _lipschitz_attack(clf, X, rng)
    assert found == pytest.approx(clf.lipschitz_bound_, rel=1e-6)


# ---------------------------------------------------------------------------
# certified_radius


@pytest.mark.parametrize(
    ("activation", "centers"), [("relu", 3), ("tanh", 2), ("logistic", 3), ("relu", 2)]
)
def test_no_attack_inside_the_certified_radius_changes_a_prediction(activation, centers, rng):
    clf, X, _ = _fit(activation, centers=centers, learning_rate_init=0.02)
    radius = clf.certified_radius(X)
    finite = np.isfinite(radius) & (radius > 0)
    assert finite.mean() > 0.5
    X, radius = X[finite], radius[finite]
    predicted = clf.predict(X)
    # random perturbations, uniform in the ball
    for _ in range(20):
        delta = rng.normal(size=X.shape)
        length = SHRINK * radius * rng.uniform(size=len(X)) ** (1 / X.shape[1])
        delta *= (length / np.linalg.norm(delta, axis=1))[:, None]
        np.testing.assert_array_equal(clf.predict(X + delta), predicted)
    # adversarial perturbations, on the network's own input gradient
    seen = _pgd(clf, X, SHRINK * radius, rng)
    np.testing.assert_array_equal(seen, np.broadcast_to(predicted, seen.shape))


@pytest.mark.parametrize("centers", [2, 3])
def test_attack_changes_predictions_just_beyond_the_exact_radius_of_a_linear_net(centers, rng):
    # Identity activation, one layer: the scores are affine, the exact radius
    # is min_j (z_ŷ − z_j) / ‖W₁ (w_ŷ − w_j)‖; the attack must cross it.
    clf, X, _ = _fit("identity", centers=centers, hidden=(6,), constraint=None)
    z = clf._scores(X)
    W = clf.coefs_[0] @ clf.head_coef_
    if centers == 2:
        exact = np.abs(z[:, 0]) / np.linalg.norm(W[:, 0])
    else:
        exact = certified_radius_from_scores(z, W, 1.0)
    certified = clf.certified_radius(X)
    assert np.all(certified <= exact * (1 + 1e-9))
    seen = _pgd(clf, X, 1.01 * exact, rng, steps=60, restarts=0)
    assert np.all(np.any(seen != clf.predict(X), axis=0))


def test_certified_radius_edge_cases():
    W = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # w_0 = w_1
    z = np.array([[2.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    with np.errstate(all="raise"):
        radius = certified_radius_from_scores(z, W, 2.0)
        # class 1 can never overtake class 0 (same column): only class 2 counts
        np.testing.assert_allclose(radius, [2.0 / (2 * np.sqrt(2)), 0.0, 3.0 / (2 * np.sqrt(2))])
        # L = 0: constant features, nothing changes except ties
        np.testing.assert_array_equal(certified_radius_from_scores(z, W, 0.0), [np.inf, 0, np.inf])
        binary = certified_radius_from_scores(np.array([[-3.0], [0.0]]), np.array([[3.0], [4.0]]),
                                              0.5)
        np.testing.assert_allclose(binary, [3.0 / 2.5, 0.0])
        zero = certified_radius_from_scores(np.array([[1.0]]), np.zeros((2, 1)), 1.0)
        np.testing.assert_array_equal(zero, [np.inf])


def test_binary_head_orientation():
    clf, X, _ = _fit("relu", centers=2)
    assert clf.head_coef_.shape == (8, 1)
    z = clf._scores(X)[:, 0]
    expected = np.abs(z) / (clf.lipschitz_bound_ * np.linalg.norm(clf.head_coef_))
    np.testing.assert_allclose(clf.certified_radius(X), expected, rtol=1e-12)


def test_certified_radius_validates_like_predict():
    clf, X, _ = _fit("relu", max_iter=3)
    with pytest.raises(ValueError, match="features"):
        clf.certified_radius(X[:, :2])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ConstrainedMLPClassifier().certified_radius(X)


# ---------------------------------------------------------------------------
# certified_accuracy


def test_certified_accuracy_matches_its_definition():
    clf, X, y = _fit("tanh")
    radius = clf.certified_radius(X)
    correct = clf.predict(X) == y
    eps = np.array([[0.0, 0.05], [0.2, 10.0]])
    acc = certified_accuracy(clf, X, y, eps)
    assert acc.shape == eps.shape
    for e, a in zip(eps.ravel(), acc.ravel(), strict=True):
        assert a == np.mean(correct & (radius >= e))
    assert certified_accuracy(clf, X, y, 0.0) == pytest.approx(clf.score(X, y))
    assert isinstance(certified_accuracy(clf, X, y, 0.1), float)
    assert np.all(np.diff(certified_accuracy(clf, X, y, np.linspace(0, 2, 9))) <= 0)


@pytest.mark.parametrize("eps", [-0.1, np.nan, [0.1, -1.0]])
def test_certified_accuracy_rejects_bad_eps(eps):
    clf, X, y = _fit("relu", max_iter=2)
    with pytest.raises(ValueError, match="eps must be finite and >= 0"):
        certified_accuracy(clf, X, y, eps)


def test_certified_accuracy_needs_certified_radius():
    X, y = make_blobs(n_samples=20, centers=2, random_state=0)
    reg = ConstrainedMLPRegressor((3,), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="certified_radius"):
        certified_accuracy(reg, X, y, 0.1)


# ---------------------------------------------------------------------------
# spectral_norm_bound


@pytest.mark.parametrize(
    ("S", "expected"),
    [
        (SpectralBall(2.0), 2.0),
        (L2Ball(2.0), 2.0),
        (NuclearBall(2.0), 2.0),
        (L1Ball(2.0), 2.0),
        (MaxNorm(2.0), 2.0 * np.sqrt(4)),
        (LinfBall(2.0), 2.0 * np.sqrt(12)),
        (Intersection(NonNegative(), L2Ball(3.0), SpectralBall(2.5)), 2.5),
        (NonNegative(), None),
        (Box(-1.0, 1.0), None),
        (None, None),
    ],
)
def test_spectral_norm_bound_holds_on_the_set(S, expected, rng):
    bound = spectral_norm_bound(S, (3, 4))
    assert bound == expected
    if S is not None and bound is not None:
        from cvxdual import project

        for _ in range(5):
            W = project(10 * rng.normal(size=(3, 4)), S).weights
            assert np.linalg.norm(W, 2) <= bound * (1 + 1e-7)


def test_lipschitz_bound_function():
    W = np.array([[3.0, 0.0], [0.0, -1.0]])
    assert lipschitz_bound([W, W], "relu") == pytest.approx(9.0)
    assert lipschitz_bound([W, W], "logistic") == pytest.approx(9.0 / 16)
    with pytest.raises(ValueError, match="activation must be one of"):
        lipschitz_bound([W], "softplus")


# ---------------------------------------------------------------------------
# lipschitz_margin (Lipschitz-margin training)


# (three epochs of logistic units barely spread the features: the margin merges the classes)
@pytest.mark.filterwarnings("ignore:lipschitz_margin=0.5 merges every class:UserWarning")
def test_margin_head_uses_the_product_of_the_layer_bounds():
    from cvxdual.heads._margin import LipschitzMarginHead

    clf, _, _ = _fit("logistic", constraint=[SpectralBall(2.0), MaxNorm(1.0)],
                     lipschitz_margin=0.5, max_iter=3)
    head = clf._make_head("multinomial")
    assert isinstance(head, LipschitzMarginHead)
    # 0.5 × (¼ · 2) × (¼ · 1 · √8)
    assert head.margin == pytest.approx(0.5 * (0.25 * 2.0) * (0.25 * np.sqrt(8)))
    assert repr(head.constraint) == repr(L2Ball(clf.head_radius))
    assert ConstrainedMLPClassifier()._make_head("multinomial").__class__.__name__ == (
        "NormBoundedHead"
    )


def test_margin_training_is_sound_and_certifies_more(rng):
    plain, X, y = _fit("relu", constraint=SpectralBall(1.0), seed=1, learning_rate_init=0.02)
    robust, _, _ = _fit("relu", constraint=SpectralBall(1.0), seed=1, learning_rate_init=0.02,
                        lipschitz_margin=0.25)
    assert robust.head_coef_.shape == plain.head_coef_.shape
    assert np.linalg.norm(robust.coefs_[0], 2) <= 1.0 + 1e-8
    # (on this problem: 0.88 against 0.76 at eps = 0.5, 0.73 against 0.32 at 0.75)
    gain = certified_accuracy(robust, X, y, [0.5, 0.75]) - certified_accuracy(plain, X, y,
                                                                              [0.5, 0.75])
    assert np.all(gain > 0.05)
    radius = robust.certified_radius(X)
    keep = np.isfinite(radius) & (radius > 0)
    seen = _pgd(robust, X[keep], SHRINK * radius[keep], rng, steps=60, restarts=1)
    np.testing.assert_array_equal(seen, np.broadcast_to(robust.predict(X[keep]), seen.shape))


def test_binary_margin_training():
    clf, X, y = _fit("tanh", centers=2, lipschitz_margin=0.3, max_iter=10)
    assert clf.head_coef_.shape == (8, 1)
    assert clf.score(X, y) > 0.8


def test_a_margin_too_large_gives_the_constant_head_at_once_and_warns():
    # Every class column merged (W = 0) is the exact optimum: the head is
    # certified without a CVXPY solve (which took minutes per epoch on a few
    # hundred rows), the network predicts the class shares, and fit says so.
    X, y = make_blobs(n_samples=200, centers=3, random_state=0)
    clf = ConstrainedMLPClassifier((8,), layer_constraints=SpectralBall(1.0),
                                   lipschitz_margin=50.0, max_iter=5, random_state=0)
    with pytest.warns(UserWarning, match="lipschitz_margin=50.0 merges every class") as seen:
        clf.fit(X, y)
    merged = [w for w in seen if "merges every class" in str(w.message)]
    assert len(merged) == 1 and merged[0].filename == __file__  # (points at the caller)
    assert not np.any(clf.head_coef_)
    assert {r["head"]["duals"]["norm"] for r in clf.dual_history_} == {0.0}
    shares = np.bincount(y) / len(y)
    np.testing.assert_allclose(clf.predict_proba(X), np.broadcast_to(shares, (200, 3)),
                               atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"layer_constraints": [SpectralBall(1.0), None]}, r"layer_constraints\[1\] is None"),
        ({"layer_constraints": NonNegative()}, "spectral-norm bound on every hidden layer"),
        ({"head_loss": "squared_hinge"}, "needs head_loss='log_loss'"),
    ],
)
def test_margin_needs_bounded_layers_and_log_loss(kwargs, match):
    X, y = make_blobs(n_samples=30, centers=2, random_state=0)
    params = {"layer_constraints": SpectralBall(1.0), "lipschitz_margin": 0.1, **kwargs}
    clf = ConstrainedMLPClassifier((4, 3), max_iter=2, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_negative_margin_is_rejected_by_parameter_validation():
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = make_blobs(n_samples=30, centers=2, random_state=0)
    with pytest.raises(InvalidParameterError, match="lipschitz_margin"):
        ConstrainedMLPClassifier(lipschitz_margin=-0.1).fit(X, y)
