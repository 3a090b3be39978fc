"""Numeric kernels shared by several modules (private).

Norms safe from overflow and underflow, the sort-free simplex threshold of the
ℓ1-ball, simplex and nuclear-ball projections, and the selected eigenpairs of a
symmetric matrix and the spectral-ball projection built on them (with a
Cholesky certificate for matrices already inside the ball).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
from scipy.linalg import lapack

from ._threads import foreign_serial, serial_blas

# Sums of squares below this have lost digits to underflow: norms rescale first.
_SQUARES_TINY = 1e-280
# workspace sizes of sytrd, cached by size (the query costs as much as a small call)
_SYTRD_LWORK: dict = {}
# residual / orthogonality (relative) the selected eigenvectors must reach
_EIG_CHECK_RTOL = 1e-12
# bisection's accuracy, relative to the largest eigenvalue: enough for inverse
# iteration to converge (its vectors are checked); half the bisection steps of full
# accuracy. (At 1e-6 the vectors of close eigenvalues failed the orthogonality check.)
_BISECTION_RTOL = 1e-8
# Above this share of eigenvalues over the threshold, all eigenpairs of the
# tridiagonal matrix are cheaper than the selected ones (measured at n = 64 and
# 256: the two cost the same near a quarter).
_SELECTED_MAX_SHARE = 0.25


def _simplex_threshold(values: np.ndarray, total: float) -> float:
    """Return τ with ``Σ max(values − τ, 0) = total`` (``values`` 1-D, total > 0).

    The largest entry is always in the support, so ``total >= max − τ``: every
    entry at or below ``max − total`` is outside it and can be dropped before
    Michelot's (1986) pivoting, which repeatedly takes τ as the mean excess over
    the current support and drops entries at or below it. Both steps keep the
    exact support, hence the same τ as the sort-based formula.
    """
    top = values.max()
    # ``>=`` keeps the maximum even when ``total`` is below its rounding (then τ = max)
    support = values[values >= top - total]
    with np.errstate(over="ignore", invalid="ignore"):
        excess = support.sum() - total
    if not np.isfinite(excess):
        # The sum of huge entries overflows: τ(v, t) = c τ(v / c, t / c).
        c = float(np.abs(values).max())
        return c * _simplex_threshold(values / c, total / c)
    tau = excess / support.size
    while True:
        kept = support[support > tau]
        # (None kept: τ is the maximum to rounding, total being below its ulp.)
        if kept.size == support.size or kept.size == 0:
            return float(tau)
        support = kept
        tau = (support.sum() - total) / support.size


def _eigenpairs_above(gram: np.ndarray, threshold: float):
    """Eigenpairs of a symmetric matrix with eigenvalue above ``threshold``.

    Only those are computed: Householder tridiagonalisation, the eigenvalues of
    the tridiagonal matrix above the threshold by bisection (to 1e-8 relative: the
    values returned are the Rayleigh quotients of the vectors), inverse iteration
    for them and the Householder reflectors applied to those vectors only
    (LAPACK ``sytrd``, ``stebz``, ``stein``, ``ormqr``). For the 64 × 64 Gram matrices of
    the network benchmark this is about half the time of a full ``eigh``, where
    the back-transformation of every eigenvector dominates. When more than a
    quarter of the eigenvalues exceed the threshold (counted first), all
    eigenpairs of the tridiagonal matrix come from divide and conquer
    (``stevd``) instead, and still only those above are transformed back. The vectors are
    checked (residual and orthogonality at rounding level); ``None`` means
    "use a full eigendecomposition" (a split tridiagonal matrix, no convergence
    of inverse iteration, or a failed check).

    Returns ``(values, vectors)`` (ascending values) or ``None``.
    """
    n = gram.shape[0]
    if n < 3:
        return None
    lwork = _SYTRD_LWORK.get(n)
    if lwork is None:
        lwork = _SYTRD_LWORK[n] = int(lapack.dsytrd_lwork(n, lower=1)[0])
    c, d, e, tau, info = lapack.dsytrd(gram, lower=1, lwork=lwork)
    if info != 0 or not e.all():  # (a zero splits the matrix)
        return None
    # only the eigenvalues above the threshold, by bisection (Sturm counts): a
    # third of the time of all of them by root-free QR (sterf) at n = 64
    radii = np.abs(e)
    bound = d.copy()
    bound[:-1] += radii
    bound[1:] += radii
    bound = float(bound.max())  # Gershgorin: every eigenvalue is at most this
    if not math.isfinite(bound):
        return None
    if not bound > threshold:
        return np.zeros(0), np.zeros((n, 0))
    top_end = 2.0 * abs(bound) + 1.0
    # m eigenvalues above the threshold have m threshold² < Σ λ² = ‖T‖²_F. Only
    # when that allows more than the share are they counted (Sturm counts at the
    # ends: bisection to a tolerance as wide as the interval stops at once, a few
    # µs). Either way only the choice of method depends on it, not the result.
    m = 0
    if float(d @ d) + 2.0 * float(e @ e) > _SELECTED_MAX_SHARE * n * threshold * threshold:
        m, _, _, _, info = lapack.dstebz(d, e, 1, threshold, top_end, 0, 0, top_end, b"E")
        if info != 0:
            return None
        if m == 0:
            return np.zeros(0), np.zeros((n, 0))
    if _SELECTED_MAX_SHARE * n < m:
        # Many: bisection and inverse iteration cost O(n) per eigenvalue each,
        # all eigenpairs of the tridiagonal matrix (divide and conquer) less.
        values, z, info = lapack.dstevd(d, e)
        if info != 0:
            return None
        keep = values > threshold
        top, z = values[keep], z[:, keep]
        m = top.size
    else:
        # (to _BISECTION_RTOL only: the values returned are the Rayleigh quotients of
        # the vectors, exact to rounding once the vectors pass the check below)
        m, values, _, _, info = lapack.dstebz(
            d, e, 1, threshold, top_end, 0, 0, _BISECTION_RTOL * bound, b"E"
        )
        if info != 0:
            return None
        top = values[:m][values[:m] > threshold]  # (ascending: order "E")
        m = top.size
        if m:
            iblock = np.ones(n, dtype=np.int32)  # (e has no zero: one block)
            isplit = np.zeros(n, dtype=np.int32)
            isplit[0] = n
            z, info = lapack.dstein(d, e, top, iblock, isplit)
            if info != 0:
                return None
    if m == 0:
        return top, np.zeros((n, 0))
    vectors = np.empty((n, m))
    vectors[0] = z[0]
    vectors[1:] = lapack.dormqr(b"L", b"N", c[1:, :-1], tau, z[1:], max(1, 64 * m))[0]
    product = gram @ vectors
    top = np.einsum("ij,ij->j", vectors, product)  # (Rayleigh quotients)
    scale = abs(float(top.max()))  # the largest eigenvalue (``gram`` is PSD: its norm)
    residual = product - vectors * top
    # (written so that NaN fails the test)
    if not (np.abs(residual).max() <= _EIG_CHECK_RTOL * scale
            and np.abs(vectors.T @ vectors - np.eye(m)).max() <= _EIG_CHECK_RTOL):
        return None
    # ascending, and above the threshold (a quotient at it to rounding clips nothing)
    order = np.argsort(top)
    order = order[top[order] > threshold]
    return top[order], vectors[:, order]


def _column_norms(V: np.ndarray) -> np.ndarray:
    """Euclidean norms of the columns (of the whole vector if 1-D), safe from overflow."""
    # einsum neither warns on overflow nor allocates V*V.
    squares = np.einsum("ij,ij->j", V, V) if V.ndim == 2 else np.einsum("i,i->", V, V)[None]
    if np.isfinite(squares.sum()) and squares.min() >= _SQUARES_TINY:
        return np.sqrt(squares)
    # Entries near sqrt(max float) overflow the squares, entries near sqrt(min
    # float) underflow them: rescale by the largest. (Zero columns come here too,
    # and with NaN or inf in V the result is NaN or inf, which callers detect.)
    with np.errstate(invalid="ignore"):
        scale = np.abs(V).max(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        scaled = V / scale
        squares = (np.einsum("ij,ij->j", scaled, scaled) if V.ndim == 2
                   else np.einsum("i,i->", scaled, scaled)[None])
        return scale * np.sqrt(squares)


def _frobenius(V: np.ndarray) -> float:
    """Frobenius norm of ``V`` (any shape), safe from overflow and underflow."""
    flat = V.reshape(-1)
    with np.errstate(over="ignore", under="ignore"):
        squares = flat @ flat  # BLAS dot: 3x faster than einsum on large vectors
    if np.isfinite(squares) and squares >= _SQUARES_TINY:
        return float(np.sqrt(squares))
    return float(_column_norms(flat)[0])


# Gram matrices at least this large have their LAPACK calls on one thread outside a
# fit too (entering and leaving that setting costs ~35 µs; the calls ≥ 3 ms).
_SERIAL_LAPACK_MIN = 128

# SpectralBall projects through V's Gram matrix when max |V| is in this range
# (LAPACK's inverse iteration squares the Gram matrix's entries: beyond about
# 1e±75 they overflow or underflow) and r >= _GRAM_MIN_RATIO σ_max (the Gram
# matrix's eigenvalues are exact to eps λ_max, so σ near r carries a relative
# error of eps (σ_max / r)²); otherwise it uses an SVD.
_GRAM_SAFE = (1e-70, 1e70)
_GRAM_MIN_RATIO = 1e-3


def _spectral_clip(V: np.ndarray, r: float, certify: bool = True):
    """Projection of ``V`` onto ``{W : σ_max(W) <= r}`` and its dual ``Σ (σ_i − r)_+``.

    Singular values above ``r`` are clipped to ``r``; the dual (the nuclear norm
    of the residual) is returned as ``{"norm": float}``. ``certify=False``
    skips the Cholesky test for a matrix inside the ball (for a ``V`` expected
    outside, e.g. a step from a point on the sphere: the test would fail).
    """
    scale = max(float(V.max()), -float(V.min()))  # (max |V| without |V|; NaN stays NaN)
    if scale == 0.0 or r >= np.sqrt(V.size) * scale:
        # ‖V‖₂ <= ‖V‖_F <= sqrt(mn) max|V| <= r: inside.
        return V, {"norm": 0.0}
    if _GRAM_SAFE[0] < scale < _GRAM_SAFE[1] and r >= _GRAM_MIN_RATIO * scale:
        found = _gram_eigenpairs(V, r, certify)
        if found is not None and found[0].size == 0:
            return V, {"norm": 0.0}
        if found is not None and r * r >= _GRAM_MIN_RATIO**2 * found[0][-1]:
            sc, Qc = np.sqrt(found[0]), found[1]
            shrink = 1.0 - r / sc
            if V.shape[0] >= V.shape[1]:
                W = V - (V @ Qc) * shrink @ Qc.T
            else:
                W = V - (Qc * shrink) @ (Qc.T @ V)
            return W, {"norm": float(np.sum(sc - r))}
    # Extreme scales, or r far below σ_max: an SVD, with the clipped matrix
    # rebuilt from its terms (W = V - ... would cancel to rounding noise > r).
    U, sigma, Vt = np.linalg.svd(V, full_matrices=False)
    above = sigma > r
    if not above.any():
        return V, {"norm": 0.0}
    return (U * np.minimum(sigma, r)) @ Vt, {"norm": float(np.sum(sigma[above] - r))}



def _below_certified(gram: np.ndarray, threshold: float) -> bool:
    """Whether every eigenvalue of the symmetric PSD ``gram`` is certainly below ``threshold``.

    A Cholesky factorisation of ``(1 − τ) threshold I − gram`` (LAPACK
    ``potrf``, n³/3 flops: a quarter of the tridiagonal reduction the
    eigenpairs need, and level-3 BLAS) succeeds in floating point only if that
    matrix is positive definite up to its backward error, at most about
    ``n² eps threshold`` once it succeeds (its norm is then below
    ``threshold``); ``τ = 2 n² eps`` covers that, so success proves
    ``λ_max(gram) < threshold``. Failure proves nothing (a matrix within ``τ``
    of the bound, or outside it): callers then compute the eigenpairs.
    """
    n = gram.shape[0]
    tau = 2.0 * n * n * np.finfo(float).eps
    if not (threshold > 0 and tau < 0.5):
        return False
    shifted = np.negative(gram)
    shifted[np.diag_indices(n)] += (1.0 - tau) * threshold
    factor, info = lapack.dpotrf(shifted, lower=1, overwrite_a=1, clean=0)
    # (NaN passes potrf's pivot tests; every entry reaches some diagonal pivot)
    return info == 0 and bool(np.all(np.isfinite(np.diagonal(factor))))


def _gram_eigenpairs(V: np.ndarray, r: float, certify: bool = True):
    """Eigenpairs of the smaller Gram matrix with eigenvalue above r², or None.

    An eigendecomposition of the Gram matrix instead of an SVD: about 3x
    faster for 64 x 64. Only directions with σ > r change, and for those
    σ² >= r² keeps the Gram matrix's rounding (eps σ_max²) harmless: W and
    the dual agree with an SVD clip to ~1e-13 relative. Only the eigenpairs
    above r² are computed (see _eigenpairs_above), and none when a Cholesky
    factorisation certifies that there are none (:func:`_below_certified`:
    inside the ball, the common case in training, at a fraction of the cost;
    skipped when ``certify`` is False).
    """
    gram = V.T @ V if V.shape[0] >= V.shape[1] else V @ V.T
    threshold = r * r
    # SciPy's LAPACK calls on one thread when they are long enough to be worth the
    # switch (a fit has already switched): with NumPy's pool spinning from the
    # product above, two-thread calls fight it (512 x 512: 93 against 53 ms).
    switch = gram.shape[0] >= _SERIAL_LAPACK_MIN and not foreign_serial()
    with serial_blas() if switch else contextlib.nullcontext():
        if certify and _below_certified(gram, threshold):
            return np.zeros(0), np.zeros((gram.shape[0], 0))
        found = _eigenpairs_above(gram, threshold)  # (its vectors are checked: finite)
    if found is None:
        eigenvalues, Q = np.linalg.eigh(gram)
        keep = eigenvalues > threshold
        found = eigenvalues[keep], Q[:, keep]
        if not (np.all(np.isfinite(found[0])) and np.all(np.isfinite(found[1]))):
            return None
    return found
