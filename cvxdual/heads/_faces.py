r"""Fast exact solvers of the ℓ1- and ℓ∞-ball head problems (private).

Both identify the optimal face with accelerated projected gradient (FISTA with
adaptive restarts and the exact projection onto the ball), then solve that face
to machine precision with Newton's method and accept it only if the KKT
conditions of the ball problem hold:

* ℓ1 ball: Newton's method on the face ``{θ_j = 0 off the support,
  Σ s_j θ_j = r}``; :math:`\lambda = \|\nabla_W f\|_\infty` and the support
  gradients equal :math:`-\lambda\,\mathrm{sign}(W)`.
* ℓ∞ ball (a box): Newton's method over the coefficients below ``r`` in
  magnitude (and the intercept); :math:`\lambda = \|\nabla_W f\|_1`, zero
  gradient on the free coefficients and outward gradients on the clipped ones.
"""

from __future__ import annotations

import numpy as np

from ..sets import L1Ball, LinfBall
from ._config import _HeadConfig
from ._l2 import _solve_l2
from ._newton import _face_newton, _free_newton
from ._objective import _Smooth
from ._solution import _FastResult, _Start


def _solve_l1_ball(smooth: _Smooth, radius, start: _Start, tol, max_iter, config: _HeadConfig):
    """Solve ``min f s.t. Σ|W| <= radius``; a :class:`_FastResult` or None."""
    result = _solve_l1(smooth, radius, start.theta, start.lam, tol, max_iter, config)
    return None if result is None else _FastResult(*result, method="face-newton-l1")


def _solve_linf_ball(smooth: _Smooth, radius, start: _Start, tol, max_iter, config: _HeadConfig):
    """Solve ``min f s.t. max|W| <= radius``; a :class:`_FastResult` or None."""
    result = _solve_linf(smooth, radius, start.theta, start.lam, tol, max_iter, config)
    return None if result is None else _FastResult(*result, method="face-newton-linf")


def _l1_kkt(smooth: _Smooth, theta, radius, tol, config: _HeadConfig):
    """Check the KKT conditions of the ℓ1-ball problem; return ``(ok, λ)``."""
    _, grad, _, _ = smooth.value_grad(theta)
    W = smooth.mask * theta
    gW = grad[smooth.mask == 1]
    gb = grad[smooth.mask == 0]
    scale = max(float(np.max(np.abs(gW))), 1e-12)
    if gb.size and np.max(np.abs(gb)) > config.kkt_rtol * max(scale, 1e-8):
        return False, 0.0
    l1 = float(np.sum(np.abs(W)))
    lam = float(np.max(np.abs(gW)))
    if l1 < radius * (1.0 - 1e-9):
        # Interior: stationarity must hold without the multiplier.
        return lam <= config.kkt_rtol * max(1e-8, float(np.max(np.abs(grad)))), 0.0
    on = np.abs(W[smooth.mask == 1]) > 0
    resid = gW[on] + lam * np.sign(W[smooth.mask == 1][on])
    ok = bool(np.all(np.abs(resid) <= config.kkt_rtol * scale)) and l1 <= radius * (1.0 + tol)
    return ok, lam


def _fista_checkpoints(smooth: _Smooth, x, project, config: _HeadConfig):
    """Yield every ``fista_check``-th iterate of projected FISTA from ``project(x)``.

    Accelerated projected gradient with step ``1/L`` and adaptive restart
    (O'Donoghue & Candès); the L1 and Linf solvers read candidate faces off the
    yielded iterates. At most ``fista_max_iter`` iterations.
    """
    step = 1.0 / max(smooth.lipschitz(), 1e-300)
    x = project(x)
    y, t_k = x.copy(), 1.0
    fx = smooth.value(x)
    for k in range(1, config.fista_max_iter + 1):
        _, grad, _, _ = smooth.value_grad(y)
        x_new = project(y - step * grad)
        f_new = smooth.value(x_new)
        if f_new > fx:  # adaptive restart
            y, t_k = x.copy(), 1.0
        else:
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k**2))
            y = x_new + ((t_k - 1.0) / t_next) * (x_new - x)
            x, fx, t_k = x_new, f_new, t_next
        if k % config.fista_check == 0:
            yield x


