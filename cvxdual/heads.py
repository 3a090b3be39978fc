r"""Convex linear heads: the exact solution of a norm-bounded (or set-constrained) fit.

For fixed features ``Phi`` (n, d) the head solves the problem of DESIGN.md,

.. math::

    p^*(\Phi) = \min_{W, b, z} \; \sum_i w_i\, \ell(z_i, y_i)
    \quad \text{s.t.} \quad \Phi W + \mathbf 1 b^\top - z = 0 \;\; (\nu),
    \qquad W \in C,

with ``w_i = 1/n`` (or the normalised sample weights). The CVXPY problem is the
definition: :class:`NormBoundedHead` compiles it once per shape with
:class:`cvxpy.Parameter` objects and re-solves it. For the smooth losses
(``squared``, ``logistic``, ``multinomial``, ``squared_hinge``) with an
:class:`~cvxdual.sets.L2Ball`, :class:`~cvxdual.sets.L1Ball` or
:class:`~cvxdual.sets.LinfBall` (or no constraint) a fast exact solver returns
the same numbers:

* L2 (Frobenius) ball: the solution is the penalised optimum
  :math:`\theta(\mu) = \arg\min f(\theta) + \tfrac\mu2\|W\|_F^2` with
  :math:`\|W(\mu)\|_F = r`, and the dual is :math:`\lambda = \mu r`.
  Each penalised problem is solved by Newton's method (Cholesky of the small
  :math:`(d+1)K` Hessian, Armijo line search), warm-started along the path, and
  :math:`\mu` is found by safeguarded Newton steps on
  :math:`\varphi(\mu) = 1/\|W(\mu)\| - 1/r` with
  :math:`dW/d\mu = -(H + \mu P)^{-1} P\theta` (Moré–Sorensen).
  A solve warm-started from a binding solution (consecutive solves in a
  training loop) instead iterates on the KKT system in ``(θ, μ)`` with the
  inverse Hessian carried over from the previous solve (a chord method with
  BFGS updates, the Hessian refreshed only when the iteration stops
  contracting): a few gradient evaluations per solve.
* L1 ball: accelerated projected gradient (FISTA with restarts, the exact
  ℓ1-ball projection) identifies the support and signs; an equality-constrained
  Newton method on that face then solves to machine precision, and the KKT
  conditions are checked (:math:`\lambda = \|\nabla_W f\|_\infty`, support
  gradients equal to :math:`-\lambda\,\mathrm{sign}(W)`).
  For problems with ``n (d+1)² K² > 2·10⁷`` the L2 solver first runs L-BFGS
  on the sphere ``W = rV/‖V‖`` (whose curvature is that of the penalised
  problem at the optimal penalty) and then, when the Hessian is still cheap,
  polishes with Newton's method on the KKT system in ``(θ, μ)``.
* ℓ∞ ball (a box): FISTA with clipping identifies the coefficients at ``±r``;
  Newton's method over the others solves that face, with
  :math:`\lambda = \|\nabla_W f\|_1` and the KKT conditions checked.

If a fast solve does not certify its KKT conditions, the CVXPY problem is
solved instead. The intercept is never constrained.

Shapes: ``K = 1`` for the binary losses and 1-D squared targets (``coef`` is
``(d, 1)``, ``sample_duals`` ``(n, 1)``); ``K = n_targets`` for 2-D squared
targets; ``K = n_classes`` for the multinomial loss.

Dual sign convention (checked numerically in the tests): CVXPY's Lagrangian for
the constraint ``"scores"`` is :math:`f + \langle \nu, \Phi W + \mathbf 1 b^\top
- z\rangle`, so stationarity in ``z`` gives :math:`\nu_i = w_i\,\partial\ell/\partial
z_i`, i.e. :math:`\frac1n \partial\ell/\partial z_i` without weights. By the
envelope theorem :math:`\nabla_\Phi p^* = \nu W^{*\top}`
(:meth:`HeadSolution.feature_gradient`).
"""

from __future__ import annotations

import functools
import logging
import numbers
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import scipy.linalg
import scipy.linalg.blas
import scipy.linalg.lapack
import scipy.optimize

from . import _solvers
from .exceptions import SolverError
from .losses import Loss, get_loss
from .sets import ConvexSet, L1Ball, L2Ball, LinfBall, _frobenius

__all__ = ["HeadSolution", "NormBoundedHead"]

logger = logging.getLogger(__name__)

# Losses with a fast exact solver (a Lipschitz gradient and a cheap Hessian).
_FAST_LOSSES = ("squared", "logistic", "multinomial", "squared_hinge")
# Sets with a fast exact solver (exact types: subclasses may change the definition).
_FAST_SETS = (L2Ball, L1Ball, LinfBall)

# Tuning constants of the fast solvers.
_ARMIJO = 1e-4  # sufficient-decrease fraction of the Newton line search
_MAX_HALVINGS = 50  # backtracking steps before a line search gives up
_MAX_MU_STEPS = 100  # outer steps of the root find in the penalty μ
_MU_ZERO_NEWTON = 50  # Newton iterations allowed for the unpenalised (μ = 0) trial
_FISTA_MAX_ITER = 3_000  # projected-gradient iterations before the L1 solver gives up
_FISTA_CHECK = 10  # projected-gradient iterations between attempts at the face Newton
_KKT_RTOL = 1e-7  # relative KKT residual a fast solution must reach to be returned
_KKT_POLISH_RTOL = 1e-12  # relative KKT residual at which the Newton polish stops
_KKT_POLISH_STALL = 1e-9  # ... and the largest it accepts when rounding stalls it
_KKT_LBFGS_RTOL = 1e-5  # the same for an L-BFGS solution before its Newton polish
# Warm-started L2 solves iterate on the KKT system with the inverse of an earlier
# Hessian (a chord method with BFGS updates), refreshed at the current iterate
# when the residual stops contracting.
_KKT_CHORD_RTOL = 1e-9  # relative KKT residual at which the chord iteration stops
_CHORD_MAX_ITER = 60  # chord iterations before giving up (then the standard solvers run)
_CHORD_RATE = 0.7  # refresh the factor when a step shrinks the residual by less than this
_CHORD_REFRESH_GAP = 3  # ... but not within this many steps of the last refresh
_CHORD_MAX_REFRESH = 6  # Hessian refreshes per solve before giving up
_CHORD_MAX_PARAMS = 2_500  # largest (n_features + 1) K for the chord method (dense inverse)
# The chord method assembles a Hessian (n (p1 K)² flops) at least once per
# solve without a cached one and on each refresh; above this it is not tried.
_CHORD_MAX_WORK = 2e9
_LBFGS_MEMORY = 20  # L-BFGS correction pairs
# No relative-decrease test: L-BFGS stops on the gradient (gtol) or when its line
# search stalls (scikit-learn's 64 eps left the KKT residual at ~3e-7 on digits).
_LBFGS_FTOL = 0.0
_LBFGS_MAX_ITER = 15_000  # L-BFGS iterations
# Newton's method forms the (p1 K)² Hessian at a cost of n (p1 K)² flops: above
# _NEWTON_MAX_WORK the L2 solver runs L-BFGS on the sphere first, and above
# _POLISH_MAX_WORK it skips the final Newton polish.
_NEWTON_MAX_WORK = 2e7
_POLISH_MAX_WORK = 1.5e8
# Largest n_samples * n_features for which the CVXPY problem keeps Phi as a parameter.
_DPP_MAX_ENTRIES = 20_000


