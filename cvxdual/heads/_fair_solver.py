"""The fast exact solver of the fair head: active-set Newton with chord matrices (private).

The parity constraints of :class:`~cvxdual.heads._fair.FairHead` are linear in
``θ = [W; b]``: ``C θ <= h``. A primal active-set method solves the problem for a
penalty ``μ/2 ‖W‖²``: each working set is an equality-constrained problem solved
by Newton steps on its KKT system (``[[H, C_Aᵀ], [C_A, 0]]``), whose multipliers
decide which constraint leaves the set (a negative one) or enters it (the most
violated inactive one). With an L2 ball, the penalty is root-found (safeguarded
Newton on ``1/‖W(μ)‖ − 1/r``, its derivative from the same KKT matrix, then
secant slopes) so that ``‖W‖ = r``; then ``λ_norm = μ r``. The Newton iterations
share one loss Hessian (a chord matrix, :class:`_Curvature`: factored once per
penalty, assembled again only when the steps stop contracting, and handed on to
the next warm-started solve), and a binding warm start is first solved by chord
steps on the KKT system in ``(θ, μ, λ)`` at once (:func:`_binding_chord`), the
root find remaining for what that does not converge on. Callers accept an answer
only when :func:`_check_kkt` holds (stationarity to 1e-7 relative, primal
feasibility, non-negative multipliers, complementarity).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.linalg.blas
import scipy.optimize

from ..losses import Loss
from ._config import _DEFAULT_CONFIG
from ._newton import _along, _backtrack
from ._objective import _Smooth

_MAX_SET_CHANGES = 200  # working-set changes of the active-set method
_FEAS_ATOL = 1e-10  # violation (in score units, times 1 + δ) that puts a constraint in the set
# A chord step whose Newton decrement falls by less than this factor (its residual by
# less than about its square root) has the next step use a Hessian at its own point.
_CHORD_RATE = 0.25
# Relative change of the ball's penalty μ beyond which a chord matrix is factored again.
_MU_REFACTOR = 0.05
# Chord steps on the joint KKT system of a warm binding solve (_binding_chord): at most
# this many per working set, stopped at this fraction of the KKT test's stationarity.
_JOINT_MAX_STEPS = 40
_JOINT_RTOL = 0.1
# ... a new chord matrix (at most _JOINT_MAX_REFRESH a solve) when a step after the
# second on one matrix shrinks the residual by less than _JOINT_RATE.
_JOINT_RATE = 0.7
_JOINT_MAX_REFRESH = 3



class _Objective(_Smooth):
    """``F(θ) = f(θ) + μ/2 ‖W‖²``: the head objective of :class:`._objective._Smooth`
    plus the penalty of the L2 ball's root find in ``μ``.

    The multinomial Hessian fixes only the intercepts' common shift (``gauge=False``):
    the parity constraints are not invariant to shifting coefficient rows.
    """

    def __init__(self, loss: Loss, Phi, Y, weights, fit_intercept):
        super().__init__(loss, Phi, Y, weights, fit_intercept)
        self.mu = 0.0

    def value(self, theta) -> float:
        pt = self.mask * theta
        return super().value(theta) + 0.5 * self.mu * float(pt @ pt)

    def value_grad(self, theta):
        """Return ``F``, ``∇F``, the sample gradients ``w ∂ℓ/∂z`` and the scores."""
        value, grad, G, z = super().value_grad(theta)
        pt = self.mask * theta
        return value + 0.5 * self.mu * float(pt @ pt), grad + self.mu * pt, G, z

    def gradient(self, theta):
        """``∇F``, ``G`` and the scores, as :meth:`value_grad` (the penalty included)."""
        grad, G, z = super().gradient(theta)
        return grad + self.mu * (self.mask * theta), G, z

    def hessian(self, z):
        H = self.loss_hessian(z)
        H[np.diag_indices_from(H)] += self.mu * self.mask
        return H

    def loss_hessian(self, z):
        """The Hessian of ``f`` alone (no penalty), the multinomial intercepts' shift fixed."""
        return super().hessian(z, gauge=False)


