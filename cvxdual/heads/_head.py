"""The public head: validation, feature scaling, dispatch to a fast solver or CVXPY (private)."""

from __future__ import annotations

import logging
import numbers

import numpy as np

from .._threads import limit_competing_blas
from .._validation import check_finite_array
from ..exceptions import SolverError
from ..losses import Loss
from ..sets import ConvexSet, L1Ball, L2Ball, LinfBall
from ._checks import _SOLVER_WORDS, _check_constraint, _check_loss, _check_solver
from ._config import _DEFAULT_CONFIG, _HeadConfig
from ._cvxpy import _CompiledHead
from ._faces import _solve_l1_ball, _solve_linf_ball
from ._l2 import _solve_l2_ball, _solve_unconstrained
from ._objective import _power_of_two_scale, _Smooth
from ._solution import HeadSolution, _Start

logger = logging.getLogger(__name__)

# Losses with a fast exact solver (a Lipschitz gradient and a cheap Hessian), by
# Loss.name ("logistic" is the log loss).
_FAST_LOSSES = ("squared", "logistic", "multinomial", "squared_hinge")

# The fast solver of each constraint type (None: no constraint). Exact types:
# a subclass may change the definition. Each solver is called as
# ``solve(smooth, radius, start, tol, max_iter, config)`` in the units of the
# scaled features and returns a _FastResult, or None when it cannot certify
# the KKT conditions.
_FAST_SOLVERS = {
    None: _solve_unconstrained,
    L2Ball: _solve_l2_ball,
    L1Ball: _solve_l1_ball,
    LinfBall: _solve_linf_ball,
}


