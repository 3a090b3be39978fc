"""The chord method for warm-started L2-ball solves (private).

Consecutive solves in a training loop see slowly changing features, so the
Hessian of one solve is a good iteration matrix for the next: the KKT system
in ``(θ, μ)`` is solved with the inverse of an earlier ``H + μP`` (kept in
float32 and BFGS-updated), refreshed only when the iteration stops contracting.
When the full Hessian is too costly, the matrix comes from a row sketch (an
importance sample by curvature, drawn afresh in each solve) and preconditions
Newton-CG steps with exact Hessian-vector products instead; in the binding
case both Newton systems are solved together, to accuracies that follow the
KKT residual (an inexact Newton method with forcing terms: quadratic
convergence once near).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.linalg
import scipy.linalg.blas
import scipy.linalg.lapack

from .._linalg import _frobenius
from ._config import _HeadConfig
from ._newton import _along, _backtrack, _factor
from ._objective import _Smooth


class _ChordMatrix:
    """``(H + μP)⁻¹`` at one point, applied by a matrix product, with BFGS updates.

    The inverse is kept in single precision: a chord matrix only sets the rate
    of the iteration (its fixed point is the exact KKT point), and a float32
    product reads half the memory of a float64 triangular solve. Each chord
    step updates it (BFGS, a rank-2 change) with the observed change of the
    Lagrangian gradient, so it follows the Hessian as the features drift from
    solve to solve and needs fewer full refreshes.

    The updates are kept aside as pairs of vectors (``B_k = B_0 + Σ u_j s_jᵀ
    + s_j u_jᵀ``), applied to each product in float64 at ``O(k)`` vector cost
    and folded into the stored matrix by one rank-``2k`` BLAS update
    (``syr2k``) once :data:`_MAX_PENDING` have gathered: a chord step then
    reads the dense matrix once per product instead of also rewriting it, and
    a copy shares the dense matrix until one of them folds its updates in.
    """

    def __init__(self, smooth: _Smooth, z, mu, rows=None):
        # ``rows``: (indices, weights) of a row sketch (see _sketch_rows): its
        # Hessian instead of all rows'.
        self.n_rows = smooth.n if rows is None else len(rows[0])
        self.sketched = rows is not None
        if rows is not None:
            smooth, z = smooth.rows(*rows), z[rows[0]]
        mask = smooth.mask
        inverse = None
        for dtype in (np.float32, np.float64):
            # (the upper triangle only, the one potrf and potri read and write)
            H = smooth.hessian(z, dtype=dtype, upper=True)
            H[np.diag_indices_from(H)] += (mu * mask).astype(dtype)
            c, info = scipy.linalg.lapack.get_lapack_funcs("potrf", (H,))(
                H, lower=False, overwrite_a=True
            )
            if info == 0:
                inv, info = scipy.linalg.lapack.get_lapack_funcs("potri", (c,))(
                    c, lower=False, overwrite_c=True
                )
                if info == 0 and np.all(np.isfinite(np.diag(inv))):
                    # potri fills the upper triangle of its (Fortran-ordered) result,
                    # the triangle solve() and update() use: no mirror needed.
                    inverse = inv.T
                    break
        if inverse is None:
            # Singular in both precisions: add a small multiple of I (as _factor).
            H = smooth.hessian(z)
            H[np.diag_indices_from(H)] += mu * mask
            factor = _factor(H)
            inverse = scipy.linalg.cho_solve(factor, np.eye(H.shape[0]), check_finite=False)
        self.inverse = np.ascontiguousarray(inverse)
        self.centre = smooth.multinomial
        self.shape = (smooth.K, smooth.p1)
        self._clear()
        self._owned = True  # whether ``inverse`` may be written in place

    def __setstate__(self, state):
        # (matrices pickled before the updates were kept aside: none pending)
        self.__dict__.update(state)
        if "_terms" not in state:
            self._clear()
            self._owned = True

    def _clear(self):
        # pending updates: rows 2j and 2j + 1 hold u_j and s_j, the first 2 k in use
        self._terms = np.empty((2 * _MAX_PENDING, self.inverse.shape[0]))
        self._k = 0

    def copy(self) -> _ChordMatrix:
        """An independent copy (the dense matrix is shared until either writes it)."""
        new = object.__new__(_ChordMatrix)
        new.__dict__.update(self.__dict__)
        new._terms = self._terms.copy()
        self._owned = new._owned = False
        return new

    def update(self, s, y, By=None) -> bool:
        """BFGS update of the inverse with the step ``s`` and gradient change ``y``.

        ``By``, the current matrix's product with ``y`` if the caller has it
        (see :meth:`products`), saves one product. Returns whether the pair was
        used (not when ``sᵀy`` is not positive: the update would lose definiteness).
        """
        sy = float(s @ y)
        if not sy > 1e-12 * float(np.sqrt(float(s @ s) * float(y @ y))):
            return False
        if By is None:
            By = self.products(y[:, None])[:, 0]
        yBy = float(y @ By)
        rho = 1.0 / sy
        # B+ = B - ρ (s Byᵀ + By sᵀ) + (ρ² yBy + ρ) s sᵀ = B + u sᵀ + s uᵀ with
        # u = (ρ² yBy + ρ)/2 s - ρ By: a symmetric rank-2 term.
        if self._k == _MAX_PENDING:
            self._fold()
        u, s_ = self._terms[2 * self._k], self._terms[2 * self._k + 1]
        np.multiply(0.5 * (rho * rho * yBy + rho), s, out=u)
        u -= rho * By
        s_[:] = s
        self._k += 1
        return True

    def newest_term(self, R):
        """The last update's term applied to the columns of ``R``: ``(u sᵀ + s uᵀ) R``."""
        pair = self._terms[2 * self._k - 2 : 2 * self._k]
        return pair.T @ (pair @ R)[::-1]

    def products(self, R):
        """Return ``B R`` for the columns of ``R`` (without the gauge centring of :meth:`solve`).

        (From the upper triangle of ``inverse.T``, the one the updates maintain: the
        other one is not kept.)
        """
        B = self.inverse
        symv = _blas(B.dtype)[0]
        m = R.shape[1]
        X = np.empty((m, R.shape[0]))
        for j in range(m):
            X[j] = symv(1.0, B.T, R[:, j].astype(B.dtype), lower=0)
        X = X.T
        if self._k:
            # Σ u_j (s_jᵀ R) + s_j (u_jᵀ R): the rows' products, swapped in pairs
            T = self._terms[: 2 * self._k]
            X += T.T @ (T @ R).reshape(self._k, 2, m)[:, ::-1].reshape(-1, m)
        return X

    def solve(self, R):
        """Return ``(H + μP)⁻¹ R`` for the columns of ``R`` (the chord matrix's product)."""
        return self.centred(self.products(R))

    def centred(self, X):
        """The columns of ``X`` with the multinomial gauge removed.

        Rounding in single precision would otherwise add a common row to every
        class, which changes ‖W‖ but not the loss, and the iteration would stall.
        """
        if not self.centre:
            return X
        blocks = X.T.reshape(X.shape[1], *self.shape)
        blocks = blocks - np.add.reduce(blocks, axis=1, keepdims=True) / self.shape[0]
        return blocks.reshape(X.shape[1], -1).T

    def _fold(self):
        """Add the pending updates to the stored matrix (one ``syr2k``, in place if owned)."""
        if not self._k:
            return
        B = self.inverse if self._owned else self.inverse.copy()
        dt = B.dtype
        syr2k = _blas(dt)[1]
        T = self._terms[: 2 * self._k]
        # B.T is the Fortran-ordered view of the C array: syr2k writes its upper triangle
        out = syr2k(1.0, T[0::2].T.astype(dt), T[1::2].T.astype(dt), beta=1.0, c=B.T,
                    lower=0, overwrite_c=True)
        self.inverse = B if np.shares_memory(out, B) else np.ascontiguousarray(out.T)
        self._owned = True
        self._k = 0


