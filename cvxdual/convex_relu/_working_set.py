"""The fast solver's working-set stage: exact solves of the program restricted to a
working set of neurons and cone rows, grown by constraint and column generation."""

from __future__ import annotations

import clarabel
import cvxpy as cp
import numpy as np
import scipy.sparse

from .._solvers import solve as _cvxpy_solve
from ..exceptions import SolverError
from ._certificate import _cone_proj
from ._constants import (
    _CANDIDATE_RTOL,
    _CLARABEL_SETTINGS,
    _NEW_ROW_MARGIN,
    _ROW_FEAS_TOL,
    _ROW_MARGIN,
    _WS_ADD,
    _WS_MAX_ROUNDS,
    _WS_START,
    _ZERO_GROUP_RTOL,
)


def _restricted_cvxpy(cert, groups, rows, solver):
    """Exact CVXPY solve of the program restricted to the neurons ``groups`` and,
    for them, to the cone rows ``rows`` (bool, n × len(groups)); any loss."""
    Xt = cert.Xt
    theta = cp.Variable((Xt.shape[1], len(groups)))
    xt = Xt @ theta
    z = cp.sum(cp.multiply(cert.MS[:, groups], xt), axis=1)
    if cert.loss.name == "squared":
        loss = cp.square(cp.norm(z - cert.y, 2)) / (2 * cert.y.shape[0])
    else:
        loss = cert.loss.cvxpy_mean(z, cert.y)
    kk, gg = np.nonzero(rows)
    cons = []
    if kk.size:
        A = cert.S[kk, groups[gg]][:, None] * Xt[kk]  # (r, dd)
        cons = [cp.sum(cp.multiply(A, theta[:, gg].T), axis=1) >= 0]
    problem = cp.Problem(
        cp.Minimize(loss + cert.alpha * cp.sum(cp.norm(theta, 2, axis=0))), cons
    )
    name = _cvxpy_solve(problem, solver, what="convex ReLU working-set problem")
    mu = np.zeros(rows.shape)
    if kk.size:
        mu[kk, gg] = np.maximum(np.asarray(cons[0].dual_value, dtype=float), 0.0)
    return np.asarray(theta.value, dtype=float), mu, name


