r"""The Lipschitz-margin head: log-loss with margins that certify an ℓ2 radius.

Tsuzuku, Sato & Sugiyama (2018), "Lipschitz-margin training": if the features
``Φ`` are ``L``-Lipschitz, a sample is certified at radius ``ε`` when its score
gaps satisfy ``z_y − z_j ≥ ε L ‖w_y − w_j‖₂`` for every ``j ≠ y``. Training
adds that margin to every non-target score before the softmax. For fixed
features this is still an exact convex problem in ``(W, b)``:

.. math::

    p^*(\Phi) = \min_{W, b, z}\; \sum_i w_i \Big[\log \sum_j
        \exp\big(z_{ij} + c\, \|w_{y_i} - w_j\|_2\big) - z_{i y_i}\Big]
    \quad\text{s.t.}\quad \Phi W + \mathbf 1 b^\top - z = 0 \;\; (\nu),
    \qquad W \in C,

with ``c = ε L`` (``‖w_y − w_y‖ = 0``): a log-sum-exp of convex terms. For
binary targets ``s = ±1`` and one score (the second class's column fixed at
0) the same construction gives ``log(1 + exp(−s z + c ‖w‖₂))``. The margin
depends on ``W`` only, not on ``z``, so the dual of the ``"scores"``
constraint is still ``ν_i = w_i ∂ℓ/∂z_i`` and ``∇_Φ p* = ν Wᵀ`` (the
envelope gradient that trains the hidden layers) is unchanged.

:class:`LipschitzMarginHead` defines the problem in CVXPY (compiled once per
shape, with parameters for the data) and solves it with a fast exact solver
where it can: the objective is smooth wherever the columns ``w_k`` are
pairwise distinct (``w ≠ 0`` for binary targets), so L-BFGS minimises it
(with an :class:`~cvxdual.sets.L2Ball`, on the sphere ``W = r V / ‖V‖``); a
warm-started multiclass solve (a training loop's) runs it preconditioned by a
factored approximate Hessian (the multinomial Hessian at the margin-shifted
scores and the pair terms' graph Laplacian), kept for the next solve while it
stays good: tens of iterations instead of hundreds. The
result is returned only if it satisfies the KKT conditions to a relative
``1e-7`` (``λ ≥ 0`` the dual of the ball), otherwise CVXPY solves the problem.
A margin too large for the features merges every column at the optimum
(``W = 0``: the constant head of the class shares), where the objective is
not differentiable; that answer is recognised first, with an exact
certificate (:func:`~cvxdual.heads._margin_kinks._merged_solution`), instead of
a slow CVXPY solve; a partial merge (clusters of equal columns) that the
smooth solver runs into is solved with each cluster's columns shared and
certified the same way (:func:`~cvxdual.heads._margin_kinks._clustered_solution`).
CVXPY remains for what neither certifies.
"""

from __future__ import annotations

import dataclasses
import logging
import numbers

import cvxpy as cp
import numpy as np
import scipy.linalg
import scipy.linalg.blas
from scipy.special import expit

from .. import _solvers
from .._threads import limit_competing_blas
from ..exceptions import SolverError
from ..losses import _row_max
from ..sets import L2Ball
from ._checks import _SOLVER_WORDS, _check_constraint, _check_loss, _check_solver
from ._config import _DEFAULT_CONFIG
from ._l2 import _lbfgs, _sphere_gradient
from ._margin_kinks import _clustered_solution, _margin_solution, _merged_solution
from ._objective import _EXP_SAFE, _multinomial_hessian
from ._solution import HeadSolution, _cvxpy_solution

__all__ = ["LipschitzMarginHead"]

logger = logging.getLogger(__name__)