# Updates a chord matrix keeps aside before folding them into its dense matrix: their
# products cost O(k) vector operations each, the fold about one pass over the matrix.
_MAX_PENDING = 16


@functools.lru_cache(maxsize=4)
def _blas(dtype):
    """BLAS ``symv`` and ``syr2k`` of a precision (looked up once)."""
    probe = np.zeros((1, 1), dtype=dtype)
    return scipy.linalg.blas.get_blas_funcs(("symv", "syr2k"), (probe,))


def _chord_rows(smooth: _Smooth, config: _HeadConfig) -> int | None:
    """Rows the chord matrix's Hessian is assembled from: ``n``, fewer (a sketch), or None.

    All rows while the Hessian costs at most ``chord_max_work``; above, a
    uniform row sketch of ``sketch_rows_per_param`` rows per parameter if that
    is affordable and there are at least ``sketch_min_params`` parameters; None
    otherwise (or when the dense inverse is too large).
    """
    params = smooth.p1 * smooth.K
    if params > config.chord_max_params:
        return None
    if smooth.n * params**2 <= config.chord_max_work:
        return smooth.n
    if params < config.sketch_min_params:
        return None
    rows = min(smooth.n, int(np.ceil(config.sketch_rows_per_param * params)))
    return rows if rows * params**2 <= config.chord_max_work else None