class NormBoundedHead:
    """Exact solver of the convex head problem ``min mean loss s.t. W ∈ constraint``.

    Parameters
    ----------
    loss : {"squared", "log_loss", "multinomial", "hinge", "squared_hinge"} or Loss
        The loss of the scores (see :mod:`cvxdual.losses` for the targets).
        ``"log_loss"`` is the binary logistic loss ``log(1 + exp(-s z))``.

        .. deprecated:: 0.1
            ``"logistic"``, the former name of ``"log_loss"``, still works but
            emits a :class:`FutureWarning`.
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

    The fast solver is chosen by the type of ``constraint`` (exact types:
    a subclass may change the definition, so it goes to CVXPY). Its result
    is returned only when it certifies the KKT conditions of the CVXPY
    problem; otherwise (``solver="auto"``) the CVXPY problem is solved.

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
        _config: _HeadConfig = _DEFAULT_CONFIG,
    ):
        self.loss = _check_loss(loss)
        self.constraint = _check_constraint(constraint)
        self.fit_intercept = bool(fit_intercept)
        self.solver = _check_solver(solver)
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
                "solver='fast' needs a smooth loss ('squared', 'log_loss', 'multinomial', "
                f"'squared_hinge') and no constraint, an "
                f"L2Ball, an L1Ball or a LinfBall; got loss {self.loss.name!r} and "
                f"{constraint!r}"
            )
        if not isinstance(_config, _HeadConfig):
            raise ValueError(f"_config must be a _HeadConfig, got {_config!r}")
        self._config = _config
        self._compiled: dict[tuple[int, int, int], _CompiledHead] = {}

    @property
    def has_fast_solver(self) -> bool:
        """Whether the loss and constraint have a fast exact solver.

        Examples
        --------
        >>> from cvxdual.heads import NormBoundedHead
        >>> from cvxdual.sets import L1Ball, NonNegative
        >>> NormBoundedHead("log_loss", L1Ball(1.0)).has_fast_solver
        True
        >>> NormBoundedHead("hinge", L1Ball(1.0)).has_fast_solver
        False
        >>> NormBoundedHead("squared", NonNegative()).has_fast_solver
        False
        """
        return self.loss.name in _FAST_LOSSES and _fast_solver(self.constraint) is not None

    def _validate(self, features, y, sample_weight):
        # No copy: nothing here writes to the features, and at 10^6 rows a copy
        # is hundreds of MB (the fast solvers hold one scaled copy, CVXPY its own).
        Phi = check_finite_array(features, "features", ndim=(2,), copy=False)
        n, d = Phi.shape
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if np.iscomplexobj(value):
                raise ValueError(f"Complex data not supported: {name} must be real.")
        Y = self.loss.encode_targets(y)
        if Y.shape[0] != n:
            raise ValueError(
                f"y has {Y.shape[0]} samples but features has {n} (shape {Phi.shape})"
            )
        if not np.all(np.isfinite(Y)):
            raise ValueError("y contains NaN or infinity.")
        weights = _normalised_weights(sample_weight, n)
        if self.constraint is not None:
            self.constraint.check_shape((d, Y.shape[1]))
        return Phi, Y, weights

    def compiled(self, n: int, d: int, K: int) -> _CompiledHead:
        """Return the compiled CVXPY problem for ``(n, d, K)``, building it once.

        Parameters
        ----------
        n, d, K : int
            Samples, features and score columns.

        Returns
        -------
        object
            A private holder of the DPP :class:`cvxpy.Problem` (attribute
            ``problem``), its variables and parameters.

        Examples
        --------
        >>> from cvxdual.heads import NormBoundedHead
        >>> from cvxdual.sets import L2Ball
        >>> head = NormBoundedHead("squared", L2Ball(1.0))
        >>> head.compiled(10, 3, 1).problem.is_dcp(dpp=True)
        True
        >>> head.compiled(10, 3, 1) is head.compiled(10, 3, 1)
        True
        """
        key = (n, d, K)
        if key not in self._compiled:
            self._compiled[key] = _CompiledHead(
                self.loss, self.constraint, self.fit_intercept, n, d, K
            )
        return self._compiled[key]

    @limit_competing_blas
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
        >>> sol = NormBoundedHead("log_loss", L2Ball(0.5)).solve(Phi, y)
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
        if n * d <= self._config.dpp_max_entries:
            problem = self.compiled(n, d, K)
        else:
            # DPP compilation grows much faster than n d: built for the data.
            problem = _CompiledHead(
                self.loss, self.constraint, self.fit_intercept, n, d, K, (Phi, Y, weights)
            )
        return problem.solve(Phi, Y, weights, solver, what)

    def _solve_fast(self, Phi, Y, weights, warm_start) -> HeadSolution | None:
        """The fast solver's solution, or None when it fails (CVXPY then takes over)."""
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
        smooth = _Smooth(self.loss, Phi, Y, weights, self.fit_intercept, scale=c)
        key = self._curvature_key(smooth, c)
        start = _scaled_start(smooth, warm_start, c, cached, key)
        radius = None if self.constraint is None else self.constraint.radius * c
        solve = _fast_solver(self.constraint)
        result = solve(smooth, radius, start, self.tol, self.max_iter, self._config)
        if result is None:
            return None
        objective, _, G, _ = smooth.value_grad(result.theta)
        coef, intercept = smooth.split(result.theta)
        coef /= c
        solution = HeadSolution(
            coef=coef,
            intercept=intercept if self.fit_intercept else np.zeros(smooth.K),
            objective=objective,
            duals={} if self.constraint is None else {"norm": float(result.lam) * c},
            sample_duals=G,
            status="optimal",
            method=result.method,
            n_iter=int(result.n_iter),
        )
        # A full-Hessian chord matrix is kept for the next warm start; a row sketch
        # is not: the next solve draws a fresh one at its own point (the features
        # move between solves, and a stale sketch preconditions worse than a new
        # one: on the 20,000-row network head, 436 against 265 Hessian-vector
        # products over ten solves, for ten sketches instead of three).
        chord = result.chord
        keep = chord is not None and not getattr(chord, "sketched", False)
        solution._curvature = (key, chord) if keep else None
        return solution

    def _curvature_key(self, smooth: _Smooth, scale: float) -> tuple:
        """What a cached chord matrix must match to be reused.

        ``scale`` (the power of two the features were divided by) is last.
        """
        return (self.loss.name, smooth.p1, smooth.K, self.fit_intercept, scale)


def _fast_solver(constraint: ConvexSet | None):
    """The fast solver for ``constraint`` (looked up by its exact type), or None."""
    return _FAST_SOLVERS.get(None if constraint is None else type(constraint))


def _normalised_weights(sample_weight, n: int) -> np.ndarray:
    """Sample weights scaled to sum to one (``1/n`` each without weights)."""
    if sample_weight is None:
        return np.full(n, 1.0 / n)
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
    return weights / weights.sum()


def _scaled_start(smooth: _Smooth, warm_start, c: float, cached, key) -> _Start:
    """The fast solvers' start in the units of ``Φ / c``: zeros or the warm start."""
    d, K = smooth.d, smooth.K
    if warm_start is None or warm_start.coef.shape != (d, K):
        return _Start(smooth.theta(np.zeros((d, K)), np.zeros(K)))
    coef = np.array(warm_start.coef, dtype=float) * c
    intercept = np.array(warm_start.intercept, dtype=float).reshape(K)
    lam = float(np.sum(warm_start.duals.get("norm", 0.0))) / c
    chord = cached[1] if cached is not None and cached[0] == key else None
    return _Start(smooth.theta(coef, intercept), lam, chord)