_LOSSES = ("logistic", "multinomial")
# The heads' L-BFGS with more correction pairs and fewer iterations per run.
_LBFGS_CONFIG = dataclasses.replace(_DEFAULT_CONFIG, lbfgs_memory=30, lbfgs_max_iter=5_000)
_LBFGS_RESTARTS = 4  # runs from the last iterate (fresh memory) before giving up
# Warm-started multiclass solves first run L-BFGS preconditioned by an approximate
# Hessian (see _preconditioner): up to _PRE_RUNS runs of at most _PRE_MAX_ITER
# iterations each, every one from a preconditioner built at its own start except
# the first, which reuses the warm start's while that one's run took at most
# _PRE_STALE iterations; then the plain runs above. On the digits network's heads
# (1,257 rows, 64 features, 10 classes) 20-45 iterations per solve instead of 300-390.
_PRE_RUNS = 4
_PRE_MAX_ITER = 60
_PRE_STALE = 40
# Stopping tolerance of the preconditioned runs, relative to the plain runs' (their
# gradient is L⁻¹∇f): the KKT test after each run certifies the answer either way.
_PRE_GTOL = 0.1
_PRE_CONFIG = dataclasses.replace(_LBFGS_CONFIG, lbfgs_max_iter=_PRE_MAX_ITER)
# Clarabel settings tried when its standard ones stop at "AlmostSolved".
_CLARABEL_RETRIES = (
    {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9, "tol_ktratio": 1e-6,
     "equilibrate_enable": False},
    {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-9, "tol_ktratio": 1e-6,
     "presolve_enable": False},
)
# Columns closer than this (relative to the largest) make the objective
# non-smooth at the solution: the fast solver then defers to CVXPY.
_KINK_RTOL = 1e-6


def _pair_matrix(K: int) -> tuple[np.ndarray, np.ndarray]:
    """``E`` (K, P) with columns ``e_k − e_j`` (k < j) and ``S`` (K², P) summing them into M."""
    pairs = [(k, j) for k in range(K) for j in range(k + 1, K)]
    E = np.zeros((K, len(pairs)))
    S = np.zeros((K * K, len(pairs)))
    for p, (k, j) in enumerate(pairs):
        E[k, p], E[j, p] = 1.0, -1.0
        S[k * K + j, p] = S[j * K + k, p] = 1.0  # row-major vec of M
    return E, S


def _solve(problem, solver, what) -> str:
    """``_solvers.solve``, then Clarabel with the settings this problem needs.

    The pair-distance cones next to the exponential cones leave Clarabel one
    step short of its 1e-10 defaults on many instances ("AlmostSolved"), at a
    solution that already agrees with SCS and the fast solver to ~1e-9; these
    settings let it certify such a point as optimal.
    """
    try:
        return _solvers.solve(problem, solver, what=what)
    except SolverError:
        if solver not in (None, "CLARABEL") or "CLARABEL" not in _solvers.installed_solvers():
            raise
        for options in _CLARABEL_RETRIES:
            try:
                return _solvers.solve(problem, "CLARABEL", what=what, solver_options=options)
            except SolverError:
                continue
        raise