def _sketch_rows(smooth: _Smooth, rows: int, draw: int, z=None):
    """A row sketch of ``rows`` draws: ``(indices, weights)``, or None for all rows.

    Rows are drawn with replacement with probabilities ``q_i`` proportional to
    their share of the Hessian's trace at the scores ``z`` (80 %; the rest
    uniform, so that no row is left out), and weighted ``w_i c_i / (rows q_i)``
    (``c_i`` the times drawn): the sketched Hessian is an unbiased estimate of
    the full one, with far less variance than a uniform sample when the
    curvature sits on few rows (the uncertain ones). Without ``z`` the rows
    are drawn uniformly. Deterministic (seeded by the problem size
    and ``draw``, the refresh count) so that solves are reproducible; which
    rows are drawn only changes the rate of the iteration, never its fixed point.
    """
    if rows >= smooth.n:
        return None
    q = None
    if z is not None:
        share = smooth.curvature_weights(z)
        total = float(share.sum())
        if np.isfinite(total) and total > 0:
            q = 0.8 * (share / total) + 0.2 / smooth.n
    if q is None:
        q = np.full(smooth.n, 1.0 / smooth.n)
    rng = np.random.default_rng((smooth.n, smooth.p1, smooth.K, draw))
    drawn = rng.choice(smooth.n, size=rows, p=q / q.sum())  # (sums to 1 up to rounding)
    idx, counts = np.unique(drawn, return_counts=True)
    return idx, smooth.w[idx] * counts / (rows * q[idx])


def _fresh_matrix(smooth: _Smooth, z, mu, refreshes, config: _HeadConfig):
    """A chord matrix at the scores ``z`` (all rows or a new sketch), or None.

    None when the solve has used its ``chord_max_refresh`` refreshes, when no
    chord matrix is affordable, or when the Hessian cannot be factored.
    """
    if refreshes == config.chord_max_refresh:
        return None
    rows = _chord_rows(smooth, config)
    if rows is None:
        return None
    try:
        return _ChordMatrix(smooth, z, mu, _sketch_rows(smooth, rows, refreshes, z))
    except np.linalg.LinAlgError:
        return None


