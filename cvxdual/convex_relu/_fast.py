"""The fast solver: its stages in order, and the certified candidates they propose.

:func:`_solve_fast` runs the interior-point method (:mod:`._ipm`); if that
stops short of a certified gap, the augmented Lagrangian iterations
(:mod:`._first_order`) with exact working-set solves (:mod:`._working_set`).
Every stage hands its candidates to one :class:`_Incumbent`, which certifies
them over *all* the patterns and keeps the best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from ._certificate import _relative_gap
from ._constants import (
    _IPM_MAX_ITER,
    _POLISH_TRIGGER_GAP,
    _SPARSIFY_RTOLS,
    _SPARSIFY_SLACK,
    _WARMUP_ITERS,
    _ZERO_GROUP_RTOL,
)
from ._first_order import _AugmentedLagrangian
from ._ipm import _ipm
from ._program import ConvexReLUSolution
from ._working_set import _working_set


@dataclass(frozen=True)
class _Schedule:
    """How the stages share the iteration budget (tests steer the stages with another).

    ``ipm_max_iter``: interior-point iterations at most (0 skips the stage);
    ``warmup_iters``: first-order iterations before the first working-set solve.
    """

    ipm_max_iter: int = _IPM_MAX_ITER
    warmup_iters: int = _WARMUP_ITERS


_DEFAULT_SCHEDULE = _Schedule()


def _project_to_cones(cert, theta):
    """Project each nonzero column onto its cone exactly (removes solver-level violations)."""
    out = theta.copy()
    E = cert.S * (cert.Xt @ theta)
    for i in np.flatnonzero((E < 0).any(axis=0) & (np.abs(theta).max(axis=0) > 0)):
        A = cert.S[:, i, None] * cert.Xt
        mu, _ = scipy.optimize.nnls(A.T, -theta[:, i], maxiter=50 * A.shape[0] + 100)
        out[:, i] = theta[:, i] + A.T @ mu
    return out


def _certified(cert, theta, lam):
    """Exact certificate of ``θ`` with multipliers ``lam``:
    ``(relative gap, objective, bound, t, ν, per-neuron bounds, μ)``."""
    obj = cert.primal(theta)
    lb, t, nu, bound, mu = cert.lower_bound(theta, lam, refine=True, details=True)
    return _relative_gap(obj, lb), obj, lb, t, nu, bound, mu


class _Incumbent:
    """The best certified candidate so far: the smallest relative gap over all patterns."""

    def __init__(self, cert, tol, progress):
        self.cert, self.tol, self.progress = cert, tol, progress
        self.best = None  # (gap, theta, objective, lb, t, nu, mu, solver name)
        self.obj_zero = cert.primal(np.zeros((cert.Xt.shape[1], cert.S.shape[1])))

    def consider(self, theta_c, name, mu_c):
        """Certify the network of an iterate ``θ`` (multipliers ``μ``) and keep it if best.

        The candidate is ``θ`` with negligible neurons dropped, each neuron
        projected exactly onto its cone, sparsified (:meth:`_sparsify`) and never
        worse than the zero network. Returns whether its gap is ≤ ``tol``, and the
        per-neuron bounds and ``ν`` of its certificate (for column generation).
        """
        cert, tol = self.cert, self.tol
        norms_c = np.linalg.norm(theta_c, axis=0)
        top = norms_c.max(initial=0.0)
        # the network recover_network returns: negligible neurons dropped
        cand = _project_to_cones(cert, np.where(norms_c > _ZERO_GROUP_RTOL * top, theta_c, 0.0))
        gap_c, obj_c, lb_c, t_c, nu_c, bound_c, mu_out = _certified(cert, cand, mu_c)
        if gap_c > tol and not np.array_equal(cand, theta_c):
            # the residual of the iterate itself may give the better dual point (the
            # bound holds for any ν; dropping tiny neurons moves ν when the fit is close)
            _, _, lb_i, t_i, nu_i, bound_i, mu_i = _certified(cert, theta_c, mu_c)
            if lb_i > lb_c:
                lb_c, t_c, nu_c, bound_c, mu_out = lb_i, t_i, nu_i, bound_i, mu_i
                gap_c = _relative_gap(obj_c, lb_c)
        mu_c = mu_out
        cand, obj_c, gap_c = self._sparsify(theta_c, norms_c, top, cand, obj_c, gap_c, lb_c)
        if not obj_c <= self.obj_zero:
            # never worse than the zero network (also when obj_c is NaN): θ = 0
            # replaces the candidate, certified by the better of the two dual points
            zero = np.zeros_like(theta_c)
            _, _, lb_z, t_z, nu_z, bound_z, mu_z = _certified(cert, zero, np.zeros_like(mu_c))
            if not lb_z <= lb_c:  # (also for a NaN lb_c)
                lb_c, t_c, nu_c, bound_c, mu_c = lb_z, t_z, nu_z, bound_z, mu_z
            cand, obj_c, name = zero, self.obj_zero, "zero"
            gap_c = _relative_gap(obj_c, lb_c)
        if self.progress.enabled:
            self.progress.note("candidate", f"{name or 'first-order'}: objective {obj_c:.10g}, "
                                            f"gap {gap_c:.3g}, "
                                            f"{int(np.count_nonzero(np.abs(cand).max(axis=0)))} "
                                            "neurons")
        if self.best is None or gap_c < self.best[0]:
            self.best = (gap_c, cand, obj_c, lb_c, t_c, nu_c, mu_c, name)
        return gap_c <= tol, (bound_c, nu_c)

    def _sparsify(self, theta_c, norms_c, top, cand, obj_c, gap_c, lb_c):
        """The sparsest version of ``θ`` (neurons below ``rtol ·`` largest dropped) whose
        objective is within ``_SPARSIFY_SLACK · tol`` of the candidate's.

        Interior-point iterates have no exact zeros; the same dual point still
        certifies a sparser candidate (the bound holds for any feasible point).
        Returns ``(candidate, objective, gap)``.
        """
        cert = self.cert
        for rtol in _SPARSIFY_RTOLS:
            if not np.any((norms_c > _ZERO_GROUP_RTOL * top) & (norms_c <= rtol * top)):
                continue
            sparse = _project_to_cones(cert, np.where(norms_c > rtol * top, theta_c, 0.0))
            obj_s = cert.primal(sparse)
            if obj_s <= obj_c + _SPARSIFY_SLACK * self.tol * abs(obj_c):
                return sparse, obj_s, _relative_gap(obj_s, lb_c)
        return cand, obj_c, gap_c

    def solution(self, n_iter):
        """The best candidate as a :class:`ConvexReLUSolution` of method ``"fast"``."""
        gap, theta, obj, lb, t, nu, mu, name = self.best
        P = theta.shape[1] // 2
        duals = {"sample_duals": nu, "cone_v": mu[:, :P], "cone_w": mu[:, P:], "dual_scale": t}
        return ConvexReLUSolution(theta[:, :P], theta[:, P:], obj, lb, duals, "fast",
                                  name, n_iter, bool(gap <= self.tol))


def _solve_fast(cert, *, max_iter, tol, solver, progress, schedule=_DEFAULT_SCHEDULE):
    """Solve the program of ``cert`` by the fast solver's stages; the best certified candidate.

    First the interior-point method (at most ``schedule.ipm_max_iter``
    iterations); if it stops short of a certified gap ``≤ tol`` (rounding near
    the end on hard instances, or cones without an interior),
    :func:`_first_order_stages` continues from the iteration count it reached.
    """
    incumbent = _Incumbent(cert, tol, progress)
    done, it, theta, mu = _ipm(cert, max_iter=min(max_iter, schedule.ipm_max_iter), tol=tol,
                               consider=incumbent.consider, progress=progress)
    if not done and not incumbent.consider(theta, "interior-point", mu)[0]:
        it = _first_order_stages(cert, incumbent, it=it, max_iter=max_iter, tol=tol,
                                 solver=solver, progress=progress,
                                 warmup_iters=schedule.warmup_iters)
    return incumbent.solution(it)


def _first_order_stages(cert, incumbent, *, it, max_iter, tol, solver, progress, warmup_iters):
    """Augmented-Lagrangian iterations, with exact working-set solves; the iteration count.

    After each multiplier update the cheap certificate is checked (the exact one
    when it is within ``tol``). The working-set solve (:func:`_working_set`) is
    tried once ``warmup_iters`` iterations have passed or the cheap gap is
    below ``_POLISH_TRIGGER_GAP``, and again at ``max_iter``. When backtracking
    finds no step the stage stops; the incumbent (at worst ``θ = 0``) is then
    returned unconverged.
    """
    al = _AugmentedLagrangian(cert)
    warmup = min(it + warmup_iters, max_iter)
    tried_full = False
    done = False
    while it < max_iter and not done:
        it, failed = al.minimise(it, max_iter if tried_full else warmup, progress)
        if failed:
            break
        obj, lb, gap = al.update_multipliers()
        progress.iteration("first-order", it, obj, lb, gap)
        if gap <= tol:
            done = incumbent.consider(al.theta, "", al.lam)[0]
        if not done and (
            (not tried_full and (gap <= _POLISH_TRIGGER_GAP or it >= warmup)) or it >= max_iter
        ):
            done = _working_set(cert, al.theta, solver, incumbent.consider, progress)
            tried_full = True
    return it
