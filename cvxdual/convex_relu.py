"""Exact convex training of two-layer ReLU networks, with optimality certificates.

A two-layer ReLU network ``ŷ = (X̃ U)₊ a`` with weight decay,

    min_{U, a}  (1/n) Σ_k ℓ(ŷ_k, y_k) + (alpha/2) (‖U‖²_F + ‖a‖²),

where ``X̃`` is ``X`` with a column of ones appended (``fit_intercept=True``; the
bias is the *last* row of ``U``), is equivalent (Pilanci & Ergen, 2020) to the
convex program, over activation patterns ``D_i = diag(1[X̃ g_i ≥ 0])``,

    min_{v_i, w_i}  (1/n) Σ_k ℓ(z_k, y_k) + alpha Σ_i (‖v_i‖₂ + ‖w_i‖₂)
    s.t.            z = Σ_i D_i X̃ (v_i − w_i),
                    (2 D_i − I) X̃ v_i ≥ 0,   (2 D_i − I) X̃ w_i ≥ 0,

when the patterns are *all* the patterns the data admit and the network is wide
enough. :class:`ConvexReLUProgram` writes this program in CVXPY: that is the
definition. :func:`solve_convex_relu` solves it either through CVXPY or with a
fast solver (a primal-dual interior-point method specialised to the program's
structure, stopped by the certificate below; if it falls short, an augmented
Lagrangian warm-up and exact solves over working sets of neurons and cone rows;
see Notes there).

The losses are ``"squared"`` (ℓ = ½(z − y)², so the data term is
(1/(2n))‖ŷ − y‖²) and, for labels ``y ∈ {−1, +1}``, ``"squared_hinge"``
(max(0, 1 − y z)²) and ``"logistic"`` (log(1 + exp(−y z))).

Certificates
------------
For any ``ν ∈ Rⁿ`` in the domain of the conjugate loss, weak duality gives

    p* ≥ −(1/n) Σ_k ℓ*(t n ν_k, y_k)   for every 0 ≤ t ≤ alpha / c(ν),
    c(ν) = max_i max_± max{ ±νᵀ D_i X̃ u : ‖u‖ ≤ 1, (2D_i − I) X̃ u ≥ 0 },

and ``c(ν)`` is computed exactly, pattern by pattern, as the norm of a projection
onto a polyhedral cone (a non-negative least-squares problem). Any multipliers
``μ_i ≥ 0`` of the cone constraints give the cheaper upper bound
``‖X̃ᵀ((2D_i − I) μ_i) ∓ X̃ᵀ D_i ν‖`` on each term. The bound is over the pattern
set used: when that set holds every activation pattern of ``X̃`` (see
:func:`enumerate_patterns`: for ``rank(X̃) ≤ 3``, and by search for small n), it is a lower bound
on the nonconvex objective of *every* two-layer ReLU network of any width;
otherwise only on the networks whose neurons' patterns are in the set
(``is_global`` flags the difference).
"""

from __future__ import annotations

import abc
import itertools
import logging
import math
import numbers
import warnings
from dataclasses import dataclass, field

import clarabel
import cvxpy as cp
import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse
import scipy.special
from scipy.special import xlogy
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ._solvers import check_solver
from ._solvers import solve as _cvxpy_solve
from ._validation import check_positive
from .exceptions import SolverError
from .losses import get_loss

__all__ = [
    "Certificate",
    "ConvexReLUProgram",
    "ConvexReLUSolution",
    "certify",
    "dual_lower_bound",
    "enumerate_patterns",
    "network_objective",
    "prune_network",
    "recover_network",
    "sample_patterns",
    "solve_convex_relu",
]

logger = logging.getLogger(__name__)

# --- tuning constants of the fast solver (one place, one comment each) -------
# Neurons whose convex weight norm is below this fraction of the largest are
# dropped at recovery: CVXPY's interior-point solutions leave ~1e-10 "zeros".
_ZERO_GROUP_RTOL = 1e-8
# Thresholds tried, sparsest first, when a fast-solver iterate is certified:
# interior-point iterates leave ~1e-5-relative neurons where the optimum has zeros.
# A sparser version is kept if its objective is at most _SPARSIFY_SLACK · tol
# (relative) above the dense one's.
_SPARSIFY_RTOLS = (1e-3, 1e-4, 1e-5, 1e-6)
_SPARSIFY_SLACK = 0.1
# Augmented-Lagrangian penalty relative to the loss curvature / ‖X̃‖²: 1 makes
# both parts of the inner smooth term equally stiff.
_AL_PENALTY_SCALE = 1.0
# First inner FISTA tolerance (relative to the first gradient mapping) and its
# decrease per outer iteration.
_AL_INNER_TOL0 = 0.1
_AL_INNER_DECAY = 0.3
# Cap on FISTA iterations per multiplier update, so that the certificate (and
# the working-set trigger) is checked regularly.
_AL_MAX_INNER = 400
# Relative gap of the cheap certificate (AL multipliers) at which the exact
# working-set solve is tried if _WARMUP_ITERS did not come first (and again at
# max_iter).
_POLISH_TRIGGER_GAP = 0.2
# Neurons of the first-order iterate that may enter the first working set: norm
# above this fraction of the largest (column generation adds any that are missing).
_CANDIDATE_RTOL = 1e-3
# First-order iterations before the working-set solve is tried (it needs only a
# rough idea of the active neurons and cone rows).
_WARMUP_ITERS = 300
# Cone rows of a working-set neuron that enter the restricted problem: slack at
# most this fraction of the column's largest |x̃_kᵀθ| (violated rows are added).
_ROW_MARGIN = 0.15
# The same for a neuron entering the working set, at its steepest direction.
_NEW_ROW_MARGIN = 0.05
# A cone row counts as violated below −this fraction of the column's scale
# (smaller violations are removed by the exact projection onto the cone).
_ROW_FEAS_TOL = 1e-9
# Share of the neurons in the first working set (the largest of the iterate:
# first-order iterates are not sparse) and most neurons added per round of
# column generation (the most violated first).
_WS_START = 1 / 3
_WS_ADD = 200
# Rounds of constraint / column generation before falling back to iterations.
_WS_MAX_ROUNDS = 12
# Most doublings of the FISTA Lipschitz estimate in one backtracking search: far
# more than a finite problem needs (2¹⁰⁰ ≈ 1e30); beyond it (or once the estimate
# or a trial value stops being finite) the first-order stage gives up.
_MAX_BACKTRACKS = 100
# Clarabel settings for the directly built working-set problems.
_CLARABEL_SETTINGS = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9,
                      "tol_ktratio": 1e-8}
# Interior-point stage: Newton steps of the interior-point search of each
# cone, iterations at most, fraction of the step to the boundary, static
# regularisation of the scaling blocks (relative to their diagonal), steps of
# iterative refinement of each Newton solve, and the dual starting value
# relative to max(alpha, max|ℓ'(0)|/n).
_INTERIOR_ITERS = 60
_IPM_MAX_ITER = 100
_IPM_STEP_FRACTION = 0.99
_IPM_REG = 1e-13
_IPM_REFINE = 1
_IPM_DUAL_START = 10.0
_IPM_PRIMAL_START = 1.0
# Default stopping tolerance: relative duality gap of the certificate (it bounds
# the suboptimality, so the fast solver is within 1e-5 of the CVXPY optimum).
DEFAULT_TOL = 1e-5
# certify()'s tolerance for the convex solve behind its bound: an optimal
# network's certificate closes to well below 1e-6.
CERTIFY_TOL = 1e-7
DEFAULT_MAX_ITER = 5000
# solver "auto" (estimators, certify) uses CVXPY when n_samples * n_patterns is at
# most this: the fast solver (interior-point stage) is as fast as CVXPY + Clarabel
# at n = 30, P = 18, 1.8x faster at n = 50, P = 47, 3x at n = 100, P = 100, 6-8x
# at n = 200 (benchmarks/bench_convex_relu.py and RESULTS.md).
AUTO_CVXPY_SIZE = 1_000
# Largest number of patterns enumerate_patterns will produce before refusing,
# and most candidate rays (subsets of rank − 1 samples) its search visits.
_MAX_ENUMERATED = 20_000
_MAX_RAY_SUBSETS = 100_000
# A sample's hyperplane passes through a candidate ray when |q̂·v| is below this
# (unit rows); r − 1 unit rows with a smallest singular value below it are
# treated as dependent.
_RAY_TOL = 1e-9


# ---------------------------------------------------------------------------
# losses: value, derivative, CVXPY expression, conjugate (for the dual bound)
# ---------------------------------------------------------------------------


