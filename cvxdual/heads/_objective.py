r"""The smooth objective of a head in its parameters: value, gradient, curvature (private).

As scikit-learn's ``LinearModelLoss``: the loss of :mod:`cvxdual.losses`
composed with the linear scores, in the flat parameter vector the fast solvers
iterate on. The solvers only call :class:`_Smooth`'s methods.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.linalg.blas

from .._linalg import _frobenius
from ..losses import Loss, _row_max, _softmax

# Scores at most this large in magnitude are exponentiated without a shift: exp(±300)
# is far inside the float range, and so are sums of their exponentials.
_EXP_SAFE = 300.0


class _Smooth:
    """``f(Θ) = Σ_i w_i ℓ(a_i Θ, y_i)`` with ``Θ`` (p1, K) = [W; b] and ``a_i = [φ_i, 1]``.

    Vectors ``θ`` are ``Θ`` flattened column by column (class-major), so the
    Hessian has ``K × K`` blocks of size ``p1 × p1``.
    """

    def __init__(self, loss: Loss, Phi, Y, weights, fit_intercept: bool, scale: float = 1.0):
        self.loss = loss
        self.n, self.d = Phi.shape
        self.K = Y.shape[1]
        # A = [Φ / scale, 1] in one allocation (the one copy of the features the
        # fast solvers hold: at 10^6 rows every extra copy is hundreds of MB), in
        # Fortran order: the two skinny products of every gradient, Θᵀ Aᵀ and
        # Gᵀ A, run about 1.6x faster on it than A Θ and Gᵀ A on a C-ordered A
        # (15,000 x 129, K = 5, one thread: 4.8 ms against 7.9 ms).
        if fit_intercept:
            self.A = np.empty((self.n, self.d + 1), order="F")
            np.divide(Phi, scale, out=self.A[:, : self.d])
            self.A[:, self.d] = 1.0
        elif scale != 1.0:
            self.A = np.empty((self.n, self.d), order="F")
            np.divide(Phi, scale, out=self.A)
        else:
            self.A = Phi
        self.p1 = self.A.shape[1]
        self.Y = Y
        self.w = weights
        mask = np.zeros((self.p1, self.K))
        mask[: self.d] = 1.0
        self.mask = mask.ravel(order="F")  # 1 on the coefficients W, 0 on the intercept
        self.multinomial = loss.name == "multinomial"
        self._wy = self._weighted_targets()
        self.n_eval = 0
        self.n_hvp = 0
        self._last = None
        self._A32 = None  # A in float32 and the curvature at one z, for hessp
        self._curv = None

    def rows(self, idx, weights=None) -> _Smooth:
        """The same objective restricted to the rows ``idx``, reweighted.

        By default ``Σ_{i∈idx} w_i ℓ_i`` scaled by ``Σ w / Σ_{idx} w``: an
        estimate of ``f`` whose Hessian (a row sketch, Pilanci & Wainwright
        2017) costs ``|idx| / n`` of the full one; ``weights`` gives the rows'
        weights instead (an importance sample: see ``_chord._sketch_rows``).
        Shares no writable state with ``self``.
        """
        sub = object.__new__(_Smooth)
        sub.__dict__.update(self.__dict__)
        if weights is None:
            w = self.w[idx]
            total = float(w.sum())
            weights = w * (float(self.w.sum()) / total if total > 0 else 0.0)
        sub.A, sub.Y, sub.w = self.A[idx], self.Y[idx], np.asarray(weights, dtype=float)
        sub.n = sub.A.shape[0]
        sub._wy = sub._weighted_targets()
        sub.n_eval, sub.n_hvp, sub._last, sub._A32, sub._curv = 0, 0, None, None, None
        return sub

    def _weighted_targets(self):
        """``w_i y_i`` (multinomial only, else None) in the memory order of :meth:`scores`.

        The gradient subtracts it from an array laid out like the scores: in the
        same order that is one contiguous pass, 4x faster than a mixed-order one.
        """
        if not self.multinomial:
            return None
        order = "F" if self.A.flags.f_contiguous and not self.A.flags.c_contiguous else "C"
        return np.asarray(self.w[:, None] * self.Y, order=order)

    def curvature_weights(self, z) -> np.ndarray:
        """Each row's share of the Hessian's trace at the scores ``z`` (up to a constant).

        ``w_i ‖a_i‖² Σ_k ∂²ℓ/∂z_k²`` (for the multinomial loss ``Σ_k p_k (1 − p_k)``):
        the trace of row ``i``'s term ``w_i (a_i a_iᵀ ⊗ ∇²ℓ_i)``.
        """
        if self.multinomial:
            P = _softmax(z)
            h = (P * (1.0 - P)) @ np.ones(self.K)
        else:
            h = self.loss.hessian_diag(z, self.Y) @ np.ones(self.K)
        return self.w * h * np.einsum("ij,ij->i", self.A, self.A)

    def theta(self, coef, intercept) -> np.ndarray:
        Theta = np.vstack([coef, intercept[None, :]]) if self.p1 > self.d else coef
        return np.array(Theta, dtype=float).ravel(order="F")

    def split(self, theta):
        Theta = theta.reshape(self.p1, self.K, order="F")
        intercept = Theta[self.d] if self.p1 > self.d else np.zeros(self.K)
        return Theta[: self.d].copy(), np.array(intercept, dtype=float)

    def centred(self, theta) -> np.ndarray:
        """``θ`` with each row of ``[W; b]`` centred over the classes (multinomial only).

        The multinomial loss does not change when the same row vector is added
        to every class, and the penalised optimum (``μ > 0``) has centred rows:
        starting centred keeps that gauge. For the other losses ``θ`` itself.
        """
        if not self.multinomial:
            return theta
        coef, intercept = self.split(theta)
        return self.theta(coef - coef.mean(axis=1, keepdims=True), intercept - intercept.mean())

    def scores(self, theta):
        Theta = theta.reshape(self.p1, self.K, order="F")
        if self.A.flags.f_contiguous and not self.A.flags.c_contiguous:
            return (Theta.T @ self.A.T).T  # (an n x K view of a C-ordered K x n product)
        return self.A @ Theta

    def value(self, theta) -> float:
        self.n_eval += 1
        return float(self.w @ self.loss.per_sample(self.scores(theta), self.Y))

    def value_grad(self, theta):
        """Return ``f``, ``∇f`` (flat), the sample duals ``G = w ∂ℓ/∂z`` and ``z``.

        The last result is cached (solvers often evaluate the same point twice);
        callers must not modify the arrays returned.
        """
        value, grad, G, z = self._evaluate(theta, need_value=True)
        return value, grad, G, z

    def gradient(self, theta):
        """Return ``∇f`` (flat), ``G`` and ``z`` as :meth:`value_grad`, maybe without ``f``.

        For the multinomial loss the value (a logarithm per row and two more
        passes) is left out until :meth:`value_grad` asks for it at the same
        point: the chord iterations only test gradients.
        """
        _, grad, G, z = self._evaluate(theta, need_value=False)
        return grad, G, z

    def _evaluate(self, theta, need_value):
        last = self._last
        if last is not None and np.array_equal(theta, last[0]):
            result = last[1]
            if result[0] is None and need_value:  # (the value at the cached z)
                total, top = last[2] if last[2] is not None else (None, None)
                if total is not None and (top is None or np.all(np.isfinite(top))):
                    # each row's log Σ exp z − z_y from the kept row sums: no exponentials
                    per_row = np.log(total) - np.einsum("ij,ij->i", self.Y, result[3])
                    if top is not None:
                        per_row += top
                    value = float(self.w @ per_row)
                else:
                    value = float(self.w @ self.loss.per_sample(result[3], self.Y))
                result = (value, *result[1:])
                self._last = (last[0], result, None)
            return result
        self.n_eval += 1
        z = self.scores(theta)
        value = None
        if self.multinomial:
            # The multinomial loss inline (as cvxdual.losses, fewer passes; row sums
            # as a product): the chord iterations spend most of their time here.
            # Scores within ±_EXP_SAFE need no shift by the row maxima: their
            # exponentials neither overflow nor underflow, and the softmax is as
            # accurate either way (two reductions instead of a row-wise maximum
            # and an n × K subtraction).
            flat = z.T if z.flags.f_contiguous else z  # (contiguous: fast reductions)
            if -_EXP_SAFE <= float(flat.min()) and float(flat.max()) <= _EXP_SAFE:
                top = None
                G = np.exp(z)
            else:  # (NaN comes here too, and stays NaN)
                top = _row_max(z)
                G = z - top[:, None]
                np.exp(G, out=G)
            total = G @ np.ones(self.K)
            if need_value:
                value = float(self.w @ np.log(total)) - float(np.vdot(self._wy, z))
                if top is not None:
                    value += float(self.w @ top)
            G *= (self.w / total)[:, None]
            G -= self._wy
            # (the row sums and maxima, for the value if it is asked for at this point)
            sums = None if need_value else (total, top)
        else:
            values, G = self.loss.per_sample_and_gradient(z, self.Y)
            G *= self.w[:, None]
            value = float(self.w @ values)
            sums = None
        grad = (G.T @ self.A).ravel()  # (K, p1) in C order: Θ's gradient, class-major
        result = (value, grad, G, z)
        self._last = (np.array(theta, dtype=float, copy=True), result, sums)
        return result

    def hessp(self, z, v) -> np.ndarray:
        """``∇²f v`` at the scores ``z`` on all rows, in float32 (two products with ``A``).

        Only the conjugate-gradient steps of the sketched paths use it: their
        products only steer the Newton direction, while the gradients and the
        KKT test stay exact in float64, so single precision (half the memory
        traffic of the two skinny products) changes the rate, never the answer.
        The curvature weights are computed once per ``z`` (the same array object).
        Without the multinomial gauge term of :meth:`hessian`: callers keep
        ``v`` centred over the classes, where the two agree.

        ``v`` may hold several vectors as columns (shape ``(p1 K, m)``): they
        share the two passes over ``A``, which cost little more than one (the
        products are skinny and bound by reading ``A``).
        """
        self.n_hvp += 1
        if self._A32 is None:
            self._A32 = self.A.astype(np.float32, order="C")  # (C order is faster in float32)
        if self._curv is None or self._curv[0] is not z:
            if self.multinomial:
                P = _softmax(z)
                weights = (P.astype(np.float32), self.w.astype(np.float32)[:, None])
            else:
                h = self.w[:, None] * self.loss.hessian_diag(z, self.Y)
                weights = (h.astype(np.float32), None)
            self._curv = (z, weights, {})  # ({m: the weights tiled for m vectors})
        curvature, w = self._curv[1]
        V = v.reshape(self.p1 * self.K, -1)
        m = V.shape[1]
        # column j of V is Θ_j flattened class-major: (p1, K) in F order, side by side
        thetas = V.T.reshape(m, self.K, self.p1).transpose(2, 0, 1).reshape(self.p1, m * self.K)
        U = self._A32 @ thetas.astype(np.float32)  # (n, m K): the m score blocks
        if m > 1:
            tiles = self._curv[2]
            if m not in tiles:
                tiles[m] = np.tile(curvature, (1, m))
            curvature = tiles[m]
        T = curvature * U
        if self.multinomial:
            # T − P ⊙ (row sums of each block of T), the sums as a product with a
            # block-diagonal matrix of ones (NumPy's reductions along rows of K are slow)
            T -= curvature * (T @ _block_ones(self.K, m))
            T *= w
        out = (T.T @ self._A32).reshape(m, self.K * self.p1).T.astype(np.float64)
        return out[:, 0] if v.ndim == 1 else out

    def hessian(self, z, gauge: bool = True, dtype=np.float64, upper: bool = False) -> np.ndarray:
        """Hessian of ``f``; for the multinomial loss plus the projector on its null space.

        With ``gauge`` false only the intercept direction is fixed (the face
        problems of the ℓ1 ball are not invariant to shifting coefficient rows).
        ``dtype=np.float32`` assembles it in single precision (for chord matrices).
        ``upper``: only the upper triangle is guaranteed (for the multinomial
        loss a Fortran-ordered array whose lower triangle is not set, as LAPACK's
        ``potrf`` reads it with ``lower=False``, without a copy).
        """
        A, p1, K = self.A.astype(dtype, copy=False), self.p1, self.K
        if self.multinomial:
            H = _multinomial_hessian(A, self.w, _softmax(z), dtype, full=not upper)
            # The loss is invariant to adding the same row vector to every class:
            # fix that gauge (gradient and penalty are orthogonal to it), each
            # coordinate at its own curvature averaged over the classes (one scale
            # for all would swamp the curvature of badly scaled features). Without
            # ``gauge`` only the intercept's direction, at the mean curvature.
            # (a C-ordered view: the term added below is symmetric, so adding it to
            # Hᵀ adds it to H)
            blocks = (H if H.flags.c_contiguous else H.T).reshape(K, p1, K, p1)
            diagonals = np.einsum("kiki->ki", blocks)  # (K, p1): each block's diagonal
            if gauge:
                curvature = np.maximum(diagonals.mean(axis=0), np.finfo(dtype).tiny)
            else:
                scale = max(float(diagonals.sum()) / H.shape[0], 1e-12)
                curvature = scale * (np.arange(p1) >= self.d)
            # + (curvature / K) on the diagonal of every block (i, i) of every (k, l)
            index = np.arange(p1)
            blocks[:, index, :, index] += (curvature / K).astype(dtype)[:, None, None]
        else:
            H = np.zeros((p1 * K, p1 * K), dtype=dtype)
            h = (self.w[:, None] * self.loss.hessian_diag(z, self.Y)).astype(dtype)
            (syrk,) = scipy.linalg.blas.get_blas_funcs(("syrk",), (A,))
            for k in range(K):
                # Aᵀ diag(h_k) A as a symmetric rank-n update (half the flops of a product).
                B = A * np.sqrt(h[:, k : k + 1])
                upper = syrk(1.0, B, trans=1)
                block = np.triu(upper) + np.triu(upper, 1).T
                H[k * p1 : (k + 1) * p1, k * p1 : (k + 1) * p1] = block
        return H

    def lipschitz(self) -> float:
        """An upper bound of the Lipschitz constant of ``∇f``."""
        curvature = {"squared": 1.0, "logistic": 0.25, "multinomial": 0.5, "squared_hinge": 2.0}
        gram = self.A.T @ (self.A * self.w[:, None])
        return curvature[self.loss.name] * float(np.linalg.eigvalsh(gram)[-1])


@functools.lru_cache(maxsize=16)
def _block_ones(K: int, m: int) -> np.ndarray:
    """Block-diagonal ``(m K) × (m K)`` float32 matrix of ``m`` blocks of ones (read-only)."""
    ones = np.kron(np.eye(m, dtype=np.float32), np.ones((K, K), dtype=np.float32))
    ones.setflags(write=False)
    return ones


# Rows per pass of the multinomial Hessian's rank-n update: its scaled copy of
# the features (rows × K p1) stays near 2^21 entries, whatever n.
_HESSIAN_CHUNK = 2**21


def _multinomial_hessian(A, w, P, dtype, full: bool = True) -> np.ndarray:
    """``Σ_i w_i (diag(p_i) − p_i p_iᵀ) ⊗ a_i a_iᵀ`` in class-major blocks (``K p1`` square).

    The blocks off the diagonal, ``−Aᵀ diag(w p_k p_l) A``, come from one
    symmetric rank-n update ``−BᵀB`` with ``B = [A ⊙ √w p_1, …, A ⊙ √w p_K]``
    (BLAS ``syrk``, by chunks of rows): one level-3 call instead of K(K−1)/2
    products and their scaled copies of ``A`` (at 1,257 × 65, K = 10: a third
    less time). The diagonal blocks ``Aᵀ diag(w p_k (1 − p_k)) A``
    are computed directly: from ``Aᵀ diag(w p_k) A − Aᵀ diag(w p_k²) A`` they
    would cancel where the predictions are confident. ``full`` false: only the
    upper triangle is set (a Fortran-ordered array).
    """
    n, p1 = A.shape
    K = P.shape[1]
    scaled = (np.sqrt(w)[:, None] * P).astype(dtype, copy=False)
    upper = np.zeros((K * p1, K * p1), dtype=dtype, order="F")
    (syrk,) = scipy.linalg.blas.get_blas_funcs(("syrk",), (upper,))
    chunk = max(1, _HESSIAN_CHUNK // (K * p1))
    B = np.empty((min(n, chunk), K * p1), dtype=dtype, order="F")
    for start in range(0, n, chunk):
        rows = slice(start, min(n, start + chunk))
        m = rows.stop - rows.start
        for k in range(K):
            np.multiply(A[rows], scaled[rows, k : k + 1], out=B[:m, k * p1 : (k + 1) * p1])
        syrk(-1.0, B[:m], beta=1.0, c=upper, trans=1, lower=0, overwrite_c=1)
    # For the whole matrix, half of each diagonal block: ``upper + upperᵀ`` (its
    # strict lower triangle is zero) is then the whole matrix.
    share = 0.5 if full else 1.0
    curvature = (share * w[:, None] * P * (1.0 - P)).astype(dtype, copy=False)
    for k in range(K):
        block = slice(k * p1, (k + 1) * p1)
        upper[block, block] = (A * curvature[:, k : k + 1]).T @ A
    return upper + upper.T if full else upper


def _power_of_two_scale(Phi) -> float:
    """The power of two nearest the root mean square of ``Phi`` (1 for zeros)."""
    top = max(float(np.max(Phi)), -float(np.min(Phi)))  # (max |Φ| without an n×d temporary)
    if top == 0.0:
        return 1.0
    rms = _frobenius(Phi) / float(np.sqrt(Phi.size))  # overflow-safe, no n×d temporary
    return float(2.0 ** np.clip(np.round(np.log2(rms)), -960, 960))
