"""Damped Newton methods on the smooth head objective (private).

Penalised (the L2 path), on a face of the ℓ1 ball, and over free coordinates
(the ℓ∞ ball), all with the same Armijo backtracking.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ._config import _HeadConfig
from ._objective import _Smooth


def _factor(M):
    """Cholesky factor of ``M``, adding a small multiple of I if it is singular."""
    jitter = 0.0
    scale = max(float(np.max(np.abs(np.diag(M)))), 1e-300)
    for _ in range(12):
        try:
            return scipy.linalg.cho_factor(M + jitter * np.eye(M.shape[0]), check_finite=False)
        except np.linalg.LinAlgError:
            jitter = scale * 1e-14 if jitter == 0.0 else jitter * 100.0
    raise np.linalg.LinAlgError("Hessian is not positive definite")


def _backtrack(point_at, objective, val, decrement, config: _HeadConfig):
    """Armijo backtracking along ``t ↦ point_at(t)`` from ``t = 1``; the point, or None.

    ``val`` is the objective at ``t = 0`` and ``decrement`` the Newton
    decrement (the predicted decrease of a full step).
    """
    # Near the optimum a full step is always taken: the Armijo test is then
    # below the rounding error of the objective.
    full = decrement <= 1e-10 * max(abs(val), 1.0)
    t = 1.0
    for _ in range(config.max_halvings):
        candidate = point_at(t)
        if full or objective(candidate) <= val - config.armijo * t * decrement:
            return candidate
        t *= 0.5
    return None


def _along(theta, idx, step):
    """``t ↦`` a copy of ``θ`` with ``θ[idx] += t step``."""

    def point_at(t):
        candidate = theta.copy()
        candidate[idx] += t * step
        return candidate

    return point_at


def _newton(smooth: _Smooth, theta, mu, tol, max_iter, config: _HeadConfig):
    """Minimise ``f(θ) + μ/2 ‖Pθ‖²`` by Newton's method with an Armijo line search.

    Returns ``(theta, converged, n_iter, factor)``; ``factor`` is the Cholesky
    factor of ``H + μP`` at the last iterate (for the μ-derivative of ``θ(μ)``).
    """
    mask = smooth.mask

    def penalised(th):
        return smooth.value(th) + 0.5 * mu * float(np.sum((mask * th) ** 2))

    val, grad, _, z = smooth.value_grad(theta)
    val += 0.5 * mu * float(np.sum((mask * theta) ** 2))
    grad = grad + mu * mask * theta
    factor = None
    for it in range(1, max_iter + 1):
        H = smooth.hessian(z)
        H[np.diag_indices_from(H)] += mu * mask
        factor = _factor(H)
        step = -scipy.linalg.cho_solve(factor, grad, check_finite=False)
        decrement = -float(grad @ step)
        if not np.isfinite(decrement):
            return theta, False, it, factor
        if decrement <= tol**2 * max(abs(val), 1e-3) or decrement <= 1e-30:
            theta = theta + step  # a last full step costs nothing and gains precision
            return theta, True, it, factor
        candidate = _backtrack(_along(theta, slice(None), step), penalised, val, decrement, config)
        if candidate is None:
            return theta, False, it, factor
        theta = candidate
        val, grad, _, z = smooth.value_grad(theta)
        val += 0.5 * mu * float(np.sum((mask * theta) ** 2))
        grad = grad + mu * mask * theta
    return theta, False, max_iter, factor


def _face_newton(
    smooth: _Smooth, theta, support, signs, radius, tol, max_iter, config: _HeadConfig
):
    """Minimise ``f`` over ``{θ : θ_j = 0 off support, Σ s_j θ_j = r}`` by Newton's method.

    Returns ``(theta, lam, converged, n_iter)``: ``lam`` is the multiplier of the
    face equation (the ℓ1 dual when the face is the optimal one).
    """
    idx = np.flatnonzero(support | (smooth.mask == 0))  # free: support and intercepts
    s = np.where(support, signs, 0.0)[idx]
    theta = theta.copy()
    theta[(smooth.mask == 1) & ~support] = 0.0
    # Start on the face (scaling the support part to the right ℓ1 norm).
    current = float(s @ theta[idx])
    if current <= 0:
        theta[idx] = np.where(s != 0, s * radius / max(np.count_nonzero(s), 1), theta[idx])
    else:
        theta[idx] = np.where(s != 0, theta[idx] * radius / current, theta[idx])
    lam = 0.0
    val, grad, _, z = smooth.value_grad(theta)
    m = idx.size
    for it in range(1, max_iter + 1):
        H = smooth.hessian(z, gauge=False)[np.ix_(idx, idx)]
        KKT = np.zeros((m + 1, m + 1))
        KKT[:m, :m] = H
        KKT[:m, m] = s
        KKT[m, :m] = s
        rhs = np.concatenate([-grad[idx], [radius - float(s @ theta[idx])]])
        try:
            sol = np.linalg.solve(KKT, rhs)
        except np.linalg.LinAlgError:
            sol = np.linalg.lstsq(KKT, rhs, rcond=None)[0]
        step, lam = sol[:m], float(sol[m])
        decrement = float(step @ H @ step)
        if not np.all(np.isfinite(sol)):
            return theta, lam, False, it
        if decrement <= tol**2 * max(abs(val), 1e-3) or decrement <= 1e-30:
            theta[idx] += step
            return theta, lam, True, it
        candidate = _backtrack(_along(theta, idx, step), smooth.value, val, decrement, config)
        if candidate is None:
            return theta, lam, False, it
        theta = candidate
        val, grad, _, z = smooth.value_grad(theta)
    return theta, lam, False, max_iter


def _free_newton(smooth: _Smooth, theta, free, tol, max_iter, config: _HeadConfig):
    """Minimise ``f`` over the coordinates ``free`` (the others fixed) by Newton's method.

    Returns ``(theta, converged, n_iter)``.
    """
    idx = np.flatnonzero(free)
    theta = theta.copy()
    val, grad, _, z = smooth.value_grad(theta)
    for it in range(1, max_iter + 1):
        H = smooth.hessian(z, gauge=False)[np.ix_(idx, idx)]
        try:
            step = -scipy.linalg.cho_solve(_factor(H), grad[idx], check_finite=False)
        except np.linalg.LinAlgError:
            return theta, False, it
        decrement = -float(grad[idx] @ step)
        if not np.isfinite(decrement):
            return theta, False, it
        if decrement <= tol**2 * max(abs(val), 1e-3) or decrement <= 1e-30:
            theta[idx] += step
            return theta, True, it
        candidate = _backtrack(_along(theta, idx, step), smooth.value, val, decrement, config)
        if candidate is None:
            return theta, False, it
        theta = candidate
        val, grad, _, z = smooth.value_grad(theta)
    return theta, False, max_iter