@dataclass
class HeadSolution:
    """Solution of a head problem, with the duals of the CVXPY definition.

    Attributes
    ----------
    coef : ndarray of shape (n_features, K)
        The optimal ``W``.
    intercept : ndarray of shape (K,)
        The optimal ``b`` (zeros without an intercept). For the multinomial loss
        the fast solver returns centred intercepts (summing to zero); CVXPY may
        return any optimal shift.
    objective : float
        Optimal value ``Σ_i w_i ℓ(z_i, y_i)``.
    duals : dict of str to float or ndarray
        Dual value of each constraint of the set (the set's keys), as CVXPY's
        ``dual_value`` reports it; empty without a constraint.
    sample_duals : ndarray of shape (n_samples, K)
        ``ν``, the dual of ``Phi @ W + b - z == 0``: ``ν_i = w_i ∂ℓ/∂z_i``.
    status : str
        ``"optimal"``.
    method : str
        ``"cvxpy"``, ``"newton"`` (no constraint), ``"newton-l2"``, ``"lbfgs-l2"``,
        ``"lbfgs-newton-l2"``, ``"lbfgs-chord-l2"`` (large problems),
        ``"chord-l2"`` (warm-started L2 solves), ``"face-newton-l1"`` or
        ``"face-newton-linf"``.
    n_iter : int
        Iterations of the fast solver (Newton, chord or projected-gradient
        steps), or of the CVXPY solver.
    solver : str or None
        The CVXPY solver used, or None for a fast solve.

    Notes
    -----
    A fast L2-ball solution also carries (privately) the Cholesky factor of the
    Hessian it last used; a solve warm-started from it reuses that factor as
    the chord matrix (``method="chord-l2"``), so consecutive solves on slowly
    changing features cost a few gradient evaluations each.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.heads import HeadSolution
    >>> sol = HeadSolution(np.ones((2, 1)), np.zeros(1), 0.5, {}, np.full((3, 1), 0.1),
    ...                    "optimal", "cvxpy")
    >>> sol.feature_gradient().shape
    (3, 2)
    """

    coef: np.ndarray
    intercept: np.ndarray
    objective: float
    duals: dict
    sample_duals: np.ndarray
    status: str
    method: str
    n_iter: int = 0
    solver: str | None = field(default=None)
    # (key, _ChordMatrix) for warm starts; see _solve_l2_chord.
    _curvature: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def feature_gradient(self) -> np.ndarray:
        """Return ``∇_Phi p* = sample_duals @ coef.T``, shape ``(n_samples, n_features)``.

        Examples
        --------
        >>> import numpy as np
        >>> from cvxdual.heads import NormBoundedHead
        >>> from cvxdual.sets import L2Ball
        >>> Phi = np.array([[1.0], [2.0], [3.0]])
        >>> sol = NormBoundedHead("squared", L2Ball(0.5)).solve(Phi, np.array([1.0, 2.0, 3.0]))
        >>> sol.coef.ravel().round(6).tolist(), sol.feature_gradient().shape
        ([0.5], (3, 1))
        """
        return self.sample_duals @ self.coef.T


# ---------------------------------------------------------------------------
# The CVXPY definition, compiled once per shape.


def _solver_iterations(problem: cp.Problem) -> int:
    stats = problem.solver_stats
    iterations = getattr(stats, "num_iters", None) if stats is not None else None
    return int(iterations) if iterations is not None else 1


class _CompiledHead:
    """The DPP CVXPY problem of a head for one shape ``(n, d, K)``.

    With ``data = (Phi, Y, weights)`` the problem is built for that data only,
    with constants instead of parameters.
    """

    def __init__(
        self, loss: Loss, constraint: ConvexSet | None, fit_intercept: bool, n, d, K, data=None
    ):
        self.loss = loss
        self.W = cp.Variable((d, K), name="W")
        self.z = cp.Variable((n, K), name="z")
        if data is None:
            self.Phi = cp.Parameter((n, d), name="Phi")
            self.params = loss.cvxpy_parameters(n, K)
        else:
            Phi, Y, weights = data
            self.Phi = cp.Constant(Phi)
            self.params = {
                key: cp.Constant(value) for key, value in loss.parameter_values(Y, weights).items()
            }
        scores = self.Phi @ self.W
        if fit_intercept:
            self.b = cp.Variable(K, name="b")
            scores = scores + np.ones((n, 1)) @ cp.reshape(self.b, (1, K), order="C")
        else:
            self.b = None
        self.scores = scores - self.z == 0
        self.set_constraints = {} if constraint is None else constraint.constraints(self.W)
        self.problem = cp.Problem(
            cp.Minimize(loss.cvxpy_objective(self.z, self.params)),
            [self.scores, *self.set_constraints.values()],
        )
        if not self.problem.is_dcp(dpp=True):
            raise ValueError(
                f"The head problem with loss {loss.name!r} and constraint {constraint!r} "
                "is not DCP (and DPP) in the coefficients."
            )

    def solve(self, Phi, Y, weights, solver, what) -> HeadSolution:
        if isinstance(self.Phi, cp.Parameter):
            self.Phi.value = Phi
            for name, value in self.loss.parameter_values(Y, weights).items():
                self.params[name].value = value
        used = _solvers.solve(self.problem, solver, what=what)
        K = self.W.shape[1]
        intercept = np.zeros(K) if self.b is None else np.asarray(self.b.value, dtype=float)
        return HeadSolution(
            coef=np.array(self.W.value, dtype=float),
            intercept=intercept.reshape(K).copy(),
            objective=float(self.problem.value),
            duals={key: _solvers.dual_value(c) for key, c in self.set_constraints.items()},
            sample_duals=np.array(self.scores.dual_value, dtype=float).reshape(-1, K),
            status="optimal",
            method="cvxpy",
            n_iter=_solver_iterations(self.problem),
            solver=used,
        )


# ---------------------------------------------------------------------------
# Fast exact solvers for smooth losses.