def _solve_l2_chord(smooth: _Smooth, radius, theta, mu, factor, tol, config: _HeadConfig):
    """Solve the binding L2 problem by a chord method on its KKT system.

    Unknowns ``(θ, μ)``, equations ``∇f(θ) + μPθ = 0`` and ``½(‖Pθ‖² − r²) = 0``
    (as :func:`~cvxdual.heads._l2._polish_l2`), but every step uses a :class:`_ChordMatrix`
    ``factor``, the inverse of an earlier ``H + μP`` (from a previous solve on
    nearby features, BFGS-updated since) instead of the current Hessian: one
    gradient and one product with a dense matrix per step. When
    a step contracts the residual by less than ``chord_rate`` the factor is
    refreshed at the current iterate (a Newton step). The answer is returned
    only when the relative KKT residual reaches ``kkt_chord_rtol`` with
    ``μ > 0`` and ``|‖W‖ − r| <= tol r``, so it certifies the KKT conditions of
    the convex ball problem.

    When ``factor`` is a row sketch (:func:`_chord_rows`), each step instead
    solves its two systems with ``H + μP`` by conjugate gradients on exact
    Hessian-vector products preconditioned by ``factor`` (Newton-CG): a
    sketch misses the curvature of some directions, and plain chord steps
    then stall short of ``kkt_chord_rtol``.

    Returns ``(θ, λ, n_iter, factor)`` or None (no convergence, or the bound
    seems not to bind).
    """
    mask = smooth.mask
    previous, since, refreshes = np.inf, 0, 0
    last = None  # (θ, ∇f, Pθ, μ) of the previous iterate, for the BFGS update
    known = None  # the chord matrix's products with the previous iterate's [r1, Pθ]
    if factor is not None:
        factor = factor.copy()  # (updated in place below; the caller's is not changed)
    for it in range(config.chord_max_iter + 1):
        grad, z, pt, r1, r2, residual = _kkt_point(smooth, radius, theta, mu)
        pair = None  # (step, change of the Lagrangian's gradient) since the last iterate
        if last is not None:
            pair = (theta - last[0], grad - last[1] + mu * (pt - last[2]))
            last_mu = last[3]
        last = (theta, grad, pt, mu)
        if not np.isfinite(residual):
            return None
        if residual <= config.kkt_chord_rtol:
            if pair is not None:  # (the last step's curvature, for the next solve)
                factor.update(*pair)
                pair = None
            if mu <= 0:
                return None
            norm = float(np.sqrt(pt @ pt))
            if abs(norm - radius) <= tol * radius:
                return theta, mu * norm, it, factor
            # Stationary to the tolerance but not yet on the sphere to ``tol``:
            # onto it (W scaled by r / ‖W‖: an O(r2) move), answered if the
            # residual there still passes, else the iteration goes on from it.
            theta = theta.copy()
            theta[mask == 1] *= radius / norm
            grad, z, pt, r1, r2, residual = _kkt_point(smooth, radius, theta, mu)
            last = (theta, grad, pt, mu)
            if residual <= config.kkt_chord_rtol:
                return theta, mu * float(np.sqrt(pt @ pt)), it, factor
        if it == config.chord_max_iter:
            return None
        stalled = since >= config.chord_refresh_gap and residual > config.chord_rate * previous
        if factor is None or stalled:
            factor = _fresh_matrix(smooth, z, mu, refreshes, config) if mu > 0 else None
            if factor is None:
                return None
            pair = known = None  # (a new matrix: the old one's update would be lost)
            refreshes += 1
            since = 0
        since += 1
        previous = residual
        if getattr(factor, "sketched", False):  # (matrices pickled before sketches: full)
            if pair is not None:
                factor.update(*pair)
            # A sketched matrix: Newton-CG on the KKT system instead (exact products
            # with H + μP, the chord matrix as preconditioner), as in _solve_free_chord.
            def product(V, z=z, mu=mu):
                return smooth.hessp(z, V) + mu * (mask[:, None] * V)

            # Both systems by conjugate gradients, their products shared, to a
            # relative accuracy that follows the residual (an inexact Newton
            # method with forcing terms ~ the residual: superlinear, where a
            # fixed pcg_rtol, or the chord matrix alone for the μ system,
            # converges only linearly), but no finer than the next residual
            # needs: from a residual ρ a step solved to ε leaves about ερ (plus
            # the quadratic term), and kkt_chord_rtol is the goal.
            goal = 0.5 * config.kkt_chord_rtol / residual
            rtol = min(config.pcg_rtol, max(residual, goal, config.kkt_chord_rtol))
            S, k1 = _pcg(product, np.column_stack([r1, pt]), factor, config, rtol)
            a, c = -S[:, 0], -S[:, 1]
            if k1 >= _pcg_budget(rtol, config):
                since = config.chord_refresh_gap  # refresh at the next step
                previous = 0.0
        else:
            d_mu = None if pair is None else mu - last_mu
            known = _chord_products(factor, r1, pt, pair, known, d_mu)
            ac = factor.centred(known)
            a, c = ac[:, 0], ac[:, 1]
        step = _kkt_step(theta, mu, pt, r2, a, c)
        if step is None:
            return None
        theta, mu = step
    return None


def _chord_products(factor: _ChordMatrix, r1, pt, pair, known, d_mu):
    """The chord step's products ``M [r1, Pθ]``, after the BFGS update with ``pair``.

    ``known`` holds the previous iterate's products ``M [r1', Pθ']`` with the
    current matrix ``M`` and ``d_mu`` the change of ``μ`` since: then ``M y``
    (``y = r1 − r1' − δμ Pθ'``, the change of ``∇f + μPθ`` at the current
    ``μ``) follows from this iterate's products, and the update costs no
    product of its own; the updated matrix's products are the old ones plus
    the rank-2 term's. (``M r1`` itself is a product, not a sum of products
    with ``∇f`` and ``Pθ``: near the answer those nearly cancel, and in single
    precision the step would stall at a residual of about 1e-7.) ``factor``
    is updated in place.
    """
    R = np.column_stack([r1, pt])
    products = factor.products(R)
    if pair is not None:
        By = None
        if known is not None:
            By = products[:, 0] - known[:, 0] - d_mu * known[:, 1]
        if factor.update(*pair, By):
            products += factor.newest_term(R)
    return products


