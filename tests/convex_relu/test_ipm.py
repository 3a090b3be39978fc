"""Tests of cvxdual.convex_relu._ipm: the interior-point stage of the fast solver."""

from __future__ import annotations

import numpy as np
import pytest

from cvxdual.convex_relu import (
    _fast,
    _ipm,
    recover_network,
    sample_patterns,
    solve_convex_relu,
)

from ._helpers import _augment, _data, _fast_stages


def _soc_points(rng, k, m):
    x = rng.standard_normal((k, m))
    x[0] = np.linalg.norm(x[1:], axis=0) * rng.uniform(1.01, 3.0, m)
    return x


def test_soc_scaling_and_jordan_algebra():
    rng = np.random.default_rng(0)
    s, z = _soc_points(rng, 5, 7), _soc_points(rng, 5, 7)
    W, Winv, lam = _ipm._soc_scaling(s, z)
    # Nesterov–Todd: W z = W⁻¹ s = λ, W symmetric, W W⁻¹ = I
    np.testing.assert_allclose(_ipm._bmv(W, z), lam, atol=1e-12)
    np.testing.assert_allclose(_ipm._bmv(Winv, s), lam, atol=1e-12)
    np.testing.assert_allclose(W, W.transpose(0, 2, 1), atol=1e-14)
    np.testing.assert_allclose(np.matmul(W, Winv), np.broadcast_to(np.eye(5), W.shape),
                               atol=1e-12)
    r = rng.standard_normal((5, 7))
    np.testing.assert_allclose(_ipm._soc_product(lam, _ipm._soc_divide(lam, r)), r, atol=1e-12)
    # the largest step stays in the cone and ends on its boundary
    ds = rng.standard_normal((5, 7)) * 3
    a = _ipm._soc_max_step(s, ds)
    for frac, inside in ((0.999, True), (1.001, False)):
        u = s + frac * np.where(np.isfinite(a), a, 1.0) * ds
        t_minus_norm = u[0] - np.linalg.norm(u[1:], axis=0)
        assert np.all((t_minus_norm > 0)[np.isfinite(a)] == inside)


def test_cone_interior_points_found_or_reported():
    X, _ = _data(30, 3, seed=3)
    Xt = _augment(X)
    D = sample_patterns(X, 25, random_state=0)
    S = 2.0 * D - 1.0
    U, found = _ipm._cone_interior_points(Xt, S)
    assert found.all() and (S * (Xt @ U)).min() > 0
    # a duplicated row with opposite signs: the cone {u : x̃ᵀu ≥ 0, −x̃ᵀu ≥ 0} has no interior
    Xd = np.vstack([Xt, Xt[:1]])
    Sd = np.vstack([S, -S[:1]])
    _, found_d = _ipm._cone_interior_points(Xd, Sd)
    assert not found_d.any()


@pytest.mark.parametrize("loss", ["squared", "squared_hinge", "log_loss"])
def test_interior_point_stage_alone_certifies(loss):
    # no fallback: the answer must come from the interior-point method
    budget = _fast._Schedule().ipm_max_iter
    X, y = _data(60, 4, seed=21)
    if loss != "squared":
        y = np.where(y > np.median(y), 1.0, -1.0)
    D = sample_patterns(X, 40, random_state=3)
    fast = _fast_stages(X, y, 2e-3, D, loss=loss, max_iter=budget, warmup_iters=0)
    ref = solve_convex_relu(X, y, 2e-3, D, loss=loss, method="cvxpy", solver="CLARABEL")
    assert fast.converged and fast.solver == "interior-point"
    assert fast.n_iter <= budget
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-5)
    assert fast.lower_bound <= ref.objective * (1 + 1e-9)
    # interior-point iterates have no exact zeros; the answer is sparsified to no
    # more neurons than the optimum's support
    support = recover_network(ref.v, ref.w, rtol=1e-5)[0].shape[1]
    assert recover_network(fast.v, fast.w)[0].shape[1] <= support