class _Compiled:
    """The CVXPY definition for one shape ``(n, d, K)`` and margin ``c``."""

    def __init__(self, loss: str, margin: float, constraint, fit_intercept, n, d, K, Phi=None):
        self.W = cp.Variable((d, K), name="W")
        self.z = cp.Variable((n, K), name="z")
        self.Phi = cp.Parameter((n, d), name="Phi") if Phi is None else cp.Constant(Phi)
        self.w = cp.Parameter(n, nonneg=True, name="w")
        scores = self.Phi @ self.W
        self.b = cp.Variable(K, name="b") if fit_intercept else None
        if fit_intercept:
            scores = scores + np.ones((n, 1)) @ cp.reshape(self.b, (1, K), order="C")
        if loss == "multinomial":
            # Y (one-hot, nonneg) @ M picks row y_i of the margin matrix M_kj = c ‖w_k − w_j‖.
            self.Y = cp.Parameter((n, K), nonneg=True, name="Y")
            self.w_y = cp.Parameter((n, K), name="w_y")
            E, S = _pair_matrix(K)
            augmented = self.z
            constraints = []
            if E.shape[1]:
                # DPP allows a parameter times an affine expression only: the pair
                # distances enter through an epigraph variable T ≥ ‖w_k − w_j‖,
                # tight at the optimum (the objective increases in T).
                T = cp.Variable(E.shape[1], name="T")
                constraints.append(cp.norm(self.W @ E, 2, axis=0) <= T)
                M = cp.reshape(S @ T, (K, K), order="C")
                # ... and the augmented scores through a variable, as a weight
                # parameter may not multiply a parameter-dependent expression.
                augmented = cp.Variable((n, K), name="augmented")
                constraints.append(augmented == self.z + margin * (self.Y @ M))
            objective = cp.sum(
                cp.multiply(self.w, cp.log_sum_exp(augmented, axis=1))
            ) - cp.sum(cp.multiply(self.w_y, self.z))
        else:
            constraints = []
            self.s = cp.Parameter((n, 1), name="s")
            # the same two auxiliary variables as above, for DPP
            t = cp.Variable(name="t")
            m = cp.Variable((n, 1), name="augmented")
            constraints += [
                cp.norm(self.W, "fro") <= t,
                m == margin * t - cp.multiply(self.s, self.z),
            ]
            objective = cp.sum(cp.multiply(cp.reshape(self.w, (n, 1), order="C"), cp.logistic(m)))
        self.scores = scores - self.z == 0
        self.set_constraints = {} if constraint is None else constraint.constraints(self.W)
        self.problem = cp.Problem(
            cp.Minimize(objective), [self.scores, *self.set_constraints.values(), *constraints]
        )
        if not self.problem.is_dcp(dpp=True):  # pragma: no cover - a bug, not user input
            raise ValueError(f"The Lipschitz-margin head with {constraint!r} is not DPP.")

    def solve(self, Phi, Y, weights, solver, what) -> HeadSolution:
        if isinstance(self.Phi, cp.Parameter):
            self.Phi.value = Phi
        self.w.value = weights
        if hasattr(self, "Y"):
            self.Y.value = Y
            self.w_y.value = weights[:, None] * Y
        else:
            self.s.value = Y
        used = _solve(self.problem, solver, what)
        n_iter = int(getattr(self.problem.solver_stats, "num_iters", None) or 1)
        return _cvxpy_solution(self, used, n_iter=n_iter)


class _MarginObjective:
    """Value, gradient and sample duals of the margin log-loss at ``Θ = [W; b]``."""

    def __init__(self, loss: str, margin: float, Phi, Y, weights, fit_intercept):
        self.multinomial = loss == "multinomial"
        self.c = margin
        self.Phi, self.Y, self.w = Phi, Y, weights
        self.fit_intercept = fit_intercept
        self.d, self.K = Phi.shape[1], Y.shape[1]
        self.n_eval = 0

    def split(self, x):
        W = x[: self.d * self.K].reshape(self.d, self.K)
        b = x[self.d * self.K :] if self.fit_intercept else np.zeros(self.K)
        return W, b

    def evaluate(self, W, b):
        """Return ``(f, ∇_W f, ∇_b f, ν, smooth)``; ``smooth`` is False at a kink."""
        self.n_eval += 1
        z = self.Phi @ W + b
        if not self.multinomial:
            norm = float(np.linalg.norm(W))
            m = -self.Y * z + self.c * norm
            value = float(self.w @ np.logaddexp(0.0, m[:, 0]))
            sigma = self.w[:, None] * expit(m)
            nu = -self.Y * sigma
            gW = self.Phi.T @ nu
            smooth = self.c == 0 or norm > 0
            if self.c > 0 and norm > 0:
                gW = gW + (self.c * float(sigma.sum()) / norm) * W
            return value, gW, nu.sum(axis=0), nu, smooth
        diff = W[:, :, None] - W[:, None, :]
        D = np.sqrt(np.einsum("dkj,dkj->kj", diff, diff))
        u = z + self.c * (self.Y @ D)
        # log-sum-exp and softmax from one exponential (scipy's logsumexp costs
        # more than the rest of the evaluation), shifted by the row maxima only
        # where the scores could overflow (as the plain head's objective), the row
        # sums as a product (NumPy's reductions along rows of K entries are slow)
        if -_EXP_SAFE <= float(u.min()) and float(u.max()) <= _EXP_SAFE:
            P = np.exp(u)
            total = P @ np.ones(self.K)
            lse = np.log(total)
        else:  # (NaN too)
            top = _row_max(u)
            P = np.exp(u - top[:, None])
            total = P @ np.ones(self.K)
            lse = np.log(total) + top
        P /= total[:, None]
        value = float(self.w @ (lse - np.einsum("ik,ik->i", self.Y, z)))
        nu = self.w[:, None] * (P - self.Y)
        gW = self.Phi.T @ nu
        smooth = True
        if self.c > 0:
            Q = self.c * (self.Y.T @ (self.w[:, None] * P))  # Q_kj = c Σ_{y_i=k} w_i p_ij
            A = Q + Q.T
            np.fill_diagonal(A, 0.0)
            scale = max(float(D.max()), 1e-300)
            kink = (D <= _KINK_RTOL * scale) & (A > 0)
            smooth = not np.any(kink)
            A = np.divide(A, D, out=np.zeros_like(A), where=D > 0)
            # Σ_kj Q_kj ∇‖w_k − w_j‖ = W (diag(A 1) − A), a graph Laplacian
            gW = gW + W @ (np.diag(A.sum(axis=1)) - A)
        return value, gW, nu.sum(axis=0), nu, smooth