def _solve_free_chord(
    smooth: _Smooth, radius, theta, factor, tol, config: _HeadConfig, mu: float = 0.0
):
    """Minimise ``f`` by Newton-CG preconditioned by a chord matrix (Armijo): a ball not binding.

    ``M`` is a :class:`_ChordMatrix` (the previous solve's, or built at the
    current iterate; a row sketch when the full Hessian is too costly),
    BFGS-updated every step and refreshed when conjugate gradients need
    ``pcg_max_iter`` products: a Newton sketch with exact gradients and exact
    Hessian-vector products. The answer is accepted
    as :func:`~cvxdual.heads._newton._newton` accepts its own, on the
    decrement ``∇fᵀ M ∇f <= tol² max(|f|, 1e-3)``, or on
    ``max |∇f| <= kkt_chord_rtol max |A|ᵀ|G|`` (``G`` the sample gradients at
    the start: the gradient's scale without cancellation), after a last full step,
    and only when ``‖W‖ <= r (1 + tol)`` (``radius`` None: no bound), so it
    is the unconstrained minimiser inside the ball: the ball problem's
    solution with ``λ = 0``.

    With ``mu > 0`` it minimises the penalised ``f + μ/2 ‖Pθ‖²`` instead (a
    globalised start for the binding iteration; ``λ`` is then meaningless).

    Returns ``(θ, λ, n_iter, factor)`` with ``λ = 0``, or ``λ = None`` when
    the minimiser ``θ`` lies outside the ball (the bound binds), or None (no
    convergence).
    """
    mask = smooth.mask

    def value(th):
        return smooth.value_grad(th)[0] + 0.5 * mu * float(np.sum((mask * th) ** 2))

    # Scale of the stationarity test: the gradient's entries without cancellation,
    # max |A|ᵀ|G| at the start (as the binding iteration's residual is relative).
    G0 = smooth.value_grad(theta)[2]
    scale = max(float(np.max(np.abs(G0).T @ np.abs(smooth.A))), 1e-300)
    since, refreshes, stalled = 0, 0, False
    last = None  # (θ, ∇f) of the previous iterate, for the BFGS update
    if factor is not None:
        factor = factor.copy()  # (updated in place below; the caller's is not changed)
    for it in range(config.chord_max_iter):
        val, grad, _, z = smooth.value_grad(theta)
        if mu > 0:
            val = val + 0.5 * mu * float(np.sum((mask * theta) ** 2))
            grad = grad + mu * (mask * theta)
        if last is not None:
            factor.update(theta - last[0], grad - last[1])
        last = (theta, grad)
        if factor is None or (since >= config.chord_refresh_gap and stalled):
            refreshes, since = refreshes + 1, 0
            factor = _fresh_matrix(smooth, z, mu, refreshes - 1, config)
            if factor is None:
                return None
        since += 1
        # Newton-CG: exact Hessian-vector products, the chord matrix as preconditioner
        # (plain chord steps stall on directions whose curvature the sketch misses).
        def product(v, z=z):
            return smooth.hessp(z, v) + mu * (mask * v)

        step, inner = _pcg(product, grad, factor, config)
        stalled = inner >= config.pcg_max_iter
        decrement = -float(grad @ step)
        if not (np.isfinite(decrement) and decrement > 0):
            return None
        small = float(np.max(np.abs(grad))) <= config.kkt_chord_rtol * scale
        if small or decrement <= tol**2 * max(abs(val), 1e-3) or decrement <= 1e-30:
            theta = theta + step
            outside = radius is not None and _frobenius(mask * theta) > radius * (1.0 + tol)
            return theta, None if outside else 0.0, it + 1, factor
        # the line search evaluates through value_grad: its accepted point is cached
        candidate = _backtrack(_along(theta, slice(None), step), value, val, decrement, config)
        if candidate is None:
            return None
        theta = candidate
    return None