class _Smooth:
    """``f(Θ) = Σ_i w_i ℓ(a_i Θ, y_i)`` with ``Θ`` (p1, K) = [W; b] and ``a_i = [φ_i, 1]``.

    Vectors ``θ`` are ``Θ`` flattened column by column (class-major), so the
    Hessian has ``K × K`` blocks of size ``p1 × p1``.
    """

    def __init__(self, loss: Loss, Phi, Y, weights, fit_intercept: bool):
        self.loss = loss
        self.n, self.d = Phi.shape
        self.K = Y.shape[1]
        self.A = np.hstack([Phi, np.ones((self.n, 1))]) if fit_intercept else Phi
        self.p1 = self.A.shape[1]
        self.Y = Y
        self.w = weights
        mask = np.zeros((self.p1, self.K))
        mask[: self.d] = 1.0
        self.mask = mask.ravel(order="F")  # 1 on the coefficients W, 0 on the intercept
        self.multinomial = loss.name == "multinomial"
        self._wy = weights[:, None] * Y if self.multinomial else None
        self.n_eval = 0
        self._last = None

    def theta(self, coef, intercept) -> np.ndarray:
        Theta = np.vstack([coef, intercept[None, :]]) if self.p1 > self.d else coef
        return np.array(Theta, dtype=float).ravel(order="F")

    def split(self, theta):
        Theta = theta.reshape(self.p1, self.K, order="F")
        intercept = Theta[self.d] if self.p1 > self.d else np.zeros(self.K)
        return Theta[: self.d].copy(), np.array(intercept, dtype=float)

    def scores(self, theta):
        return self.A @ theta.reshape(self.p1, self.K, order="F")

    def value(self, theta) -> float:
        self.n_eval += 1
        return float(self.w @ self.loss.per_sample(self.scores(theta), self.Y))

    def value_grad(self, theta):
        """Return ``f``, ``∇f`` (flat), the sample duals ``G = w ∂ℓ/∂z`` and ``z``.

        The last result is cached (solvers often evaluate the same point twice);
        callers must not modify the arrays returned.
        """
        if self._last is not None and np.array_equal(theta, self._last[0]):
            return self._last[1]
        self.n_eval += 1
        z = self.scores(theta)
        if self.multinomial:
            # The multinomial loss inline (as losses.py, fewer passes): the chord
            # iterations spend most of their time here.
            # row maxima and sums column by column / as a product: reductions
            # along rows of K entries are several times slower in NumPy
            top = z[:, 0].copy()
            for k in range(1, self.K):
                np.maximum(top, z[:, k], out=top)
            G = z - top[:, None]
            np.exp(G, out=G)
            total = G @ np.ones(self.K)
            value = float(self.w @ (np.log(total) + top)) - float(np.vdot(self._wy, z))
            G *= (self.w / total)[:, None]
            G -= self._wy
        else:
            values, G = self.loss.per_sample_and_gradient(z, self.Y)
            G *= self.w[:, None]
            value = float(self.w @ values)
        grad = (G.T @ self.A).ravel()  # (K, p1) in C order: Θ's gradient, class-major
        result = (value, grad, G, z)
        self._last = (np.array(theta, dtype=float, copy=True), result)
        return result

    def hessian(self, z, gauge: bool = True, dtype=np.float64) -> np.ndarray:
        """Hessian of ``f``; for the multinomial loss plus the projector on its null space.

        With ``gauge`` false only the intercept direction is fixed (the face
        problems of the ℓ1 ball are not invariant to shifting coefficient rows).
        ``dtype=np.float32`` assembles it in single precision (for chord matrices).
        """
        A, p1, K = self.A.astype(dtype, copy=False), self.p1, self.K
        H = np.zeros((p1 * K, p1 * K), dtype=dtype)
        if self.multinomial:
            z = z - z.max(axis=1, keepdims=True)
            P = np.exp(z)
            P /= P.sum(axis=1, keepdims=True)
            P = P.astype(dtype, copy=False)
            WP = self.w.astype(dtype)[:, None] * P
            for k in range(K):
                Bk = A * WP[:, k : k + 1]
                for l in range(k, K):
                    if l == k:
                        block = Bk.T @ (A * (1.0 - P[:, k : k + 1]))
                    else:
                        block = -(Bk.T @ (A * P[:, l : l + 1]))
                    H[k * p1 : (k + 1) * p1, l * p1 : (l + 1) * p1] = block
                    if l != k:
                        H[l * p1 : (l + 1) * p1, k * p1 : (k + 1) * p1] = block.T
            # The loss is invariant to adding the same row vector to every class:
            # fix that gauge (gradient and penalty are orthogonal to it), each
            # coordinate at its own curvature averaged over the classes (one scale
            # for all would swamp the curvature of badly scaled features). Without
            # ``gauge`` only the intercept's direction, at the mean curvature.
            if gauge:
                curvature = np.mean([np.diag(H[k * p1 : (k + 1) * p1, k * p1 : (k + 1) * p1])
                                     for k in range(K)], axis=0)
                curvature = np.maximum(curvature, np.finfo(dtype).tiny)
            else:
                scale = max(np.trace(H) / H.shape[0], 1e-12)
                curvature = scale * (np.arange(p1) >= self.d)
            fix = np.diag(curvature / K).astype(dtype, copy=False)
            for k in range(K):
                for l in range(K):
                    H[k * p1 : (k + 1) * p1, l * p1 : (l + 1) * p1] += fix
        else:
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


def _power_of_two_scale(Phi) -> float:
    """The power of two nearest the root mean square of ``Phi`` (1 for zeros)."""
    top = float(np.max(np.abs(Phi)))
    if top == 0.0:
        return 1.0
    rms = top * float(np.sqrt(np.mean((Phi / top) ** 2)))
    return float(2.0 ** np.clip(np.round(np.log2(rms)), -960, 960))


def _factor(M):
    """Cholesky factor of ``M``, adding a small multiple of I if it is singular."""
    jitter = 0.0
    scale = max(float(np.max(np.abs(np.diag(M)))), 1e-300)
    for _ in range(12):
        try:
            return scipy.linalg.cho_factor(M + jitter * np.eye(M.shape[0]), check_finite=False)
        except np.linalg.LinAlgError:
            jitter = scale * 1e-14 if jitter == 0.0 else jitter * 100.0
    raise np.linalg.LinAlgError("Hessian is not positive definite")


def _newton(smooth: _Smooth, theta, mu, tol, max_iter):
    """Minimise ``f(θ) + μ/2 ‖Pθ‖²`` by Newton's method with an Armijo line search.

    Returns ``(theta, converged, n_iter, factor)``; ``factor`` is the Cholesky
    factor of ``H + μP`` at the last iterate (for the μ-derivative of ``θ(μ)``).
    """
    mask = smooth.mask
    val, grad, _, z = smooth.value_grad(theta)
    val += 0.5 * mu * float(np.sum((mask * theta) ** 2))
    grad = grad + mu * mask * theta
    factor = None
    for it in range(1, max_iter + 1):
        H = smooth.hessian(z)
        H[np.diag_indices_from(H)] += mu * mask
        factor = _factor(H)
        step = -scipy.linalg.cho_solve(factor, grad, check_finite=False)
        decrement = -float(grad @ step)
        if not np.isfinite(decrement):
            return theta, False, it, factor
        if decrement <= tol**2 * max(abs(val), 1e-3) or decrement <= 1e-30:
            theta = theta + step  # a last full step costs nothing and gains precision
            return theta, True, it, factor
        t = 1.0
        # Near the optimum a full step is always taken: the Armijo test is then
        # below the rounding error of the objective.
        full = decrement <= 1e-10 * max(abs(val), 1.0)
        for _ in range(_MAX_HALVINGS):
            candidate = theta + t * step
            new = smooth.value(candidate) + 0.5 * mu * float(np.sum((mask * candidate) ** 2))
            if full or new <= val - _ARMIJO * t * decrement:
                break
            t *= 0.5
        else:
            return theta, False, it, factor
        theta = candidate
        val, grad, _, z = smooth.value_grad(theta)
        val += 0.5 * mu * float(np.sum((mask * theta) ** 2))
        grad = grad + mu * mask * theta
    return theta, False, max_iter, factor


def _solve_l2(smooth: _Smooth, radius, theta, mu0, tol, max_iter):
    """Root-find the penalty ``μ`` with ``‖W(μ)‖_F = r``; return ``(θ, λ, n_iter)`` or None."""
    mask = smooth.mask
    n_iter = 0

    def norm_w(th):
        return _frobenius(mask * th)  # no under- or overflow of the squares

    if radius is None or mu0 == 0.0:
        # Unpenalised trial (no constraint, or a warm start that did not bind).
        cap = max_iter if radius is None else _MU_ZERO_NEWTON
        th, ok, it, _ = _newton(smooth, theta, 0.0, tol, cap)
        n_iter += it
        if radius is None:
            return (th, 0.0, n_iter) if ok else None
        if ok and norm_w(th) <= radius * (1.0 + tol):
            return th, 0.0, n_iter
        mu0 = None
    if mu0 is None:
        _, grad, _, _ = smooth.value_grad(theta)
        mu0 = max(float(np.linalg.norm(mask * grad)) / radius, 1e-12)
    lo, hi = 0.0, np.inf
    mu = mu0
    tried_zero = False
    for _ in range(_MAX_MU_STEPS):
        th, ok, it, factor = _newton(smooth, theta, mu, tol, max_iter)
        n_iter += it
        if not ok:
            return None
        theta = th
        nw = norm_w(theta)
        if abs(nw - radius) <= tol * radius:
            return theta, mu * nw, n_iter
        if nw == 0.0:
            # W(μ) = 0 with μ > 0 means ∇_W f = 0 at W = 0: optimal, bound inactive.
            return theta, 0.0, n_iter
        if nw > radius:
            lo = mu
        else:
            hi = mu
        u = scipy.linalg.cho_solve(factor, mask * theta, check_finite=False)
        phi = 1.0 / nw - 1.0 / radius
        dphi = float((mask * theta) @ u) / nw**3
        proposal = mu - phi / dphi if dphi > 0 else np.nan
        if np.isfinite(proposal) and lo < proposal < hi:
            mu = proposal
        elif np.isfinite(proposal) and proposal <= 0.0 and lo == 0.0 and not tried_zero:
            # The extrapolated root is negative: the bound may not bind.
            tried_zero = True
            th, ok, it, _ = _newton(smooth, theta, 0.0, tol, _MU_ZERO_NEWTON)
            n_iter += it
            if ok and norm_w(th) <= radius * (1.0 + tol):
                return th, 0.0, n_iter
            mu = 0.1 * mu
        elif np.isfinite(hi):
            mu = np.sqrt(lo * hi) if lo > 0 else 0.1 * hi
        else:
            mu = 10.0 * mu
        if lo > 0 and np.isfinite(hi) and hi - lo <= 1e-15 * hi:
            return None
        if lo == 0.0 and hi < 1e-14 * mu0:
            # φ > 0 down to μ ≈ 0: the bound does not bind.
            th, ok, it, _ = _newton(smooth, theta, 0.0, tol, max_iter)
            n_iter += it
            if ok and norm_w(th) <= radius * (1.0 + tol):
                return th, 0.0, n_iter
            return None
    return None


