"""The duality-gap certificate: weak-duality lower bounds from a dual point ``ν``.

For any ``ν`` in the domain of the conjugate loss,

    p* ≥ −(1/n) Σ_k ℓ*(t n ν_k, y_k)   for every 0 ≤ t ≤ alpha / c(ν),
    c(ν) = max_i max_± max{ ±νᵀ D_i X̃ u : ‖u‖ ≤ 1, (2D_i − I) X̃ u ≥ 0 },

and ``c(ν)`` is computed exactly, pattern by pattern, as the norm of a projection
onto a polyhedral cone (a non-negative least-squares problem). Any multipliers
``μ_i ≥ 0`` of the cone constraints give the cheaper upper bound
``‖X̃ᵀ((2D_i − I) μ_i) ∓ X̃ᵀ D_i ν‖`` on each term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from .._validation import check_positive, check_sample_vector, check_samples
from ._common import _augment, _get_loss
from ._patterns import _check_patterns


def _relative_gap(objective, lower_bound):
    """``(objective − lower_bound) / max(|objective|, 1e-300)``, or ``inf`` when that
    is not a finite number (an objective that overflowed, a bound of −inf): nothing
    is certified then, and the value is never NaN."""
    with np.errstate(over="ignore", invalid="ignore"):
        rel = (objective - lower_bound) / max(abs(objective), 1e-300)
    return float(rel) if np.isfinite(rel) else np.inf


def _cone_proj(A, x):
    """Multipliers μ ≥ 0 and ‖Π_K(x)‖ for K = {u : A u ≥ 0}, via min_{μ ≥ 0} ‖x + Aᵀμ‖
    (Moreau: Π_K(x) = x + Aᵀμ at the minimiser)."""
    return scipy.optimize.nnls(A.T, -x, maxiter=50 * A.shape[0] + 100)


class _Certifier:
    """Objective, gradient pieces and the dual bound for one (X̃, patterns, loss, y).

    The 2P columns of ``Θ`` are the neurons ``v_1..v_P`` then ``w_1..w_P``;
    ``MS`` holds ``±D_i`` per column (so ``z = rowsum(MS ∘ X̃Θ)``) and ``S`` the
    signs ``2D_i − 1`` of the cone constraints ``S ∘ X̃Θ ≥ 0``.
    """

    def __init__(self, Xt, patterns, loss, y, alpha):
        self.Xt, self.loss, self.y, self.alpha = Xt, loss, y, float(alpha)
        P = patterns.shape[1]
        mask = np.hstack([patterns, patterns]).astype(float)
        self.sign_cols = np.concatenate([np.ones(P), -np.ones(P)])
        self.MS = mask * self.sign_cols  # z = rowsum(MS ∘ X̃Θ)
        self.S = 2.0 * mask - 1.0  # cone: S ∘ X̃Θ ≥ 0

    def predict(self, theta):
        """The convex model's output ``z = Σ_i D_i X̃ (v_i − w_i)``."""
        return np.einsum("ij,ij->i", self.MS, self.Xt @ theta)

    def loss_value(self, z):
        """``(1/n) Σ_k ℓ(z_k, y_k)``."""
        return self.loss.value(z[:, None], self.y[:, None])

    def loss_derivative(self, z):
        """``ℓ'(z_k, y_k)``, elementwise."""
        return self.loss.gradient(z[:, None], self.y[:, None])[:, 0]

    def loss_curvature(self, z):
        """``ℓ''(z_k, y_k)`` (generalised for the squared hinge), elementwise."""
        return self.loss.hessian_diag(z[:, None], self.y[:, None])[:, 0]

    def primal(self, theta):
        """The convex objective ``(1/n) Σ ℓ(z_k, y_k) + alpha Σ_i ‖θ_i‖``."""
        z = self.predict(theta)
        return self.loss_value(z) + self.alpha * float(np.linalg.norm(theta, axis=0).sum())

    def lower_bound(self, theta, mu, *, refine=True, nu=None, details=False):
        """Certified lower bound, the scale t and ν, from Θ (for ν) and μ ≥ 0.

        With ``details``, also the per-column bounds ``c_i(ν)`` and the
        multipliers μ with the columns the exact projection tightened replaced
        by their non-negative least-squares multipliers (a dual point with
        ‖X̃ᵀ(S_i μ_i − MS_i ν)‖ = bound_i for those columns).
        """
        n = self.y.shape[0]
        if nu is None:
            with np.errstate(over="ignore", invalid="ignore"):
                nu = self.loss_derivative(self.predict(theta)) / n
        if not np.all(np.isfinite(nu)):
            # predictions that overflow: the trivial dual point ν = 0 (bound 0 =
            # (1/n) Σ min ℓ), rather than a NaN
            nu = np.zeros(n)
        # the bound depends on ν only through its direction (t absorbs the scale):
        # it is computed for ν / 2ᵏ of largest entry in [0.5, 1), an exact rescaling
        # that keeps ‖ν‖² and c(ν) from overflowing or underflowing
        k = math.frexp(float(np.abs(nu).max(initial=0.0)))[1]
        with np.errstate(over="ignore", invalid="ignore"):
            nu_k, mu_k, alpha_k = np.ldexp(nu, -k), np.ldexp(mu, -k), np.ldexp(self.alpha, -k)
            # s_i = X̃ᵀ(MS_i ν) is the loss gradient wrt column i; bound_i ≥ ‖Π_K(−s_i)‖
            C = self.Xt.T @ (self.S * mu_k - self.MS * nu_k[:, None])
            bound = np.linalg.norm(C, axis=0)
        bound[~np.isfinite(bound)] = np.inf  # overflow (or NaN): no bound from these μ
        mu_out = mu.copy() if details else None
        if refine:
            for i in np.flatnonzero(bound > alpha_k):
                A = self.S[:, i, None] * self.Xt
                x = -self.Xt.T @ (self.MS[:, i] * nu_k)
                mu_i, rnorm = _cone_proj(A, x)
                if rnorm < bound[i]:
                    bound[i] = rnorm
                    if details:
                        with np.errstate(over="ignore"):
                            mu_out[:, i] = np.ldexp(mu_i, k)
        c = float(bound.max(initial=0.0))
        # t ≤ alpha / c(ν); a c(ν) that overflows leaves only t = 0 (bound 0)
        t_max = self.alpha / c if c > 0 else np.inf
        lb, t = self.loss.conjugate_bound(nu_k, self.y, t_max)
        with np.errstate(over="ignore"):
            t, bound = float(np.ldexp(t, -k)), np.ldexp(bound, k)
        lb = float(lb) + 0.0  # (no −0.0)
        if details:
            return lb, t, nu, bound, mu_out
        return lb, t, nu