class _Curvature:
    """A loss Hessian kept for the Newton iterations of one solve (a chord matrix).

    Assembling the Hessian costs as much as tens of gradients (the digits network's
    head: 22 ms against 0.3 ms), and the working-set and penalty changes of a solve
    move the point little: the iterations reuse it, factored once per penalty ``μ``
    (Cholesky) with the Schur complement of each working set, and assemble a new one
    only when the steps stop contracting (:func:`_equality_newton`). Like every
    chord matrix it sets the rate only: each answer is certified by the KKT test.
    """

    def __init__(self, F: _Objective, z):
        self.H = F.loss_hessian(z)
        self.mask = F.mask
        self.loss = F.loss.name
        self.mu = None
        self.factor = None
        self.schur: dict = {}

    def decrement(self, step) -> float:
        """``stepᵀ (H + μP) step`` at the last factored ``μ``: ``‖Lᵀ step‖²`` (one ``trmv``).

        (From the factor rather than from the KKT identity ``−stepᵀ(∇F + Cᵀλ)``, whose
        rounding, about 1e-18, is the size of the stopping test's threshold.)
        """
        v = scipy.linalg.blas.dtrmv(self.factor[0], step, lower=1, trans=1)
        return float(v @ v)

    def kkt_solve(self, mu, C, rhs_top, rhs_bottom):
        """``[[H + μP, Cᵀ], [C, 0]] [x; λ] = [rhs_top; rhs_bottom]``, or None if singular.

        The right-hand sides may hold several columns (solved together: a solve
        with the factor reads it once for all of them). ``H + μ'P`` is factored anew
        only when ``μ`` differs from the factored ``μ'`` by more than
        :data:`_MU_REFACTOR` (relative): a chord matrix may lag in ``μ`` as it lags
        in the point.
        """
        if self.mu is None or abs(mu - self.mu) > _MU_REFACTOR * self.mu:
            K = np.array(self.H, order="F")  # (Fortran order: trmv reads the factor in place)
            K[np.diag_indices_from(K)] += mu * self.mask
            try:
                self.factor = scipy.linalg.cho_factor(K, lower=True, overwrite_a=True,
                                                      check_finite=False)
            except np.linalg.LinAlgError:
                self.factor = None
            self.mu, self.schur = mu, {}
        if self.factor is None:
            return None
        x = scipy.linalg.cho_solve(self.factor, rhs_top, check_finite=False)
        if not C.shape[0]:
            return x, np.zeros((0, *np.shape(rhs_top)[1:]))
        key = C.tobytes()
        if key not in self.schur:
            KinvCt = scipy.linalg.cho_solve(self.factor, C.T, check_finite=False)
            try:
                S = scipy.linalg.cho_factor(C @ KinvCt, lower=True, check_finite=False)
            except np.linalg.LinAlgError:  # (dependent working constraints)
                S = None
            self.schur[key] = (KinvCt, S)
        KinvCt, S = self.schur[key]
        if S is None:
            return None
        lam = scipy.linalg.cho_solve(S, C @ x - rhs_bottom, check_finite=False)
        return x - KinvCt @ lam, lam


def _kkt_solve(H, C, rhs_top, rhs_bottom):
    """Solve ``[[H, Cᵀ], [C, 0]] [x; λ] = [rhs_top; rhs_bottom]`` (least squares if singular)."""
    m, p = C.shape[0], H.shape[0]
    M = np.zeros((p + m, p + m))
    M[:p, :p], M[:p, p:], M[p:, :p] = H, C.T, C
    rhs = np.concatenate([rhs_top, rhs_bottom])
    with warnings.catch_warnings():
        # an ill-conditioned system (dependent working constraints) goes to lstsq
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            sol = scipy.linalg.solve(M, rhs, assume_a="sym", check_finite=False)
            if not np.all(np.isfinite(sol)):
                raise np.linalg.LinAlgError
        except (np.linalg.LinAlgError, ValueError, scipy.linalg.LinAlgWarning):
            sol = np.linalg.lstsq(M, rhs, rcond=None)[0]
    return sol[:p], sol[p:]