def _pcg(hessp, grad, factor, config: _HeadConfig, rtol: float | None = None):
    """Approximately solve ``H s = −∇f`` by conjugate gradients preconditioned by ``factor``.

    Stops when the preconditioned residual is ``rtol`` (default ``pcg_rtol``)
    of the gradient's, or after :func:`_pcg_budget` products; returns
    ``(s, products)``. ``grad`` may hold several right-hand sides as columns:
    each runs its own recurrence, but their products with ``H`` are taken
    together (``hessp`` of a matrix), and a converged column stops moving.
    """
    rtol = config.pcg_rtol if rtol is None else rtol
    budget = _pcg_budget(rtol, config)
    single = grad.ndim == 1
    R = -(grad[:, None] if single else grad)
    step = np.zeros_like(R)
    Z = factor.solve(R)
    P = Z.copy()
    rz = np.einsum("ij,ij->j", R, Z)
    target = rtol**2 * rz
    active = rz > 0
    k = 0
    for k in range(1, budget + 1):
        HP = hessp(P[:, 0] if single else P)
        HP = HP[:, None] if single else HP
        pHp = np.einsum("ij,ij->j", P, HP)
        if not np.all(pHp[active] > 0):
            if k == 1:
                step = Z
            break
        alpha = np.where(active, rz / np.where(active, pHp, 1.0), 0.0)
        step += alpha * P
        R -= alpha * HP
        Z = factor.solve(R)
        rz_new = np.einsum("ij,ij->j", R, Z)
        active &= rz_new > target
        if not active.any():
            break
        beta = np.where(active, rz_new / np.where(rz > 0, rz, 1.0), 0.0)
        P = np.where(active, Z + beta * P, 0.0)
        rz = rz_new
    return (step[:, 0] if single else step), k


def _pcg_budget(rtol: float, config: _HeadConfig) -> int:
    """Products allowed to reach ``rtol``: ``pcg_max_iter`` per factor ``pcg_rtol``.

    A preconditioner that needs more than that converges at a rate worse than
    ``pcg_rtol ** (1 / pcg_max_iter)`` per product: callers then refresh it.
    """
    if rtol >= config.pcg_rtol or not 0 < config.pcg_rtol < 1:
        return config.pcg_max_iter
    # (down to rounding: an accuracy below eps costs as much as eps)
    rtol = max(rtol, float(np.finfo(float).eps))
    return int(np.ceil(config.pcg_max_iter * np.log(rtol) / np.log(config.pcg_rtol)))


def _onto_sphere(smooth: _Smooth, radius, theta):
    """``θ`` with ``W`` scaled onto ``‖W‖ = r`` and the penalty ``μ = −⟨∇_W f, W⟩ / r²`` there.

    A start for the binding chord iteration from a point outside the ball
    (the unconstrained minimiser). ``μ`` is the least-squares multiplier of
    the stationarity equation at that point; None when it is not positive.
    """
    mask = smooth.mask
    theta = theta.copy()
    theta[mask == 1] *= radius / _frobenius(mask * theta)
    _, grad, _, _ = smooth.value_grad(theta)
    mu = -float((mask * grad) @ theta) / radius**2
    return theta, (mu if mu > 0 else None)


def _kkt_point(smooth: _Smooth, radius, theta, mu):
    """The binding L2 problem's KKT system at ``(θ, μ)`` and its relative residual.

    Returns ``(∇f, z, Pθ, r1, r2, residual)`` with ``r1 = ∇f + μPθ``,
    ``r2 = ½(‖Pθ‖² − r²)`` and ``residual = max(max|r1| / max|∇f|, |r2| / r²)``:
    what every KKT iteration of the ball (chord steps, the Newton polish) is
    stopped on.
    """
    grad, _, z = smooth.gradient(theta)
    pt = smooth.mask * theta
    r1 = grad + mu * pt
    r2 = 0.5 * (float(pt @ pt) - radius**2)
    scale = max(float(np.max(np.abs(grad))), 1e-300)
    residual = max(float(np.max(np.abs(r1))) / scale, abs(r2) / radius**2)
    return grad, z, pt, r1, r2, residual


def _kkt_step(theta, mu, pt, r2, a, c):
    """One step of an iteration on the binding L2 problem's KKT system; ``(θ, μ)`` or None.

    ``a = M r1`` and ``c = M Pθ`` with ``M`` the inverse of ``H + μP`` (exact or
    a chord matrix), ``r1 = ∇f + μPθ`` and ``r2 = ½(‖Pθ‖² − r²)``: eliminating
    ``δθ`` from the linearised system leaves a scalar equation for ``δμ``.
    None when there is no step in ``μ`` (``Pθ = 0`` or a broken matrix).
    """
    curvature = float(pt @ c)
    if not curvature > 0:
        return None
    d_mu = (r2 - float(pt @ a)) / curvature
    return theta - a - c * d_mu, mu + d_mu