def _l2_kkt_residual(smooth: _Smooth, radius, theta, lam) -> float:
    """Relative residual of ``∇f + (λ/r) Pθ = 0`` (as the KKT iterations measure it)."""
    _, grad, _, _ = smooth.value_grad(theta)
    r1 = grad + (lam / radius) * smooth.mask * theta
    return float(np.max(np.abs(r1))) / max(float(np.max(np.abs(grad))), 1e-300)


def _polish_l2(smooth: _Smooth, radius, theta, mu, tol, max_iter):
    """Newton's method on the KKT system of the binding L2 problem; ``(θ, λ, n)`` or None.

    Unknowns ``(θ, μ)``, equations ``∇f(θ) + μPθ = 0`` and ``½(‖Pθ‖² − r²) = 0``;
    no globalisation, so it is only used from an accurate start and gives up
    (returns None) as soon as the residual stops decreasing.
    """
    mask = smooth.mask
    best = None  # (residual, theta, mu, iterations)
    for it in range(1, max_iter + 1):
        _, grad, _, z = smooth.value_grad(theta)
        r1 = grad + mu * mask * theta
        r2 = 0.5 * (float(np.sum((mask * theta) ** 2)) - radius**2)
        scale = max(float(np.max(np.abs(grad))), 1e-300)
        residual = max(float(np.max(np.abs(r1))) / scale, abs(r2) / radius**2)
        if residual <= _KKT_POLISH_RTOL:
            return theta, mu * float(np.linalg.norm(mask * theta)), it - 1
        if best is not None and residual >= best[0]:
            # Stalled at the rounding level: accept the best iterate if it is accurate.
            if best[0] <= _KKT_POLISH_STALL:
                _, theta, mu, n = best
                return theta, mu * float(np.linalg.norm(mask * theta)), n
            return None
        if mu <= 0:
            return None
        best = (residual, theta, mu, it - 1)
        H = smooth.hessian(z)
        H[np.diag_indices_from(H)] += mu * mask
        factor = _factor(H)
        a = scipy.linalg.cho_solve(factor, r1, check_finite=False)
        c = scipy.linalg.cho_solve(factor, mask * theta, check_finite=False)
        pt = mask * theta
        curvature = float(pt @ c)
        if not curvature > 0:  # Pθ = 0 or a broken factor: no step in μ
            return None
        d_mu = (r2 - float(pt @ a)) / curvature
        theta = theta - a - c * d_mu
        mu = mu + d_mu
    return None


@functools.lru_cache(maxsize=8)
def _strictly_lower(n: int) -> np.ndarray:
    """Boolean mask of the strictly lower triangle of an n × n matrix (read-only)."""
    mask = np.tril(np.ones((n, n), dtype=bool), -1)
    mask.setflags(write=False)
    return mask


class _ChordMatrix:
    """``(H + μP)⁻¹`` at one point, applied by a matrix product, with BFGS updates.

    The inverse is kept in single precision: a chord matrix only sets the rate
    of the iteration (its fixed point is the exact KKT point), and a float32
    product reads half the memory of a float64 triangular solve. Each chord
    step updates it (BFGS, a rank-2 change) with the observed change of the
    Lagrangian gradient, so it follows the Hessian as the features drift from
    solve to solve and needs fewer full refreshes.
    """

    def __init__(self, smooth: _Smooth, z, mu):
        mask = smooth.mask
        inverse = None
        for dtype in (np.float32, np.float64):
            H = smooth.hessian(z, dtype=dtype)
            H[np.diag_indices_from(H)] += (mu * mask).astype(dtype)
            c, info = scipy.linalg.lapack.get_lapack_funcs("potrf", (H,))(H, lower=False)
            if info == 0:
                inv, info = scipy.linalg.lapack.get_lapack_funcs("potri", (c,))(c, lower=False)
                if info == 0 and np.all(np.isfinite(np.diag(inv))):
                    # potri fills the upper triangle: mirror it (one pass)
                    inverse = np.where(_strictly_lower(inv.shape[0]), inv.T, inv)
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

    def copy(self) -> _ChordMatrix:
        new = object.__new__(_ChordMatrix)
        new.__dict__.update(self.__dict__)
        new.inverse = self.inverse.copy()
        return new

    def update(self, s, y):
        """BFGS update of the inverse with the step ``s`` and gradient change ``y``."""
        sy = float(s @ y)
        if not sy > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            return
        B = self.inverse
        dt = B.dtype
        By = self._product(y.astype(dt))
        yBy = float(y @ By)
        rho = 1.0 / sy
        # B+ = B - ρ (s Byᵀ + By sᵀ) + (ρ² yBy + ρ) s sᵀ = B + u sᵀ + s uᵀ with
        # u = (ρ² yBy + ρ)/2 s - ρ By: a symmetric rank-2 update of one triangle, in
        # place (B.T is the Fortran-ordered view of the C array).
        s_ = s.astype(dt)
        u = (0.5 * (rho * rho * yBy + rho)) * s_ - rho * By
        (syr2,) = scipy.linalg.blas.get_blas_funcs(("syr2",), (B,))
        syr2(1.0, u, s_, a=B.T, overwrite_a=True, lower=0)

    def _product(self, x):
        """``B x`` from the triangle the updates maintain (the other one goes stale)."""
        B = self.inverse
        (symv,) = scipy.linalg.blas.get_blas_funcs(("symv",), (B,))
        return symv(1.0, B.T, x, lower=0)

    def solve(self, R):
        """Return ``(H + μP)⁻¹ R`` for the columns of ``R``."""
        dt = self.inverse.dtype
        X = np.column_stack([self._product(r.astype(dt)) for r in R.T]).astype(float)
        if self.centre:
            # Keep the multinomial gauge: rounding in single precision would
            # otherwise add a common row to every class, which changes ‖W‖ but
            # not the loss, and the iteration would stall.
            X = X.T.reshape(-1, *self.shape)
            X -= X.mean(axis=1, keepdims=True)
            X = X.reshape(R.shape[1], -1).T
        return X


