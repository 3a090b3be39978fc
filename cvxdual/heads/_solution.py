"""What the head solvers return: the public solution and the fast solvers' result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .. import _solvers


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
        ``"cvxpy"``, ``"newton"`` (no constraint), ``"chord"`` (no constraint, large
        problems: Newton-CG preconditioned by a sketched Hessian), ``"newton-l2"``, ``"lbfgs-l2"``,
        ``"lbfgs-newton-l2"``, ``"lbfgs-chord-l2"`` (large problems),
        ``"chord-l2"`` (warm-started L2 solves), ``"face-newton-l1"`` or
        ``"face-newton-linf"``.
    n_iter : int
        Iterations of the fast solver (Newton, chord, L-BFGS or
        projected-gradient steps), or of the CVXPY solver.
    solver : str or None
        The CVXPY solver used, or None for a fast solve.

    Notes
    -----
    A fast L2-ball solution that ran the chord method (``method`` ``"chord-l2"``
    or ``"lbfgs-chord-l2"``) also carries, privately, its chord matrix: a
    float32 inverse of the penalised Hessian ``H + μP`` kept up to date by
    BFGS updates. A solve warm-started from that solution (same loss, shape and
    feature scale) starts from this matrix, so consecutive solves on slowly
    changing features cost a few gradient evaluations each. Above
    ``chord_max_work`` (private config) the matrix is the inverse Hessian of a
    row sketch drawn afresh in each solve (rows sampled by their share of the
    curvature, weighted to be unbiased) and is not kept, and the steps are
    Newton-CG with exact Hessian-vector products preconditioned by it;
    gradients and the KKT test stay exact on all rows.

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
    # (key, chord matrix) for warm starts: see _head._curvature_key and _chord.
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


@dataclass
class _FastResult:
    """What a fast solver returns, in the solver's units (features divided by a scale).

    Attributes
    ----------
    theta : ndarray of shape (p1 K,)
        ``[W; b]`` flattened column by column (see :class:`~cvxdual.heads._objective._Smooth`).
    lam : float
        The dual of the norm bound (0 when it does not bind or without a bound).
    n_iter : int
        Iterations of the solver (Newton, chord, L-BFGS or projected-gradient steps).
    method : str
        :attr:`HeadSolution.method`.
    chord : _ChordMatrix or None
        The chord matrix to reuse in a warm-started solve, if the solver built one.
    """

    theta: np.ndarray
    lam: float
    n_iter: int
    method: str
    chord: object | None = None


@dataclass(frozen=True)
class _Start:
    """Where a fast solver starts, in the solver's units.

    Attributes
    ----------
    theta : ndarray of shape (p1 K,)
        The initial ``[W; b]`` (zeros, or the warm start's).
    lam : float or None
        The warm start's dual of the norm bound, None without a warm start.
    chord : _ChordMatrix or None
        The warm start's chord matrix when it was built for the same problem shape.
    """

    theta: np.ndarray
    lam: float | None = None
    chord: object | None = None


def _solver_iterations(problem) -> int:
    """Iterations the CVXPY solver reports (1 when it reports none)."""
    stats = problem.solver_stats
    iterations = getattr(stats, "num_iters", None) if stats is not None else None
    return int(iterations) if iterations is not None else 1


def _cvxpy_solution(
    compiled, solver: str, constraints: Mapping | None = None, n_iter: int | None = None
) -> HeadSolution:
    """The :class:`HeadSolution` of a solved compiled head problem.

    ``compiled`` holds the solved CVXPY ``problem``, the variables ``W`` and
    ``b`` (None without an intercept) and the ``scores`` constraint; ``duals``
    are those of ``constraints`` (default: ``compiled.set_constraints``) and
    ``n_iter`` defaults to the solver's count (:func:`_solver_iterations`).
    """
    if constraints is None:
        constraints = compiled.set_constraints
    K = compiled.W.shape[1]
    b = compiled.b
    intercept = np.zeros(K) if b is None else np.asarray(b.value, dtype=float)
    return HeadSolution(
        coef=np.array(compiled.W.value, dtype=float),
        intercept=intercept.reshape(K).copy(),
        objective=float(compiled.problem.value),
        duals={key: _solvers.dual_value(c) for key, c in constraints.items()},
        sample_duals=np.array(compiled.scores.dual_value, dtype=float).reshape(-1, K),
        status="optimal",
        method="cvxpy",
        n_iter=_solver_iterations(compiled.problem) if n_iter is None else n_iter,
        solver=solver,
    )
