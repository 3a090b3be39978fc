r"""A head with group-fairness constraints on its scores: the CVXPY definition and a fast solver.

:class:`FairHead` solves the head problem of :mod:`cvxdual.heads` with the
constraints of a :class:`~cvxdual.fairness.FairnessConstraint` on the score
variable ``z``:

.. math::

    \min_{W, b, z} \sum_i w_i \ell(z_i, y_i) \quad\text{s.t.}\quad
    \Phi W + \mathbf 1 b^\top - z = 0 \;(\nu),\quad W \in C,\quad
    \text{fairness}(z) \le 0 .

The CVXPY problem is the definition; it is compiled once per shape with the
features, targets, weights, group matrices and the bound as parameters (DPP).

Fast exact solver (smooth losses: ``squared``, ``logistic``, ``squared_hinge``
with no set or an :class:`~cvxdual.sets.L2Ball`, ``multinomial`` with an
L2Ball that binds; parity constraints): active-set Newton with chord matrices,
in :mod:`cvxdual.heads._fair_solver`; an answer is returned only when the KKT
conditions hold, otherwise the CVXPY problem is solved.
"""

from __future__ import annotations

import logging
import numbers

import cvxpy as cp
import numpy as np

from .. import _solvers
from .._threads import limit_competing_blas
from .._validation import check_finite_array
from ..exceptions import InfeasibleSetError, SolverError
from ..fairness import FairnessConstraint, encode_groups
from ..losses import Loss
from ..sets import ConvexSet, L2Ball
from ._checks import _SOLVER_WORDS, _check_constraint, _check_loss, _check_solver
from ._config import _DEFAULT_CONFIG
from ._fair_solver import (
    _binding_chord,
    _central_duals,
    _check_kkt,
    _Curvature,
    _Objective,
    _solve_fast,
)
from ._solution import HeadSolution, _cvxpy_solution

__all__ = ["FairHead"]

logger = logging.getLogger(__name__)

# Losses with a fast solver. The multinomial loss is invariant to a common shift
# of the classes' weights, which the group constraints are not, so its optimum
# is unique only when an L2 ball binds: it has a fast solver with an L2Ball only.
_FAST_LOSSES = ("squared", "logistic", "squared_hinge", "multinomial")


# ---------------------------------------------------------------------------
# The CVXPY definition.


class _CompiledFairHead:
    """The DPP CVXPY problem for one shape ``(n, d, K, G)``; ``data`` builds it with constants."""

    def __init__(self, loss, fairness, constraint, fit_intercept, n, d, K, G, data=None):
        self.loss, self.fairness = loss, fairness
        self.W = cp.Variable((d, K), name="W")
        self.z = cp.Variable((n, K), name="z")
        self.params = {
            "loss": loss.cvxpy_parameters(n, K),
            "fair": fairness.parameters(n, K, G, loss),
        }
        if data is None:
            self.Phi = cp.Parameter((n, d), name="Phi")
        else:
            self.Phi = cp.Constant(data)
        scores = self.Phi @ self.W
        self.b = cp.Variable(K, name="b") if fit_intercept else None
        if self.b is not None:
            scores = scores + np.ones((n, 1)) @ cp.reshape(self.b, (1, K), order="C")
        self.scores = scores - self.z == 0
        self.set_constraints = {} if constraint is None else constraint.constraints(self.W)
        self.fair_constraints = fairness.constraints(self.z, self.params["fair"], loss)
        self.problem = cp.Problem(
            cp.Minimize(loss.cvxpy_objective(self.z, self.params["loss"])),
            [self.scores, *self.set_constraints.values(), *self.fair_constraints.values()],
        )
        if not self.problem.is_dcp(dpp=True):
            raise ValueError(
                f"The fair head problem with loss {loss.name!r}, {fairness!r} and "
                f"{constraint!r} is not DCP (and DPP)."
            )

    def solve(self, Phi, values, solver, what) -> HeadSolution:
        """Solve for features ``Phi`` and parameter ``values`` ({"loss": ..., "fair": ...})."""
        if isinstance(self.Phi, cp.Parameter):
            self.Phi.value = Phi
        for block, params in self.params.items():
            for key, p in params.items():
                p.value = values[block][key]
        used = _solvers.solve(self.problem, solver, what=what)
        return _cvxpy_solution(self, used, {**self.set_constraints, **self.fair_constraints})


