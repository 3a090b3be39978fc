r"""A head with group-fairness constraints on its scores: the CVXPY definition and a fast solver.

:class:`FairHead` solves the head problem of :mod:`cvxdual.heads` with the
constraints of a :class:`~cvxdual.fairness.FairnessConstraint` on the score
variable ``z``:

.. math::

    \min_{W, b, z} \sum_i w_i \ell(z_i, y_i) \quad\text{s.t.}\quad
    \Phi W + \mathbf 1 b^\top - z = 0 \;(\nu),\quad W \in C,\quad
    \text{fairness}(z) \le 0 .

The CVXPY problem is the definition; it is compiled once per shape with the
features, targets, weights, group matrices and the bound as parameters (DPP).

Fast exact solver (smooth losses: ``squared``, ``logistic``, ``squared_hinge``
with no set or an :class:`~cvxdual.sets.L2Ball`, ``multinomial`` with an
L2Ball that binds; parity constraints).
The parity constraints are linear in ``θ = [W; b]``: ``C θ <= δ`` with rows
``(A_k [Φ, 1])_g`` (and their negatives). A primal active-set method solves the
problem for a penalty ``μ/2 ‖W‖²``: each working set is an equality-constrained
problem solved by Newton's method on its KKT system (``[[H, C_Aᵀ], [C_A, 0]]``),
whose multipliers decide which constraint leaves the set (a negative one) or
enters it (the most violated inactive one). With an L2 ball, the penalty is
root-found (safeguarded Newton on ``1/‖W(μ)‖ − 1/r``, its derivative from the
same KKT matrix) so that ``‖W‖ = r``; then ``λ_norm = μ r``. The answer is
returned only when the KKT conditions (stationarity to 1e-7 relative, primal
feasibility, non-negative multipliers, complementarity) hold; otherwise the
CVXPY problem is solved.
"""

from __future__ import annotations

import logging
import numbers
import warnings

import cvxpy as cp
import numpy as np
import scipy.linalg
import scipy.linalg.blas
import scipy.optimize

from .. import _solvers
from .._threads import limit_competing_blas
from .._validation import check_finite_array
from ..exceptions import InfeasibleSetError, SolverError
from ..fairness import FairnessConstraint, encode_groups
from ..losses import Loss
from ..sets import ConvexSet, L2Ball
from ._checks import _SOLVER_WORDS, _check_constraint, _check_loss, _check_solver
from ._config import _DEFAULT_CONFIG
from ._newton import _along, _backtrack
from ._objective import _Smooth
from ._solution import HeadSolution, _cvxpy_solution

__all__ = ["FairHead"]

logger = logging.getLogger(__name__)

# Losses with a fast solver. The multinomial loss is invariant to a common shift
# of the classes' weights, which the group constraints are not, so its optimum
# is unique only when an L2 ball binds: it has a fast solver with an L2Ball only.
_FAST_LOSSES = ("squared", "logistic", "squared_hinge", "multinomial")
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


# ---------------------------------------------------------------------------
# The CVXPY definition.


class _CompiledFairHead:
    """The DPP CVXPY problem for one shape ``(n, d, K, G)``; ``data`` builds it with constants."""

    def __init__(self, loss, fairness, constraint, fit_intercept, n, d, K, G, data=None):
        self.loss, self.fairness = loss, fairness
        self.W = cp.Variable((d, K), name="W")
        self.z = cp.Variable((n, K), name="z")
        self.params = {
            "loss": loss.cvxpy_parameters(n, K),
            "fair": fairness.parameters(n, K, G, loss),
        }
        if data is None:
            self.Phi = cp.Parameter((n, d), name="Phi")
        else:
            self.Phi = cp.Constant(data)
        scores = self.Phi @ self.W
        self.b = cp.Variable(K, name="b") if fit_intercept else None
        if self.b is not None:
            scores = scores + np.ones((n, 1)) @ cp.reshape(self.b, (1, K), order="C")
        self.scores = scores - self.z == 0
        self.set_constraints = {} if constraint is None else constraint.constraints(self.W)
        self.fair_constraints = fairness.constraints(self.z, self.params["fair"], loss)
        self.problem = cp.Problem(
            cp.Minimize(loss.cvxpy_objective(self.z, self.params["loss"])),
            [self.scores, *self.set_constraints.values(), *self.fair_constraints.values()],
        )
        if not self.problem.is_dcp(dpp=True):
            raise ValueError(
                f"The fair head problem with loss {loss.name!r}, {fairness!r} and "
                f"{constraint!r} is not DCP (and DPP)."
            )

    def solve(self, Phi, values, solver, what) -> HeadSolution:
        """Solve for features ``Phi`` and parameter ``values`` ({"loss": ..., "fair": ...})."""
        if isinstance(self.Phi, cp.Parameter):
            self.Phi.value = Phi
        for block, params in self.params.items():
            for key, p in params.items():
                p.value = values[block][key]
        used = _solvers.solve(self.problem, solver, what=what)
        return _cvxpy_solution(self, used, {**self.set_constraints, **self.fair_constraints})


