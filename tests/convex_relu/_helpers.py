"""Data and reference helpers shared by the convex ReLU tests."""

from __future__ import annotations

import numpy as np

from cvxdual.convex_relu import DEFAULT_MAX_ITER, DEFAULT_TOL, _certificate, _common, _fast
from cvxdual.convex_relu._progress import _Progress

ALPHA = 1e-2


def _augment(X):
    return np.hstack([X, np.ones((X.shape[0], 1))])


def _data(n=30, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.sin(2 * X[:, 0]) + 0.5 * np.abs(X[:, -1]) + 0.1 * rng.standard_normal(n)
    return X, y


def _gd(X, y, alpha, *, m=40, steps=3000, lr=0.05, seed=0):
    """Full-batch gradient descent on the nonconvex two-layer ReLU objective."""
    rng = np.random.default_rng(seed)
    Xt = _augment(X)
    n = X.shape[0]
    U = 0.5 * rng.standard_normal((Xt.shape[1], m))
    a = 0.5 * rng.standard_normal(m)
    for _ in range(steps):
        pre = Xt @ U
        H = np.maximum(pre, 0.0)
        r = (H @ a - y) / n
        ga = H.T @ r + alpha * a
        gU = Xt.T @ (r[:, None] * a[None, :] * (pre > 0)) + alpha * U
        U -= lr * gU
        a -= lr * ga
    return U, a


def _cells_by_linear_programs(Xt):
    """Every sign vector of {±1}ⁿ whose open cone is nonempty (brute force, small n)."""
    import itertools

    import scipy.optimize

    n, p = Xt.shape
    found = []
    for signs in itertools.product((1.0, -1.0), repeat=n):
        A = -np.asarray(signs)[:, None] * Xt  # s_k x̃_kᵀu ≥ t  ⇔  −s_k x̃_kᵀu + t ≤ 0
        res = scipy.optimize.linprog(
            np.r_[np.zeros(p), -1.0], A_ub=np.hstack([A, np.ones((n, 1))]), b_ub=np.zeros(n),
            bounds=[(-1, 1)] * p + [(None, 1)], method="highs")
        if res.status == 0 and -res.fun > 1e-9:
            found.append(np.asarray(signs) > 0)
    D = np.array(found).T
    return D[:, D.any(axis=0)]


def _dual_feasibility(X, D, sol, alpha):
    """max_i ‖X̃ᵀ((2D_i − I) μ_i ∓ D_i ν)‖ · t / alpha over both neuron families."""
    Xt, S, nu, t = _augment(X), 2.0 * D - 1.0, sol.duals["sample_duals"], sol.duals["dual_scale"]
    cv = Xt.T @ (S * sol.duals["cone_v"] - D * nu[:, None])
    cw = Xt.T @ (S * sol.duals["cone_w"] + D * nu[:, None])
    return t * max(np.linalg.norm(cv, axis=0).max(), np.linalg.norm(cw, axis=0).max()) / alpha


def _fast_stages(X, y, alpha, D, *, loss="squared", max_iter=DEFAULT_MAX_ITER, tol=DEFAULT_TOL,
                 verbose=False, **schedule):
    """The fast solver with its stages steered by a :class:`_fast._Schedule` (intercept on)."""
    cert = _certificate._Certifier(_augment(X), D, _common._get_loss(loss), y, alpha)
    return _fast._solve_fast(cert, max_iter=max_iter, tol=tol, solver=None,
                             progress=_Progress(verbose), schedule=_fast._Schedule(**schedule))