def _equality_newton(F: _Objective, theta, C, h, tol, max_iter, curvature):
    """Minimise ``F`` s.t. ``C θ = h`` by feasible Newton steps; return ``(θ, λ, ok, n_iter)``.

    ``curvature`` is a holder (a one-element list: the :class:`_Curvature` in use, or
    None): the steps are chord steps with its Hessian, refreshed at the current
    point when it is missing, when its KKT system is singular, or when the
    decrement falls by less than :data:`_CHORD_RATE` in a step; an exact Newton
    step where even a fresh one's system is singular.
    """
    if C.shape[0]:
        theta = theta + np.linalg.lstsq(C, h - C @ theta, rcond=None)[0]
    val, grad, _, z = F.value_grad(theta)
    lam = np.zeros(C.shape[0])
    previous = np.inf
    for it in range(1, max_iter + 1):
        fresh = curvature[0] is None
        if fresh:
            curvature[0] = _Curvature(F, z)
        solved = curvature[0].kkt_solve(F.mu, C, -grad, h - C @ theta)
        if solved is None and not fresh:
            curvature[0], fresh = _Curvature(F, z), True
            solved = curvature[0].kkt_solve(F.mu, C, -grad, h - C @ theta)
        if solved is None:  # (a singular chord system: an exact Newton step)
            H = F.hessian(z)
            step, lam = _kkt_solve(H, C, -grad, h - C @ theta)
            decrement = float(step @ H @ step)
        else:
            step, lam = solved
            decrement = curvature[0].decrement(step)
        if not np.isfinite(decrement):
            return theta, lam, False, it
        if decrement <= tol**2 * max(abs(val), 1e-3) or decrement <= 1e-30:
            return theta + step, lam, True, it
        if decrement > _CHORD_RATE * previous:
            curvature[0] = None  # (not contracting: a new Hessian at the next point)
        previous = decrement
        candidate = _backtrack(
            _along(theta, slice(None), step), F.value, val, decrement, _DEFAULT_CONFIG
        )
        if candidate is None:
            if solved is not None and not fresh:
                curvature[0] = None  # (a stale matrix's direction: retry with a fresh one)
                continue
            return theta, lam, False, it
        theta = candidate
        val, grad, _, z = F.value_grad(theta)
    return theta, lam, False, max_iter


def _active_set(F: _Objective, theta, C, h, active, tol, max_iter, curvature):
    """Minimise ``F`` s.t. ``C θ <= h`` from the working set ``active``.

    Returns ``(θ, λ, active, n_iter)`` or None. ``curvature``: see :func:`_equality_newton`.
    """
    active = active.copy()
    n_iter = 0
    feas_tol = _FEAS_ATOL * (1.0 + np.abs(h))
    for _ in range(_MAX_SET_CHANGES):
        theta, lam_a, ok, it = _equality_newton(F, theta, C[active], h[active], tol, max_iter,
                                                curvature)
        n_iter += it
        if not ok:
            return None
        lam, changed = _next_working_set(C, h, theta, lam_a, active, feas_tol)
        if not changed:
            return theta, np.maximum(lam, 0.0), active, n_iter
    return None


def _next_working_set(C, h, theta, lam_active, active, feas_tol):
    """The multipliers of all rows at a working set's solution, and whether the set changes.

    The most negative multiplier leaves the set, or else the most violated inactive
    constraint enters it (``active`` is changed in place). Returns ``(λ, changed)``.
    """
    lam = np.zeros(C.shape[0])
    lam[active] = lam_active
    scale = max(float(np.max(np.abs(lam), initial=0.0)), 1e-300)
    if active.any() and lam.min() < -1e-10 * scale:
        active[int(np.argmin(lam))] = False
        return lam, True
    slack = np.where(active, -np.inf, C @ theta - h - feas_tol)
    if slack.size and slack.max() > 0:
        active[int(np.argmax(slack))] = True
        return lam, True
    return lam, False