def _preconditioner(f: _MarginObjective, W, b, radius, mu):
    """``(L, L⁻¹, order)`` for preconditioning L-BFGS on the multiclass margin objective, or None.

    ``L Lᵀ`` approximates the Hessian of ``f`` at ``(W, b)``: the multinomial
    Hessian at the margin-shifted scores, the graph Laplacian of the
    pair-distance terms (their curvature without the projections off the pair
    directions), the penalty ``μ`` on ``W`` and the multinomial gauge fixed as in
    :meth:`~cvxdual.heads._objective._Smooth.hessian`, assembled and factored in
    single precision; with a ``radius``, in the coordinates of the sphere
    ``W = r V`` at ``‖V‖ = 1``. Its rows are class-major (``[w_k; b_k]`` for each
    class ``k``): ``order`` lists the solver's coordinates (``vec W`` row-major,
    then ``b``) in that order. L-BFGS then runs on ``y = Lᵀ x``; only its rate
    depends on ``L``, its answers are certified as without.
    """
    d, K, n = f.d, f.K, f.Phi.shape[0]
    p1 = d + 1 if f.fit_intercept else d
    z = f.Phi @ W + b
    diff = W[:, :, None] - W[:, None, :]
    D = np.sqrt(np.einsum("dkj,dkj->kj", diff, diff))
    u = z + f.c * (f.Y @ D)
    P = np.exp(u - u.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    A = np.empty((n, p1), dtype=np.float32)
    A[:, :d] = f.Phi
    if f.fit_intercept:
        A[:, d] = 1.0
    H = _multinomial_hessian(A, f.w, P, np.float32)  # class-major blocks (k: [w_k; b_k])
    blocks = H.reshape(K, p1, K, p1)
    diagonals = np.einsum("kiki->ki", blocks)
    gauge = np.maximum(diagonals.mean(axis=0), np.finfo(np.float32).tiny) / K
    index = np.arange(p1)
    blocks[:, index, :, index] += gauge[:, None, None]
    coefs = np.arange(d)
    if f.c > 0:
        Q = f.c * (f.Y.T @ (f.w[:, None] * P))
        Lap = np.divide(Q + Q.T, D, out=np.zeros((K, K)), where=D > 0)
        np.fill_diagonal(Lap, 0.0)
        Lap = np.diag(Lap.sum(axis=1)) - Lap
        blocks[:, coefs, :, coefs] += Lap[None, :, :].astype(np.float32)
    classes = np.arange(K)[:, None]
    blocks[classes, coefs[None, :], classes, coefs[None, :]] += np.float32(mu)
    if radius is not None:
        scale = np.ones(p1, dtype=np.float32)
        scale[:d] = radius
        scale = np.tile(scale, K)
        H *= scale[:, None] * scale[None, :]
    L, info = scipy.linalg.lapack.spotrf(H, lower=1, clean=1)
    if info != 0:
        return None
    Linv, info = scipy.linalg.lapack.strtri(L, lower=1)
    if info != 0 or not np.all(np.isfinite(Linv)):
        return None
    # the solver's coordinate of each class-major row: W[i, k] is x[i K + k], b[k] x[d K + k]
    order = np.arange(d)[None, :] * K + classes
    if f.fit_intercept:
        order = np.concatenate([order, d * K + classes], axis=1)
    # (Fortran order: what BLAS's trmv reads without a copy)
    return L.astype(float), np.asfortranarray(Linv, dtype=float), order.ravel()


def _preconditioned_run(fun, x, f: _MarginObjective, key, cached, mu, gtol):
    """One L-BFGS run of a warm margin solve, preconditioned if a factor is at hand.

    ``key`` is ``(d, K, fit_intercept, radius, binding)``: with ``binding`` the run is
    on the sphere (``x`` holds ``V``, ``‖V‖ = 1``). ``cached`` is the warm start's
    ``(key, factor)``; a factor that does not match is built at ``x``. Returns
    ``(x, n_iter, kept)`` with ``kept`` the ``(key, factor)`` for the next solve: a
    new factor, or a reused one whose run took at most ``_PRE_STALE`` iterations.
    """
    if cached is not None and cached[0] == key:
        factor, fresh = cached[1], False
    else:
        W, b = f.split(x)
        radius = key[3] if key[4] else None
        factor = _preconditioner(f, W if radius is None else radius * W, b, radius, mu)
        fresh = True
    if factor is None:  # (not positive definite in single precision)
        x, n_iter = _lbfgs(fun, x, gtol, _LBFGS_CONFIG)
        return x, n_iter, None
    x, n_iter = _preconditioned_lbfgs(fun, x, factor, gtol, _PRE_CONFIG)
    return x, n_iter, (key, factor) if fresh or n_iter <= _PRE_STALE else None


def _preconditioned_lbfgs(fun, x, pre, gtol, config):
    """L-BFGS on ``fun`` in the coordinates ``y = Lᵀ x`` (:func:`_preconditioner`).

    Returns ``(x, n_iter)``: the end point in the solver's coordinates.
    """
    L, Linv, order = pre
    trmv = scipy.linalg.blas.dtrmv  # (triangular: 5x faster than a product with the square)

    def unpack(y):
        x = np.empty(y.size)
        x[order] = trmv(Linv, y, lower=1, trans=1)
        return x

    def preconditioned(y):
        value, grad = fun(unpack(y))
        return value, trmv(Linv, grad[order], lower=1)

    y, n_iter = _lbfgs(preconditioned, L.T @ x[order], gtol * _PRE_GTOL, config)
    return unpack(y), n_iter


class LipschitzMarginHead:
    """Exact solver of the Lipschitz-margin log-loss head (Tsuzuku et al., 2018).

    Solves ``min Σ_i w_i [logsumexp_j(z_ij + c ‖w_{y_i} − w_j‖₂) − z_{i y_i}]``
    (binary: ``Σ_i w_i log(1 + exp(−s_i z_i + c ‖w‖₂))``) over ``(W, b)`` with
    ``z = Φ W + b`` and ``W ∈ constraint``; see :mod:`cvxdual.heads._margin`.
    With ``c = ε L`` for features that are ``L``-Lipschitz in the input, the
    loss pushes every sample towards a certified ℓ2 radius ``ε``.

    Parameters
    ----------
    loss : {"log_loss", "multinomial"}
        Binary (targets ±1, one score) or multiclass (labels ``0..K−1``).
    margin : float
        ``c ≥ 0``, the score margin per unit of ``‖w_y − w_j‖₂``; 0 gives the
        plain log-loss.
    constraint : ConvexSet or None, default=None
        Set of the coefficients ``W`` (never modified).
    fit_intercept : bool, default=True
        Fit an unconstrained intercept.
    solver : str, default="auto"
        ``"auto"``: the fast solver (no constraint or an
        :class:`~cvxdual.sets.L2Ball`) with CVXPY when it cannot certify its
        answer; ``"fast"``: the fast solver only; ``"cvxpy"``: CVXPY with the
        default solver order; a CVXPY solver name: that solver only.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.heads._margin import LipschitzMarginHead
    >>> from cvxdual.sets import L2Ball
    >>> rng = np.random.default_rng(0)
    >>> Phi = rng.normal(size=(30, 3))
    >>> y = np.argmax(Phi, axis=1)
    >>> fast = LipschitzMarginHead("multinomial", 0.5, L2Ball(2.0)).solve(Phi, y)
    >>> exact = LipschitzMarginHead("multinomial", 0.5, L2Ball(2.0), solver="cvxpy").solve(Phi, y)
    >>> fast.method, bool(abs(fast.objective - exact.objective) < 1e-6)
    ('lbfgs-margin-l2', True)
    >>> bool(np.allclose(fast.sample_duals, exact.sample_duals, atol=1e-6))
    True
    """

    def __init__(self, loss, margin, constraint=None, *, fit_intercept=True, solver="auto"):
        self.loss = _check_loss(loss)
        if self.loss.name not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}, got {loss!r}")
        if (
            isinstance(margin, bool)
            or not isinstance(margin, numbers.Real)
            or not np.isfinite(margin)
            or margin < 0
        ):
            raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
        self.margin = float(margin)
        self.constraint = _check_constraint(constraint)
        self.fit_intercept = bool(fit_intercept)
        self.solver = _check_solver(solver)
        if self.solver == "fast" and not self.has_fast_solver:
            raise ValueError(
                f"solver='fast' needs no constraint or an L2Ball, got {constraint!r}"
            )
        self._compiled: dict[tuple[int, int, int], _Compiled] = {}

    @property
    def has_fast_solver(self) -> bool:
        """Whether the constraint has a fast exact solver (None or an ``L2Ball``)."""
        return self.constraint is None or type(self.constraint) is L2Ball

    def __repr__(self) -> str:
        return (
            f"LipschitzMarginHead({self.loss.name!r}, margin={self.margin!r}, "
            f"constraint={self.constraint!r})"
        )

    def _validate(self, features, y, sample_weight):
        Phi = np.array(features, dtype=float)
        if Phi.ndim != 2 or Phi.size == 0 or not np.all(np.isfinite(Phi)):
            raise ValueError(
                f"features must be a non-empty finite 2-D array, got shape {Phi.shape}"
            )
        n = Phi.shape[0]
        Y = self.loss.encode_targets(y)
        if Y.shape[0] != n:
            raise ValueError(f"y has {Y.shape[0]} samples but features has {n}")
        weights = np.full(n, 1.0 / n) if sample_weight is None else np.array(
            sample_weight, dtype=float
        ).reshape(-1)
        if weights.shape != (n,) or not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(
                f"sample_weight must hold {n} finite non-negative numbers, got shape "
                f"{weights.shape}"
            )
        if weights.max() <= 0:
            raise ValueError("sample_weight must have a positive sum, got all zeros")
        weights = weights / weights.max()
        weights = weights / weights.sum()
        if self.constraint is not None:
            self.constraint.check_shape((Phi.shape[1], Y.shape[1]))
        return Phi, Y, weights

    def compiled(self, n: int, d: int, K: int) -> _Compiled:
        """Return the CVXPY problem for ``(n, d, K)``, built once."""
        key = (n, d, K)
        if key not in self._compiled:
            self._compiled[key] = _Compiled(
                self.loss.name, self.margin, self.constraint, self.fit_intercept, n, d, K
            )
        return self._compiled[key]

    @limit_competing_blas
    def solve(self, features, y, sample_weight=None, warm_start=None) -> HeadSolution:
        """Solve the head problem for ``features`` and ``y``; return a :class:`HeadSolution`.

        Parameters
        ----------
        features : array-like of shape (n_samples, n_features)
            ``Phi``.
        y : array-like of shape (n_samples,)
            ±1 (logistic) or labels ``0..K−1`` (multinomial).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; the objective is their normalised weighted mean.
        warm_start : HeadSolution, optional
            A previous solution; the fast solver starts from it.

        Returns
        -------
        HeadSolution
            ``duals`` holds the constraint's duals, ``sample_duals`` the dual
            ``ν`` of the scores constraint; ``method`` is ``"lbfgs-margin"``,
            ``"lbfgs-margin-l2"``, ``"merged-margin"`` / ``"merged-margin-l2"`` (the
            margin merges every class: ``W = 0``, certified),
            ``"clustered-margin"`` / ``"clustered-margin-l2"`` (it merges some
            classes: solved on the shared columns, certified) or ``"cvxpy"``.
        """
        Phi, Y, weights = self._validate(features, y, sample_weight)
        n, d = Phi.shape
        K = Y.shape[1]
        if self.solver in ("auto", "fast") and self.has_fast_solver:
            try:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    solution = _merged_solution(
                        self.loss.name == "multinomial", self.margin, Phi, Y, weights,
                        self.fit_intercept, self.constraint is not None,
                    )
                    if solution is None:
                        solution = self._solve_fast(Phi, Y, weights, warm_start)
            except (ArithmeticError, np.linalg.LinAlgError) as exc:
                logger.info("fast margin-head solver failed (%s)", exc)
                solution = None
            if solution is not None:
                return solution
            if self.solver == "fast":
                raise SolverError(
                    f"The fast solver could not certify the solution of {self!r} (a kink "
                    "of the margin at the solution, or no convergence)."
                )
            logger.info("fast margin-head solver did not certify; solving the CVXPY problem")
        solver = None if self.solver in _SOLVER_WORDS else self.solver
        if n * d <= _DEFAULT_CONFIG.dpp_max_entries:
            problem = self.compiled(n, d, K)
        else:
            # As NormBoundedHead: DPP compilation with a large parameter Phi is far
            # slower than a fresh build and runs out of memory (exponential cones).
            problem = _Compiled(
                self.loss.name, self.margin, self.constraint, self.fit_intercept, n, d, K, Phi
            )
        return problem.solve(Phi, Y, weights, solver, f"{self!r} problem")

    # -- the fast solver -------------------------------------------------

    def _start(self, f: _MarginObjective, warm_start):
        d, K = f.d, f.K
        if (
            isinstance(warm_start, HeadSolution)
            and warm_start.coef.shape == (d, K)
            and np.any(warm_start.coef)
        ):
            return np.asarray(warm_start.coef, float), np.asarray(warm_start.intercept, float)
        # The plain log-loss's steepest descent from 0: distinct columns when the
        # class means of the features differ.
        target = f.Y if not f.multinomial else f.Y - 1.0 / K
        W = f.Phi.T @ (f.w[:, None] * target)
        b = np.zeros(K)
        if f.multinomial:
            b = np.log(np.maximum(f.w @ f.Y, 1e-300))
            b -= b.mean()
        return W, b

    def _solve_fast(self, Phi, Y, weights, warm_start) -> HeadSolution | None:
        original = _MarginObjective(
            self.loss.name, self.margin, Phi, Y, weights, self.fit_intercept
        )
        W, b = self._start(original, warm_start)
        if not np.any(W) or not np.all(np.isfinite(W)):
            return None
        # Iterate on centred features (z = (Φ − m) W + b + m W, the intercept
        # absorbing m W): far better conditioned for non-negative (relu)
        # features; the KKT conditions are checked in the original coordinates.
        mean = weights @ Phi if self.fit_intercept else np.zeros(Phi.shape[1])
        f = _MarginObjective(
            self.loss.name, self.margin, Phi - mean, Y, weights, self.fit_intercept
        )
        b = b + mean @ W
        radius = None if self.constraint is None else float(self.constraint.radius)
        d, K = f.d, f.K
        nW = d * K

        def pack(W, b):
            return np.concatenate([W.ravel(), b]) if self.fit_intercept else W.ravel()

        def free(x):
            value, gW, gb, _, _ = f.evaluate(*f.split(x))
            return value, pack(gW, gb)

        def sphere(x):
            V = x[:nW].reshape(d, K)
            value, gW, gb, _, _ = f.evaluate(radius * V / np.linalg.norm(V), f.split(x)[1])
            return value, pack(_sphere_gradient(gW, V, radius), gb)

        def to_sphere(x):
            x = x.copy()
            x[:nW] *= radius / np.linalg.norm(x[:nW])
            return x

        x = pack(W, b)
        n_iter = 0
        # L-BFGS stops on the largest gradient entry; the KKT test below is on
        # the 2-norm, relative to the gradient scale max|Φ| Σ|ν|.
        nu = f.evaluate(W, b)[3]
        scale = float(np.abs(Phi).max()) * float(np.abs(nu).sum()) / np.sqrt(x.size)
        gtol = _DEFAULT_CONFIG.kkt_rtol * scale
        binding = radius is not None and (
            np.linalg.norm(W) >= radius * (1 - 1e-9)
            or getattr(warm_start, "duals", {}).get("norm", 0.0) > 0
            or warm_start is None
        )
        # (a warm start's preconditioner and the ball's multiplier, for preconditioned runs)
        cached = getattr(warm_start, "_curvature", None) if f.multinomial else None
        lam = float(getattr(warm_start, "duals", {}).get("norm", 0.0))
        mu = max(lam, 0.0) / radius if radius is not None else 0.0
        keep = None
        for attempt in range(_PRE_RUNS + _LBFGS_RESTARTS):
            fun = sphere if binding else free
            if binding:
                x = x.copy()
                x[:nW] /= np.linalg.norm(x[:nW])  # ‖V‖ = 1 keeps the sphere well scaled
            if f.multinomial and warm_start is not None and attempt < _PRE_RUNS:
                key = (d, K, self.fit_intercept, radius, binding)
                x, it, keep = _preconditioned_run(fun, x, f, key, cached, mu, gtol)
                cached = None  # (a restart builds its own, at its point)
            else:
                x, it = _lbfgs(fun, x, gtol, _LBFGS_CONFIG)
            if binding:
                x = to_sphere(x)
            n_iter += it
            Wx, bx = f.split(x)
            bx = bx - mean @ Wx
            value, gW, gb, nu, smooth = original.evaluate(Wx, bx)
            if not smooth:  # at a kink: clusters of equal columns?
                return _clustered_solution(original, f, mean, Wx, f.split(x)[1], radius,
                                           self.fit_intercept, _LBFGS_CONFIG)
            lam = 0.0
            if binding:
                lam = -float(np.sum(gW * Wx)) / radius
                if lam < 0:  # the bound does not bind: minimise f itself
                    binding = False
                    continue
                mu = lam / radius  # (for the next preconditioner)
                gW = gW + (lam / radius) * Wx
            elif radius is not None and np.linalg.norm(Wx) > radius:
                binding = True
                continue
            scale = float(np.abs(Phi).max()) * float(np.abs(nu).sum()) + lam + 1e-300
            residual = max(float(np.linalg.norm(gW)), float(np.linalg.norm(gb)))
            if residual <= _DEFAULT_CONFIG.kkt_rtol * scale:
                if f.multinomial and self.fit_intercept:
                    bx = bx - bx.mean()  # z is invariant to a common shift of b
                solution = _margin_solution("lbfgs", Wx.copy(), bx.copy(), value,
                                            None if radius is None else lam, nu, n_iter)
                solution._curvature = keep
                return solution
        return None