def _solve_l1(smooth: _Smooth, radius, theta, lam0, tol, max_iter, config: _HeadConfig):
    """Solve the ℓ1-ball problem; return ``(θ, λ, n_iter)`` or None.

    Candidate faces (support and signs) come from the warm start or from FISTA
    iterates with the exact ℓ1-ball projection; each candidate is solved by
    Newton's method on its face and accepted only if the KKT conditions hold.
    An iterate strictly inside the ball triggers an unpenalised Newton solve.
    """
    ball = L1Ball(radius)
    mask = smooth.mask.astype(bool)
    n_iter = 0
    tried: set[bytes] = set()

    def project(th):
        th = th.copy()
        W = th[mask]
        P = ball.project_closed_form(W)[0]
        if P is not W:
            # Projected: onto the sphere exactly. With r far below max|W| the
            # soft threshold cancels to an ℓ1 norm off by ~eps max|W| / r, which
            # would read as an interior point and hide the face.
            size = float(np.sum(np.abs(P)))
            if size > 0:
                P = P * (radius / size)
        th[mask] = P
        return th

    def l1(th):
        return float(np.sum(np.abs(th[mask])))

    def try_face(th):
        nonlocal n_iter
        support = (np.abs(th) > 0) & mask
        signs = np.sign(th) * support
        key = signs.tobytes()
        if not support.any() or key in tried:
            return None
        tried.add(key)
        new, _, ok, it = _face_newton(smooth, th, support, signs, radius, tol, max_iter, config)
        n_iter += it
        if ok and np.all(np.sign(new[support]) == signs[support]):
            # Onto the face exactly: the face constraint holds to eps max|θ|, which
            # the intercept dominates when r is tiny (the rescale is that small).
            size = l1(new)
            slack = 1e-6 * radius + 1e3 * np.finfo(float).eps * float(np.max(np.abs(new)))
            if 0 < size and abs(size - radius) <= slack:
                new[mask] *= radius / size
            good, lam = _l1_kkt(smooth, new, radius, tol, config)
            if good:
                return new, lam, n_iter
        return None

    def try_interior(th):
        nonlocal n_iter
        key = b"interior"
        if key in tried:
            return None
        tried.add(key)
        result = _solve_l2(smooth, None, th, 0.0, tol, config.mu_zero_newton, config)
        if result is None:
            return None
        new, _, it = result
        n_iter += it
        return (new, 0.0, n_iter) if l1(new) <= radius * (1.0 + tol) else None

    if lam0 is not None:
        # Warm start: its face (or the interior) is usually still the right one.
        start = project(theta)
        result = try_face(start) if lam0 > 0 else try_interior(start)
        if result is not None:
            return result
    last_support = None
    for x in _fista_checkpoints(smooth, theta, project, config):
        n_iter += config.fista_check
        support = (np.abs(x) > 0) & mask
        if l1(x) < radius * (1.0 - 1e-9):
            result = try_interior(x)
        elif last_support is not None and np.array_equal(support, last_support):
            result = try_face(x)
        else:
            result = None
        if result is not None:
            return result
        last_support = support
    return None


def _solve_linf(smooth: _Smooth, radius, theta, lam0, tol, max_iter, config: _HeadConfig):
    """Solve the ℓ∞-ball (box) problem; return ``(θ, λ, n_iter)`` or None.

    FISTA with clipping identifies the coefficients at ``±r``; Newton's method
    over the others (and the intercept) then solves that face, accepted only if
    the KKT conditions hold: zero gradient on the free coefficients, gradient
    pointing outwards on the clipped ones, and ``λ = ‖∇_W f‖_1``.
    """
    mask = smooth.mask.astype(bool)
    n_iter = 0
    tried: set[bytes] = set()

    ball = LinfBall(radius)
    p1, K = smooth.p1, smooth.K

    def centre_rows(th, rows=slice(None)):
        # The multinomial loss does not change when a row of W shifts by the same
        # amount in every class, so its optimum is not unique where the box leaves
        # room: centring such rows at their mid-range (which never increases
        # max |W|) keeps the iterates on one optimum and lets the active set settle.
        W = th.reshape(p1, K, order="F")[: smooth.d]  # a view: th changes in place
        W[rows] -= 0.5 * (W[rows].max(axis=1, keepdims=True) + W[rows].min(axis=1, keepdims=True))

    def project(th):
        th = th.copy()
        if smooth.multinomial:
            centre_rows(th)
        th[mask] = ball.project_closed_form(th[mask])[0]
        return th

    # Gradient scale for the KKT tests (the gradient vanishes when the bound is inactive).
    reference = max(float(np.max(np.abs(smooth.value_grad(project(theta))[1]))), 1e-12)

    def try_face(th):
        nonlocal n_iter
        at_bound = mask & (np.abs(th) >= radius)
        signs = np.sign(th) * at_bound
        key = signs.tobytes()
        if key in tried:
            return None
        tried.add(key)
        start = th.copy()
        start[at_bound] = radius * signs[at_bound]
        new, ok, it = _free_newton(smooth, start, ~at_bound, tol, max_iter, config)
        n_iter += it
        if smooth.multinomial:
            # rows with every class free may shift at no cost
            centre_rows(new, ~at_bound.reshape(p1, K, order="F")[: smooth.d].any(axis=1))
        if not ok or np.any(np.abs(new[mask]) > radius * (1.0 + tol)):
            return None
        _, grad, _, _ = smooth.value_grad(new)
        scale = max(float(np.max(np.abs(grad[mask]))), reference)
        limit = config.kkt_rtol * scale
        inward = grad[at_bound] * signs[at_bound] > limit
        if np.max(np.abs(grad[~at_bound]), initial=0.0) > limit or np.any(inward):
            return None
        return new, float(np.sum(np.abs(grad[at_bound]))), n_iter

    if lam0 is not None:
        result = try_face(project(theta))
        if result is not None:
            return result
    last = None
    for x in _fista_checkpoints(smooth, theta, project, config):
        n_iter += config.fista_check
        active = (np.sign(x) * (mask & (np.abs(x) >= radius))).tobytes()
        if last == active:
            result = try_face(x)
            if result is not None:
                return result
        last = active
    return None
