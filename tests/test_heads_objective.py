"""Tests of cvxdual.heads._objective: value, gradient and curvature of the smooth objective."""

from __future__ import annotations

import numpy as np
import pytest
from heads_support import FAST_LOSSES, problem

from cvxdual.heads._objective import _EXP_SAFE, _power_of_two_scale, _Smooth
from cvxdual.losses import get_loss


def _smooth(loss, fit_intercept=True, seed=50):
    Phi, y = problem(loss, n=30, d=3, seed=seed)
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 1.5, size=30)
    loss = get_loss(loss)
    smooth = _Smooth(loss, Phi, loss.encode_targets(y), weights / weights.sum(), fit_intercept)
    theta = 0.3 * rng.normal(size=smooth.p1 * smooth.K)
    return smooth, theta


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("loss", FAST_LOSSES)
def test_value_and_gradient_match_the_loss_and_finite_differences(loss, fit_intercept):
    smooth, theta = _smooth(loss, fit_intercept)
    value, grad, G, z = smooth.value_grad(theta)
    assert value == pytest.approx(smooth.loss.value(z, smooth.Y, smooth.w), rel=1e-12)
    assert smooth.value(theta) == pytest.approx(value, rel=1e-12)
    # the sample duals ν = w ∂ℓ/∂z, and ∇f = Aᵀ ν class by class
    np.testing.assert_allclose(G, smooth.w[:, None] * smooth.loss.gradient(z, smooth.Y),
                               rtol=1e-10, atol=1e-15)
    eps = 1e-6
    numeric = np.array([
        (smooth.value(theta + eps * e) - smooth.value(theta - eps * e)) / (2 * eps)
        for e in np.eye(theta.size)
    ])
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", FAST_LOSSES)
def test_gradient_alone_then_the_value_at_the_same_point(loss):
    smooth, theta = _smooth(loss, seed=56)
    reference, _ = _smooth(loss, seed=56)
    value, grad, G, z = reference.value_grad(theta)
    grad2, G2, z2 = smooth.gradient(theta)
    np.testing.assert_array_equal(grad2, grad)
    np.testing.assert_array_equal(G2, G)
    np.testing.assert_array_equal(z2, z)
    # the value, asked afterwards at the same point, without a second evaluation
    assert smooth.value_grad(theta)[0] == pytest.approx(value, rel=1e-14)
    assert smooth.n_eval == 1
    # a new point is a new evaluation, with its own value
    moved = theta + 0.1
    assert smooth.gradient(moved)[0] is not grad2
    assert smooth.value_grad(moved)[0] == pytest.approx(reference.value_grad(moved)[0],
                                                        rel=1e-14)
    assert smooth.n_eval == 2


@pytest.mark.parametrize("size", [1.0, 100.0, 2000.0])
def test_multinomial_with_scores_beyond_the_unshifted_range(size):
    # Scores within ±_EXP_SAFE are exponentiated as they are, larger ones after a
    # shift by the row maxima: the same value, duals and value-from-row-sums.
    smooth, theta = _smooth("multinomial", seed=58)
    theta = size * theta
    value, grad, G, z = smooth.value_grad(theta)
    assert (np.abs(z).max() > _EXP_SAFE) == (size > 1000)
    loss, Y, w = smooth.loss, smooth.Y, smooth.w
    assert value == pytest.approx(float(w @ loss.per_sample(z, Y)), rel=1e-13)
    # (entries w (p − 1) with p near 1 carry absolute errors of about eps w: atol)
    np.testing.assert_allclose(G, w[:, None] * loss.gradient(z, Y), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(grad, (G.T @ smooth.A).ravel(), rtol=1e-13, atol=1e-15)
    fresh, _ = _smooth("multinomial", seed=58)
    fresh.gradient(theta)
    assert fresh.value_grad(theta)[0] == pytest.approx(value, rel=1e-14)
    assert fresh.n_eval == 1


@pytest.mark.parametrize("loss", FAST_LOSSES)
def test_hessian_matches_finite_differences_of_the_gradient(loss):
    # For the multinomial loss the Hessian adds a term on the gauge direction (one
    # row vector added to every class), so compare along centred directions only.
    smooth, theta = _smooth(loss, seed=51)
    _, _, _, z = smooth.value_grad(theta)
    H = smooth.hessian(z)
    np.testing.assert_allclose(H, H.T, atol=1e-15)
    rng = np.random.default_rng(52)
    eps = 1e-6
    for _ in range(3):
        v = smooth.centred(rng.normal(size=theta.size))
        plus = smooth.value_grad(theta + eps * v)[1].copy()
        minus = smooth.value_grad(theta - eps * v)[1].copy()
        np.testing.assert_allclose(H @ v, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-9)
    single = smooth.hessian(z, dtype=np.float32)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, H, rtol=1e-4, atol=1e-6 * np.abs(H).max())


