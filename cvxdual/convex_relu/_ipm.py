"""The fast solver's first stage: a primal-dual interior-point method on the conic form.

Per neuron ``c`` (the 2P columns of ``Θ``): a second-order cone ``‖θ_c‖ ≤ τ_c``
(dual ``z_Q``) and the cone rows ``s_L = S_c ∘ X̃θ_c ≥ 0`` (dual ``z_L``, the
multipliers μ of the certificate); the objective is the loss of
``z = Σ_c F_c θ_c`` plus ``alpha Σ_c τ_c``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.special

from ._certificate import _relative_gap
from ._constants import (
    _INTERIOR_ITERS,
    _IPM_DUAL_START,
    _IPM_PRIMAL_START,
    _IPM_REFINE,
    _IPM_REG,
    _IPM_STEP_FRACTION,
)


def _row_outer_products(X):
    """``x_k x_kᵀ`` of every row, flattened: (n, d²); ``w @ result`` is ``Xᵀ diag(w) X``."""
    n, d = X.shape
    return (X[:, :, None] * X[:, None, :]).reshape(n, d * d)


def _cone_interior_points(Xt, S, XX=None):
    """A strictly interior point ``u_c`` of each cone ``{u : S_c ∘ X̃u ≥ 0}``.

    The cone has an interior exactly when the signs ``S_c`` are linearly
    separable through the origin on the rows of ``X̃``; a batched damped Newton
    method on the (tiny-ridge) logistic fit of those signs finds a separator.
    ``XX``: :func:`_row_outer_products` of ``Xt``, if already at hand. Returns
    ``U`` (d × P) and a boolean mask of the columns where one was found within
    ``_INTERIOR_ITERS`` steps.
    """
    d = Xt.shape[1]
    P = S.shape[1]
    U = np.zeros((d, P))
    found = np.zeros(P, dtype=bool)
    ridge = 1e-10 * max(float(np.sum(Xt * Xt)), 1e-300)
    if XX is None:
        XX = _row_outer_products(Xt)
    live = np.arange(P)
    for _ in range(_INTERIOR_ITERS):
        M = S[:, live] * (Xt @ U[:, live])
        ok = M.min(axis=0) > 0
        found[live[ok]] = True
        live, M = live[~ok], M[:, ~ok]
        if live.size == 0:
            break
        p = scipy.special.expit(-M)
        g = -Xt.T @ (S[:, live] * p) + ridge * U[:, live]
        H = ((p * (1.0 - p)).T @ XX).reshape(live.size, d, d) + ridge * np.eye(d)
        try:
            step = np.linalg.solve(H, -g.T[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            break
        dec = np.sqrt(np.maximum(-np.einsum("ci,ic->c", step, g), 0.0))
        U[:, live] += step.T / (1.0 + 0.25 * dec)
    return U, found


def _soc_max_step(s, ds):
    """Largest ``a`` with ``s + a ds`` in the open second-order cone, per column.

    Columns are ``(t, x)`` with ``t > ‖x‖``; the step leaves the cone at the
    first positive root of ``(t + a dt)² − ‖x + a dx‖²``.
    """
    A2 = ds[0] * ds[0] - np.sum(ds[1:] * ds[1:], axis=0)
    A1 = 2.0 * (s[0] * ds[0] - np.sum(s[1:] * ds[1:], axis=0))
    A0 = s[0] * s[0] - np.sum(s[1:] * s[1:], axis=0)
    disc = A1 * A1 - 4.0 * A2 * A0
    real = disc >= 0
    sq = np.sqrt(np.where(real, disc, 0.0))
    qq = -0.5 * (A1 + np.where(A1 >= 0, sq, -sq))
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = (np.where(A2 != 0, qq / A2, np.inf), np.where(qq != 0, A0 / qq, np.inf))
    out = np.full(A0.shape, np.inf)
    for r in roots:
        out = np.minimum(out, np.where(real & (r > 0), r, np.inf))
    return out


def _soc_scaling(s, z):
    """Nesterov–Todd scaling of second-order cone pairs (columns of ``s``, ``z``).

    Returns ``W``, ``W⁻¹`` (m, k, k) and ``λ = W z = W⁻¹ s`` (k × m), with
    ``W = β [[w₀, w₁ᵀ], [w₁, I + w₁w₁ᵀ/(1 + w₀)]]`` (Vandenberghe, "The CVXOPT
    linear and quadratic cone program solvers", section 4).
    """
    k, m = s.shape
    ns, nz = np.linalg.norm(s[1:], axis=0), np.linalg.norm(z[1:], axis=0)
    sJs = (s[0] - ns) * (s[0] + ns)
    zJz = (z[0] - nz) * (z[0] + nz)
    sb, zb = s / np.sqrt(sJs), z / np.sqrt(zJz)
    gamma = np.sqrt((1.0 + np.sum(sb * zb, axis=0)) / 2.0)
    wb = sb.copy()
    wb[0] += zb[0]
    wb[1:] -= zb[1:]
    wb /= 2.0 * gamma
    beta = (sJs / zJz) ** 0.25
    w0, w1 = wb[0], wb[1:].T
    A = np.empty((m, k, k))
    A[:, 0, 0] = w0
    A[:, 0, 1:] = A[:, 1:, 0] = w1
    A[:, 1:, 1:] = np.eye(k - 1) + w1[:, :, None] * w1[:, None, :] / (1.0 + w0)[:, None, None]
    Ainv = A.copy()
    Ainv[:, 0, 1:] *= -1.0
    Ainv[:, 1:, 0] *= -1.0
    W = beta[:, None, None] * A
    return W, Ainv / beta[:, None, None], _bmv(W, z)


def _bmv(M, x):
    """Batched matrix–vector products: column c of the result is ``M[c] @ x[:, c]``."""
    return np.matmul(M, x.T[:, :, None])[:, :, 0].T


def _soc_product(u, v):
    """Jordan product ``u ∘ v = (uᵀv, u₀v₁ + v₀u₁)`` per column."""
    return np.vstack([np.sum(u * v, axis=0), u[0] * v[1:] + v[0] * u[1:]])


def _soc_divide(lam, r):
    """The ``x`` with ``lam ∘ x = r`` per column (``lam`` in the open cone)."""
    det = lam[0] ** 2 - np.sum(lam[1:] ** 2, axis=0)
    x0 = (lam[0] * r[0] - np.sum(lam[1:] * r[1:], axis=0)) / det
    return np.vstack([x0, (r[1:] - x0 * lam[1:]) / lam[0]])


class _IPMBreakdown(Exception):
    """The interior-point iteration lost positive definiteness (rounding)."""


@dataclass
class _ConicData:
    """Constant data of the conic form, over the ``m`` neurons whose cone has an interior.

    A sample with ``x̃_k = 0`` constrains nothing (``0 ≥ 0``): its cone rows are
    left out (``rows``).
    """

    Xt: np.ndarray  # X̃ (n × d): the loss rows
    rows: np.ndarray  # bool (n,): the samples whose cone rows are kept
    cols: np.ndarray  # the neurons (columns of Θ) of the method, m of them
    XtL: np.ndarray  # X̃[rows]: the rows of the cone constraints
    ScL: np.ndarray  # their signs, (rows, m)
    MSc: np.ndarray  # ±D of the m neurons: z = rowsum(MSc ∘ X̃Θ)
    F: np.ndarray  # (n, m, d): z = Σ_c F_c θ_c
    Fflat: np.ndarray  # F as (n, m·d)
    XX: np.ndarray  # x̃_k x̃_kᵀ of the cone rows, flattened (rows, d²)
    eye: np.ndarray  # the identity of size d + 1
    degree: int  # degree of the cone: m · rows + m


@dataclass
class _Point:
    """An interior-point iterate: slacks, duals, dual residual and loss curvature."""

    sL: np.ndarray  # cone-row slacks S ∘ X̃θ, (rows, m)
    zL: np.ndarray  # their duals μ
    sQ: np.ndarray  # (τ, θ) per neuron, (d + 1, m)
    zQ: np.ndarray  # their duals
    rd: np.ndarray  # dual residual, rows (τ, θ)
    hz: np.ndarray  # ℓ''(z)/n, (n,)
    mu: float  # complementarity (sᵀz / degree)


def _conic_data(cert):
    """:class:`_ConicData` and the interior points ``U`` (d × 2P), or ``None`` if no
    neuron's cone has an interior (or no sample constrains)."""
    Xt, S, MS = cert.Xt, cert.S, cert.MS
    n, d = Xt.shape
    P = S.shape[1] // 2
    rows = np.any(Xt != 0, axis=1)
    if not rows.any():
        return None
    XtL = Xt[rows]
    XX = _row_outer_products(XtL)
    U, found = _cone_interior_points(XtL, S[rows, :P], XX)
    cols = np.flatnonzero(np.concatenate([found, found]))
    m = cols.size
    if m == 0:
        return None
    MSc = MS[:, cols]
    F = MSc[:, :, None] * Xt[:, None, :]
    data = _ConicData(Xt=Xt, rows=rows, cols=cols, XtL=XtL, ScL=S[rows][:, cols], MSc=MSc,
                      F=F, Fflat=F.reshape(n, m * d), XX=XX, eye=np.eye(d + 1),
                      degree=m * XtL.shape[0] + m)
    return data, np.hstack([U, U])[:, cols]


def _ipm_start(cert, data, Uc):
    """Strictly feasible start ``(θ, τ, z_L, z_Q)``: every neuron's largest |x̃ᵀθ| equal to
    ``_IPM_PRIMAL_START · max|y|``, ``τ = 2‖θ‖``, duals ``_IPM_DUAL_START`` times the
    scale ``max(alpha, max|ℓ'(0)|/n)``."""
    Xt, y = cert.Xt, cert.y
    n, d = Xt.shape
    m = data.cols.size
    yscale = max(float(np.abs(y).max()), 1e-12)
    th = Uc * (_IPM_PRIMAL_START * yscale / np.abs(Xt @ Uc).max(axis=0))
    tau = 2.0 * np.linalg.norm(th, axis=0)
    z0 = _IPM_DUAL_START * max(cert.alpha,
                               float(np.abs(cert.loss_derivative(np.zeros(n))).max()) / n)
    zL = np.full((data.XtL.shape[0], m), z0)
    zQ = np.zeros((d + 1, m))
    zQ[0] = z0
    return th, tau, zL, zQ


def _ipm(cert, *, max_iter, tol, consider, progress):
    """Primal-dual interior-point method (Mehrotra predictor–corrector, NT scaling).

    Works on the neurons whose cone has an interior (all of them for sampled
    or enumerated patterns; others stay at zero and are checked by the
    certificate). Primal iterates stay strictly feasible; the dual residual
    and the complementarity gap go to zero together. The Newton system is the
    block-diagonal scaling matrix (one (d+1)² block per neuron) plus the loss
    curvature ``Fᵀ diag(ℓ''/n) F`` of rank ≤ n, solved by the Woodbury identity
    (an n × n Cholesky factor) with ``_IPM_REFINE`` steps of iterative
    refinement (:func:`_ipm_step`). Each iterate gets the cheap certificate;
    when it is within ``tol`` the exact one (``consider``) decides. Returns
    (done, iterations, last θ, last μ), full size (zero outside the neurons of
    the method).
    """
    Xt, S, alpha = cert.Xt, cert.S, cert.alpha
    n, d = Xt.shape
    theta_full, mu_full = np.zeros((d, S.shape[1])), np.zeros((n, S.shape[1]))
    conic = _conic_data(cert)
    if conic is None:
        return False, 0, theta_full, mu_full
    data, Uc = conic
    rows, cols, MSc = data.rows, data.cols, data.MSc
    th, tau, zL, zQ = _ipm_start(cert, data, Uc)
    it = 0
    while it < max_iter:
        it += 1
        E = Xt @ th
        zp = np.einsum("ij,ij->i", MSc, E)
        nu = cert.loss_derivative(zp) / n
        point = _point(cert, data, E, zp, nu, th, tau, zL, zQ)
        theta_full[:] = 0.0
        theta_full[:, cols] = th
        mu_full[:] = 0.0
        mu_full[np.ix_(rows, cols)] = zL
        # the certifier's objective and bound, from the predictions already at hand
        obj = cert.loss_value(zp) + alpha * float(np.linalg.norm(th, axis=0).sum())
        lb, _, _ = cert.lower_bound(theta_full, mu_full, refine=False, nu=nu)
        gap = _relative_gap(obj, lb)
        if progress.enabled:
            progress.iteration("interior-point", it, obj, lb, gap,
                               f", mu {point.mu:.3g}, dual residual "
                               f"{float(np.abs(point.rd).max()):.3g}")
        if gap <= tol and consider(theta_full, "interior-point", mu_full)[0]:
            return True, it, theta_full, mu_full
        try:
            with np.errstate(divide="raise", invalid="raise", over="raise"):
                a, dx, dzl, dzq = _ipm_step(data, point)
        except (_IPMBreakdown, np.linalg.LinAlgError, FloatingPointError) as exc:
            progress.note("interior-point", f"stopped at iteration {it} ({exc})")
            break
        tau = tau + a * dx[0]
        th = th + a * dx[1:]
        zL = zL + a * dzl
        zQ = zQ + a * dzq
    return False, it, theta_full, mu_full


def _point(cert, data, E, zp, nu, th, tau, zL, zQ):
    """The :class:`_Point` of ``(θ, τ, z_L, z_Q)`` (``E = X̃θ``, ``zp`` the predictions)."""
    n, d = data.Xt.shape
    sL = data.ScL * E[data.rows]
    sQ = np.vstack([tau, th])
    hz = np.maximum(cert.loss_curvature(zp), 0.0) / n
    rd = np.empty((d + 1, th.shape[1]))
    rd[0] = cert.alpha - zQ[0]
    rd[1:] = data.Xt.T @ (data.MSc * nu[:, None]) - data.XtL.T @ (data.ScL * zL) - zQ[1:]
    mu = (float(np.sum(sL * zL)) + float(np.sum(sQ * zQ))) / data.degree
    return _Point(sL=sL, zL=zL, sQ=sQ, zQ=zQ, rd=rd, hz=hz, mu=mu)


def _ipm_step(data, point):
    """One Mehrotra predictor–corrector step: (step length, Δ(τ, θ), Δz_L, Δz_Q).

    ``data.XtL``, ``data.ScL``: the rows and signs of the cone constraints;
    ``data.Xt``, ``data.MSc`` (through ``data.F``): the loss.
    """
    sL, zL, sQ, zQ, rd, hz, mu = (point.sL, point.zL, point.sQ, point.zQ, point.rd,
                                  point.hz, point.mu)
    XtL, ScL, Xt, MSc, F, Fflat = data.XtL, data.ScL, data.Xt, data.MSc, data.F, data.Fflat
    XX, eye, degree = data.XX, data.eye, data.degree
    n, d = Xt.shape
    m = sL.shape[1]
    WL = np.sqrt(sL / zL)
    lamL = np.sqrt(sL * zL)
    WQ, WQinv, lamQ = _soc_scaling(sQ, zQ)
    WQinv2 = np.matmul(WQinv, WQinv)
    if not (np.all(np.isfinite(WQinv2)) and np.all(np.isfinite(WL)) and np.all(WL > 0)):
        raise _IPMBreakdown("scaling not finite")
    # B = Gᵀ W⁻² G, one (d+1)² block per neuron, lightly regularised
    B = WQinv2.copy()
    B[:, 1:, 1:] += ((zL / sL).T @ XX).reshape(m, d, d)
    diag = np.einsum("mii->mi", B)
    Binv = np.linalg.inv(B + (_IPM_REG * diag.max(axis=1))[:, None, None] * eye)
    Binv = 0.5 * (Binv + Binv.transpose(0, 2, 1))
    # Woodbury: (B + Fᵀ diag(h) F)⁻¹ through I + √h F B⁻¹ Fᵀ √h (n × n)
    R = np.einsum("kcj,cjl->kcl", F, np.linalg.cholesky(Binv[:, 1:, 1:]), optimize=True)
    R = R.reshape(n, m * d)
    wsq = np.sqrt(hz)
    cap = R @ R.T
    cap *= wsq[:, None] * wsq[None, :]
    cap[np.diag_indices(n)] += 1.0
    factor = scipy.linalg.cho_factor(cap, check_finite=True)

    def apply(dx):  # (B + Fᵀ diag(h) F) dx, dx of shape (m, d+1)
        out = np.matmul(B, dx[:, :, None])[:, :, 0]
        out[:, 1:] += (Xt.T @ (MSc * (hz * (Fflat @ dx[:, 1:].ravel()))[:, None])).T
        return out

    def inverse(rhs):
        y1 = np.matmul(Binv, rhs[:, :, None])[:, :, 0]
        u = wsq * scipy.linalg.cho_solve(factor, wsq * (Fflat @ y1[:, 1:].ravel()))
        Gtu = (Xt.T @ (MSc * u[:, None])).T
        return y1 - np.matmul(Binv[:, :, 1:], Gtu[:, :, None])[:, :, 0]

    def direction(dsL, dsQ):
        # W⁻¹Δs + WΔz = d_s, Δs = −GΔx; (H + GᵀW⁻²G)Δx = −r_d − GᵀW⁻¹d_s
        vL, vQ = dsL / WL, _bmv(WQinv, dsQ)
        rhs = vQ - rd
        rhs[1:] += XtL.T @ (ScL * vL)
        rhs = rhs.T
        dx = inverse(rhs)
        for _ in range(_IPM_REFINE):
            dx = dx + inverse(rhs - apply(dx))
        dx = dx.T
        dsl = ScL * (XtL @ dx[1:])
        return dx, dsl, dx, vL - dsl / WL**2, vQ - _bmv(WQinv2, dx)

    def max_step(dsl, dsq, dzl, dzq):
        a = np.inf
        for u, du in ((sL, dsl), (zL, dzl)):
            neg = du < 0
            if neg.any():
                a = min(a, float(np.min(-u[neg] / du[neg])))
        a = min(a, float(_soc_max_step(sQ, dsq).min()), float(_soc_max_step(zQ, dzq).min()))
        return a

    # predictor (affine scaling): d_s = −λ
    _, dsl, dsq, dzl, dzq = direction(-lamL, -lamQ)
    aa = min(1.0, max_step(dsl, dsq, dzl, dzq))
    mu_aff = (float(np.sum((sL + aa * dsl) * (zL + aa * dzl)))
              + float(np.sum((sQ + aa * dsq) * (zQ + aa * dzq)))) / degree
    sigma = (mu_aff / mu) ** 3
    # corrector: λ∘d_s = −λ∘λ − (W⁻¹Δs_a)∘(WΔz_a) + σμe
    rL = -lamL * lamL - (dsl / WL) * (dzl * WL) + sigma * mu
    rQ = -_soc_product(lamQ, lamQ) - _soc_product(_bmv(WQinv, dsq), _bmv(WQ, dzq))
    rQ[0] += sigma * mu
    dx, dsl, dsq, dzl, dzq = direction(rL / lamL, _soc_divide(lamQ, rQ))
    a = min(1.0, _IPM_STEP_FRACTION * max_step(dsl, dsq, dzl, dzq))
    if not (np.isfinite(a) and a > 0 and np.all(np.isfinite(dx))):
        raise _IPMBreakdown("no finite step")
    return a, dx, dzl, dzq