class _Loss(abc.ABC):
    """A loss of the network output: numbers from :mod:`cvxdual.losses`, plus its conjugate.

    ``value`` and ``derivative`` are those of the loss of the same name in
    :mod:`cvxdual.losses` (one definition for the whole package); this class adds
    the CVXPY expression in the program's parameter ``y`` and ``best_dual``,
    the conjugate-based bound the certificates need.
    """

    name = ""

    def __init__(self):
        self._loss = get_loss(self.name)

    def value(self, z, y):
        """Return ``(1/n) Σ ℓ(z_k, y_k)``."""
        return self._loss.value(z[:, None], y[:, None])

    def derivative(self, z, y):
        """Return ``ℓ'(z_k, y_k)``, elementwise."""
        return self._loss.gradient(z[:, None], y[:, None])[:, 0]

    def second_derivative(self, z, y):
        """Return ``ℓ''(z_k, y_k)`` (generalised for the squared hinge), elementwise."""
        return self._loss.hessian_diag(z[:, None], y[:, None])[:, 0]

    @abc.abstractmethod
    def expression(self, z, y):
        """Return the CVXPY expression of ``(1/n) Σ ℓ`` (``y`` a parameter or an array)."""

    @abc.abstractmethod
    def best_dual(self, nu, y, t_max):
        """max_{0 ≤ t ≤ t_max} −(1/n) Σ ℓ*(t n ν_k, y_k); returns (value, t)."""


def _best_quadratic(a, b, t_max):
    """Maximise −a t² − b t over [0, t_max] (a ≥ 0)."""
    t = -b / (2.0 * a) if a > 0 else (t_max if b < 0 else 0.0)
    t = float(min(max(t, 0.0), t_max))
    return -a * t * t - b * t, t


class _Squared(_Loss):
    name = "squared"

    def expression(self, z, y):
        return cp.sum_squares(z - y) / (2 * y.shape[0])

    def best_dual(self, nu, y, t_max):
        # ℓ*(q) = q²/2 + q y  ⇒  −(n/2) t² ‖ν‖² − t νᵀy
        n = y.shape[0]
        return _best_quadratic(0.5 * n * float(nu @ nu), float(nu @ y), t_max)


class _SquaredHinge(_Loss):
    name = "squared_hinge"

    def expression(self, z, y):
        return cp.sum_squares(cp.pos(1 - cp.multiply(y, z))) / y.shape[0]

    def best_dual(self, nu, y, t_max):
        # ℓ*(q) = q y + q²/4 on q y ≤ 0  ⇒  −t Σ ν y − t² n ‖ν‖²/4
        n = y.shape[0]
        if np.any(nu * y > 0):
            return -np.inf, 0.0
        return _best_quadratic(0.25 * n * float(nu @ nu), float(nu @ y), t_max)


class _Logistic(_Loss):
    name = "logistic"

    def expression(self, z, y):
        return cp.sum(cp.logistic(-cp.multiply(y, z))) / y.shape[0]

    def best_dual(self, nu, y, t_max):
        # ℓ*(q) = (−p) log(−p) + (1 + p) log(1 + p), p = q y ∈ [−1, 0]
        n = y.shape[0]
        p = n * nu * y
        if np.any(p > 0):
            return -np.inf, 0.0
        pmax = float(np.max(-p)) if p.size else 0.0
        if pmax > 0:
            t_max = min(t_max, 1.0 / pmax)

        def neg_dual(t):
            q = t * p
            return float(np.sum(xlogy(-q, -q) + xlogy(1 + q, 1 + q))) / n

        if t_max <= 0:
            return 0.0, 0.0
        res = scipy.optimize.minimize_scalar(
            neg_dual, bounds=(0.0, t_max), method="bounded", options={"xatol": 1e-12}
        )
        t = float(res.x)
        # the end points are candidates too (bounded Brent never evaluates them)
        best = min((neg_dual(t), t), (neg_dual(t_max), t_max), (0.0, 0.0))
        return -best[0], best[1]


_LOSSES = {cls.name: cls for cls in (_Squared, _SquaredHinge, _Logistic)}


def _get_loss(loss):
    if isinstance(loss, _Loss):
        return loss
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {sorted(_LOSSES)}, got {loss!r}")
    return _LOSSES[loss]()


# ---------------------------------------------------------------------------
# input checks and small helpers
# ---------------------------------------------------------------------------


def _check_count(value, name):
    """An integer ≥ 1 (an integral float such as ``5.0`` is accepted)."""
    if isinstance(value, numbers.Integral):
        ok = value >= 1
    else:
        ok = (isinstance(value, numbers.Real) and math.isfinite(value)
              and float(value).is_integer() and value >= 1)
    if not ok:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_X(X, name="X"):
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-d array (n_samples, n_features), got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} must have at least one sample, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must not contain NaN or infinity")
    return X


def _check_y(y, n, name="y"):
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(
            f"{name} must be a 1-d array of length n_samples={n}, got shape {y.shape}"
        )
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} must not contain NaN or infinity")
    return y


def _check_labels(y, loss):
    if loss.name != "squared" and not np.all(np.abs(y) == 1):
        raise ValueError(f"y must hold labels in {{-1, +1}} for loss {loss.name!r}")


def _augment(X, fit_intercept):
    if fit_intercept:
        return np.hstack([X, np.ones((X.shape[0], 1))])
    return X


def _check_patterns(patterns, n):
    patterns = np.asarray(patterns)
    if patterns.ndim != 2 or patterns.shape[0] != n:
        raise ValueError(
            f"patterns must be a 2-d boolean array of shape (n_samples={n}, n_patterns), "
            f"got shape {patterns.shape}"
        )
    if patterns.dtype != bool:
        if not np.all(np.isin(patterns, (0, 1))):
            raise ValueError("patterns must be boolean (or 0/1)")
        patterns = patterns.astype(bool)
    return patterns


def _unique_patterns(D):
    """Drop all-false and duplicate columns of ``D``, keeping first occurrences."""
    D = D[:, D.any(axis=0)]
    if D.shape[1] == 0:
        return np.zeros((D.shape[0], 0), dtype=bool)
    _, idx = np.unique(D.T, axis=0, return_index=True)
    return np.ascontiguousarray(D[:, np.sort(idx)])


