"""Tests of cvxdual.convex_relu._first_order: the augmented Lagrangian stage's pieces."""

from __future__ import annotations

import numpy as np

from cvxdual.convex_relu import _certificate, _common, _first_order, sample_patterns

from ._helpers import ALPHA, _augment, _data


def test_group_shrink_is_the_prox_of_the_group_norm():
    # prox of t Σ‖z_i‖ at Z: each column shrunk towards 0 by t, or to 0 if shorter
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((4, 6)) * np.array([0.1, 0.5, 1.0, 2.0, 3.0, 0.0])
    t = 0.8
    out = _first_order._group_shrink(Z, t)
    nz, no = np.linalg.norm(Z, axis=0), np.linalg.norm(out, axis=0)
    np.testing.assert_allclose(no, np.maximum(nz - t, 0.0), atol=1e-15)
    big = nz > t
    np.testing.assert_allclose(out[:, big] / no[big], Z[:, big] / nz[big])
    # optimality: Z − out is t times a subgradient of the group norm at out
    R = Z - out
    np.testing.assert_allclose(R[:, big], t * out[:, big] / no[big])
    assert np.all(np.linalg.norm(R[:, ~big], axis=0) <= t)


def test_gram_norm_is_the_largest_eigenvalue_and_the_stage_decreases_the_gap():
    X, y = _data(25, 2, seed=3)
    D = sample_patterns(X, 8, random_state=0)
    cert = _certificate._Certifier(_augment(X), D, _common._get_loss("squared"), y, ALPHA)
    G = np.hstack([cert.MS[:, [c]] * cert.Xt for c in range(cert.MS.shape[1])])  # Θ ↦ z
    top = np.linalg.eigvalsh(G.T @ G)[-1]
    np.testing.assert_allclose(_first_order._gram_norm(cert), top, rtol=1e-3)

    class Quiet:
        enabled = False

        def note(self, *args):
            pass

    al = _first_order._AugmentedLagrangian(cert)
    gaps = []
    it = 0
    for _ in range(5):
        it, failed = al.minimise(it, it + 200, Quiet())
        assert not failed
        gaps.append(al.update_multipliers()[2])
    assert gaps[-1] < gaps[0] and al.lam.min() >= 0