def _restricted_clarabel(cert, groups, rows):
    """The restricted problem of :func:`_restricted_cvxpy` (squared or squared
    hinge loss) handed to Clarabel directly in conic form (no CVXPY compilation):

        min ½ zᵀPz + qᵀx  s.t.  z − Σ_g MS_g ∘ X̃θ_g = 0,  S_kg x̃_kᵀθ_g ≥ 0 (rows),
                                 (t_g, θ_g) ∈ SOC,  [h ≥ 0, h + y∘z ≥ 1],

    with objective (1/(2n))‖z − y‖² + alpha Σ t_g (squared) or (1/n)‖h‖² + alpha Σ t_g
    (squared hinge). Returns θ (dd × m), μ (n × m: the rows' multipliers) and the
    solver name; raises SolverError unless Clarabel reports ``Solved``.
    """
    Xt, MS, S, y = cert.Xt, cert.MS, cert.S, cert.y
    n, dd = Xt.shape
    m = len(groups)
    hinge = cert.loss.name == "squared_hinge"
    nth = dd * m
    iz = nth + m  # first z index
    nv = iz + n + (n if hinge else 0)
    # z − Σ_g MS_g ∘ (X̃ θ_g) = 0: entry (k, g·dd + j) = −MS_kg X̃_kj
    kz, gz = np.nonzero(MS[:, groups])
    Bv = -(MS[kz, groups[gz]][:, None] * Xt[kz]).ravel()
    Br = np.repeat(kz, dd)
    Bc = (gz[:, None] * dd + np.arange(dd)).ravel()
    rws, cls, vls = [Br, np.arange(n)], [Bc, iz + np.arange(n)], [Bv, np.ones(n)]
    nrow = n
    cones = [clarabel.ZeroConeT(n)]
    b = [np.zeros(n)]
    kk, gg = np.nonzero(rows)
    r = kk.size
    if hinge:
        ih = iz + n
        # h ≥ 0 and h + y∘z − 1 ≥ 0, as s = b − A x ≥ 0
        rws += [nrow + np.arange(n), nrow + n + np.arange(n), nrow + n + np.arange(n)]
        cls += [ih + np.arange(n), ih + np.arange(n), iz + np.arange(n)]
        vls += [-np.ones(n), -np.ones(n), -y]
        b += [np.zeros(n), -np.ones(n)]
        nrow += 2 * n
    if r or hinge:
        cones.append(clarabel.NonnegativeConeT(r + (2 * n if hinge else 0)))
    r0 = nrow
    if r:
        rws.append(np.repeat(nrow + np.arange(r), dd))
        cls.append((gg[:, None] * dd + np.arange(dd)).ravel())
        vls.append(-(S[kk, groups[gg]][:, None] * Xt[kk]).ravel())
        b.append(np.zeros(r))
        nrow += r
    # second-order cones: s = (t_g, θ_g)
    ridx = np.arange(m * (dd + 1))
    g_of, j_of = np.divmod(ridx, dd + 1)
    rws.append(nrow + ridx)
    cls.append(np.where(j_of == 0, nth + g_of, g_of * dd + j_of - 1))
    vls.append(-np.ones(ridx.size))
    b.append(np.zeros(ridx.size))
    nrow += ridx.size
    cones += [clarabel.SecondOrderConeT(dd + 1)] * m
    A = scipy.sparse.csc_matrix(
        (np.concatenate(vls), (np.concatenate(rws), np.concatenate(cls))), shape=(nrow, nv)
    )
    q = np.zeros(nv)
    q[nth:iz] = cert.alpha
    if hinge:
        pidx, pval = ih + np.arange(n), np.full(n, 2.0 / n)
    else:
        pidx, pval = iz + np.arange(n), np.full(n, 1.0 / n)
        q[iz:iz + n] = -y / n
    Pm = scipy.sparse.csc_matrix((pval, (pidx, pidx)), shape=(nv, nv))
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.max_threads = 1
    for key, val in _CLARABEL_SETTINGS.items():
        setattr(settings, key, val)
    sol = clarabel.DefaultSolver(Pm, q, A, np.concatenate(b), cones, settings).solve()
    # "AlmostSolved" (reduced tolerances) is accepted: no restricted solution is
    # used unless the certificate over all patterns closes
    if str(sol.status) not in ("Solved", "AlmostSolved"):
        raise SolverError(f"Clarabel returned status {sol.status} on the convex ReLU "
                          "working-set problem")
    x = np.asarray(sol.x)
    mu = np.zeros(rows.shape)
    if r:
        mu[kk, gg] = np.maximum(np.asarray(sol.z)[r0:r0 + r], 0.0)
    return x[:nth].reshape(m, dd).T, mu, "CLARABEL"


def _restricted(cert, groups, rows, solver, progress):
    """θ and μ (full size, zero outside ``groups``) of the restricted problem."""
    n, ncol = cert.S.shape
    theta = np.zeros((cert.Xt.shape[1], ncol))
    mu = np.zeros((n, ncol))
    if len(groups) == 0:
        return theta, mu, ""
    if cert.loss.name in ("squared", "squared_hinge") and solver in (None, "CLARABEL"):
        try:
            th, mu_g, name = _restricted_clarabel(cert, groups, rows)
        except SolverError as exc:  # e.g. numerical trouble: the CVXPY path retries
            progress.note("working-set", f"direct Clarabel failed ({exc}); using CVXPY")
            th, mu_g, name = _restricted_cvxpy(cert, groups, rows, solver)
    else:
        th, mu_g, name = _restricted_cvxpy(cert, groups, rows, solver)
    theta[:, groups] = th
    mu[:, groups] = mu_g
    return theta, mu, name


def _near_rows(E, theta, margin):
    """Cone rows whose slack is at most ``margin`` times the column's scale."""
    scale = np.abs(E).max(axis=0)
    scale = np.where(scale > 0, scale, np.linalg.norm(theta, axis=0))
    return E <= margin * scale