def _solve_l2_chord(smooth: _Smooth, radius, theta, mu, factor, tol):
    """Solve the binding L2 problem by a chord method on its KKT system.

    Unknowns ``(θ, μ)``, equations ``∇f(θ) + μPθ = 0`` and ``½(‖Pθ‖² − r²) = 0``
    (as :func:`_polish_l2`), but every step uses a :class:`_ChordMatrix`
    ``factor``, the inverse of an earlier ``H + μP`` (from a previous solve on
    nearby features, BFGS-updated since) instead of the current Hessian: one
    gradient and one product with a dense matrix per step. When
    a step contracts the residual by less than ``_CHORD_RATE`` the factor is
    refreshed at the current iterate (a Newton step). The answer is returned
    only when the relative KKT residual reaches ``_KKT_CHORD_RTOL`` with
    ``μ > 0`` and ``|‖W‖ − r| <= tol r``, so it certifies the KKT conditions of
    the convex ball problem.

    Returns ``(θ, λ, n_iter, factor)`` or None (no convergence, or the bound
    seems not to bind).
    """
    mask = smooth.mask
    previous, since, refreshes = np.inf, 0, 0
    last = None  # (θ, ∇f) of the previous iterate, for the BFGS update
    own = False  # whether ``factor`` may be updated in place
    for it in range(_CHORD_MAX_ITER + 1):
        _, grad, _, z = smooth.value_grad(theta)
        pt = mask * theta
        r1 = grad + mu * pt
        if last is not None:
            if not own:
                factor = factor.copy()
                own = True
            factor.update(theta - last[0], grad - last[1] + mu * (pt - mask * last[0]))
        last = (theta, grad)
        r2 = 0.5 * (float(pt @ pt) - radius**2)
        scale = max(float(np.max(np.abs(grad))), 1e-300)
        residual = max(float(np.max(np.abs(r1))) / scale, abs(r2) / radius**2)
        if not np.isfinite(residual):
            return None
        if residual <= _KKT_CHORD_RTOL:
            norm = float(np.sqrt(pt @ pt))
            if mu <= 0 or abs(norm - radius) > tol * radius:
                return None
            return theta, mu * norm, it, factor
        if it == _CHORD_MAX_ITER:
            return None
        if factor is None or (since >= _CHORD_REFRESH_GAP and residual > _CHORD_RATE * previous):
            if refreshes == _CHORD_MAX_REFRESH or mu <= 0:
                return None
            try:
                factor = _ChordMatrix(smooth, z, mu)
            except np.linalg.LinAlgError:
                return None
            own = True
            refreshes += 1
            since = 0
        since += 1
        previous = residual
        ac = factor.solve(np.column_stack([r1, pt]))
        a, c = ac[:, 0], ac[:, 1]
        curvature = float(pt @ c)
        if not curvature > 0:  # Pθ = 0 or a broken factor: no step in μ
            return None
        d_mu = (r2 - float(pt @ a)) / curvature
        theta = theta - a - c * d_mu
        mu = mu + d_mu
    return None


def _lbfgs(fun, x0, tol, max_iter):
    """Minimise a smooth ``fun`` (returning value and gradient) with scipy's L-BFGS."""
    result = scipy.optimize.minimize(
        fun,
        x0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "maxcor": _LBFGS_MEMORY, "ftol": _LBFGS_FTOL, "gtol": tol},
    )
    return result.x, int(result.nit)


def _solve_l2_sphere(smooth: _Smooth, radius, theta, tol):
    """Solve the L2-ball problem on its boundary by L-BFGS; return ``(θ, λ, n_iter)`` or None.

    ``W = r V / ‖V‖`` turns the binding problem into an unconstrained smooth one
    in ``(V, b)`` whose curvature is that of the penalised problem with the
    optimal penalty, so L-BFGS costs about as much as one penalised fit. A
    stationary point with ``λ = −⟨∇_W f, W⟩ / r > 0`` satisfies the KKT
    conditions of the convex ball problem, hence is its solution; with
    ``λ <= 0`` the bound does not bind and the unpenalised problem is solved.
    """
    mask = smooth.mask.astype(bool)
    theta = theta.copy()
    V = theta[mask]
    if not np.any(V):
        _, grad, _, _ = smooth.value_grad(theta)
        V = -grad[mask]
        if not np.any(V):
            return None
    # Gradient scale for the stopping test: at the start (W = 0 or the warm start).
    gtol = tol * max(float(np.max(np.abs(smooth.value_grad(theta)[1]))), 1e-12)
    theta[mask] = V * (radius / np.linalg.norm(V))

    def on_sphere(x):
        t = x.copy()
        t[mask] = x[mask] * (radius / np.linalg.norm(x[mask]))
        return t

    def fun(x):
        V = x[mask]
        nv = np.linalg.norm(V)
        u = V / nv
        t = x.copy()
        t[mask] = radius * u
        val, grad, _, _ = smooth.value_grad(t)
        grad = grad.copy()
        gW = grad[mask]
        grad[mask] = (radius / nv) * (gW - u * float(u @ gW))
        return val, grad

    x, n_iter = _lbfgs(fun, theta, gtol, _LBFGS_MAX_ITER)
    theta = on_sphere(x)
    _, grad, _, _ = smooth.value_grad(theta)
    gW, W = grad[mask], theta[mask]
    lam = -float(gW @ W) / radius
    scale = max(float(np.max(np.abs(gW))), 1e-12)
    if lam > 0:
        residual = np.concatenate([gW + (lam / radius) * W, grad[~mask]])
        if np.max(np.abs(residual)) <= _KKT_LBFGS_RTOL * scale:
            return theta, lam, n_iter
        return None

    # The bound does not bind: minimise f itself, starting from the sphere.
    def free(t):
        val, grad, _, _ = smooth.value_grad(t)
        return val, grad.copy()

    x, it = _lbfgs(free, theta, gtol, _LBFGS_MAX_ITER)
    n_iter += it
    _, grad, _, _ = smooth.value_grad(x)
    if np.linalg.norm(x[mask]) <= radius and np.max(np.abs(grad)) <= _KKT_LBFGS_RTOL * scale:
        return x, 0.0, n_iter
    return None


def _face_newton(smooth: _Smooth, theta, support, signs, radius, tol, max_iter):
    """Minimise ``f`` over ``{θ : θ_j = 0 off support, Σ s_j θ_j = r}`` by Newton's method.

    Returns ``(theta, lam, converged, n_iter)``: ``lam`` is the multiplier of the
    face equation (the ℓ1 dual when the face is the optimal one).
    """
    idx = np.flatnonzero(support | (smooth.mask == 0))  # free: support and intercepts
    s = np.where(support, signs, 0.0)[idx]
    theta = theta.copy()
    theta[(smooth.mask == 1) & ~support] = 0.0
    # Start on the face (scaling the support part to the right ℓ1 norm).
    current = float(s @ theta[idx])
    if current <= 0:
        theta[idx] = np.where(s != 0, s * radius / max(np.count_nonzero(s), 1), theta[idx])
    else:
        theta[idx] = np.where(s != 0, theta[idx] * radius / current, theta[idx])
    lam = 0.0
    val, grad, _, z = smooth.value_grad(theta)
    m = idx.size
    for it in range(1, max_iter + 1):
        H = smooth.hessian(z, gauge=False)[np.ix_(idx, idx)]
        KKT = np.zeros((m + 1, m + 1))
        KKT[:m, :m] = H
        KKT[:m, m] = s
        KKT[m, :m] = s
        rhs = np.concatenate([-grad[idx], [radius - float(s @ theta[idx])]])
        try:
            sol = np.linalg.solve(KKT, rhs)
        except np.linalg.LinAlgError:
            sol = np.linalg.lstsq(KKT, rhs, rcond=None)[0]
        step, lam = sol[:m], float(sol[m])
        decrement = float(step @ H @ step)
        if not np.all(np.isfinite(sol)):
            return theta, lam, False, it
        if decrement <= tol**2 * max(abs(val), 1e-3) or decrement <= 1e-30:
            theta[idx] += step
            return theta, lam, True, it
        t = 1.0
        full = decrement <= 1e-10 * max(abs(val), 1.0)
        for _ in range(_MAX_HALVINGS):
            candidate = theta.copy()
            candidate[idx] += t * step
            new = smooth.value(candidate)
            if full or new <= val - _ARMIJO * t * decrement:
                break
            t *= 0.5
        else:
            return theta, lam, False, it
        theta = candidate
        val, grad, _, z = smooth.value_grad(theta)
    return theta, lam, False, max_iter


def _l1_kkt(smooth: _Smooth, theta, radius, tol):
    """Check the KKT conditions of the ℓ1-ball problem; return ``(ok, λ)``."""
    _, grad, _, _ = smooth.value_grad(theta)
    W = smooth.mask * theta
    gW = grad[smooth.mask == 1]
    gb = grad[smooth.mask == 0]
    scale = max(float(np.max(np.abs(gW))), 1e-12)
    if gb.size and np.max(np.abs(gb)) > _KKT_RTOL * max(scale, 1e-8):
        return False, 0.0
    l1 = float(np.sum(np.abs(W)))
    lam = float(np.max(np.abs(gW)))
    if l1 < radius * (1.0 - 1e-9):
        # Interior: stationarity must hold without the multiplier.
        return lam <= _KKT_RTOL * max(1e-8, float(np.max(np.abs(grad)))), 0.0
    on = np.abs(W[smooth.mask == 1]) > 0
    resid = gW[on] + lam * np.sign(W[smooth.mask == 1][on])
    ok = bool(np.all(np.abs(resid) <= _KKT_RTOL * scale)) and l1 <= radius * (1.0 + tol)
    return ok, lam


