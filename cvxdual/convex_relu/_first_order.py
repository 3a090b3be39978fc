"""The fast solver's fallback first-order stage: an augmented Lagrangian method on the
cone constraints, each subproblem solved by FISTA.

The subproblem in ``Θ`` for multipliers ``λ ≥ 0`` and penalty ``ρ`` is

    min_Θ  (1/n) Σ_k ℓ(z_k, y_k) + (1/(2ρ)) ‖(λ − ρ S ∘ X̃Θ)₊‖² + alpha Σ_i ‖θ_i‖,

solved by FISTA with adaptive restart, backtracking on the Lipschitz estimate
and group soft-thresholding (the prox of ``alpha Σ ‖θ_i‖``); then
``λ ← (λ − ρ S ∘ X̃Θ)₊``. Its iterates only say roughly which neurons and cone
rows matter: the working-set stage takes it from there.
"""

from __future__ import annotations

import numpy as np

from ._certificate import _relative_gap
from ._constants import (
    _AL_INNER_DECAY,
    _AL_INNER_TOL0,
    _AL_MAX_INNER,
    _AL_PENALTY_SCALE,
    _MAX_BACKTRACKS,
    _POWER_ITERS,
)


def _group_shrink(Z, thresh):
    """Group soft-thresholding: each column scaled by ``max(0, 1 − thresh/‖z_i‖)``."""
    nrm = np.linalg.norm(Z, axis=0)
    scale = np.zeros_like(nrm)
    big = nrm > thresh
    scale[big] = 1.0 - thresh / nrm[big]
    return Z * scale


def _gram_norm(cert):
    """Largest eigenvalue of ``GᵀG`` for ``G: Θ ↦ z`` (power iteration from a fixed seed).

    ``0`` for a zero map and ``inf`` when the products overflow (the
    backtracking then gives up).
    """
    Xt, MS = cert.Xt, cert.MS
    q = np.random.default_rng(0).standard_normal((Xt.shape[1], MS.shape[1]))
    nrm = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(_POWER_ITERS):
            zq = np.einsum("ij,ij->i", MS, Xt @ q)
            q = Xt.T @ (MS * zq[:, None])
            top = float(np.abs(q).max(initial=0.0))
            if not 0 < top < np.inf:
                nrm = 0.0 if top == 0 else np.inf
                break
            nrm = top * float(np.linalg.norm(q / top))  # no overflow of the squares
            q /= nrm
    return nrm


