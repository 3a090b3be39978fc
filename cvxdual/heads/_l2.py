r"""Fast exact solvers of the L2-ball head problem (and the unconstrained one) (private).

The solution is the penalised optimum :math:`\theta(\mu) = \arg\min f(\theta) +
\tfrac\mu2\|W\|_F^2` with :math:`\|W(\mu)\|_F = r`, and the dual is
:math:`\lambda = \mu r`. Which path runs:

* a binding warm start: chord steps on the KKT system in :math:`(\theta, \mu)`
  (:mod:`._chord`), when its dense inverse Hessian is affordable;
* small problems (:math:`n (d+1)^2 K^2` up to ``newton_max_work``): Newton's method
  for each penalised problem, warm-started along the path, with safeguarded
  Newton steps in :math:`\mu` on :math:`\varphi(\mu) = 1/\|W(\mu)\| - 1/r`
  using :math:`dW/d\mu = -(H + \mu P)^{-1} P\theta` (Moré–Sorensen);
* larger ones: L-BFGS on the sphere ``W = rV/‖V‖`` (whose curvature is that of
  the penalised problem at the optimal penalty), then, while the Hessian is
  still cheap, Newton's method on the KKT system in :math:`(\theta, \mu)`, or
  else chord steps if L-BFGS stopped short of the KKT residual.

Above ``chord_max_work`` a full Hessian is never assembled: the chord matrix
is the inverse Hessian of a row sketch (a Newton sketch, Pilanci & Wainwright
2017) used as the preconditioner of Newton-CG with exact Hessian-vector products
and exact gradients on all rows, in three forms (:mod:`._chord`): unconstrained
or non-binding (Armijo), binding from a warm start (the KKT system in
:math:`(\theta, \mu)`), and, for a warm start too far for the latter, the
penalised minimiser at its :math:`\mu` first. The answer must pass the same KKT
test as every fast solve, so the sketch only changes the cost.

Each solver returns a :class:`~._solution._FastResult` or None (not certified:
the next path, or CVXPY, takes over).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.optimize

from .._linalg import _frobenius
from ._chord import (
    _chord_rows,
    _kkt_point,
    _kkt_step,
    _onto_sphere,
    _solve_free_chord,
    _solve_l2_chord,
)
from ._config import _HeadConfig
from ._newton import _factor, _newton
from ._objective import _Smooth
from ._solution import _FastResult, _Start

# L-BFGS on the unpenalised problem, tried when the bound seems not to bind, gives
# up once ‖W‖ exceeds this multiple of the radius (see _solve_l2_sphere).
_FREE_EXIT = 2.0


def _solve_unconstrained(smooth: _Smooth, radius, start: _Start, tol, max_iter, config):
    """Minimise ``f`` by Newton's method (``radius`` is None: no constraint).

    When the full Hessian is too costly for the chord method, chord steps with
    a sketched Hessian (:func:`~._chord._solve_free_chord`) run first.
    """
    rows = _chord_rows(smooth, config)
    if rows is not None and rows < smooth.n:
        theta = smooth.centred(start.theta)
        free = _solve_free_chord(smooth, None, theta, start.chord, tol, config)
        if free is not None and free[1] is not None:
            return _FastResult(*free[:3], method="chord", chord=free[3])
    result = _solve_l2(smooth, None, smooth.centred(start.theta), 0.0, tol, max_iter, config)
    return None if result is None else _FastResult(*result, method="newton")


def _solve_l2_ball(smooth: _Smooth, radius, start: _Start, tol, max_iter, config: _HeadConfig):
    """Solve ``min f s.t. ‖W‖_F <= radius``: chord, Newton or L-BFGS paths, as above."""
    theta = smooth.centred(start.theta)
    mu0 = None if start.lam is None else start.lam / radius
    work = smooth.n * (smooth.p1 * smooth.K) ** 2
    # The chord matrix is a Hessian of all rows or, above chord_max_work, of a row sketch.
    rows = _chord_rows(smooth, config)
    chord_ok = rows is not None
    if start.lam is not None and start.lam > 0 and chord_ok:
        # A binding warm start: chord steps with its chord matrix (if any).
        chord = _solve_l2_chord(smooth, radius, theta, mu0, start.chord, tol, config)
        if chord is not None:
            return _FastResult(*chord[:3], method="chord-l2", chord=chord[3])
        if rows < smooth.n:
            # Too far for the (unglobalised) KKT iteration: first the penalised
            # minimiser at the warm start's μ by globalised Newton-CG, then the
            # KKT iteration from there.
            pen = _solve_free_chord(smooth, None, theta, start.chord, tol, config, mu=mu0)
            if pen is not None:
                chord = _solve_l2_chord(smooth, radius, pen[0], mu0, pen[3], tol, config)
                if chord is not None:
                    return _FastResult(
                        chord[0], chord[1], pen[2] + chord[2], method="chord-l2", chord=chord[3]
                    )
    elif chord_ok and rows < smooth.n:
        # Full Hessians are too costly and the bound did not bind (or nothing is
        # known): try the unconstrained minimiser by sketched chord steps first.
        free = _solve_free_chord(smooth, radius, theta, start.chord, tol, config)
        if free is not None and free[1] is not None:
            return _FastResult(*free[:3], method="chord-l2", chord=free[3])
        if free is not None:
            # The minimiser is outside: the bound binds. Chord steps on the KKT
            # system from its projection onto the sphere, with the same matrix.
            start_b, mu_b = _onto_sphere(smooth, radius, free[0])
            chord = None
            if mu_b is not None:
                chord = _solve_l2_chord(smooth, radius, start_b, mu_b, free[3], tol, config)
            if chord is not None:
                return _FastResult(
                    chord[0], chord[1], free[2] + chord[2], method="chord-l2", chord=chord[3]
                )
    if work > config.newton_max_work:
        result = _solve_large_l2(smooth, radius, theta, tol, max_iter, chord_ok, config,
                                 free_first=start.lam == 0.0)
        if result is not None:
            return result
    result = _solve_l2(smooth, radius, theta, mu0, tol, max_iter, config)
    return None if result is None else _FastResult(*result, method="newton-l2")


def _solve_large_l2(smooth: _Smooth, radius, theta, tol, max_iter, chord_ok, config,
                    free_first=False):
    """L-BFGS on the sphere, then a Newton polish or chord steps; a result or None.

    ``free_first``: the warm start did not bind (see :func:`_solve_l2_sphere`).
    """
    work = smooth.n * (smooth.p1 * smooth.K) ** 2
    polish = work <= config.polish_max_work
    # (a Newton polish converges quadratically from kkt_lbfgs_rtol: L-BFGS stops there.)
    goal = config.kkt_lbfgs_rtol if polish else config.kkt_rtol
    # With chord steps to finish, any binding end point of L-BFGS is taken: where
    # L-BFGS fails (nearly flat problems: the digits head at r = 200 stopped after
    # 1,010 iterations), chord steps from its point still converge (7.9 s with the
    # Newton root-find in μ that took over -> 1.0 s).
    finish = chord_ok and not polish
    accept = np.inf if finish else None
    done = 0
    if finish and config.lbfgs_chord_rtol is not None:
        # L-BFGS only to lbfgs_chord_rtol, then chord steps; if the bound does not
        # bind there, or the chord steps fail, L-BFGS goes on from that point.
        early = _solve_l2_sphere(smooth, radius, theta, tol, config, config.lbfgs_chord_rtol,
                                 free_first, accept)
        if early is not None:
            theta, lam, done = early
            if lam > 0:
                if _kkt_point(smooth, radius, theta, lam / radius)[-1] <= config.kkt_rtol:
                    return _FastResult(theta, lam, done, "lbfgs-l2")  # (it went past the goal)
                chord = _solve_l2_chord(smooth, radius, theta, lam / radius, None, tol, config)
                if chord is not None:
                    return _FastResult(
                        chord[0], chord[1], done + chord[2], "lbfgs-chord-l2", chord[3]
                    )
            else:
                free_first = True  # (its point is the unpenalised problem's, inside the ball)
    result = _solve_l2_sphere(smooth, radius, theta, tol, config, goal, free_first, accept)
    if result is None:
        return None
    theta, lam, it = result
    it += done
    if polish:
        polished = _polish_l2(smooth, radius, theta, lam / radius, config.polish_max_iter, config)
        if polished is None:
            polished = _solve_l2(smooth, radius, theta, lam / radius, tol, max_iter, config)
        if polished is not None:
            return _FastResult(polished[0], polished[1], it + polished[2], "lbfgs-newton-l2")
        # The polish failed, and L-BFGS stopped at kkt_lbfgs_rtol for it: on to
        # the certificate itself, from there.
        result = _solve_l2_sphere(smooth, radius, theta, tol, config)
        if result is None:
            return None
        theta, lam, more = result
        it += more
    if (finish or (polish and chord_ok)) and lam > 0:
        residual = _kkt_point(smooth, radius, theta, lam / radius)[-1]
        if residual > config.kkt_rtol:
            # L-BFGS stopped short of the KKT residual every fast solve reaches (too
            # large a problem for the Newton polish, or the polish failed, and
            # L-BFGS's line searches stall on values equal to rounding): chord
            # steps from the Hessian at its point finish the solve, and the next
            # warm-started solve reuses that matrix.
            chord = _solve_l2_chord(smooth, radius, theta, lam / radius, None, tol, config)
            if chord is not None:
                return _FastResult(
                    chord[0], chord[1], it + chord[2], "lbfgs-chord-l2", chord[3]
                )
            if residual > config.kkt_lbfgs_rtol:  # (what L-BFGS alone is accepted at)
                return None
    return _FastResult(theta, lam, it, "lbfgs-l2")


def _solve_l2(smooth: _Smooth, radius, theta, mu0, tol, max_iter, config: _HeadConfig):
    """Root-find the penalty ``μ`` with ``‖W(μ)‖_F = r``; return ``(θ, λ, n_iter)`` or None."""
    mask = smooth.mask
    n_iter = 0

    def norm_w(th):
        return _frobenius(mask * th)  # no under- or overflow of the squares

    if radius is None or mu0 == 0.0:
        # Unpenalised trial (no constraint, or a warm start that did not bind).
        cap = max_iter if radius is None else config.mu_zero_newton
        th, ok, it, _ = _newton(smooth, theta, 0.0, tol, cap, config)
        n_iter += it
        if radius is None:
            return (th, 0.0, n_iter) if ok else None
        if ok and norm_w(th) <= radius * (1.0 + tol):
            return th, 0.0, n_iter
        mu0 = None
    if mu0 is None:
        _, grad, _, _ = smooth.value_grad(theta)
        mu0 = max(float(np.linalg.norm(mask * grad)) / radius, 1e-12)
    lo, hi = 0.0, np.inf
    mu = mu0
    tried_zero = False
    for _ in range(config.max_mu_steps):
        th, ok, it, factor = _newton(smooth, theta, mu, tol, max_iter, config)
        n_iter += it
        if not ok:
            return None
        theta = th
        nw = norm_w(theta)
        if abs(nw - radius) <= tol * radius:
            return theta, mu * nw, n_iter
        if nw == 0.0:
            # W(μ) = 0 with μ > 0 means ∇_W f = 0 at W = 0: optimal, bound inactive.
            return theta, 0.0, n_iter
        if nw > radius:
            lo = mu
        else:
            hi = mu
        u = scipy.linalg.cho_solve(factor, mask * theta, check_finite=False)
        phi = 1.0 / nw - 1.0 / radius
        dphi = float((mask * theta) @ u) / nw**3
        proposal = mu - phi / dphi if dphi > 0 else np.nan
        if np.isfinite(proposal) and lo < proposal < hi:
            mu = proposal
        elif np.isfinite(proposal) and proposal <= 0.0 and lo == 0.0 and not tried_zero:
            # The extrapolated root is negative: the bound may not bind.
            tried_zero = True
            th, ok, it, _ = _newton(smooth, theta, 0.0, tol, config.mu_zero_newton, config)
            n_iter += it
            if ok and norm_w(th) <= radius * (1.0 + tol):
                return th, 0.0, n_iter
            mu = 0.1 * mu
        elif np.isfinite(hi):
            mu = np.sqrt(lo * hi) if lo > 0 else 0.1 * hi
        else:
            mu = 10.0 * mu
        if lo > 0 and np.isfinite(hi) and hi - lo <= 1e-15 * hi:
            return None
        if lo == 0.0 and hi < 1e-14 * mu0:
            # φ > 0 down to μ ≈ 0: the bound does not bind.
            th, ok, it, _ = _newton(smooth, theta, 0.0, tol, max_iter, config)
            n_iter += it
            if ok and norm_w(th) <= radius * (1.0 + tol):
                return th, 0.0, n_iter
            return None
    return None


def _polish_l2(smooth: _Smooth, radius, theta, mu, max_iter, config: _HeadConfig):
    """Newton's method on the KKT system of the binding L2 problem; ``(θ, λ, n)`` or None.

    Unknowns ``(θ, μ)``, equations ``∇f(θ) + μPθ = 0`` and ``½(‖Pθ‖² − r²) = 0``;
    no globalisation, so it is only used from an accurate start and gives up
    (returns None) as soon as the residual stops decreasing.
    """
    mask = smooth.mask
    best = None  # (residual, theta, mu, iterations)
    for it in range(1, max_iter + 1):
        _, z, pt, r1, r2, residual = _kkt_point(smooth, radius, theta, mu)
        if residual <= config.kkt_polish_rtol:
            return theta, mu * float(np.linalg.norm(mask * theta)), it - 1
        if best is not None and residual >= best[0]:
            # Stalled at the rounding level: accept the best iterate if it is accurate.
            if best[0] <= config.kkt_polish_stall:
                _, theta, mu, n = best
                return theta, mu * float(np.linalg.norm(mask * theta)), n
            return None
        if mu <= 0:
            return None
        best = (residual, theta, mu, it - 1)
        H = smooth.hessian(z)
        H[np.diag_indices_from(H)] += mu * mask
        factor = _factor(H)
        a = scipy.linalg.cho_solve(factor, r1, check_finite=False)
        c = scipy.linalg.cho_solve(factor, pt, check_finite=False)
        step = _kkt_step(theta, mu, pt, r2, a, c)
        if step is None:
            return None
        theta, mu = step
    return None


class _Certified(Exception):
    """Raised from L-BFGS's callback: its iterate passes the caller's test."""

    def __init__(self, x, n_iter):
        super().__init__()
        self.x, self.n_iter = x, n_iter


def _lbfgs(fun, x0, tol, config: _HeadConfig, done=None):
    """Minimise a smooth ``fun`` (returning value and gradient) with scipy's L-BFGS.

    ``done(x)``, if given, is asked after every iteration and stops the run
    when true: ``tol`` is often below what L-BFGS can reach, and the run then
    ends in line searches that fail at the rounding level (33 of 42
    evaluations on a 10^5 × 50 bounded logistic problem), long after the
    iterate met the KKT certificate ``done`` tests. Returns ``(x, iterations)``.
    """
    iterations = [0]

    def callback(x):
        iterations[0] += 1
        if done is not None and done(x):
            raise _Certified(np.array(x, dtype=float, copy=True), iterations[0])

    try:
        result = scipy.optimize.minimize(
            fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            callback=callback,
            options={
                "maxiter": config.lbfgs_max_iter,
                "maxcor": config.lbfgs_memory,
                "ftol": config.lbfgs_ftol,
                "gtol": tol,
            },
        )
    except _Certified as stop:
        return stop.x, stop.n_iter
    return result.x, int(result.nit)


def _sphere_gradient(g, V, radius):
    """The gradient in ``V`` of ``f(r V / ‖V‖)``, given ``g = ∇f`` there (any shape).

    ``(r / ‖V‖) (g − u ⟨u, g⟩)`` with ``u = V / ‖V‖``: the tangential part of ``g``,
    scaled. The L-BFGS runs on a sphere minimise through it.
    """
    norm = float(np.linalg.norm(V))
    u = V / norm
    return (radius / norm) * (g - u * float(np.vdot(u, g)))


def _solve_l2_sphere(smooth: _Smooth, radius, theta, tol, config: _HeadConfig, goal=None,
                     free_first=False, accept=None):
    """Solve the L2-ball problem on its boundary by L-BFGS; return ``(θ, λ, n_iter)`` or None.

    ``W = r V / ‖V‖`` turns the binding problem into an unconstrained smooth one
    in ``(V, b)`` whose curvature is that of the penalised problem with the
    optimal penalty, so L-BFGS costs about as much as one penalised fit. A
    stationary point with ``λ = −⟨∇_W f, W⟩ / r > 0`` satisfies the KKT
    conditions of the convex ball problem, hence is its solution; with
    ``λ <= 0`` the bound does not bind and the unpenalised problem is solved.

    L-BFGS stops as soon as the relative KKT residual is ``goal`` or less
    (default ``kkt_rtol``, the certificate of every fast solve; a caller that
    polishes the answer by Newton's method asks only ``kkt_lbfgs_rtol``), or at
    its own tests; a binding answer is returned if its residual is at most
    ``accept`` (default ``kkt_lbfgs_rtol``; callers finish or certify it). The
    unpenalised problem stops at ``goal`` too, and its answer is returned when
    stationary to ``goal`` or ``kkt_lbfgs_rtol``, whichever is looser.

    When the bound does not bind, the sphere's own minimiser (``λ < 0``) is of
    no use, and converging to it cost hundreds of gradients (10^5 × 50
    logistic: 8 s where scikit-learn takes 0.2). So the sphere run also stops
    once ``λ`` has been negative for ``sphere_inward_iter`` consecutive
    iterations, and the unpenalised problem is tried from the start ``θ``
    (from the sphere if ``θ`` lies outside the ball): answered only inside
    the ball and stationary; if its iterates leave the ball (beyond twice the
    radius) or it ends outside, the sphere run resumes from their direction,
    this time without that stop. ``free_first`` (a warm start that did not
    bind, inside the ball): the unpenalised problem is tried first.
    """
    goal = config.kkt_rtol if goal is None else goal
    accept = config.kkt_lbfgs_rtol if accept is None else accept
    mask = smooth.mask.astype(bool)
    theta = theta.copy()
    origin = theta.copy()  # where the unpenalised problem starts (inside the ball or not)
    V = theta[mask]
    if not np.any(V):
        _, grad, _, _ = smooth.value_grad(theta)
        V = -grad[mask]
        if not np.any(V):
            return None
    # Gradient scale for the stopping test: at the start (W = 0 or the warm start).
    gtol = tol * max(float(np.max(np.abs(smooth.value_grad(theta)[1]))), 1e-12)
    theta[mask] = V * (radius / np.linalg.norm(V))

    def on_sphere(x):
        # (the arithmetic of ``fun``: the same θ, so value_grad's cache answers)
        t = x.copy()
        t[mask] = radius * (x[mask] / np.linalg.norm(x[mask]))
        return t

    def fun(x):
        V = x[mask]
        nv = np.linalg.norm(V)
        u = V / nv
        t = x.copy()
        t[mask] = radius * u
        val, grad, _, _ = smooth.value_grad(t)
        grad = grad.copy()
        grad[mask] = _sphere_gradient(grad[mask], V, radius)
        return val, grad

    def kkt(x):
        """``(θ, λ, scale, relative KKT residual)`` at the point of the sphere ``x`` maps to."""
        theta = on_sphere(x)
        _, grad, _, _ = smooth.value_grad(theta)
        gW, W = grad[mask], theta[mask]
        lam = -float(gW @ W) / radius
        scale = max(float(np.max(np.abs(gW))), 1e-12)
        residual = np.concatenate([gW + (lam / radius) * W, grad[~mask]])
        return theta, lam, scale, float(np.max(np.abs(residual))) / scale

    def sphere(start, inward_stop):
        inward = [0]  # consecutive iterates with λ < 0

        def done(x):
            _, lam, _, residual = kkt(x)
            inward[0] = inward[0] + 1 if lam < 0 else 0
            return (lam > 0 and residual <= goal) or (
                inward_stop and inward[0] >= config.sphere_inward_iter
            )

        return _lbfgs(fun, start, gtol, config, done=done)

    def free(t):
        val, grad, _, _ = smooth.value_grad(t)
        return val, grad.copy()

    inside = _frobenius(origin[mask]) <= radius
    if free_first and inside:
        x, n_iter = None, 0
    else:
        x, n_iter = sphere(theta, inward_stop=True)
    for resumed in (False, True):
        if x is None:  # (free first: the sphere point only gives the gradient's scale)
            scale = kkt(theta)[2]
        else:
            theta, lam, scale, residual = kkt(x)
            if lam > 0:
                return (theta, lam, n_iter) if residual <= accept else None

        # The bound does not seem to bind: minimise f itself, from the start if
        # it lies in the ball (else from the sphere), until stationary or well
        # outside the ball.
        def free_done(t, scale=scale):
            return (float(np.max(np.abs(smooth.value_grad(t)[1]))) <= goal * scale
                    or _frobenius(t[mask]) > _FREE_EXIT * radius)

        start = origin if not resumed and inside else theta
        x, it = _lbfgs(free, start, gtol, config, done=free_done)
        n_iter += it
        _, grad, _, _ = smooth.value_grad(x)
        ended_inside = _frobenius(x[mask]) <= radius
        # (stationary to what L-BFGS alone is accepted at, or to a looser goal: a
        # caller asking that much goes on from here itself)
        if ended_inside and np.max(np.abs(grad)) <= max(goal, config.kkt_lbfgs_rtol) * scale:
            return x, 0.0, n_iter
        if resumed or not np.any(x[mask]):
            return None
        # It binds after all (or the free run stalled inside): back to the
        # sphere, from the free run's direction if it left the ball, to the end.
        x, more = sphere(theta if ended_inside else on_sphere(x), inward_stop=False)
        n_iter += more
    return None