def _fista_checkpoints(smooth: _Smooth, x, project):
    """Yield every ``_FISTA_CHECK``-th iterate of projected FISTA from ``project(x)``.

    Accelerated projected gradient with step ``1/L`` and adaptive restart
    (O'Donoghue & Candès); the L1 and Linf solvers read candidate faces off the
    yielded iterates. At most ``_FISTA_MAX_ITER`` iterations.
    """
    step = 1.0 / max(smooth.lipschitz(), 1e-300)
    x = project(x)
    y, t_k = x.copy(), 1.0
    fx = smooth.value(x)
    for k in range(1, _FISTA_MAX_ITER + 1):
        _, grad, _, _ = smooth.value_grad(y)
        x_new = project(y - step * grad)
        f_new = smooth.value(x_new)
        if f_new > fx:  # adaptive restart
            y, t_k = x.copy(), 1.0
        else:
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k**2))
            y = x_new + ((t_k - 1.0) / t_next) * (x_new - x)
            x, fx, t_k = x_new, f_new, t_next
        if k % _FISTA_CHECK == 0:
            yield x


def _solve_l1(smooth: _Smooth, radius, theta, lam0, tol, max_iter):
    """Solve the ℓ1-ball problem; return ``(θ, λ, n_iter)`` or None.

    Candidate faces (support and signs) come from the warm start or from FISTA
    iterates with the exact ℓ1-ball projection; each candidate is solved by
    Newton's method on its face and accepted only if the KKT conditions hold.
    An iterate strictly inside the ball triggers an unpenalised Newton solve.
    """
    ball = L1Ball(radius)
    mask = smooth.mask.astype(bool)
    n_iter = 0
    tried: set[bytes] = set()

    def project(th):
        th = th.copy()
        W = th[mask]
        P = ball.project_closed_form(W)[0]
        if P is not W:
            # Projected: onto the sphere exactly. With r far below max|W| the
            # soft threshold cancels to an ℓ1 norm off by ~eps max|W| / r, which
            # would read as an interior point and hide the face.
            size = float(np.sum(np.abs(P)))
            if size > 0:
                P = P * (radius / size)
        th[mask] = P
        return th

    def l1(th):
        return float(np.sum(np.abs(th[mask])))

    def try_face(th):
        nonlocal n_iter
        support = (np.abs(th) > 0) & mask
        signs = np.sign(th) * support
        key = signs.tobytes()
        if not support.any() or key in tried:
            return None
        tried.add(key)
        new, _, ok, it = _face_newton(smooth, th, support, signs, radius, tol, max_iter)
        n_iter += it
        if ok and np.all(np.sign(new[support]) == signs[support]):
            # Onto the face exactly: the face constraint holds to eps max|θ|, which
            # the intercept dominates when r is tiny (the rescale is that small).
            size = l1(new)
            slack = 1e-6 * radius + 1e3 * np.finfo(float).eps * float(np.max(np.abs(new)))
            if 0 < size and abs(size - radius) <= slack:
                new[mask] *= radius / size
            good, lam = _l1_kkt(smooth, new, radius, tol)
            if good:
                return new, lam, n_iter
        return None

    def try_interior(th):
        nonlocal n_iter
        key = b"interior"
        if key in tried:
            return None
        tried.add(key)
        result = _solve_l2(smooth, None, th, 0.0, tol, _MU_ZERO_NEWTON)
        if result is None:
            return None
        new, _, it = result
        n_iter += it
        return (new, 0.0, n_iter) if l1(new) <= radius * (1.0 + tol) else None

    if lam0 is not None:
        # Warm start: its face (or the interior) is usually still the right one.
        start = project(theta)
        result = try_face(start) if lam0 > 0 else try_interior(start)
        if result is not None:
            return result
    last_support = None
    for x in _fista_checkpoints(smooth, theta, project):
        n_iter += _FISTA_CHECK
        support = (np.abs(x) > 0) & mask
        if l1(x) < radius * (1.0 - 1e-9):
            result = try_interior(x)
        elif last_support is not None and np.array_equal(support, last_support):
            result = try_face(x)
        else:
            result = None
        if result is not None:
            return result
        last_support = support
    return None


def _free_newton(smooth: _Smooth, theta, free, tol, max_iter):
    """Minimise ``f`` over the coordinates ``free`` (the others fixed) by Newton's method.

    Returns ``(theta, converged, n_iter)``.
    """
    idx = np.flatnonzero(free)
    theta = theta.copy()
    val, grad, _, z = smooth.value_grad(theta)
    for it in range(1, max_iter + 1):
        H = smooth.hessian(z, gauge=False)[np.ix_(idx, idx)]
        try:
            step = -scipy.linalg.cho_solve(_factor(H), grad[idx], check_finite=False)
        except np.linalg.LinAlgError:
            return theta, False, it
        decrement = -float(grad[idx] @ step)
        if not np.isfinite(decrement):
            return theta, False, it
        if decrement <= tol**2 * max(abs(val), 1e-3) or decrement <= 1e-30:
            theta[idx] += step
            return theta, True, it
        t = 1.0
        full = decrement <= 1e-10 * max(abs(val), 1.0)
        for _ in range(_MAX_HALVINGS):
            candidate = theta.copy()
            candidate[idx] += t * step
            if full or smooth.value(candidate) <= val - _ARMIJO * t * decrement:
                break
            t *= 0.5
        else:
            return theta, False, it
        theta = candidate
        val, grad, _, z = smooth.value_grad(theta)
    return theta, False, max_iter


def _solve_linf(smooth: _Smooth, radius, theta, lam0, tol, max_iter):
    """Solve the ℓ∞-ball (box) problem; return ``(θ, λ, n_iter)`` or None.

    FISTA with clipping identifies the coefficients at ``±r``; Newton's method
    over the others (and the intercept) then solves that face, accepted only if
    the KKT conditions hold: zero gradient on the free coefficients, gradient
    pointing outwards on the clipped ones, and ``λ = ‖∇_W f‖_1``.
    """
    mask = smooth.mask.astype(bool)
    n_iter = 0
    tried: set[bytes] = set()

    ball = LinfBall(radius)
    p1, K = smooth.p1, smooth.K

    def centre_rows(th, rows=slice(None)):
        # The multinomial loss does not change when a row of W shifts by the same
        # amount in every class, so its optimum is not unique where the box leaves
        # room: centring such rows at their mid-range (which never increases
        # max |W|) keeps the iterates on one optimum and lets the active set settle.
        W = th.reshape(p1, K, order="F")[: smooth.d]  # a view: th changes in place
        W[rows] -= 0.5 * (W[rows].max(axis=1, keepdims=True) + W[rows].min(axis=1, keepdims=True))

    def project(th):
        th = th.copy()
        if smooth.multinomial:
            centre_rows(th)
        th[mask] = ball.project_closed_form(th[mask])[0]
        return th

    # Gradient scale for the KKT tests (the gradient vanishes when the bound is inactive).
    reference = max(float(np.max(np.abs(smooth.value_grad(project(theta))[1]))), 1e-12)

    def try_face(th):
        nonlocal n_iter
        at_bound = mask & (np.abs(th) >= radius)
        signs = np.sign(th) * at_bound
        key = signs.tobytes()
        if key in tried:
            return None
        tried.add(key)
        start = th.copy()
        start[at_bound] = radius * signs[at_bound]
        new, ok, it = _free_newton(smooth, start, ~at_bound, tol, max_iter)
        n_iter += it
        if smooth.multinomial:
            # rows with every class free may shift at no cost
            centre_rows(new, ~at_bound.reshape(p1, K, order="F")[: smooth.d].any(axis=1))
        if not ok or np.any(np.abs(new[mask]) > radius * (1.0 + tol)):
            return None
        _, grad, _, _ = smooth.value_grad(new)
        scale = max(float(np.max(np.abs(grad[mask]))), reference)
        inward = grad[at_bound] * signs[at_bound] > _KKT_RTOL * scale
        if np.max(np.abs(grad[~at_bound]), initial=0.0) > _KKT_RTOL * scale or np.any(inward):
            return None
        return new, float(np.sum(np.abs(grad[at_bound]))), n_iter

    if lam0 is not None:
        result = try_face(project(theta))
        if result is not None:
            return result
    last = None
    for x in _fista_checkpoints(smooth, theta, project):
        n_iter += _FISTA_CHECK
        active = (np.sign(x) * (mask & (np.abs(x) >= radius))).tobytes()
        if last == active:
            result = try_face(x)
            if result is not None:
                return result
        last = active
    return None