def _solve_fast(F: _Objective, C, h, radius, theta, active, mu0, tol, max_iter,
                curvature=None):
    """Solve the parity problem (optional L2 ball); return ``(θ, λ, μ, n_iter)`` or None.

    The Newton iterations of the whole solve share a :class:`_Curvature` (chord
    steps) held in ``curvature``, a one-element list: a warm start's, or None (one
    is assembled at the first iterate); it holds the last one used afterwards.
    """
    n_iter = 0
    curvature = [None] if curvature is None else curvature

    def norm_w(th):
        return float(np.linalg.norm(F.mask * th))

    if F.loss.name == "multinomial" and not mu0:
        # no unpenalised trial: its optimum is not unique (see _FAST_LOSSES)
        _, grad, _, _ = F.value_grad(theta)
        mu0 = max(float(np.linalg.norm(F.mask * grad)) / radius, 1e-12)
    if radius is None or not mu0:
        F.mu = 0.0
        result = _active_set(F, theta, C, h, active, tol, max_iter, curvature)
        if result is not None:
            theta, lam, active, it = result
            n_iter += it
            if radius is None or norm_w(theta) <= radius * (1.0 + tol):
                return theta, lam, 0.0, n_iter
        elif radius is None:
            return None
        _, grad, _, _ = F.value_grad(theta)
        mu0 = max(float(np.linalg.norm(F.mask * grad)) / radius, 1e-12)
    lo, hi, mu = 0.0, np.inf, mu0
    last = None  # (μ, φ(μ) = 1/‖W(μ)‖ − 1/r) of the previous step, for a secant slope
    for _ in range(_DEFAULT_CONFIG.max_mu_steps):
        F.mu = mu
        result = _active_set(F, theta, C, h, active, tol, max_iter, curvature)
        if result is None:
            return None
        theta, lam, active, it = result
        n_iter += it
        nw = norm_w(theta)
        if abs(nw - radius) <= tol * radius:
            return theta, lam, mu, n_iter
        if nw == 0.0:
            return None
        if nw > radius:
            lo = mu
        else:
            hi = mu
        # dθ/dμ = −u with [[H + μP, C_Aᵀ], [C_A, 0]] [u; ·] = [Pθ; 0] (the chord
        # matrix's H: the safeguarded root find needs only a slope near the true one)
        pt = F.mask * theta
        solved = None
        if curvature[0] is not None:
            solved = curvature[0].kkt_solve(mu, C[active], pt, np.zeros(int(active.sum())))
        if solved is None:
            _, _, _, z = F.value_grad(theta)
            solved = _kkt_solve(F.hessian(z), C[active], pt, np.zeros(int(active.sum())))
        u = solved[0]
        dphi = float(pt @ u) / nw**3
        phi = 1.0 / nw - 1.0 / radius
        if last is not None and last[0] != mu:
            # The chord matrix's slope is off by the Hessian's drift (the root find
            # then converges only linearly); the secant through the last two exact
            # points converges superlinearly.
            secant = (phi - last[1]) / (mu - last[0])
            if secant > 0:
                dphi = secant
        last = (mu, phi)
        proposal = mu - phi / dphi if dphi > 0 else np.nan
        if np.isfinite(proposal) and lo < proposal < hi:
            mu = proposal
        elif np.isfinite(hi):
            mu = np.sqrt(lo * hi) if lo > 0 else 0.1 * hi
        else:
            mu = 10.0 * mu
        if np.isfinite(hi) and hi - lo <= 1e-15 * hi:
            return None
    return None


def _binding_chord(F: _Objective, C, h, radius, theta, active, mu, tol, curvature):
    """A warm binding solve by chord steps on the KKT system in ``(θ, μ, λ_A)``.

    For each working set ``A`` the equations ``∇f + μPθ + C_Aᵀλ_A = 0``,
    ``C_A θ = h_A`` and ``½(‖Pθ‖² − r²) = 0`` are solved together (as
    :func:`~cvxdual.heads._chord._solve_l2_chord` solves the plain ball's), every
    step with the chord matrix of ``curvature`` (:class:`_Curvature`): where the
    root find of :func:`_solve_fast` solves ``θ(μ)`` exactly at every trial ``μ``,
    this moves ``θ`` and ``μ`` at once. The working set then changes as in
    :func:`_active_set`. Unglobalised: ``None`` when a working set takes more than
    :data:`_JOINT_MAX_STEPS` steps or a system is singular (the caller solves it
    the other way). Returns ``(θ, λ, μ, n_iter)``.
    """
    active = active.copy()
    feas_tol = _FEAS_ATOL * (1.0 + np.abs(h))
    F.mu = 0.0  # (the penalty is written out below)
    _, _, G, _ = F.value_grad(theta)
    scale = max(float(np.max(np.abs(F.A).T @ np.abs(G))), 1e-12)  # (as _check_kkt)
    goal = _JOINT_RTOL * _DEFAULT_CONFIG.kkt_rtol * scale
    lam = np.zeros(C.shape[0])
    n_iter, refreshes = 0, 0
    for _ in range(_MAX_SET_CHANGES):
        CA, hA, lam_a = C[active], h[active], lam[active]
        previous, since = np.inf, 0
        for step in range(_JOINT_MAX_STEPS + 1):
            grad, _, z = F.gradient(theta)
            pt = F.mask * theta
            r1 = grad + mu * pt + CA.T @ lam_a
            r_eq = CA @ theta - hA
            r2 = 0.5 * (float(pt @ pt) - radius**2)
            if (np.max(np.abs(r1)) <= goal and np.all(np.abs(r_eq) <= feas_tol[active])
                    and abs(r2) <= 0.5 * tol * radius**2):
                break
            if step == _JOINT_MAX_STEPS or not mu > 0:
                return None
            # a chord matrix that stopped contracting the residual: one at this point
            residual = max(float(np.max(np.abs(r1))) / scale, abs(r2) / radius**2)
            if curvature[0] is None or (since >= 2 and residual > _JOINT_RATE * previous):
                if refreshes == _JOINT_MAX_REFRESH:
                    return None
                curvature[0], refreshes, since = _Curvature(F, z), refreshes + 1, 0
            previous, since = residual, since + 1
            # (both systems' right-hand sides at once: [r1, Pθ] and [r_eq, 0])
            solved = curvature[0].kkt_solve(mu, CA, np.column_stack([r1, pt]),
                                            np.column_stack([r_eq, np.zeros_like(r_eq)]))
            if solved is None:
                return None
            (a, c), (alpha, gamma) = solved[0].T, solved[1].T
            curv = float(pt @ c)
            if not curv > 0:
                return None
            d_mu = (r2 - float(pt @ a)) / curv
            theta = theta - a - c * d_mu
            lam_a = lam_a - alpha - gamma * d_mu
            mu += d_mu
            n_iter += 1
        lam, changed = _next_working_set(C, h, theta, lam_a, active, feas_tol)
        if not changed:
            F.mu = mu
            return theta, np.maximum(lam, 0.0), mu, n_iter
    return None