@pytest.mark.parametrize("chunk_rows", [None, 7])
def test_multinomial_hessian_is_its_definition_by_chunks_and_when_confident(
    monkeypatch, chunk_rows
):
    # Σ_i w_i (diag(p_i) − p_i p_iᵀ) ⊗ a_i a_iᵀ written out, plus the intercept's gauge
    # term; scores scaled up so that most p_ik are near 0 or 1, where the diagonal
    # blocks' curvature p (1 − p) is tiny (they must not be formed by cancellation).
    import cvxdual.heads._objective as objective

    smooth, theta = _smooth("multinomial", seed=55)
    if chunk_rows is not None:  # several passes of the rank-n update, the last partial
        monkeypatch.setattr(objective, "_HESSIAN_CHUNK", chunk_rows * smooth.K * smooth.p1)
    z = 40.0 * smooth.value_grad(theta)[3]
    P = np.exp(z - z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    D = np.einsum("nk,kl->nkl", P, np.eye(smooth.K)) - P[:, :, None] * P[:, None, :]
    K, p1 = smooth.K, smooth.p1
    exact = np.einsum("n,nkl,ni,nj->kilj", smooth.w, D, smooth.A, smooth.A).reshape(K * p1, -1)
    scale = np.trace(exact) / exact.shape[0]
    gauge = np.kron(np.ones((K, K)), np.diag(scale * (np.arange(p1) >= smooth.d) / K))
    H = smooth.hessian(z, gauge=False)
    np.testing.assert_allclose(H, exact + gauge, rtol=1e-12, atol=1e-15 * np.abs(exact).max())
    np.testing.assert_array_equal(H, H.T)
    for gauge_on in (False, True):  # the upper triangle alone (what potrf reads)
        full = smooth.hessian(z, gauge=gauge_on)
        triangle = smooth.hessian(z, gauge=gauge_on, upper=True)
        np.testing.assert_allclose(np.triu(triangle), np.triu(full), rtol=1e-13,
                                   atol=1e-15 * np.abs(full).max())
    single = smooth.hessian(z, gauge=False, dtype=np.float32)
    for k in range(K):  # each diagonal block to single precision of its own scale
        block = slice(k * p1, (k + 1) * p1)
        reference = (exact + gauge)[block, block]
        np.testing.assert_allclose(single[block, block], reference, rtol=1e-5,
                                   atol=1e-6 * np.abs(reference).max())


@pytest.mark.parametrize("loss", ["squared", "log_loss", "squared_hinge"])
def test_lipschitz_bounds_the_curvature(loss):
    smooth, theta = _smooth(loss, seed=53)
    H = smooth.hessian(smooth.value_grad(theta)[3])
    assert np.linalg.eigvalsh(H)[-1] <= smooth.lipschitz() * (1 + 1e-12)


def test_centred_fixes_the_multinomial_gauge_only():
    smooth, theta = _smooth("multinomial", seed=54)
    centred = smooth.centred(theta)
    np.testing.assert_allclose(centred.reshape(smooth.p1, smooth.K, order="F").sum(axis=1), 0.0,
                               atol=1e-14)
    assert smooth.value(centred) == pytest.approx(smooth.value(theta), rel=1e-12)
    other, theta = _smooth("squared", seed=54)
    assert other.centred(theta) is theta


def test_theta_and_split_are_inverse():
    smooth, theta = _smooth("multinomial", seed=55)
    coef, intercept = smooth.split(theta)
    assert coef.shape == (smooth.d, smooth.K) and intercept.shape == (smooth.K,)
    np.testing.assert_array_equal(smooth.theta(coef, intercept), theta)


@pytest.mark.parametrize("scale", [1e-300, 3e-9, 1.0, 0.7, 5e12, 1e300])
def test_power_of_two_scale_is_exact_and_near_the_rms(scale):
    Phi = scale * np.random.default_rng(56).normal(size=(20, 3))
    c = _power_of_two_scale(Phi)
    assert np.log2(c) == round(np.log2(c))
    np.testing.assert_array_equal((Phi / c) * c, Phi)  # dividing by a power of two is exact
    rms = np.sqrt(np.mean((Phi / np.abs(Phi).max()) ** 2)) * np.abs(Phi).max()
    if abs(np.log2(rms)) < 960:
        assert 2**-0.5 <= rms / c <= 2**0.5
    else:  # kept within 2^±960, so that Φ / c neither overflows nor underflows
        assert c == 2.0 ** (960 * np.sign(np.log2(rms)))
    assert _power_of_two_scale(np.zeros((2, 2))) == 1.0


@pytest.mark.parametrize("loss", FAST_LOSSES)
def test_hessp_is_the_hessian_on_centred_directions(loss):
    # Hessian-vector products on all rows (the sketched Newton-CG path):
    # the Hessian's product along directions off the multinomial gauge.
    smooth, theta = _smooth(loss, seed=53)
    _, _, _, z = smooth.value_grad(theta)
    H = smooth.hessian(z)
    rng = np.random.default_rng(54)
    for _ in range(3):
        v = smooth.centred(rng.normal(size=theta.size))
        # in float32: to single-precision rounding of the products
        np.testing.assert_allclose(smooth.hessp(z, v), H @ v, rtol=1e-4,
                                   atol=1e-5 * np.abs(H).max() * np.abs(v).max())
    assert smooth.n_hvp == 3