# ---------------------------------------------------------------------------
# The fast solver: active-set Newton on the linear parity constraints.


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
        _, grad, G, z = self.value_grad(theta)
        return grad, G, z

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

        ``H + μ'P`` is factored anew only when ``μ`` differs from the factored ``μ'``
        by more than :data:`_MU_REFACTOR` (relative): a chord matrix may lag in ``μ``
        as it lags in the point.
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
            return x, np.zeros(0)
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


def _equality_newton(F: _Objective, theta, C, h, tol, max_iter, curvature=None):
    """Minimise ``F`` s.t. ``C θ = h`` by feasible Newton steps; return ``(θ, λ, ok, n_iter)``.

    With a ``curvature`` holder (a one-element list: the :class:`_Curvature` in use,
    or None) the steps are chord steps with its Hessian, refreshed at the current
    point when it is missing, when its KKT system is singular, or when the
    decrement falls by less than :data:`_CHORD_RATE` in a step; without, exact
    Newton steps.
    """
    if C.shape[0]:
        theta = theta + np.linalg.lstsq(C, h - C @ theta, rcond=None)[0]
    val, grad, _, z = F.value_grad(theta)
    lam = np.zeros(C.shape[0])
    previous = np.inf
    for it in range(1, max_iter + 1):
        solved, fresh = None, False
        if curvature is not None:
            fresh = curvature[0] is None
            if fresh:
                curvature[0] = _Curvature(F, z)
            solved = curvature[0].kkt_solve(F.mu, C, -grad, h - C @ theta)
            if solved is None and not fresh:
                curvature[0], fresh = _Curvature(F, z), True
                solved = curvature[0].kkt_solve(F.mu, C, -grad, h - C @ theta)
        if solved is None:  # (exact Newton, or a singular chord system)
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
        if curvature is not None and decrement > _CHORD_RATE * previous:
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


def _active_set(F: _Objective, theta, C, h, active, tol, max_iter, curvature=None):
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
        lam = np.zeros(C.shape[0])
        lam[active] = lam_a
        scale = max(float(np.max(np.abs(lam), initial=0.0)), 1e-300)
        if active.any() and lam.min() < -1e-10 * scale:
            active[int(np.argmin(lam))] = False
            continue
        slack = np.where(active, -np.inf, C @ theta - h - feas_tol)
        if slack.size and slack.max() > 0:
            active[int(np.argmax(slack))] = True
            continue
        return theta, np.maximum(lam, 0.0), active, n_iter
    return None


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
            first = curvature[0].kkt_solve(mu, CA, r1, r_eq)
            second = curvature[0].kkt_solve(mu, CA, pt, np.zeros(CA.shape[0]))
            if first is None or second is None:
                return None
            (a, alpha), (c, gamma) = first, second
            curv = float(pt @ c)
            if not curv > 0:
                return None
            d_mu = (r2 - float(pt @ a)) / curv
            theta = theta - a - c * d_mu
            lam_a = lam_a - alpha - gamma * d_mu
            mu += d_mu
            n_iter += 1
        lam = np.zeros(C.shape[0])
        lam[active] = lam_a
        top = max(float(np.max(np.abs(lam), initial=0.0)), 1e-300)
        if active.any() and lam.min() < -1e-10 * top:
            active[int(np.argmin(lam))] = False
            continue
        slack = np.where(active, -np.inf, C @ theta - h - feas_tol)
        if slack.size and slack.max() > 0:
            active[int(np.argmax(slack))] = True
            continue
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