def _central_duals(C, h, theta, lam):
    """The analytic centre of the optimal multipliers when they are not unique.

    With linearly dependent binding constraints (two groups of equal weight:
    one group's "upper" row is the other's "lower" row) the multipliers form a
    polytope ``{λ >= 0 : C_Sᵀ λ = C_Sᵀ λ*}``; interior-point solvers (the CVXPY
    definition) return its analytic centre, ``argmax Σ log λ_i``, and so does
    this (Newton's method on the barrier over the null space of ``C_Sᵀ``).
    ``λ`` is returned unchanged when it is unique or the polytope has no interior.
    """
    S = np.flatnonzero(np.abs(C @ theta - h) <= 1e-9 * (1.0 + np.abs(h)))
    if S.size < 2 or not np.all(h[S] > 0):
        return lam
    N = scipy.linalg.null_space(C[S].T, rcond=1e-9)
    q = N.shape[1]
    if q == 0:
        return lam
    base = lam[S]
    scale = max(float(base.max()), 1e-300)
    # A strictly interior start: maximise t s.t. base + N η >= t (bounded: δ > 0).
    lp = scipy.optimize.linprog(
        np.r_[np.zeros(q), -1.0],
        A_ub=np.hstack([-N, np.ones((S.size, 1))]),
        b_ub=base,
        bounds=[(None, None)] * q + [(None, scale)],
    )
    if lp.status != 0 or lp.x[-1] <= 1e-9 * scale:
        return lam
    eta = lp.x[:q]
    for _ in range(100):
        current = base + N @ eta
        grad = -N.T @ (1.0 / current)
        hess = (N / current[:, None] ** 2).T @ N
        step = -np.linalg.solve(hess, grad)
        decrement = float(-grad @ step)
        if decrement <= 1e-24:
            break
        t = 1.0
        while np.any(base + N @ (eta + t * step) <= 0):
            t *= 0.5
        value = -np.sum(np.log(current))
        while -np.sum(np.log(base + N @ (eta + t * step))) > value - 0.25 * t * decrement:
            t *= 0.5
            if t < 1e-12:
                break
        eta = eta + t * step
    out = lam.copy()
    out[S] = np.maximum(base + N @ eta, 0.0)
    return out


def _check_kkt(F: _Objective, theta, lam, C, h) -> bool:
    """Stationarity (relative), feasibility, dual signs and complementarity."""
    _, grad, G, _ = F.value_grad(theta)
    # Relative to the size of the terms summed in ∇f (which vanishes when no bound binds).
    scale = max(float(np.max(np.abs(F.A).T @ np.abs(G))), 1e-12)
    stationary = np.max(np.abs(grad + C.T @ lam)) <= _DEFAULT_CONFIG.kkt_rtol * scale
    slack = C @ theta - h
    feasible = np.all(slack <= 1e-9 * (1.0 + np.abs(h)))
    complementary = np.all(lam * np.abs(slack) <= 1e-9 * (1.0 + np.abs(lam)))
    return bool(stationary and feasible and complementary and np.all(lam >= 0))