def _working_set(cert, theta, solver, consider, progress):
    """Exact solve by constraint and column generation, started from an iterate.

    The program restricted to a working set of neurons and, for them, of cone
    rows is solved exactly. Each round adds the cone rows its solution violates
    and the neurons whose dual constraint (exact cone projection, as in the
    certificate) is violated at its residual, and drops the neurons it leaves
    at zero. A solution that violates no row is feasible for the full program
    (optimal for its neurons) and goes to the certificate over *all* patterns;
    only a certified gap ≤ tol ends the search (returns True).
    """
    Xt, S, alpha = cert.Xt, cert.S, cert.alpha
    ncol = S.shape[1]
    norms = np.linalg.norm(theta, axis=0)
    groups = np.flatnonzero(norms > _CANDIDATE_RTOL * norms.max(initial=0.0))
    start = max(1, int(np.ceil(_WS_START * ncol)))
    if groups.size > start:
        groups = np.sort(np.argsort(-norms)[:start])
    rows = _near_rows(S * (Xt @ theta), theta, _ROW_MARGIN)
    for _ in range(_WS_MAX_ROUNDS):
        if progress.enabled:
            progress.note("working-set", f"{len(groups)} neurons, "
                                         f"{int(rows[:, groups].sum())} cone rows")
        try:
            theta_r, mu_r, name = _restricted(cert, groups, rows[:, groups], solver, progress)
        except SolverError:
            return False
        E = S * (Xt @ theta_r)
        scale = np.abs(E).max(axis=0)
        viol = (E < -_ROW_FEAS_TOL * scale) & ~rows
        viol[:, np.setdiff1d(np.arange(ncol), groups)] = False
        if viol.any():
            # not feasible yet: price the neurons at this residual all the same
            _, _, nu, bound, _ = cert.lower_bound(theta_r, mu_r, refine=True, details=True)
            bad = viol.any(axis=0)
            rows[:, bad] |= viol[:, bad] | _near_rows(E[:, bad], theta_r[:, bad], _ROW_MARGIN)
        else:
            ok, (bound, nu) = consider(theta_r, name, mu_r)
            if ok:
                return True
        new = np.setdiff1d(np.flatnonzero(bound > alpha * (1 + 1e-9)), groups)
        if new.size > _WS_ADD:  # the most violated first
            new = np.sort(new[np.argsort(-bound[new])[:_WS_ADD]])
        if progress.enabled:
            progress.note("working-set", f"adds {int(viol.sum())} cone rows and "
                                         f"{new.size} neurons")
        if new.size == 0 and not viol.any():
            # nothing to add, yet no certificate: the restricted solve was not
            # accurate enough (e.g. Clarabel "AlmostSolved"); once more through
            # CVXPY's solver chain on the same working set, then give up
            if name != "CLARABEL" or solver not in (None, "CLARABEL"):
                return False
            try:
                theta_r, mu_g, name = _restricted_cvxpy(cert, groups, rows[:, groups], solver)
            except SolverError:
                return False
            theta_c = np.zeros((Xt.shape[1], ncol))
            mu_c = np.zeros(S.shape)
            theta_c[:, groups], mu_c[:, groups] = theta_r, mu_g
            return consider(theta_c, name, mu_c)[0]
        # rows of a new neuron: near-active at its steepest feasible direction
        for i in new:
            A = S[:, i, None] * Xt
            x = -Xt.T @ (cert.MS[:, i] * nu)
            mu_i, _ = _cone_proj(A, x)
            u = x + A.T @ mu_i
            rows[:, i] |= _near_rows((A @ u)[:, None], u[:, None], _NEW_ROW_MARGIN)[:, 0]
            rows[:, i] |= mu_i > 0
        # neurons the restricted optimum left at zero leave the working set
        nr = np.linalg.norm(theta_r[:, groups], axis=0)
        groups = np.union1d(groups[nr > _ZERO_GROUP_RTOL * nr.max(initial=0.0)], new)
    return False