# ---------------------------------------------------------------------------
# The head.


class FairHead:
    """Exact solver of the head problem with a fairness constraint on its scores.

    Same interface as :class:`cvxdual.heads.NormBoundedHead`
    (``solve(features, y, sample_weight=None, warm_start=None)``), with the
    groups bound to the head, so the training loop of :mod:`cvxdual.training`
    uses it unchanged.

    Parameters
    ----------
    loss : str or Loss
        The head's loss (see :mod:`cvxdual.losses`).
    fairness : FairnessConstraint
        A constraint of :mod:`cvxdual.fairness`.
    constraint : ConvexSet or None, default=None
        A set for the coefficients ``W``.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, m)
        The group of every row the head will be solved on.
    fit_intercept : bool, default=True
        Whether to fit an (unconstrained) intercept.
    solver : str, default="auto"
        ``"auto"`` (the fast solver when there is one, else CVXPY), ``"fast"``,
        ``"cvxpy"``, or a CVXPY solver name.
    tol : float, default=1e-9
        Relative tolerance of the fast solver.
    max_iter : int, default=200
        Newton iterations per working set of the fast solver.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.heads._fair import FairHead
    >>> from cvxdual.fairness import DemographicParity
    >>> rng = np.random.default_rng(0)
    >>> Phi = rng.normal(size=(50, 2))
    >>> groups = (Phi[:, 0] > 0).astype(int)
    >>> y = np.where(Phi.sum(axis=1) + rng.normal(size=50) > 0, 1.0, -1.0)
    >>> head = FairHead("log_loss", DemographicParity(0.2), sensitive_features=groups)
    >>> fast = head.solve(Phi, y)
    >>> exact = FairHead("log_loss", DemographicParity(0.2), sensitive_features=groups,
    ...                  solver="cvxpy").solve(Phi, y)
    >>> fast.method, bool(np.allclose(fast.duals["upper"], exact.duals["upper"], atol=1e-6))
    ('active-set-newton', True)
    """

    def __init__(
        self,
        loss: str | Loss,
        fairness: FairnessConstraint,
        constraint: ConvexSet | None = None,
        *,
        sensitive_features=None,
        fit_intercept: bool = True,
        solver: str = "auto",
        tol: float = 1e-9,
        max_iter: int = 200,
    ):
        self.loss = _check_loss(loss)
        if not isinstance(fairness, FairnessConstraint):
            raise ValueError(
                f"fairness must be a cvxdual.fairness constraint (DemographicParity, "
                f"EqualOpportunity or BoundedGroupLoss), got {fairness!r}"
            )
        self.fairness, self.constraint = fairness, _check_constraint(constraint)
        self.fit_intercept = bool(fit_intercept)
        self.solver = _check_solver(solver)
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < 1:
            raise ValueError(f"tol must be in (0, 1), got {tol!r}")
        integer = isinstance(max_iter, numbers.Integral) and not isinstance(max_iter, bool)
        if not integer or max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
        self.tol, self.max_iter = float(tol), int(max_iter)
        if self.solver == "fast" and not self.has_fast_solver:
            raise ValueError(
                f"solver='fast' needs a loss in {_FAST_LOSSES}, a parity constraint and no "
                f"set or an L2Ball; got loss {self.loss.name!r}, {fairness!r} and {constraint!r}"
            )
        self.codes = self.groups = None
        if sensitive_features is not None:
            self.set_groups(sensitive_features)
        self._compiled: dict[tuple, _CompiledFairHead] = {}

    def set_groups(self, sensitive_features) -> FairHead:
        """Bind the groups of the rows the head is solved on; return ``self``."""
        self.codes, self.groups = encode_groups(sensitive_features)
        return self

    @property
    def has_fast_solver(self) -> bool:
        """Whether the loss, fairness constraint and set have a fast exact solver."""
        ball = type(self.constraint) is L2Ball
        return (
            self.loss.name in _FAST_LOSSES
            and self.fairness.linear
            and (ball or (self.constraint is None and self.loss.name != "multinomial"))
        )

    def _validate(self, features, y, sample_weight):
        Phi = check_finite_array(features, "features", ndim=(2,))
        n, d = Phi.shape
        Y = self.loss.encode_targets(y)
        if Y.shape[0] != n:
            raise ValueError(f"y has {Y.shape[0]} samples but features has {n}")
        if not np.all(np.isfinite(Y)):
            raise ValueError("y contains NaN or infinity.")
        if self.codes is None:
            raise ValueError("The head has no groups: pass sensitive_features (or set_groups).")
        if self.codes.shape[0] != n:
            raise ValueError(
                f"sensitive_features has {self.codes.shape[0]} entries but features has "
                f"{n} samples"
            )
        if sample_weight is None:
            weights = np.full(n, 1.0 / n)
        else:
            weights = check_finite_array(sample_weight, "sample_weight", ndim=(1,))
            if weights.shape[0] != n or np.any(weights < 0) or weights.max() <= 0:
                raise ValueError(
                    f"sample_weight must hold {n} non-negative values with a positive sum"
                )
            weights = weights / weights.max()
            weights /= weights.sum()
        if self.constraint is not None:
            self.constraint.check_shape((d, Y.shape[1]))
        return Phi, Y, weights

    def _what(self) -> str:
        return (f"fair head problem (loss {self.loss.name!r}, {self.fairness!r}, "
                f"constraint {self.constraint!r})")

    @limit_competing_blas
    def solve(self, features, y, sample_weight=None, warm_start: HeadSolution | None = None):
        """Solve the head problem; return a :class:`~cvxdual.heads.HeadSolution`.

        ``duals`` holds the set's keys and the fairness constraint's keys;
        ``sample_duals`` is ``ν``, the dual of the scores constraint (it now
        includes the fairness multipliers), so ``feature_gradient()`` is
        ``∇_Φ p*``. Raises :class:`~cvxdual.exceptions.InfeasibleSetError`
        (naming the constraint) when the problem has no feasible point.
        """
        Phi, Y, weights = self._validate(features, y, sample_weight)
        n, d = Phi.shape
        K, G = Y.shape[1], self.groups.shape[0]
        if self.solver in ("auto", "fast") and self.has_fast_solver:
            solution = self._solve_fast(Phi, Y, weights, warm_start)
            if solution is not None:
                return solution
            if self.solver == "fast":
                raise SolverError(f"The fast solver did not converge on the {self._what()}.")
            logger.info("fast fair-head solver did not converge; solving the CVXPY problem")
        solver = None if self.solver in _SOLVER_WORDS else self.solver
        args = (self.loss, self.fairness, self.constraint, self.fit_intercept, n, d, K, G)
        if n * d <= _DEFAULT_CONFIG.dpp_max_entries:
            key = (n, d, K, G)
            if key not in self._compiled:
                self._compiled[key] = _CompiledFairHead(*args)
            problem = self._compiled[key]
        else:
            problem = _CompiledFairHead(*args, data=Phi)
        values = {
            "loss": self.loss.parameter_values(Y, weights),
            "fair": self.fairness.parameter_values(self.codes, self.groups, Y, weights, self.loss),
        }
        try:
            return problem.solve(Phi, values, solver, self._what())
        except InfeasibleSetError as exc:
            raise InfeasibleSetError(
                f"{self.fairness!r} cannot be met: {exc} Loosen the bound"
                + ("" if self.constraint is None else f" or the set {self.constraint!r}")
                + "."
            ) from exc

    def _solve_fast(self, Phi, Y, weights, warm_start) -> HeadSolution | None:
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return self._solve_fast_unchecked(Phi, Y, weights, warm_start)
        except (ArithmeticError, np.linalg.LinAlgError) as exc:
            logger.info("fast fair-head solver failed (%s: %s)", type(exc).__name__, exc)
            return None

    def _solve_fast_unchecked(self, Phi, Y, weights, warm_start):
        F = _Objective(self.loss, Phi, Y, weights, self.fit_intercept)
        d, K, p1 = F.d, F.K, F.p1
        parity = self.fairness.parity_matrices(self.codes, self.groups, Y, weights, self.loss)
        G = parity.shape[1]
        # Rows (g, k) in C order, like the duals (G, K): column k's block is (A_k [Φ, 1])_g.
        M = np.zeros((G, K, p1 * K))
        for k in range(K):
            M[:, k, k * p1 : (k + 1) * p1] = parity[min(k, parity.shape[0] - 1)] @ F.A
        M = M.reshape(G * K, p1 * K)
        C = np.vstack([M, -M])
        h = np.full(2 * G * K, self.fairness.bound)
        radius = None if self.constraint is None else float(self.constraint.radius)
        coef, intercept = np.zeros((d, K)), np.zeros(K)
        active, mu0 = np.zeros(2 * G * K, dtype=bool), None
        if warm_start is not None and np.shape(warm_start.coef) == (d, K):
            coef = np.asarray(warm_start.coef, dtype=float)
            intercept = np.asarray(warm_start.intercept, dtype=float).reshape(K)
            previous = [np.asarray(warm_start.duals.get(key, np.zeros((G, K)))).reshape(-1)
                        for key in ("upper", "lower")]
            if all(p.shape == (G * K,) for p in previous):
                active = np.concatenate(previous) > 0
            if radius is not None and warm_start.duals.get("norm", 0.0) > 0:
                mu0 = float(warm_start.duals["norm"]) / radius
        theta = np.vstack([coef, intercept[None, :]]) if p1 > d else coef
        theta = theta.ravel(order="F")
        # the warm start's Hessian, as the first chord matrix of this solve
        cached = getattr(warm_start, "_curvature", None)
        fits = isinstance(cached, _Curvature) and cached.H.shape == (p1 * K, p1 * K)
        curvature = [cached if fits and cached.loss == self.loss.name else None]
        result = None
        if radius is not None and mu0:
            # a binding warm start: θ and μ together by chord steps, if they converge
            result = _binding_chord(F, C, h, radius, theta, active, mu0, self.tol, curvature)
            if result is not None and not _check_kkt(F, result[0], result[1], C, h):
                result = None
        if result is None:
            result = _solve_fast(F, C, h, radius, theta, active, mu0, self.tol,
                                 self.max_iter, curvature)
            if result is None or not _check_kkt(F, *result[:2], C, h):
                return None
        theta, lam, mu, n_iter = result
        lam = _central_duals(C, h, theta, lam)
        F.mu = 0.0
        objective, _, Gs, _ = F.value_grad(theta)
        Theta = theta.reshape(p1, K, order="F")
        coef = Theta[:d].copy()
        intercept = Theta[d].copy() if p1 > d else np.zeros(K)
        upper, lower = lam[: G * K].reshape(G, K), lam[G * K :].reshape(G, K)
        # ν = w ∂ℓ/∂z + A_kᵀ (λ^up − λ^lo)_{:,k}: the scores dual with the fairness terms
        net = upper - lower
        nu = Gs.copy()
        for k in range(K):
            nu[:, k] += parity[min(k, parity.shape[0] - 1)].T @ net[:, k]
        duals = {} if radius is None else {"norm": mu * float(np.linalg.norm(coef))}
        duals.update(upper=upper.copy(), lower=lower.copy())
        if not all(np.all(np.isfinite(v)) for v in (coef, intercept, nu)):
            return None
        solution = HeadSolution(
            coef=coef,
            intercept=intercept,
            objective=float(objective),
            duals=duals,
            sample_duals=nu,
            status="optimal",
            method="active-set-newton" if radius is None else "active-set-newton-l2",
            n_iter=int(n_iter),
        )
        solution._curvature = curvature[0]  # (for the next warm start)
        return solution