# ---------------------------------------------------------------------------
# The head.


class FairHead:
    """Exact solver of the head problem with a fairness constraint on its scores.

    Same interface as :class:`cvxdual.heads.NormBoundedHead`
    (``solve(features, y, sample_weight=None, warm_start=None)``), with the
    groups bound to the head, so the training loop of :mod:`cvxdual.training`
    uses it unchanged.

    Parameters
    ----------
    loss : str or Loss
        The head's loss (see :mod:`cvxdual.losses`).
    fairness : FairnessConstraint
        A constraint of :mod:`cvxdual.fairness`.
    constraint : ConvexSet or None, default=None
        A set for the coefficients ``W``.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, m)
        The group of every row the head will be solved on.
    fit_intercept : bool, default=True
        Whether to fit an (unconstrained) intercept.
    solver : str, default="auto"
        ``"auto"`` (the fast solver when there is one, else CVXPY), ``"fast"``,
        ``"cvxpy"``, or a CVXPY solver name.
    tol : float, default=1e-9
        Relative tolerance of the fast solver.
    max_iter : int, default=200
        Newton iterations per working set of the fast solver.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.heads._fair import FairHead
    >>> from cvxdual.fairness import DemographicParity
    >>> rng = np.random.default_rng(0)
    >>> Phi = rng.normal(size=(50, 2))
    >>> groups = (Phi[:, 0] > 0).astype(int)
    >>> y = np.where(Phi.sum(axis=1) + rng.normal(size=50) > 0, 1.0, -1.0)
    >>> head = FairHead("log_loss", DemographicParity(0.2), sensitive_features=groups)
    >>> fast = head.solve(Phi, y)
    >>> exact = FairHead("log_loss", DemographicParity(0.2), sensitive_features=groups,
    ...                  solver="cvxpy").solve(Phi, y)
    >>> fast.method, bool(np.allclose(fast.duals["upper"], exact.duals["upper"], atol=1e-6))
    ('active-set-newton', True)
    """

    def __init__(
        self,
        loss: str | Loss,
        fairness: FairnessConstraint,
        constraint: ConvexSet | None = None,
        *,
        sensitive_features=None,
        fit_intercept: bool = True,
        solver: str = "auto",
        tol: float = 1e-9,
        max_iter: int = 200,
    ):
        self.loss = _check_loss(loss)
        if not isinstance(fairness, FairnessConstraint):
            raise ValueError(
                f"fairness must be a cvxdual.fairness constraint (DemographicParity, "
                f"EqualOpportunity or BoundedGroupLoss), got {fairness!r}"
            )
        self.fairness, self.constraint = fairness, _check_constraint(constraint)
        self.fit_intercept = bool(fit_intercept)
        self.solver = _check_solver(solver)
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < 1:
            raise ValueError(f"tol must be in (0, 1), got {tol!r}")
        integer = isinstance(max_iter, numbers.Integral) and not isinstance(max_iter, bool)
        if not integer or max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
        self.tol, self.max_iter = float(tol), int(max_iter)
        if self.solver == "fast" and not self.has_fast_solver:
            raise ValueError(
                f"solver='fast' needs a loss in {_FAST_LOSSES}, a parity constraint and no "
                f"set or an L2Ball; got loss {self.loss.name!r}, {fairness!r} and {constraint!r}"
            )
        self.codes = self.groups = None
        if sensitive_features is not None:
            self.set_groups(sensitive_features)
        self._compiled: dict[tuple, _CompiledFairHead] = {}

    def set_groups(self, sensitive_features) -> FairHead:
        """Bind the groups of the rows the head is solved on; return ``self``."""
        self.codes, self.groups = encode_groups(sensitive_features)
        return self

    @property
    def has_fast_solver(self) -> bool:
        """Whether the loss, fairness constraint and set have a fast exact solver."""
        ball = type(self.constraint) is L2Ball
        return (
            self.loss.name in _FAST_LOSSES
            and self.fairness.linear
            and (ball or (self.constraint is None and self.loss.name != "multinomial"))
        )

    def _validate(self, features, y, sample_weight):
        Phi = check_finite_array(features, "features", ndim=(2,))
        n, d = Phi.shape
        Y = self.loss.encode_targets(y)
        if Y.shape[0] != n:
            raise ValueError(f"y has {Y.shape[0]} samples but features has {n}")
        if not np.all(np.isfinite(Y)):
            raise ValueError("y contains NaN or infinity.")
        if self.codes is None:
            raise ValueError("The head has no groups: pass sensitive_features (or set_groups).")
        if self.codes.shape[0] != n:
            raise ValueError(
                f"sensitive_features has {self.codes.shape[0]} entries but features has "
                f"{n} samples"
            )
        if sample_weight is None:
            weights = np.full(n, 1.0 / n)
        else:
            weights = check_finite_array(sample_weight, "sample_weight", ndim=(1,))
            if weights.shape[0] != n or np.any(weights < 0) or weights.max() <= 0:
                raise ValueError(
                    f"sample_weight must hold {n} non-negative values with a positive sum"
                )
            weights = weights / weights.max()
            weights /= weights.sum()
        if self.constraint is not None:
            self.constraint.check_shape((d, Y.shape[1]))
        return Phi, Y, weights

    def _what(self) -> str:
        return (f"fair head problem (loss {self.loss.name!r}, {self.fairness!r}, "
                f"constraint {self.constraint!r})")

    @limit_competing_blas
    def solve(self, features, y, sample_weight=None, warm_start: HeadSolution | None = None):
        """Solve the head problem; return a :class:`~cvxdual.heads.HeadSolution`.

        ``duals`` holds the set's keys and the fairness constraint's keys;
        ``sample_duals`` is ``ν``, the dual of the scores constraint (it now
        includes the fairness multipliers), so ``feature_gradient()`` is
        ``∇_Φ p*``. Raises :class:`~cvxdual.exceptions.InfeasibleSetError`
        (naming the constraint) when the problem has no feasible point.
        """
        Phi, Y, weights = self._validate(features, y, sample_weight)
        n, d = Phi.shape
        K, G = Y.shape[1], self.groups.shape[0]
        if self.solver in ("auto", "fast") and self.has_fast_solver:
            solution = self._solve_fast(Phi, Y, weights, warm_start)
            if solution is not None:
                return solution
            if self.solver == "fast":
                raise SolverError(f"The fast solver did not converge on the {self._what()}.")
            logger.info("fast fair-head solver did not converge; solving the CVXPY problem")
        solver = None if self.solver in _SOLVER_WORDS else self.solver
        args = (self.loss, self.fairness, self.constraint, self.fit_intercept, n, d, K, G)
        if n * d <= _DEFAULT_CONFIG.dpp_max_entries:
            key = (n, d, K, G)
            if key not in self._compiled:
                self._compiled[key] = _CompiledFairHead(*args)
            problem = self._compiled[key]
        else:
            problem = _CompiledFairHead(*args, data=Phi)
        values = {
            "loss": self.loss.parameter_values(Y, weights),
            "fair": self.fairness.parameter_values(self.codes, self.groups, Y, weights, self.loss),
        }
        try:
            return problem.solve(Phi, values, solver, self._what())
        except InfeasibleSetError as exc:
            raise InfeasibleSetError(
                f"{self.fairness!r} cannot be met: {exc} Loosen the bound"
                + ("" if self.constraint is None else f" or the set {self.constraint!r}")
                + "."
            ) from exc

    def _solve_fast(self, Phi, Y, weights, warm_start) -> HeadSolution | None:
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return self._solve_fast_unchecked(Phi, Y, weights, warm_start)
        except (ArithmeticError, np.linalg.LinAlgError) as exc:
            logger.info("fast fair-head solver failed (%s: %s)", type(exc).__name__, exc)
            return None

    def _solve_fast_unchecked(self, Phi, Y, weights, warm_start):
        F = _Objective(self.loss, Phi, Y, weights, self.fit_intercept)
        d, K, p1 = F.d, F.K, F.p1
        parity = self.fairness.parity_matrices(self.codes, self.groups, Y, weights, self.loss)
        G = parity.shape[1]
        # Rows (g, k) in C order, like the duals (G, K): column k's block is (A_k [Φ, 1])_g.
        M = np.zeros((G, K, p1 * K))
        for k in range(K):
            M[:, k, k * p1 : (k + 1) * p1] = parity[min(k, parity.shape[0] - 1)] @ F.A
        M = M.reshape(G * K, p1 * K)
        C = np.vstack([M, -M])
        h = np.full(2 * G * K, self.fairness.bound)
        radius = None if self.constraint is None else float(self.constraint.radius)
        coef, intercept = np.zeros((d, K)), np.zeros(K)
        active, mu0 = np.zeros(2 * G * K, dtype=bool), None
        if warm_start is not None and np.shape(warm_start.coef) == (d, K):
            coef = np.asarray(warm_start.coef, dtype=float)
            intercept = np.asarray(warm_start.intercept, dtype=float).reshape(K)
            previous = [np.asarray(warm_start.duals.get(key, np.zeros((G, K)))).reshape(-1)
                        for key in ("upper", "lower")]
            if all(p.shape == (G * K,) for p in previous):
                active = np.concatenate(previous) > 0
            if radius is not None and warm_start.duals.get("norm", 0.0) > 0:
                mu0 = float(warm_start.duals["norm"]) / radius
        theta = np.vstack([coef, intercept[None, :]]) if p1 > d else coef
        theta = theta.ravel(order="F")
        # the warm start's Hessian, as the first chord matrix of this solve
        cached = getattr(warm_start, "_curvature", None)
        fits = isinstance(cached, _Curvature) and cached.H.shape == (p1 * K, p1 * K)
        curvature = [cached if fits and cached.loss == self.loss.name else None]
        result = None
        if radius is not None and mu0:
            # a binding warm start: θ and μ together by chord steps, if they converge
            result = _binding_chord(F, C, h, radius, theta, active, mu0, self.tol, curvature)
            if result is not None and not _check_kkt(F, result[0], result[1], C, h):
                result = None
        if result is None:
            result = _solve_fast(F, C, h, radius, theta, active, mu0, self.tol,
                                 self.max_iter, curvature)
            if result is None or not _check_kkt(F, *result[:2], C, h):
                return None
        theta, lam, mu, n_iter = result
        lam = _central_duals(C, h, theta, lam)
        F.mu = 0.0
        objective, _, Gs, _ = F.value_grad(theta)
        Theta = theta.reshape(p1, K, order="F")
        coef = Theta[:d].copy()
        intercept = Theta[d].copy() if p1 > d else np.zeros(K)
        upper, lower = lam[: G * K].reshape(G, K), lam[G * K :].reshape(G, K)
        # ν = w ∂ℓ/∂z + A_kᵀ (λ^up − λ^lo)_{:,k}: the scores dual with the fairness terms
        net = upper - lower
        nu = Gs.copy()
        for k in range(K):
            nu[:, k] += parity[min(k, parity.shape[0] - 1)].T @ net[:, k]
        duals = {} if radius is None else {"norm": mu * float(np.linalg.norm(coef))}
        duals.update(upper=upper.copy(), lower=lower.copy())
        if not all(np.all(np.isfinite(v)) for v in (coef, intercept, nu)):
            return None
        solution = HeadSolution(
            coef=coef,
            intercept=intercept,
            objective=float(objective),
            duals=duals,
            sample_duals=nu,
            status="optimal",
            method="active-set-newton" if radius is None else "active-set-newton-l2",
            n_iter=int(n_iter),
        )
        solution._curvature = curvature[0]  # (for the next warm start)
        return solution