def _numerical_rank(Xt):
    U, s, Vt = np.linalg.svd(Xt, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return 0, U, s, Vt
    tol = s[0] * max(Xt.shape) * np.finfo(float).eps
    return int(np.sum(s > tol)), U, s, Vt


# ---------------------------------------------------------------------------
# activation patterns
# ---------------------------------------------------------------------------


def sample_patterns(
    X, n_patterns: int = 100, *, fit_intercept: bool = True, random_state=None
) -> np.ndarray:
    """Return activation patterns ``1[X̃ g ≥ 0]`` of Gaussian gates ``g``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_patterns : int
        Number of gates drawn; duplicates and the all-zero pattern are dropped,
        so at most this many patterns are returned.
    fit_intercept : bool
        Append a column of ones to ``X`` (the gate then has a bias entry).
    random_state : int, RandomState instance or None

    Returns
    -------
    patterns : ndarray of bool, shape (n_samples, P)

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import sample_patterns
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> D = sample_patterns(X, 50, random_state=0)
    >>> D.shape[0], D.shape[1] <= 50, bool(D.any(axis=0).all())
    (3, True, True)
    """
    X = _check_X(X)
    n_patterns = _check_count(n_patterns, "n_patterns")
    Xt = _augment(X, fit_intercept)
    rng = check_random_state(random_state)
    gates = rng.standard_normal((Xt.shape[1], n_patterns))
    return _unique_patterns(Xt @ gates >= 0)


def _sectors_2d(Q, tol):
    """Sign vectors (rows of ±1) of the open sectors cut by lines ``{z : q·z = 0}``."""
    nrm = np.linalg.norm(Q, axis=1)
    live = nrm > tol * max(nrm.max(initial=0.0), 1e-300)
    if not np.any(live):
        return np.ones((1, Q.shape[0]))
    phi = np.arctan2(Q[live, 1], Q[live, 0])
    bounds = np.sort(np.mod(np.concatenate([phi + np.pi / 2, phi - np.pi / 2]), 2 * np.pi))
    keep = np.concatenate([[True], np.diff(bounds) > 1e-12])
    bounds = bounds[keep]
    nxt = np.concatenate([bounds[1:], [bounds[0] + 2 * np.pi]])
    mid = 0.5 * (bounds + nxt)
    Z = np.stack([np.cos(mid), np.sin(mid)])
    S = np.where(Q @ Z >= 0, 1.0, -1.0).T
    S[:, ~live] = 1.0
    return S


def _cells(Q):
    """Sign vectors of all full-dimensional cells of the central arrangement of rows of Q.

    ``Q`` (n × r) has full column rank r (an essential arrangement).
    """
    r = Q.shape[1]
    nrm = np.linalg.norm(Q, axis=1)
    live = nrm > 1e-12 * nrm.max()
    Qn = np.zeros_like(Q)
    Qn[live] = Q[live] / nrm[live, None]
    if r == 1:
        s = np.where(Qn[:, 0] >= 0, 1.0, -1.0)
        s[~live] = 1.0
        return np.stack([s, -s + 2 * (~live)])
    if r == 2:
        return _sectors_2d(Qn, 1e-12)
    return _cells_by_rays(Qn, live)


def _essential(Q):
    """Rows of Q in coordinates of their span: the same sign vectors, full column rank."""
    r, U, s, _ = _numerical_rank(Q)
    return U[:, :r] * s[:r]


def _column_scaled(X):
    """``X`` with each nonzero column divided by its largest absolute entry."""
    scale = np.max(np.abs(X), axis=0, initial=0.0)
    return X / np.where(scale > 0, scale, 1.0)


def _arrangement_basis(X, fit_intercept):
    """Rank ``r`` of ``X̃`` and an orthonormal basis (n × r) of its column space.

    The arrangement ``{u : x̃_kᵀ u = 0}`` and its cells' sign vectors depend only
    on that column space (``X̃ u`` for ``u ∈ R^{d(+1)}`` is every vector of it), so
    they are computed on a well-conditioned basis of it instead of on ``X̃``:
    each feature column is scaled by its largest absolute entry (a positive
    rescaling of the weights) and, with an intercept, centred (``[X − 1mᵀ, 1]``
    is ``[X, 1]`` times an invertible matrix) and scaled again; the left
    singular vectors of the result are the basis. The rank and the patterns are
    then the same for ``c X`` at every scale ``c > 0`` (the column of ones, or a
    feature column of a much smaller scale than another, is no longer lost to
    rounding, and squared norms of rows cannot overflow or underflow).
    """
    Z = _column_scaled(X)
    if fit_intercept:
        Z = _column_scaled(Z - Z.mean(axis=0))
    r, U, _, _ = _numerical_rank(_augment(Z, fit_intercept))
    return r, U[:, :r]


def _cells_by_rays(Qn, live):
    """Sign vectors of the cells of an essential central arrangement of rank r ≥ 3.

    Every cell is a pointed cone, so it has an extreme ray: a line ``{t v}`` on
    which r − 1 linearly independent hyperplanes meet. For each such line and
    each direction ``±v``, the cells touching the ray have the sign of
    ``q_k·v`` on every hyperplane not through it, and on the hyperplanes through
    it the sign vectors of the cells of their arrangement in the quotient
    ``v^⊥`` (all 2^{r−1} of them when exactly r − 1 meet there, by recursion
    otherwise). Rows of zero norm (``~live``) get +1.
    """
    n, r = Qn.shape
    idx = np.flatnonzero(live)
    subsets = np.array(list(itertools.combinations(idx, r - 1)), dtype=np.intp)
    if subsets.size == 0:
        return np.ones((1, n))
    _, sv, vt = np.linalg.svd(Qn[subsets])  # (N, r−1, r)
    ok = sv[:, -1] > _RAY_TOL
    subsets, V = subsets[ok], vt[ok, -1, :]
    vals = Qn @ V.T  # (n, N)
    zero = np.abs(vals) <= _RAY_TOL
    zero[~live] = False
    base = np.where(vals >= 0, 1.0, -1.0)
    base[~live] = 1.0
    generic = zero.sum(axis=0) == r - 1
    out = []
    if generic.any():
        js, gb = subsets[generic], base[:, generic]
        combos = np.array(list(itertools.product((1.0, -1.0), repeat=r - 1)))
        cols = np.arange(gb.shape[1])[:, None]
        for sign in (1.0, -1.0):
            b = gb * sign
            b[~live] = 1.0
            for combo in combos:
                c = b.T.copy()
                c[cols, js] = combo
                out.append(c)
    seen = set()
    for p in np.flatnonzero(~generic):
        z = np.flatnonzero(zero[:, p])
        key = (tuple(z), tuple(base[:, p] > 0))
        if key in seen:
            continue
        seen.add(key)
        seen.add((tuple(z), tuple(base[:, p] <= 0)))
        # the hyperplanes through the ray, in the quotient v^⊥
        e = np.linalg.svd(V[p][None, :])[2][1:]
        sub = _cells(_essential(Qn[z] @ e.T))
        for sign in (1.0, -1.0):
            b = base[:, p] * sign
            b[~live] = 1.0
            c = np.repeat(b[None, :], sub.shape[0], axis=0)
            c[:, z] = sub
            out.append(c)
    if not out:
        return np.ones((1, n))
    return np.concatenate(out)  # with repeats (callers deduplicate patterns)


def enumerate_patterns(X, *, fit_intercept: bool = True) -> np.ndarray:
    """Return every activation pattern ``1[X̃ u ≥ 0]`` of a full-dimensional cell.

    The patterns are the cells of the hyperplane arrangement ``{u : x̃_kᵀ u = 0}``;
    the closures of their cones ``{u : (2D − I) X̃ u ≥ 0}`` cover every ``u``, so a
    convex program over them is equivalent to training a two-layer ReLU network
    of any width. For ``rank(X̃) ≤ 3`` (one or two features with an intercept)
    there are at most ``n² − n + 2`` cells; of higher rank r, at most
    ``2 Σ_{i<r} C(n−1, i)``, found by a search over the extreme rays of the
    arrangement (every cell is a pointed cone with an extreme ray where r − 1
    hyperplanes meet), which needs ``C(n, r−1)`` small: possible for small
    ``n`` (e.g. n = 12 samples with 5 features).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    fit_intercept : bool

    Returns
    -------
    patterns : ndarray of bool, shape (n_samples, P)
        Without the all-zero pattern and without duplicates.

    Raises
    ------
    ValueError
        If the search would be too large: more than ``_MAX_ENUMERATED`` cells
        possible or more than ``_MAX_RAY_SUBSETS`` candidate rays.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import enumerate_patterns
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> enumerate_patterns(X).astype(int)
    array([[0, 0, 1, 1, 1],
           [0, 1, 0, 1, 1],
           [1, 1, 0, 0, 1]])
    """
    X = _check_X(X)
    r, Q = _arrangement_basis(X, fit_intercept)
    n = X.shape[0]
    if r == 0:
        return np.zeros((n, 0), dtype=bool)
    if _n_cells_bound(r, n) > _MAX_ENUMERATED:
        raise ValueError(
            f"enumerate_patterns would produce up to {_n_cells_bound(r, n)} patterns "
            f"(n_samples={n}, rank(X̃)={r}, more than {_MAX_ENUMERATED}); use sample_patterns"
        )
    if r > 3 and math.comb(n, r - 1) > _MAX_RAY_SUBSETS:
        raise ValueError(
            f"enumerate_patterns would search C({n}, {r - 1}) = {math.comb(n, r - 1)} candidate "
            f"rays (more than {_MAX_RAY_SUBSETS}; n_samples={n}, rank(X̃)={r}); "
            "use sample_patterns"
        )
    signs = _cells(Q)
    D = _unique_patterns((signs >= 0).T)
    # canonical order (lexicographic on the pattern bits) for reproducibility
    order = np.lexsort(D[::-1])
    return np.ascontiguousarray(D[:, order])


def _n_cells_bound(rank, n):
    """Most cells of a central arrangement of n hyperplanes of rank r: 2 Σ_{i<r} C(n−1, i)."""
    if rank == 0:
        return 0
    return 2 * sum(math.comb(n - 1, i) for i in range(rank))


def _can_enumerate(rank, n, limit=_MAX_ENUMERATED):
    return _n_cells_bound(rank, n) <= limit and (
        rank <= 3 or math.comb(n, rank - 1) <= _MAX_RAY_SUBSETS)


def _default_patterns(X, n_patterns, fit_intercept, random_state):
    """Enumerated patterns if they are few enough (complete), else sampled ones."""
    r = _arrangement_basis(X, fit_intercept)[0]
    if _can_enumerate(r, X.shape[0], min(n_patterns, _MAX_ENUMERATED)):
        return enumerate_patterns(X, fit_intercept=fit_intercept), True
    return sample_patterns(X, n_patterns, fit_intercept=fit_intercept,
                           random_state=random_state), False


# ---------------------------------------------------------------------------
# networks: objective, recovery, pruning
# ---------------------------------------------------------------------------


def network_objective(
    X, y, hidden_weights, output_weights, alpha: float, *, loss: str = "squared",
    fit_intercept: bool = True,
) -> float:
    """Return (1/n) Σ ℓ(ŷ_k, y_k) + (alpha/2)(‖U‖²_F + ‖a‖²) for ``ŷ = (X̃ U)₊ a``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    hidden_weights : array-like of shape (n_features + 1, m)
        ``U``, bias row last; shape ``(n_features, m)`` when ``fit_intercept=False``.
    output_weights : array-like of shape (m,)
    alpha : float
    loss : {"squared", "squared_hinge", "logistic"}
    fit_intercept : bool

    Returns
    -------
    objective : float
        ``inf`` when it overflows the float range.

    Raises
    ------
    ValueError
        If overflowing intermediate values leave it undefined (NaN), e.g.
        predictions ``inf − inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import network_objective
    >>> X, y = np.array([[1.0], [2.0]]), np.array([1.0, 2.0])
    >>> U, a = np.array([[1.0], [0.0]]), np.array([1.0])
    >>> round(network_objective(X, y, U, a, 0.1), 6)
    0.1
    """
    X = _check_X(X)
    y = _check_y(y, X.shape[0])
    alpha = check_positive(alpha, "alpha")
    U, a = _check_network(X, hidden_weights, output_weights, fit_intercept)
    loss = _get_loss(loss)
    with np.errstate(over="ignore", invalid="ignore"):
        yhat = np.maximum(_augment(X, fit_intercept) @ U, 0.0) @ a
        value = loss.value(yhat, y) + 0.5 * alpha * (float(np.sum(U * U)) + float(a @ a))
    if np.isnan(value):
        raise ValueError(
            "the network's objective is not representable: its weights or predictions "
            "overflow the float range (inf − inf); rescale X or the weights"
        )
    return float(value)


def _check_network(X, hidden_weights, output_weights, fit_intercept):
    U = np.asarray(hidden_weights, dtype=float)
    a = np.asarray(output_weights, dtype=float)
    rows = X.shape[1] + int(bool(fit_intercept))
    if U.ndim != 2 or U.shape[0] != rows:
        raise ValueError(
            f"hidden_weights must have shape (n_features{' + 1' if fit_intercept else ''}"
            f"={rows}, m), got shape {U.shape}"
        )
    if a.ndim != 1 or a.shape[0] != U.shape[1]:
        raise ValueError(
            f"output_weights must have shape (m={U.shape[1]},), got shape {a.shape}"
        )
    if not (np.all(np.isfinite(U)) and np.all(np.isfinite(a))):
        raise ValueError("hidden_weights and output_weights must be finite")
    return U, a


def recover_network(v, w, *, rtol: float = _ZERO_GROUP_RTOL):
    """Return the balanced network ``(U, a)`` of a convex solution ``(v_i, w_i)``.

    Each nonzero ``v_i`` gives the neuron ``u = v_i/√‖v_i‖`` with ``a = √‖v_i‖``,
    each nonzero ``w_i`` the neuron ``w_i/√‖w_i‖`` with ``a = −√‖w_i‖``; so
    ``(X̃u)₊ a = ± D_i X̃ v_i`` on the cone and ``(alpha/2)(‖u‖² + a²) = alpha‖v_i‖``.

    Parameters
    ----------
    v, w : ndarray of shape (n_features (+1), P)
        Columns are the convex weights of each pattern.
    rtol : float
        Columns with norm ≤ ``rtol`` times the largest norm count as zero.

    Returns
    -------
    hidden_weights : ndarray of shape (n_features (+1), m)
    output_weights : ndarray of shape (m,)

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import recover_network
    >>> U, a = recover_network(np.array([[4.0], [0.0]]), np.zeros((2, 1)))
    >>> U.ravel().tolist(), a.tolist()
    ([2.0, 0.0], [2.0])
    """
    theta = np.hstack([np.asarray(v, dtype=float), np.asarray(w, dtype=float)])
    sign = np.concatenate([np.ones(np.shape(v)[1]), -np.ones(np.shape(w)[1])])
    norms = np.linalg.norm(theta, axis=0)
    keep = norms > rtol * norms.max(initial=0.0)
    keep &= norms > 0
    root = np.sqrt(norms[keep])
    return theta[:, keep] / root, sign[keep] * root


def prune_network(X, hidden_weights, output_weights, *, fit_intercept: bool = True):
    """Return an equivalent network with at most ``n_samples + 1`` neurons.

    Carathéodory pruning: writing each neuron's contribution as
    ``c_j h_j`` with ``h_j = (X̃ u_j)₊ a_j / (|a_j| ‖u_j‖)`` and
    ``c_j = |a_j| ‖u_j‖``, any null vector ``β`` of ``[h_j; 1]`` moves ``c`` along
    a direction that leaves both ``ŷ = Σ c_j h_j`` and the weight-decay term
    ``alpha Σ c_j`` (balanced network) unchanged; the move is taken until a
    ``c_j`` hits zero. The result is balanced (``|a_j| = ‖u_j‖``) and has the
    same predictions on ``X`` and the same objective as the balanced version of
    the input.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    hidden_weights : array-like of shape (n_features (+1), m)
    output_weights : array-like of shape (m,)
    fit_intercept : bool

    Returns
    -------
    hidden_weights : ndarray of shape (n_features (+1), m')
    output_weights : ndarray of shape (m',), with m' ≤ n_samples + 1

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import prune_network
    >>> X = np.array([[1.0], [2.0]])
    >>> U = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    >>> U2, a2 = prune_network(X, U, np.ones(4))
    >>> U2.shape[1] <= 3
    True
    """
    X = _check_X(X)
    U, a = _check_network(X, hidden_weights, output_weights, fit_intercept)
    Xt = _augment(X, fit_intercept)
    un = np.linalg.norm(U, axis=0)
    c = un * np.abs(a)
    keep = c > 0
    U, a, un, c = U[:, keep], a[keep], un[keep], c[keep]
    if U.shape[1] == 0:
        return U, a
    # unit-scale neurons: u/‖u‖ with sign(a); contribution c_j h_j
    dirs = U / un
    sgn = np.sign(a)
    H = np.maximum(Xt @ dirs, 0.0) * sgn
    n = Xt.shape[0]
    while c.size > 0:
        A = np.vstack([H, np.ones((1, c.size))])
        _, s, vt = np.linalg.svd(A, full_matrices=True)
        tol = max(A.shape) * np.finfo(float).eps * (s[0] if s.size else 1.0)
        rank = int(np.sum(s > tol))
        if rank >= c.size:
            break
        beta = vt[-1]
        if not np.any(beta > 0):
            beta = -beta
        pos = beta > 0
        ratio = np.full(c.size, np.inf)
        ratio[pos] = c[pos] / beta[pos]
        j = int(np.argmin(ratio))
        c = c - ratio[j] * beta
        c[j] = 0.0
        alive = c > 1e-14 * c.max()
        c, H, dirs, sgn = c[alive], H[:, alive], dirs[:, alive], sgn[alive]
        if c.size <= n + 1 and rank == c.size:
            break
    root = np.sqrt(c)
    return dirs * root, sgn * root


# ---------------------------------------------------------------------------
# the CVXPY definition
# ---------------------------------------------------------------------------


@dataclass
class ConvexReLUSolution:
    """Solution of the convex program on a given pattern set.

    Attributes
    ----------
    v, w : ndarray of shape (n_features (+1), P)
        Convex weights of the positive and negative neurons, one column per pattern.
    objective : float
        Convex objective at ``(v, w)``; equals the nonconvex objective of
        :func:`recover_network` ``(v, w)``.
    lower_bound : float
        Certified lower bound on the optimum of the program over these patterns
        (see the module docstring).
    duals : dict
        ``"sample_duals"`` ν (n_samples,) = (1/n) ℓ'(z), the dual of ``z = Σ …``;
        ``"cone_v"``, ``"cone_w"`` (n_samples, P): multipliers μ ≥ 0 of the
        constraints ``(2D_i − I) X̃ v_i ≥ 0`` and ``… w_i ≥ 0`` (for
        ``method="cvxpy"`` exactly CVXPY's ``dual_value``; for ``"fista"`` the
        multipliers of the certificate, see :func:`solve_convex_relu`);
        ``"dual_scale"``: the factor t applied to ν in the bound.
    method : str
        ``"cvxpy"`` or ``"fista"``.
    solver : str
        Solver used (for ``"fista"``: ``"interior-point"`` when its first stage
        produced the answer, else the one of the final working-set solve, if
        any: ``"CLARABEL"`` called directly, or a CVXPY solver; ``"zero"``
        when every candidate was worse than the zero network, see
        :func:`solve_convex_relu`).
    n_iter : int
        Iterations of ``"fista"``: interior-point iterations, plus first-order
        iterations if its fallback stage ran (0 for ``"cvxpy"``).
    converged : bool
        Whether the relative gap ``(objective − lower_bound)/|objective|`` met tol.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import enumerate_patterns, solve_convex_relu
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0])
    >>> sol = solve_convex_relu(X, y, 0.01, enumerate_patterns(X), method="cvxpy")
    >>> sol.v.shape, bool(sol.relative_gap < 1e-6), sorted(sol.duals)
    ((2, 5), True, ['cone_v', 'cone_w', 'dual_scale', 'sample_duals'])
    """

    v: np.ndarray
    w: np.ndarray
    objective: float
    lower_bound: float
    duals: dict = field(default_factory=dict)
    method: str = "cvxpy"
    solver: str = ""
    n_iter: int = 0
    converged: bool = True

    @property
    def relative_gap(self) -> float:
        """(objective − lower_bound) / max(|objective|, tiny); ``inf`` if not finite."""
        return _relative_gap(self.objective, self.lower_bound)


def _relative_gap(objective, lower_bound):
    """``(objective − lower_bound) / max(|objective|, 1e-300)``, or ``inf`` when that
    is not a finite number (an objective that overflowed, a bound of −inf): nothing
    is certified then, and the value is never NaN."""
    with np.errstate(over="ignore", invalid="ignore"):
        rel = (objective - lower_bound) / max(abs(objective), 1e-300)
    return float(rel) if np.isfinite(rel) else np.inf


class ConvexReLUProgram:
    """The convex program over fixed patterns, written in CVXPY (the definition).

    Built once per ``(X, patterns, loss)``; the targets ``y`` and ``alpha`` are
    :class:`cvxpy.Parameter` objects, so re-solving for another target (e.g. one
    class after another) or regularisation reuses the compiled problem.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    patterns : array-like of bool, shape (n_samples, P)
    loss : {"squared", "squared_hinge", "logistic"}
    fit_intercept : bool

    Attributes
    ----------
    problem : cvxpy.Problem
    v, w : cvxpy.Variable of shape (n_features (+1), P)
    y, alpha : cvxpy.Parameter
    cone_v, cone_w : cvxpy.Constraint
        ``(2D − 1) ∘ (X̃ V) ≥ 0`` and ``(2D − 1) ∘ (X̃ W) ≥ 0``, shape (n_samples, P).

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import ConvexReLUProgram, enumerate_patterns
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0])
    >>> prog = ConvexReLUProgram(X, enumerate_patterns(X))
    >>> prog.problem.is_dcp(dpp=True)
    True
    >>> sol = prog.solve(y, 0.01)
    >>> round(sol.objective, 6), round(sol.relative_gap, 6)
    (0.03288, 0.0)
    """

    def __init__(self, X, patterns, *, loss: str = "squared", fit_intercept: bool = True):
        X = _check_X(X)
        self.loss = _get_loss(loss)
        self.fit_intercept = fit_intercept
        self.X = X
        self.Xt = _augment(X, fit_intercept)
        self.patterns = _check_patterns(patterns, X.shape[0])
        n, dd = self.Xt.shape
        P = self.patterns.shape[1]
        if P == 0:
            raise ValueError("patterns must hold at least one (nonzero) pattern")
        mask = self.patterns.astype(float)
        sign = 2.0 * mask - 1.0
        self.y = cp.Parameter(n, name="y")
        self.alpha = cp.Parameter(nonneg=True, name="alpha")
        self.v = cp.Variable((dd, P), name="v")
        self.w = cp.Variable((dd, P), name="w")
        xv = self.Xt @ self.v
        xw = self.Xt @ self.w
        z = cp.sum(cp.multiply(mask, xv - xw), axis=1)
        self.cone_v = cp.multiply(sign, xv) >= 0
        self.cone_w = cp.multiply(sign, xw) >= 0
        reg = cp.sum(cp.norm(self.v, 2, axis=0)) + cp.sum(cp.norm(self.w, 2, axis=0))
        objective = self.loss.expression(z, self.y) + self.alpha * reg
        self.problem = cp.Problem(cp.Minimize(objective), [self.cone_v, self.cone_w])

    def solve(self, y, alpha: float, *, solver: str | None = None) -> ConvexReLUSolution:
        """Solve for targets ``y`` and ``alpha`` through :func:`cvxdual._solvers.solve`.

        Returns
        -------
        ConvexReLUSolution
            ``v``, ``w`` and ``duals`` as CVXPY returns them; ``objective`` is
            the program's objective evaluated at ``(v, w)``.
        """
        y = _check_y(y, self.Xt.shape[0])
        _check_labels(y, self.loss)
        self.y.value = y
        self.alpha.value = check_positive(alpha, "alpha")
        name = _cvxpy_solve(self.problem, solver, what="convex ReLU program")
        v = np.asarray(self.v.value, dtype=float)
        w = np.asarray(self.w.value, dtype=float)
        mu = np.hstack([self.cone_v.dual_value, self.cone_w.dual_value])
        cert = _Certifier(self.Xt, self.patterns, self.loss, y, alpha)
        theta = np.hstack([v, w])
        obj = cert.primal(theta)
        lb, t, nu = cert.lower_bound(theta, np.maximum(mu, 0.0))
        duals = {
            "sample_duals": nu,
            "cone_v": np.asarray(self.cone_v.dual_value, dtype=float),
            "cone_w": np.asarray(self.cone_w.dual_value, dtype=float),
            "dual_scale": t,
        }
        return ConvexReLUSolution(v, w, obj, lb, duals, "cvxpy", name, 0, True)


# ---------------------------------------------------------------------------
# certificate machinery shared by both methods
# ---------------------------------------------------------------------------


def _cone_proj(A, x):
    """Multipliers μ ≥ 0 and ‖Π_K(x)‖ for K = {u : A u ≥ 0}, via min_{μ ≥ 0} ‖x + Aᵀμ‖
    (Moreau: Π_K(x) = x + Aᵀμ at the minimiser)."""
    return scipy.optimize.nnls(A.T, -x, maxiter=50 * A.shape[0] + 100)


class _Certifier:
    """Objective, gradient pieces and the dual bound for one (X̃, patterns, loss, y)."""

    def __init__(self, Xt, patterns, loss, y, alpha):
        self.Xt, self.loss, self.y, self.alpha = Xt, loss, y, float(alpha)
        P = patterns.shape[1]
        mask = np.hstack([patterns, patterns]).astype(float)
        self.sign_cols = np.concatenate([np.ones(P), -np.ones(P)])
        self.MS = mask * self.sign_cols  # z = rowsum(MS ∘ X̃Θ)
        self.S = 2.0 * mask - 1.0  # cone: S ∘ X̃Θ ≥ 0

    def predict(self, theta):
        return np.einsum("ij,ij->i", self.MS, self.Xt @ theta)

    def primal(self, theta):
        z = self.predict(theta)
        return self.loss.value(z, self.y) + self.alpha * float(np.linalg.norm(theta, axis=0).sum())

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
                nu = self.loss.derivative(self.predict(theta), self.y) / n
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
        lb, t = self.loss.best_dual(nu_k, self.y, t_max)
        with np.errstate(over="ignore"):
            t, bound = float(np.ldexp(t, -k)), np.ldexp(bound, k)
        lb = float(lb) + 0.0  # (no −0.0)
        if details:
            return lb, t, nu, bound, mu_out
        return lb, t, nu


# ---------------------------------------------------------------------------
# the fast solver, first stage: a primal-dual interior-point method
# ---------------------------------------------------------------------------


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


def _ipm(cert, *, max_iter, tol, consider, verbose):
    """Primal-dual interior-point method (Mehrotra predictor–corrector, NT scaling).

    Works on the neurons whose cone has an interior (all of them for sampled
    or enumerated patterns; others stay at zero and are checked by the
    certificate). Variables per neuron: ``(τ_c, θ_c)`` with ``‖θ_c‖ ≤ τ_c``
    (dual ``z_Q``) and the cone rows ``s_L = S_c ∘ X̃θ_c ≥ 0`` (dual
    ``z_L``, the multipliers μ of the certificate). Primal iterates stay
    strictly feasible; the dual residual and the complementarity gap go to
    zero together. The Newton system is the block-diagonal scaling matrix
    (one (d+1)² block per neuron) plus the loss curvature ``Fᵀ diag(ℓ''/n) F``
    of rank ≤ n, solved by the Woodbury identity (an n × n Cholesky factor)
    with ``_IPM_REFINE`` steps of iterative refinement. Each iterate gets the cheap
    certificate; when it is within ``tol`` the exact one (``consider``)
    decides. Returns (done, iterations, last θ, last μ).
    """
    Xt, S, MS, y, loss, alpha = cert.Xt, cert.S, cert.MS, cert.y, cert.loss, cert.alpha
    n, d = Xt.shape
    ncol = S.shape[1]
    P = ncol // 2
    # a sample with x̃_k = 0 constrains nothing (0 ≥ 0): its cone rows are left out
    rows = np.any(Xt != 0, axis=1)
    theta_full, mu_full = np.zeros((d, ncol)), np.zeros((n, ncol))
    if not rows.any():
        return False, 0, theta_full, mu_full
    XtL = Xt[rows]
    XX = _row_outer_products(XtL)
    U, found = _cone_interior_points(XtL, S[rows, :P], XX)
    cols = np.flatnonzero(np.concatenate([found, found]))
    m = cols.size
    if m == 0:
        return False, 0, theta_full, mu_full
    ScL, MSc = S[rows][:, cols], MS[:, cols]
    Uc = np.hstack([U, U])[:, cols]
    # start: every neuron's largest |x̃ᵀθ| equal to _IPM_PRIMAL_START · max|y|
    yscale = max(float(np.abs(y).max()), 1e-12)
    th = Uc * (_IPM_PRIMAL_START * yscale / np.abs(Xt @ Uc).max(axis=0))
    tau = 2.0 * np.linalg.norm(th, axis=0)
    z0 = _IPM_DUAL_START * max(alpha, float(np.abs(loss.derivative(np.zeros(n), y)).max()) / n)
    zL = np.full((XtL.shape[0], m), z0)
    zQ = np.zeros((d + 1, m))
    zQ[0] = z0
    F = MSc[:, :, None] * Xt[:, None, :]  # z = Σ_c F_c θ_c
    Fflat = F.reshape(n, m * d)
    degree = m * XtL.shape[0] + m
    eye = np.eye(d + 1)
    it = 0
    while it < max_iter:
        it += 1
        E = Xt @ th
        sL = ScL * E[rows]
        sQ = np.vstack([tau, th])
        zp = np.einsum("ij,ij->i", MSc, E)
        hz = np.maximum(loss.second_derivative(zp, y), 0.0) / n
        nu = loss.derivative(zp, y) / n
        rd = np.empty((d + 1, m))  # dual residual, rows (τ, θ)
        rd[0] = alpha - zQ[0]
        rd[1:] = Xt.T @ (MSc * nu[:, None]) - XtL.T @ (ScL * zL) - zQ[1:]
        mu = (float(np.sum(sL * zL)) + float(np.sum(sQ * zQ))) / degree
        theta_full[:] = 0.0
        theta_full[:, cols] = th
        mu_full[:] = 0.0
        mu_full[np.ix_(rows, cols)] = zL
        # the certifier's objective and bound, from the predictions already at hand
        obj = loss.value(zp, y) + alpha * float(np.linalg.norm(th, axis=0).sum())
        lb, _, _ = cert.lower_bound(theta_full, mu_full, refine=False, nu=nu)
        gap = _relative_gap(obj, lb)
        if verbose:
            logger.info("ipm: iter %d objective %.12g bound %.12g gap %.3g mu %.3g "
                        "dual residual %.3g", it, obj, lb, gap, mu, float(np.abs(rd).max()))
        if gap <= tol and consider(theta_full, "interior-point", mu_full)[0]:
            return True, it, theta_full, mu_full
        try:
            with np.errstate(divide="raise", invalid="raise", over="raise"):
                step = _ipm_step(sL, zL, sQ, zQ, rd, hz, XtL, ScL, Xt, MSc, F, Fflat, XX,
                                 eye, mu, degree)
        except (_IPMBreakdown, np.linalg.LinAlgError, FloatingPointError) as exc:
            if verbose:
                logger.info("ipm: stopped at iteration %d (%s)", it, exc)
            break
        a, dx, dzl, dzq = step
        tau = tau + a * dx[0]
        th = th + a * dx[1:]
        zL = zL + a * dzl
        zQ = zQ + a * dzq
    return False, it, theta_full, mu_full


def _ipm_step(sL, zL, sQ, zQ, rd, hz, XtL, ScL, Xt, MSc, F, Fflat, XX, eye, mu, degree):
    """One Mehrotra predictor–corrector step: (step length, Δ(τ, θ), Δz_L, Δz_Q).

    ``XtL``, ``ScL``: the rows and signs of the cone constraints; ``Xt``, ``MSc``
    (through ``F``): the loss.
    """
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


# ---------------------------------------------------------------------------
# the fast solver: augmented Lagrangian + FISTA, active-set polish, certified stop
# ---------------------------------------------------------------------------


def _group_shrink(Z, thresh):
    nrm = np.linalg.norm(Z, axis=0)
    scale = np.zeros_like(nrm)
    big = nrm > thresh
    scale[big] = 1.0 - thresh / nrm[big]
    return Z * scale


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
    obj = cert.primal(theta)
    lb, t, nu, bound, mu = cert.lower_bound(theta, lam, refine=True, details=True)
    return _relative_gap(obj, lb), obj, lb, t, nu, bound, mu


def _solve_fast(cert, *, max_iter, tol, solver, verbose):
    Xt, S, MS, y, loss, alpha = cert.Xt, cert.S, cert.MS, cert.y, cert.loss, cert.alpha
    n, dd = Xt.shape
    ncol = S.shape[1]
    # curvature of the loss part (power iteration on GᵀG), loss'' ≤ 1 / 2 / 0.25
    curv = {"squared": 1.0, "squared_hinge": 2.0, "logistic": 0.25}[loss.name]
    rng = np.random.default_rng(0)
    q = rng.standard_normal((dd, ncol))
    nrm = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(20):
            zq = np.einsum("ij,ij->i", MS, Xt @ q)
            q = Xt.T @ (MS * zq[:, None])
            top = float(np.abs(q).max(initial=0.0))
            if not 0 < top < np.inf:  # zero, or overflowing (backtracking then gives up)
                nrm = 0.0 if top == 0 else np.inf
                break
            nrm = top * float(np.linalg.norm(q / top))  # no overflow of the squares
            q /= nrm
    L_loss = max(curv * nrm / n, 1e-12)
    sx = float(np.linalg.norm(Xt, 2))
    sx = max(sx * sx, 1e-12)  # (a float product: inf, not OverflowError, past 1e154)
    rho = _AL_PENALTY_SCALE * L_loss / sx
    L = L_loss + rho * sx

    theta = np.zeros((dd, ncol))
    lam = np.zeros((n, ncol))
    E = Xt @ theta

    def fgrad(Ek):
        # overflow at a trial point gives inf / NaN, which backtracking rejects
        with np.errstate(over="ignore", invalid="ignore"):
            z = np.einsum("ij,ij->i", MS, Ek)
            h = np.maximum(lam - rho * S * Ek, 0.0)
            f = loss.value(z, y) + float(np.sum(h * h)) / (2 * rho)
            gE = MS * (loss.derivative(z, y) / n)[:, None] - S * h
        return f, gE

    it = 0
    eta = None
    warmup = min(_WARMUP_ITERS, max_iter)
    best = None  # (gap, theta, objective, lb, t, nu, mu, solver name)
    tried_full = False
    failed = False  # the first-order stage gave up (backtracking found no step)
    obj_zero = cert.primal(np.zeros((dd, ncol)))

    def consider(theta_c, name, mu_c):
        nonlocal best
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
        # interior-point iterates have no exact zeros: the sparsest version (neurons
        # below rtol · largest dropped) whose objective the same dual point still
        # certifies is kept (the bound holds for any feasible point)
        for rtol in _SPARSIFY_RTOLS:
            if not np.any((norms_c > _ZERO_GROUP_RTOL * top) & (norms_c <= rtol * top)):
                continue
            sparse = _project_to_cones(cert, np.where(norms_c > rtol * top, theta_c, 0.0))
            obj_s = cert.primal(sparse)
            if obj_s <= obj_c + _SPARSIFY_SLACK * tol * abs(obj_c):
                cand, obj_c, gap_c = sparse, obj_s, _relative_gap(obj_s, lb_c)
                break
        if not obj_c <= obj_zero:
            # never worse than the zero network (also when obj_c is NaN): θ = 0
            # replaces the candidate, certified by the better of the two dual points
            zero = np.zeros_like(theta_c)
            _, _, lb_z, t_z, nu_z, bound_z, mu_z = _certified(cert, zero, np.zeros_like(mu_c))
            if not lb_z <= lb_c:  # (also for a NaN lb_c)
                lb_c, t_c, nu_c, bound_c, mu_c = lb_z, t_z, nu_z, bound_z, mu_z
            cand, obj_c, name = zero, obj_zero, "zero"
            gap_c = _relative_gap(obj_c, lb_c)
        if verbose:
            logger.info("fista: candidate (%s) objective %.12g gap %.3g, %d neurons", name,
                        obj_c, gap_c, int(np.count_nonzero(np.abs(cand).max(axis=0))))
        if best is None or gap_c < best[0]:
            best = (gap_c, cand, obj_c, lb_c, t_c, nu_c, mu_c, name)
        return gap_c <= tol, (bound_c, nu_c)

    # first the interior-point method; the first-order + working-set path below
    # only runs if it stops short of a certified gap (rounding near the end on
    # hard instances, or cones without an interior)
    done, it, theta_ipm, mu_ipm = _ipm(cert, max_iter=min(max_iter, _IPM_MAX_ITER), tol=tol,
                                      consider=consider, verbose=verbose)
    if not done:
        done = consider(theta_ipm, "interior-point", mu_ipm)[0]
        warmup = min(it + _WARMUP_ITERS, max_iter)
    while it < max_iter and not done and not failed:
        x_old, e_old = theta, E
        yk, ey = theta, E
        tk = 1.0
        f_y, gE = fgrad(ey)
        g = Xt.T @ gE
        inner = 0
        while it < max_iter and inner < _AL_MAX_INNER and (tried_full or it < warmup):
            it += 1
            inner += 1
            accepted = False
            for _ in range(_MAX_BACKTRACKS):
                x_new = _group_shrink(yk - g / L, alpha / L)
                e_new = Xt @ x_new
                f_new, gE_new = fgrad(e_new)
                D = x_new - yk
                # (a NaN on either side fails the test)
                if f_new <= f_y + float(np.sum(g * D)) + 0.5 * L * float(np.sum(D * D)) + (
                    1e-12 * abs(f_y)
                ):
                    accepted = np.isfinite(f_new) and np.all(np.isfinite(x_new))
                    break
                L *= 2.0
                if not np.isfinite(L):
                    break
            if not accepted:
                # no step at any finite L (overflowing data): the stage gives up
                # at its last accepted iterate
                if verbose:
                    logger.info("fista: backtracking found no step; first-order stage stops")
                failed = True
                break
            gm = L * float(np.linalg.norm(D))
            if float(np.sum((yk - x_new) * (x_new - x_old))) > 0:  # adaptive restart
                tk = 1.0
                yk, ey, f_y, gE = x_new, e_new, f_new, gE_new
            else:
                tn = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * tk * tk))
                beta = (tk - 1.0) / tn
                tk = tn
                yk = x_new + beta * (x_new - x_old)
                ey = e_new + beta * (e_new - e_old)
                f_y, gE = fgrad(ey)
            x_old, e_old = x_new, e_new
            g = Xt.T @ gE
            L *= 0.95
            if eta is None:
                eta = _AL_INNER_TOL0 * max(gm, 1e-300)
            if gm <= eta:
                break
        theta, E = x_old, e_old
        if failed:  # the best candidate so far (or θ = 0) is returned, not certified
            break
        lam = np.maximum(lam - rho * S * E, 0.0)
        eta *= _AL_INNER_DECAY
        obj = cert.primal(theta)
        lb, _, _ = cert.lower_bound(theta, lam, refine=False)
        gap = _relative_gap(obj, lb)
        if verbose:
            logger.info("fista: iter %d objective %.10g bound %.10g gap %.3g", it, obj, lb, gap)
        if gap <= tol:
            done = consider(theta, "", lam)[0]
        if not done and (
            (not tried_full and (gap <= _POLISH_TRIGGER_GAP or it >= warmup)) or it >= max_iter
        ):
            done = _working_set(cert, theta, solver, consider, verbose)
            tried_full = True
    if best is None:
        consider(theta, "", lam)
    gap, theta_b, obj, lb, t, nu, mu, name = best
    P = ncol // 2
    duals = {"sample_duals": nu, "cone_v": mu[:, :P], "cone_w": mu[:, P:], "dual_scale": t}
    return ConvexReLUSolution(theta_b[:, :P], theta_b[:, P:], obj, lb, duals, "fista",
                              name, it, bool(gap <= tol))


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
        loss = cert.loss.expression(z, cert.y)
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