# ---------------------------------------------------------------------------
# The head.

_SOLVER_WORDS = ("auto", "fast", "cvxpy")


class NormBoundedHead:
    """Exact solver of the convex head problem ``min mean loss s.t. W ∈ constraint``.

    Parameters
    ----------
    loss : {"squared", "logistic", "multinomial", "hinge", "squared_hinge"} or Loss
        The loss of the scores (see :mod:`cvxdual.losses` for the targets).
    constraint : ConvexSet or None, default=None
        Any set of :mod:`cvxdual.sets` for the coefficient matrix ``W`` of shape
        ``(n_features, K)``. The head never modifies it.
    fit_intercept : bool, default=True
        Whether to fit an (unconstrained) intercept ``b``.
    solver : str, default="auto"
        ``"auto"`` uses the fast exact solver when there is one (smooth loss with
        no constraint, an :class:`~cvxdual.sets.L2Ball`, an
        :class:`~cvxdual.sets.L1Ball` or an :class:`~cvxdual.sets.LinfBall`)
        and CVXPY otherwise; ``"fast"`` requires
        the fast solver; ``"cvxpy"`` solves the CVXPY problem with the default
        solver order; a CVXPY solver name (e.g. ``"CLARABEL"``, ``"SCS"``)
        solves the CVXPY problem with that solver only.
    tol : float, default=1e-9
        Relative tolerance of the fast solver: on the Newton decrement (squared)
        and on ``|‖W‖ − r| / r``.
    max_iter : int, default=200
        Newton iterations per penalised solve of the fast solver.

    Notes
    -----
    The CVXPY problem is compiled once per ``(n_samples, n_features, K)`` and
    kept on the instance, so build a head once and call :meth:`solve` many
    times. The compiled problem captures ``constraint`` at its first use.
    Above 20,000 entries of ``features`` the problem is rebuilt for every CVXPY
    solve with the data as constants (DPP compilation with a parameter ``Phi``
    becomes far slower than a fresh build, and runs out of memory).

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.heads import NormBoundedHead
    >>> from cvxdual.sets import L2Ball
    >>> rng = np.random.default_rng(0)
    >>> Phi = rng.normal(size=(40, 3))
    >>> y = Phi @ np.array([2.0, -1.0, 0.5]) + 0.1 * rng.normal(size=40)
    >>> head = NormBoundedHead("squared", L2Ball(1.0))
    >>> fast = head.solve(Phi, y)
    >>> exact = NormBoundedHead("squared", L2Ball(1.0), solver="cvxpy").solve(Phi, y)
    >>> fast.method, round(float(np.linalg.norm(fast.coef)), 6)
    ('newton-l2', 1.0)
    >>> bool(abs(fast.duals["norm"] - exact.duals["norm"]) < 1e-6)
    True
    """

    def __init__(
        self,
        loss: str | Loss,
        constraint: ConvexSet | None = None,
        *,
        fit_intercept: bool = True,
        solver: str = "auto",
        tol: float = 1e-9,
        max_iter: int = 200,
    ):
        self.loss = get_loss(loss)
        if constraint is not None and not isinstance(constraint, ConvexSet):
            raise ValueError(
                f"constraint must be a cvxdual.sets.ConvexSet or None, got {constraint!r}"
            )
        self.constraint = constraint
        self.fit_intercept = bool(fit_intercept)
        if not isinstance(solver, str):
            raise ValueError(f"solver must be a string, got {solver!r}")
        if solver.lower() in _SOLVER_WORDS:
            self.solver = solver.lower()
        else:
            self.solver = _solvers.check_solver(solver)
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < 1:
            raise ValueError(f"tol must be in (0, 1), got {tol!r}")
        self.tol = float(tol)
        if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral):
            raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
        if max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
        self.max_iter = int(max_iter)
        if self.solver == "fast" and not self.has_fast_solver:
            raise ValueError(
                f"solver='fast' needs a smooth loss {_FAST_LOSSES} and no constraint, an "
                f"L2Ball, an L1Ball or a LinfBall; got loss {self.loss.name!r} and "
                f"{constraint!r}"
            )
        self._compiled: dict[tuple[int, int, int], _CompiledHead] = {}

    @property
    def has_fast_solver(self) -> bool:
        """Whether the loss and constraint have a fast exact solver."""
        return self.loss.name in _FAST_LOSSES and (
            self.constraint is None or type(self.constraint) in _FAST_SETS
        )

    def _validate(self, features, y, sample_weight):
        for name, value in (("features", features), ("y", y), ("sample_weight", sample_weight)):
            if np.iscomplexobj(value):
                raise ValueError(f"Complex data not supported: {name} must be real.")
        Phi = np.array(features, dtype=float, copy=True)
        if Phi.ndim != 2:
            raise ValueError(f"features must be a 2-D array, got shape {Phi.shape}")
        n, d = Phi.shape
        if n == 0 or d == 0:
            raise ValueError(f"features must not be empty, got shape {Phi.shape}")
        if not np.all(np.isfinite(Phi)):
            raise ValueError("features contains NaN or infinity.")
        Y = self.loss.encode_targets(y)
        if Y.shape[0] != n:
            raise ValueError(
                f"y has {Y.shape[0]} samples but features has {n} (shape {Phi.shape})"
            )
        if not np.all(np.isfinite(Y)):
            raise ValueError("y contains NaN or infinity.")
        if sample_weight is None:
            weights = np.full(n, 1.0 / n)
        else:
            weights = np.array(sample_weight, dtype=float, copy=True).reshape(-1)
            if weights.shape[0] != n:
                raise ValueError(
                    f"sample_weight has {weights.shape[0]} entries but features has {n} samples"
                )
            if not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise ValueError("sample_weight must be finite and non-negative")
            largest = weights.max()
            if largest <= 0:
                raise ValueError("sample_weight must have a positive sum, got all zeros")
            weights = weights / largest  # first: the sum of huge weights may overflow
            weights = weights / weights.sum()
        if self.constraint is not None:
            self.constraint.check_shape((d, Y.shape[1]))
        return Phi, Y, weights

    def compiled(self, n: int, d: int, K: int) -> _CompiledHead:
        """Return the compiled CVXPY problem for ``(n, d, K)``, building it once."""
        key = (n, d, K)
        if key not in self._compiled:
            self._compiled[key] = _CompiledHead(
                self.loss, self.constraint, self.fit_intercept, n, d, K
            )
        return self._compiled[key]

    def solve(
        self, features, y, sample_weight=None, warm_start: HeadSolution | None = None
    ) -> HeadSolution:
        """Solve the head problem for ``features`` and ``y``.

        Parameters
        ----------
        features : array-like of shape (n_samples, n_features)
            ``Phi``.
        y : array-like
            Targets in the loss's encoding (see :mod:`cvxdual.losses`).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; the objective is their normalised weighted mean.
        warm_start : HeadSolution, optional
            A previous solution (same ``n_features`` and ``K``); the fast solver
            starts from its coefficients and dual. Ignored by CVXPY.

        Returns
        -------
        HeadSolution

        Raises
        ------
        ValueError
            On bad input.
        cvxdual.exceptions.SolverError
            If no CVXPY solver reaches an optimal solution.

        Examples
        --------
        >>> import numpy as np
        >>> from cvxdual.heads import NormBoundedHead
        >>> from cvxdual.sets import L2Ball
        >>> Phi = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
        >>> y = np.array([1.0, -1.0, 1.0, -1.0])
        >>> sol = NormBoundedHead("logistic", L2Ball(0.5)).solve(Phi, y)
        >>> sol.coef.shape, sol.sample_duals.shape, round(float(np.linalg.norm(sol.coef)), 6)
        ((2, 1), (4, 1), 0.5)
        """
        if warm_start is not None and not isinstance(warm_start, HeadSolution):
            raise ValueError(
                f"warm_start must be a HeadSolution (the result of solve) or None, "
                f"got {type(warm_start).__name__}"
            )
        Phi, Y, weights = self._validate(features, y, sample_weight)
        n, d = Phi.shape
        K = Y.shape[1]
        if self.solver in ("auto", "fast") and self.has_fast_solver:
            solution = self._solve_fast(Phi, Y, weights, warm_start)
            if solution is not None:
                return solution
            if self.solver == "fast":
                raise SolverError(
                    f"The fast solver did not converge on the head problem with loss "
                    f"{self.loss.name!r} and {self.constraint!r}."
                )
            logger.info("fast head solver did not converge; solving the CVXPY problem")
        solver = None if self.solver in _SOLVER_WORDS else self.solver
        what = f"head problem (loss {self.loss.name!r}, constraint {self.constraint!r})"
        if n * d <= _DPP_MAX_ENTRIES:
            problem = self.compiled(n, d, K)
        else:
            # CVXPY's DPP compilation grows much faster than n d (about 20 s at
            # 1000 x 50, and out of memory with exponential cones at 20,000 x 50):
            # large problems are built for their data, with constants.
            problem = _CompiledHead(
                self.loss, self.constraint, self.fit_intercept, n, d, K, (Phi, Y, weights)
            )
        return problem.solve(Phi, Y, weights, solver, what)

    def _solve_fast(self, Phi, Y, weights, warm_start) -> HeadSolution | None:
        # Diverging trial steps (e.g. an unbounded unpenalised problem) may
        # overflow; such a solve fails its checks and CVXPY takes over, as it
        # does when extreme data break the arithmetic of the fast solver.
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                solution = self._solve_fast_unchecked(Phi, Y, weights, warm_start)
        except (ArithmeticError, np.linalg.LinAlgError) as exc:
            logger.info("fast head solver failed (%s: %s)", type(exc).__name__, exc)
            return None
        if solution is None or not (
            np.isfinite(solution.objective)
            and np.all(np.isfinite(solution.coef))
            and np.all(np.isfinite(solution.intercept))
        ):
            return None
        return solution

    def _solve_fast_unchecked(self, Phi, Y, weights, warm_start) -> HeadSolution | None:
        # The fast solvers work on Φ / c, c a power of two near the features' RMS:
        # exact (no rounding), and the norm balls are homogeneous, so W = W'/c,
        # r' = c r and λ = c λ' (the intercept, scores and sample duals are
        # unchanged). Features at scales far from 1 would otherwise leave the
        # intercept and the weights with incomparable curvatures.
        c = _power_of_two_scale(Phi)
        cached = getattr(warm_start, "_curvature", None)  # (key, chord matrix) or None
        if cached is not None and 0.25 <= c / cached[0][-1] <= 4.0:
            # keep the previous solve's scale (its chord matrix is in those units)
            c = cached[0][-1]
        smooth = _Smooth(self.loss, Phi / c, Y, weights, self.fit_intercept)
        key = self._curvature_key(smooth, c)
        d, K = smooth.d, smooth.K
        coef, intercept, lam0 = np.zeros((d, K)), np.zeros(K), None
        if warm_start is not None and warm_start.coef.shape == (d, K):
            coef = np.array(warm_start.coef, dtype=float) * c
            intercept = np.array(warm_start.intercept, dtype=float).reshape(K)
            lam0 = float(np.sum(warm_start.duals.get("norm", 0.0))) / c
        if smooth.multinomial and type(self.constraint) not in (L1Ball, LinfBall):
            # The optimum with μ > 0 has centred rows; starting centred keeps the gauge.
            coef = coef - coef.mean(axis=1, keepdims=True)
            intercept = intercept - intercept.mean()
        theta = smooth.theta(coef, intercept)
        constraint = self.constraint
        duals: dict = {}
        curvature = None
        if constraint is None:
            result = _solve_l2(smooth, None, theta, 0.0, self.tol, self.max_iter)
            method = "newton"
        elif type(constraint) is L2Ball:
            radius = constraint.radius * c
            mu0 = None if lam0 is None else lam0 / radius
            work = smooth.n * (smooth.p1 * K) ** 2
            result = None
            chord_ok = smooth.p1 * K <= _CHORD_MAX_PARAMS and work <= _CHORD_MAX_WORK
            if lam0 is not None and lam0 > 0 and chord_ok:
                # A binding warm start: chord steps with its Hessian factor (if any).
                factor = cached[1] if cached is not None and cached[0] == key else None
                chord = _solve_l2_chord(smooth, radius, theta, mu0, factor, self.tol)
                if chord is not None:
                    theta, lam, it, factor = chord
                    result = (theta, lam, it)
                    curvature = (key, factor)
                    method = "chord-l2"
            if result is None and work > _NEWTON_MAX_WORK:
                result = _solve_l2_sphere(smooth, radius, theta, self.tol)
                method = "lbfgs-l2"
                if result is not None and work <= _POLISH_MAX_WORK:
                    theta, lam, it = result
                    polished = _polish_l2(smooth, radius, theta, lam / radius, self.tol, 10)
                    if polished is None:
                        polished = _solve_l2(
                            smooth, radius, theta, lam / radius, self.tol, self.max_iter
                        )
                    if polished is not None:
                        result = (polished[0], polished[1], it + polished[2])
                        method = "lbfgs-newton-l2"
                elif (result is not None and chord_ok and result[1] > 0
                      and _l2_kkt_residual(smooth, radius, *result[:2]) > _KKT_RTOL):
                    # Too large for the Newton polish, and L-BFGS stopped short of
                    # the KKT residual every fast solve reaches (it accepts 1e-5):
                    # chord steps from the Hessian at its point finish the solve,
                    # and the next warm-started solve reuses that matrix.
                    theta, lam, it = result
                    chord = _solve_l2_chord(smooth, radius, theta, lam / radius, None, self.tol)
                    if chord is not None:
                        result = (chord[0], chord[1], it + chord[2])
                        curvature = (key, chord[3])
                        method = "lbfgs-chord-l2"
            if result is None:
                result = _solve_l2(smooth, radius, theta, mu0, self.tol, self.max_iter)
                method = "newton-l2"
        elif type(constraint) is L1Ball:
            result = _solve_l1(smooth, constraint.radius * c, theta, lam0, self.tol, self.max_iter)
            method = "face-newton-l1"
        else:
            result = _solve_linf(
                smooth, constraint.radius * c, theta, lam0, self.tol, self.max_iter
            )
            method = "face-newton-linf"
        if result is None:
            return None
        theta, lam, n_iter = result
        if constraint is not None:
            duals = {"norm": float(lam) * c}
        objective, _, G, _ = smooth.value_grad(theta)
        coef, intercept = smooth.split(theta)
        coef /= c
        if not self.fit_intercept:
            intercept = np.zeros(K)
        solution = HeadSolution(
            coef=coef,
            intercept=intercept,
            objective=objective,
            duals=duals,
            sample_duals=G,
            status="optimal",
            method=method,
            n_iter=int(n_iter),
        )
        solution._curvature = curvature
        return solution

    def _curvature_key(self, smooth: _Smooth, scale: float) -> tuple:
        """What a cached Hessian factor must match to be reused as a chord matrix.

        ``scale`` (the power of two the features were divided by) is last.
        """
        return (self.loss.name, smooth.p1, smooth.K, self.fit_intercept, scale)