class _AugmentedLagrangian:
    """State of the augmented Lagrangian method: ``Θ``, ``X̃Θ``, ``λ``, ``ρ``, FISTA's ``L``.

    Starts from ``Θ = 0``, ``λ = 0``, with ``ρ`` balancing the loss curvature
    (``curvature_bound · ‖G‖² / n``) against ``‖X̃‖²`` (``_AL_PENALTY_SCALE``).
    """

    def __init__(self, cert):
        self.cert = cert
        Xt = cert.Xt
        n, dd = Xt.shape
        ncol = cert.S.shape[1]
        L_loss = max(cert.loss.curvature_bound * _gram_norm(cert) / n, 1e-12)
        sx = float(np.linalg.norm(Xt, 2))
        sx = max(sx * sx, 1e-12)  # (a float product: inf, not OverflowError, past 1e154)
        self.rho = _AL_PENALTY_SCALE * L_loss / sx
        self.L = L_loss + self.rho * sx
        self.theta = np.zeros((dd, ncol))
        self.lam = np.zeros((n, ncol))
        self.E = Xt @ self.theta
        self.eta = None  # inner tolerance on the gradient mapping, set at the first step

    def _smooth(self, Ek):
        """Smooth part of the subproblem at ``X̃Θ = Ek``: value and gradient wrt ``X̃Θ``."""
        cert, lam, rho, S = self.cert, self.lam, self.rho, self.cert.S
        # overflow at a trial point gives inf / NaN, which backtracking rejects
        with np.errstate(over="ignore", invalid="ignore"):
            z = np.einsum("ij,ij->i", cert.MS, Ek)
            h = np.maximum(lam - rho * S * Ek, 0.0)
            f = cert.loss_value(z) + float(np.sum(h * h)) / (2 * rho)
            gE = cert.MS * (cert.loss_derivative(z) / cert.y.shape[0])[:, None] - S * h
        return f, gE

    def minimise(self, it, limit, progress):
        """FISTA on the current subproblem from ``Θ``, until the gradient mapping is at
        most ``eta``, ``_AL_MAX_INNER`` steps, or iteration ``limit``.

        Returns the iteration count and whether backtracking found no step at any
        finite Lipschitz estimate (overflowing data: the stage gives up at its
        last accepted iterate).
        """
        Xt = self.cert.Xt
        x_old, e_old = self.theta, self.E
        yk, ey = self.theta, self.E
        tk = 1.0
        f_y, gE = self._smooth(ey)
        g = Xt.T @ gE
        inner = 0
        failed = False
        while it < limit and inner < _AL_MAX_INNER:
            it += 1
            inner += 1
            step = self._backtrack(yk, f_y, g)
            if step is None:
                progress.note("first-order", "backtracking found no step; the stage stops")
                failed = True
                break
            x_new, e_new, f_new, gE_new, D = step
            gm = self.L * float(np.linalg.norm(D))
            if float(np.sum((yk - x_new) * (x_new - x_old))) > 0:  # adaptive restart
                tk = 1.0
                yk, ey, f_y, gE = x_new, e_new, f_new, gE_new
            else:
                tn = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * tk * tk))
                beta = (tk - 1.0) / tn
                tk = tn
                yk = x_new + beta * (x_new - x_old)
                ey = e_new + beta * (e_new - e_old)
                f_y, gE = self._smooth(ey)
            x_old, e_old = x_new, e_new
            g = Xt.T @ gE
            self.L *= 0.95
            if self.eta is None:
                self.eta = _AL_INNER_TOL0 * max(gm, 1e-300)
            if gm <= self.eta:
                break
        self.theta, self.E = x_old, e_old
        return it, failed

    def _backtrack(self, yk, f_y, g):
        """Proximal gradient step from ``yk``, doubling ``L`` until sufficient decrease.

        Returns ``(Θ⁺, X̃Θ⁺, f(Θ⁺), ∇f(Θ⁺), Θ⁺ − yk)``, or ``None`` when no finite
        step is accepted.
        """
        Xt, alpha = self.cert.Xt, self.cert.alpha
        for _ in range(_MAX_BACKTRACKS):
            x_new = _group_shrink(yk - g / self.L, alpha / self.L)
            e_new = Xt @ x_new
            f_new, gE_new = self._smooth(e_new)
            D = x_new - yk
            # (a NaN on either side fails the test)
            if f_new <= f_y + float(np.sum(g * D)) + 0.5 * self.L * float(np.sum(D * D)) + (
                1e-12 * abs(f_y)
            ):
                if np.isfinite(f_new) and np.all(np.isfinite(x_new)):
                    return x_new, e_new, f_new, gE_new, D
                return None
            self.L *= 2.0
            if not np.isfinite(self.L):
                return None
        return None

    def update_multipliers(self):
        """``λ ← (λ − ρ S ∘ X̃Θ)₊``, tighten ``eta``; return the cheap certificate
        ``(objective, lower bound, relative gap)`` of ``(Θ, λ)``."""
        cert = self.cert
        self.lam = np.maximum(self.lam - self.rho * cert.S * self.E, 0.0)
        self.eta *= _AL_INNER_DECAY
        obj = cert.primal(self.theta)
        lb, _, _ = cert.lower_bound(self.theta, self.lam, refine=False)
        return obj, lb, _relative_gap(obj, lb)