def _restricted(cert, groups, rows, solver):
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
            logger.info("fista: direct Clarabel failed (%s); using CVXPY", exc)
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


def _working_set(cert, theta, solver, consider, verbose):
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
        if verbose:
            logger.info("fista: working set of %d neurons, %d cone rows", len(groups),
                        int(rows[:, groups].sum()))
        try:
            theta_r, mu_r, name = _restricted(cert, groups, rows[:, groups], solver)
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
        if verbose:
            logger.info("fista: working set adds %d cone rows and %d neurons",
                        int(viol.sum()), new.size)
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


def solve_convex_relu(
    X,
    y,
    alpha: float,
    patterns,
    *,
    loss: str = "squared",
    fit_intercept: bool = True,
    method: str = "fista",
    solver: str | None = None,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    program: ConvexReLUProgram | None = None,
    verbose: bool = False,
) -> ConvexReLUSolution:
    """Solve the convex two-layer ReLU program over ``patterns``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Targets (``"squared"``) or labels in {−1, +1} (classification losses).
    alpha : float
        Weight decay, > 0.
    patterns : array-like of bool, shape (n_samples, P)
    loss : {"squared", "squared_hinge", "logistic"}
    fit_intercept : bool
    method : {"fista", "cvxpy"}
        ``"cvxpy"`` solves :class:`ConvexReLUProgram` (the definition).
        ``"fista"`` is the fast solver (see Notes; the name is historical: its
        first stage is now an interior-point method); it stops when the
        certified relative gap is ≤ ``tol`` and warns with a
        ``ConvergenceWarning`` when ``max_iter`` iterations do not get there.
    solver : str, optional
        CVXPY solver (for ``"cvxpy"``, and for the working-set solves of
        ``"fista"``). With ``None`` or ``"CLARABEL"`` and the squared or squared
        hinge loss, ``"fista"`` builds its working-set problems in conic form and
        calls Clarabel directly (no CVXPY compilation); otherwise through CVXPY.
    max_iter : int
        Iteration budget of ``"fista"`` (interior-point iterations, at most
        ``_IPM_MAX_ITER`` = 100, then first-order iterations).
    tol : float
        Relative duality gap at which ``"fista"`` stops.
    program : ConvexReLUProgram, optional
        A program already built for these ``X`` and ``patterns`` (``"cvxpy"``).
    verbose : bool
        Log progress at INFO level.

    Returns
    -------
    ConvexReLUSolution

    Notes
    -----
    The fast solver's first stage is a primal-dual interior-point method
    (Mehrotra predictor–corrector with Nesterov–Todd scaling) on the conic
    form: per neuron ``‖θ_c‖ ≤ τ_c`` (a second-order cone) and its ``n`` cone
    rows. It starts from a strictly feasible point (an interior point of
    every pattern's cone, found by a batched Newton method; neurons whose
    cone has no interior stay at zero), so the weights are always exactly
    cone-feasible. Each Newton system is block diagonal (one
    ``(d+1) × (d+1)`` block per neuron) plus the loss curvature, of rank at
    most ``n``; it is solved with the Woodbury identity (one ``n × n``
    Cholesky factorisation per iteration, ``O(n² P d)`` work) and a step of
    iterative refinement. Every iterate gets the cheap certificate (its
    multipliers ``z_L`` as μ); once that is within ``tol`` the exact one
    decides, on the sparsest version of the iterate (neurons below
    ``1e-3 … 1e-6`` of the largest set to zero) whose objective is no worse,
    since interior-point iterates have no exact zeros. This typically
    certifies in 20–40 iterations.

    If it does not (rounding trouble near the end, or cones without an
    interior that the optimum needs), the second stage runs: a few hundred
    iterations (``_WARMUP_ITERS``) of an augmented Lagrangian method on the
    cone constraints, each subproblem solved by FISTA with adaptive restart, backtracking and group
    soft-thresholding (the prox of ``alpha Σ ‖θ_i‖``). That iterate only says
    roughly which neurons and which cone rows matter: at the optimum most of
    the 2·P neurons are zero and most of the 2·P·n cone rows are slack. The
    program restricted to a *working set* of neurons and, for them, of cone
    rows is then solved exactly (Clarabel on the conic form, or CVXPY), and the
    working set is grown: cone rows the restricted solution violates are added
    (constraint generation: a relaxation whose solution is feasible is optimal
    for the restricted neurons), and so are the neurons whose dual constraint
    ``‖Π_K(−X̃ᵀ D_i ν)‖ ≤ alpha`` (exact cone projection, as in the
    certificate) is violated at its residual (column generation); neurons it
    leaves at zero are dropped. An answer is accepted only when the
    duality-gap certificate over *all* the patterns is ≤ ``tol``; otherwise
    the augmented Lagrangian iterations continue, and the working-set solve
    runs again at ``max_iter``. Since the gap bounds the suboptimality, the
    returned objective is within ``tol`` (relative) of the CVXPY optimum
    whenever ``converged``. The answer is never worse than the zero network
    (a candidate with a larger objective is replaced by ``θ = 0``, certified
    by the better of the two dual points), and when the first-order stage
    cannot find a step at any finite Lipschitz estimate (data whose products
    overflow) it stops at once, unconverged. The returned weights are exactly cone-feasible
    (each neuron projected onto its cone), so :func:`recover_network` gives a
    network with exactly ``objective``. ``duals["sample_duals"]`` is the ν of
    the certificate and ``duals["cone_v"]``/``["cone_w"]`` its multipliers:
    those of the interior-point iterate, or of the exact restricted solve on
    working-set rows (zero on the others, which are slack), replaced, for
    every neuron where that gives a tighter dual constraint, by the
    non-negative least-squares multipliers of the exact cone projection; so
    ``‖X̃ᵀ((2D_i − I) μ_i ∓ D_i ν)‖`` is at most ``alpha / dual_scale`` for
    every neuron.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import enumerate_patterns, solve_convex_relu
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0])
    >>> D = enumerate_patterns(X)
    >>> a = solve_convex_relu(X, y, 0.01, D, method="fista")
    >>> b = solve_convex_relu(X, y, 0.01, D, method="cvxpy")
    >>> round(a.objective, 6), round(b.objective, 6), a.converged
    (0.03288, 0.03288, True)
    """
    X = _check_X(X)
    y = _check_y(y, X.shape[0])
    alpha = check_positive(alpha, "alpha")
    loss_obj = _get_loss(loss)
    _check_labels(y, loss_obj)
    patterns = _check_patterns(patterns, X.shape[0])
    if method not in ("fista", "cvxpy"):
        raise ValueError(f"method must be 'fista' or 'cvxpy', got {method!r}")
    max_iter = _check_count(max_iter, "max_iter")
    tol = check_positive(tol, "tol")
    solver = check_solver(solver)
    if patterns.shape[1] == 0:
        raise ValueError("patterns must hold at least one (nonzero) pattern")
    if method == "cvxpy":
        if program is None:
            program = ConvexReLUProgram(X, patterns, loss=loss_obj, fit_intercept=fit_intercept)
        return program.solve(y, alpha, solver=solver)
    Xt = _augment(X, fit_intercept)
    cert = _Certifier(Xt, patterns, loss_obj, y, alpha)
    with threadpool_limits(limits=1, user_api="blas"):
        # small dense products: one BLAS thread is faster and does not oversubscribe
        sol = _solve_fast(cert, max_iter=max_iter, tol=tol, solver=solver,
                          verbose=verbose)
    if not sol.converged:
        warnings.warn(
            f"The fast convex ReLU solver stopped after {sol.n_iter} iterations "
            f"(max_iter={max_iter}) with relative duality gap {sol.relative_gap:.2e} > "
            f"tol={tol:.1e}; increase max_iter or use method='cvxpy'.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return sol


# ---------------------------------------------------------------------------
# certificates for arbitrary networks
# ---------------------------------------------------------------------------


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
    (module docstring). ``c(ν)`` is bounded with the cone multipliers
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
    X = _check_X(X)
    y = _check_y(y, X.shape[0])
    alpha = check_positive(alpha, "alpha")
    loss_obj = _get_loss(loss)
    patterns = _check_patterns(patterns, X.shape[0])
    nu = _check_y(sample_duals, X.shape[0], "sample_duals")
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


def certify(
    X,
    y,
    hidden_weights,
    output_weights,
    alpha: float,
    *,
    fit_intercept: bool = True,
    loss: str = "squared",
    patterns="auto",
    n_patterns: int = 100,
    dual: str = "solve",
    method: str = "auto",
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = CERTIFY_TOL,
    random_state=None,
) -> Certificate:
    """Certify a two-layer ReLU network: its objective, a lower bound and the gap.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    hidden_weights : array-like of shape (n_features + 1, m)
        ``U`` with the bias row last; shape ``(n_features, m)`` when
        ``fit_intercept=False``.
    output_weights : array-like of shape (m,)
        ``a`` (no output bias).
    alpha : float
        Weight decay of the objective (1/n) Σ ℓ + (alpha/2)(‖U‖²_F + ‖a‖²).
    fit_intercept : bool
    loss : {"squared", "squared_hinge", "logistic"}
    patterns : "auto" or array-like of bool, shape (n_samples, P)
        ``"auto"``: every pattern when :func:`enumerate_patterns` can list them
        (``rank(X̃) ≤ 3``, or small n; the bound is then over all networks of any
        width), otherwise ``n_patterns`` sampled patterns;
        the network's own neurons' patterns are always added, so the bound holds
        for the given network.
    n_patterns : int
        Number of gates sampled when the patterns are not enumerated.
    dual : {"solve", "residual"}
        Where the dual point comes from: ``"solve"`` solves the convex program
        on the pattern set (fast solver) for the best bound; ``"residual"``
        uses the network's own residual ``ν = (1/n) ℓ'(ŷ)`` (cheap; tight only
        when the network is optimal).
    method : {"auto", "fista", "cvxpy"}
        Solver for ``dual="solve"`` (:func:`solve_convex_relu`); ``"auto"``
        uses ``"cvxpy"`` when ``n_samples * n_patterns ≤ 1_000``, else
        ``"fista"``.
    max_iter, tol : int, float
        Passed to the fast solver. The default ``tol`` (1e-7) keeps the bound of
        an optimal network within 1e-7 (relative) of its objective.
    random_state : int, RandomState instance or None

    Returns
    -------
    Certificate

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import certify
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0])
    >>> U, a = np.array([[1.0], [0.0]]), np.array([0.1])
    >>> c = certify(X, y, U, a, 0.01)
    >>> c.is_global, round(c.lower_bound, 6), bool(c.gap >= 0)
    (True, 0.03288, True)
    """
    X = _check_X(X)
    y = _check_y(y, X.shape[0])
    alpha = check_positive(alpha, "alpha")
    loss_obj = _get_loss(loss)
    _check_labels(y, loss_obj)
    U, a = _check_network(X, hidden_weights, output_weights, fit_intercept)
    if dual not in ("solve", "residual"):
        raise ValueError(f"dual must be 'solve' or 'residual', got {dual!r}")
    if method not in ("auto", "fista", "cvxpy"):
        raise ValueError(f"method must be 'auto', 'fista' or 'cvxpy', got {method!r}")
    n_patterns = _check_count(n_patterns, "n_patterns")
    max_iter = _check_count(max_iter, "max_iter")
    tol = check_positive(tol, "tol")
    Xt = _augment(X, fit_intercept)
    objective = network_objective(X, y, U, a, alpha, loss=loss_obj, fit_intercept=fit_intercept)
    if isinstance(patterns, str):
        if patterns != "auto":
            raise ValueError(f"patterns must be 'auto' or a boolean array, got {patterns!r}")
        if _can_enumerate(_arrangement_basis(X, fit_intercept)[0], X.shape[0]):
            D, complete = enumerate_patterns(X, fit_intercept=fit_intercept), True
        else:
            D, complete = sample_patterns(X, n_patterns, fit_intercept=fit_intercept,
                                          random_state=random_state), False
    else:
        D, complete = _check_patterns(patterns, X.shape[0]), False
    used = (np.abs(a) > 0) & (np.linalg.norm(U, axis=0) > 0)
    D = _unique_patterns(np.hstack([D, Xt @ U[:, used] >= 0]))
    if D.shape[1] == 0:  # no neuron can be active on these data: only ν matters
        D = np.ones((X.shape[0], 1), dtype=bool)
    cert = _Certifier(Xt, D, loss_obj, y, alpha)
    if dual == "solve":
        if method == "auto":
            method = "cvxpy" if X.shape[0] * D.shape[1] <= AUTO_CVXPY_SIZE else "fista"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sol = solve_convex_relu(X, y, alpha, D, loss=loss_obj, fit_intercept=fit_intercept,
                                    method=method, max_iter=max_iter, tol=tol)
        lb = sol.lower_bound
    else:
        yhat = np.maximum(Xt @ U, 0.0) @ a
        nu = loss_obj.derivative(yhat, y) / X.shape[0]
        lb = cert.lower_bound(None, np.zeros((X.shape[0], 2 * D.shape[1])), nu=nu)[0]
    gap = objective - lb
    return Certificate(objective, lb, gap, _relative_gap(objective, lb), complete,
                       D.shape[1])
