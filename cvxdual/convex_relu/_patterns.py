"""Activation patterns ``D = 1[X̃ g ≥ 0]``: sampled, or every one by enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_count, check_samples
from ._common import _augment
from ._constants import _MAX_ENUMERATED, _MAX_RAY_SUBSETS, _RAY_TOL


def _check_patterns(patterns, n):
    """``patterns`` as a boolean array of shape (n, P) (0/1 values are accepted)."""
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
    """Numerical rank of ``Xt`` and its thin SVD ``(rank, U, s, Vt)``."""
    U, s, Vt = np.linalg.svd(Xt, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return 0, U, s, Vt
    tol = s[0] * max(Xt.shape) * np.finfo(float).eps
    return int(np.sum(s > tol)), U, s, Vt


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
    X = check_samples(X)
    n_patterns = check_count(n_patterns, "n_patterns")
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
    X = check_samples(X)
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
    """Whether :func:`enumerate_patterns` lists at most ``limit`` patterns and accepts."""
    return _n_cells_bound(rank, n) <= limit and (
        rank <= 3 or math.comb(n, rank - 1) <= _MAX_RAY_SUBSETS)


def _default_patterns(X, n_patterns, fit_intercept, random_state, *, limit=None):
    """Every pattern if there are at most ``limit`` (default ``n_patterns``), else sampled ones.

    Returns the patterns and whether they are complete (enumerated).
    """
    limit = n_patterns if limit is None else limit
    r = _arrangement_basis(X, fit_intercept)[0]
    if _can_enumerate(r, X.shape[0], min(limit, _MAX_ENUMERATED)):
        return enumerate_patterns(X, fit_intercept=fit_intercept), True
    return sample_patterns(X, n_patterns, fit_intercept=fit_intercept,
                           random_state=random_state), False