@dataclass
class Certificate:
    """Objective of a network and a certified lower bound on the optimum.

    Attributes
    ----------
    objective : float
        The network's objective (1/n) Σ ℓ + (alpha/2)(‖U‖²_F + ‖a‖²).
    lower_bound : float
        Lower bound on the objective of every network whose neurons' patterns
        are in the pattern set; of every network of any width when
        ``is_global``.
    gap : float
        ``objective − lower_bound`` (≥ 0 up to rounding); ``inf`` when the
        objective overflows (weights or predictions beyond the float range).
    relative_gap : float
        ``gap / |objective|`` (``gap / 1e-300`` for a zero objective); ``inf``
        when that is not finite (an overflowing objective, or a bound of
        ``-inf``): then nothing is certified. Never NaN.
    is_global : bool
        True when the pattern set holds every activation pattern of the data.
    n_patterns : int
        Size of the pattern set used.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import certify
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0])
    >>> c = certify(X, y, np.zeros((2, 1)), np.zeros(1), 0.01)
    >>> round(c.objective, 6), c.is_global, bool(c.relative_gap > 0.5)
    (0.166667, True, True)
    """

    objective: float
    lower_bound: float
    gap: float
    relative_gap: float
    is_global: bool
    n_patterns: int


def dual_lower_bound(
    X, y, alpha: float, patterns, sample_duals, cone_duals=None, *, loss: str = "squared",
    fit_intercept: bool = True,
) -> float:
    """Return a certified lower bound on the convex program's optimum from ``ν``.

    ``ν`` (``sample_duals``) is scaled by the best ``t ∈ [0, alpha / c(ν)]``
    (see :mod:`cvxdual.convex_relu`). ``c(ν)`` is bounded with the cone multipliers
    ``cone_duals`` (n_samples, 2P: ``[cone_v, cone_w]``) when given and computed
    exactly by non-negative least squares where that bound exceeds ``alpha``.

    The bound depends on ``ν`` only through its direction and is computed on
    an exact power-of-two rescaling of it, so any finite ``ν`` gives a finite
    bound (never NaN); terms that overflow (features near the float limit)
    only weaken it, down to the trivial bound 0 = min ℓ at ``t = 0``, or
    ``-inf`` for a ``ν`` outside the conjugate's domain (classification
    losses).

    Raises
    ------
    ValueError
        For shapes that do not match, or non-finite ``sample_duals`` or
        ``cone_duals``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import dual_lower_bound, enumerate_patterns
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0])
    >>> lb = dual_lower_bound(X, y, 0.01, enumerate_patterns(X), -y / 3)
    >>> bool(lb <= 0.032881)
    True
    """
    X = check_samples(X)
    y = check_sample_vector(y, X.shape[0])
    alpha = check_positive(alpha, "alpha")
    loss_obj = _get_loss(loss)
    patterns = _check_patterns(patterns, X.shape[0])
    nu = check_sample_vector(sample_duals, X.shape[0], "sample_duals")
    cert = _Certifier(_augment(X, fit_intercept), patterns, loss_obj, y, alpha)
    mu = np.zeros((X.shape[0], 2 * patterns.shape[1])) if cone_duals is None else (
        np.maximum(np.asarray(cone_duals, dtype=float), 0.0)
    )
    if mu.shape != (X.shape[0], 2 * patterns.shape[1]):
        raise ValueError(
            f"cone_duals must have shape (n_samples, 2 * n_patterns)="
            f"{(X.shape[0], 2 * patterns.shape[1])}, got {mu.shape}"
        )
    if not np.all(np.isfinite(mu)):
        raise ValueError("cone_duals must not contain NaN or infinity")
    return cert.lower_bound(None, mu, nu=nu)[0]
