r"""Euclidean projection onto convex sets, with the exact dual values.

:func:`project` solves

.. math:: \min_W \tfrac12 \|W - V\|_F^2 \quad \text{s.t.} \quad W \in S

and returns the minimiser together with CVXPY's ``dual_value`` of every named
constraint of ``S``. Sets with a closed form are projected without a solver;
the others go through a CVXPY problem compiled once per (set, shape) with a
:class:`cvxpy.Parameter` for ``V`` and re-solved on every call.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

import cvxpy as cp
import numpy as np

from . import _solvers
from ._validation import check_finite_array
from .sets import ConvexSet, Polyhedron

__all__ = ["ProjectionResult", "project"]

# "closed_form" is the same request as "fast" (the name every estimator uses for
# its fast exact path); both stay valid.
_METHODS = ("auto", "fast", "closed_form", "cvxpy")


class ProjectionResult(NamedTuple):
    """Result of :func:`project`.

    Attributes
    ----------
    weights : ndarray
        The projection ``W`` of ``V`` onto the set, same shape as ``V``.
    duals : dict of str to float or ndarray
        The dual value of each named constraint of the set, exactly as CVXPY's
        ``dual_value`` reports it (floats for scalar constraints).
    status : str
        ``"optimal"``; any other solver status raises instead.
    method : str
        ``"closed_form"`` (the set's closed form, requested with
        ``method="fast"``) or ``"cvxpy"``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import L2Ball
    >>> weights, duals, status, method = project(np.ones(4), L2Ball(1.0))
    >>> status, method
    ('optimal', 'closed_form')
    """

    weights: np.ndarray
    duals: dict
    status: str
    method: str


class CompiledProjection:
    """The projection problem onto ``S`` for one shape, built once and re-solved.

    Parameters
    ----------
    S : ConvexSet
        The set.
    shape : tuple of int
        Shape of the weights.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.projection import CompiledProjection
    >>> from cvxdual.sets import L2Ball
    >>> problem = CompiledProjection(L2Ball(1.0), (2,))
    >>> result = problem.solve(np.array([3.0, 4.0]))
    >>> np.round(result.weights, 6), round(result.duals["norm"], 6)
    (array([0.6, 0.8]), 4.0)
    """

    def __init__(self, S: ConvexSet, shape: tuple[int, ...]):
        S.check_shape(shape)
        self.set = S
        self.shape = tuple(shape)
        self.W = cp.Variable(self.shape, name="W")
        self.V = cp.Parameter(self.shape, name="V")
        self.constraints = S.constraints(self.W)
        self.problem = cp.Problem(
            cp.Minimize(0.5 * cp.sum_squares(self.W - self.V)), list(self.constraints.values())
        )
        if not self.problem.is_dcp(dpp=True):
            raise ValueError(
                f"The constraints of {S!r} are not DCP (and DPP) in W, so the projection "
                "problem cannot be compiled."
            )

    def solve(self, V: np.ndarray, solver: str | None = None) -> ProjectionResult:
        """Project a validated array ``V`` of the compiled shape."""
        self.V.value = V
        _solvers.solve(self.problem, solver, what=f"projection onto {self.set!r}")
        duals = {key: _solvers.dual_value(c) for key, c in self.constraints.items()}
        return ProjectionResult(np.array(self.W.value, dtype=float), duals, "optimal", "cvxpy")


class PolyhedronDualProjection:
    r"""Projection onto ``{W : A vec(W) <= b}`` through its dual, compiled once.

    When the polyhedron has fewer rows ``m`` than ``W`` has entries, the dual
    of the projection is the much smaller problem

    .. math:: \min_{y \ge 0} \tfrac12 y^\top A A^\top y - y^\top (A\,\mathrm{vec}(V) - b),

    whose solution ``y`` *is* the dual value of the constraint ``"ineq"`` and
    gives ``W = V − unvec(Aᵀ y)`` (stationarity). Strong duality holds for
    every non-empty polyhedron, so the weights, the duals and the optimal value
    are those of the primal definition (tests compare both to solver tolerance).

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.projection import PolyhedronDualProjection
    >>> from cvxdual.sets import Polyhedron
    >>> problem = PolyhedronDualProjection(Polyhedron([[1.0, 1.0]], [1.0]), (2,))
    >>> result = problem.solve(np.array([1.0, 1.0]))
    >>> np.round(result.weights, 6), np.round(result.duals["ineq"], 6)
    (array([0.5, 0.5]), array([0.5]))
    """

    def __init__(self, S, shape: tuple[int, ...]):
        S.check_shape(shape)
        self.set = S
        self.shape = tuple(shape)
        m = S.A.shape[0]
        self.y = cp.Variable(m, nonneg=True, name="y")
        self.V = cp.Parameter(int(np.prod(shape)), name="vecV")
        gram = cp.psd_wrap(S.A @ S.A.T)
        self.problem = cp.Problem(
            cp.Minimize(0.5 * cp.quad_form(self.y, gram) - self.y @ (S.A @ self.V - S.b))
        )

    def solve(self, V: np.ndarray, solver: str | None = None) -> ProjectionResult:
        """Project a validated array ``V`` of the compiled shape."""
        self.V.value = V.ravel()
        _solvers.solve(self.problem, solver, what=f"projection onto {self.set!r} (dual)")
        y = np.maximum(np.asarray(self.y.value, dtype=float), 0.0)
        W = V - (self.set.A.T @ y).reshape(self.shape)
        return ProjectionResult(W, {"ineq": y}, "optimal", "cvxpy")


# Compiled problems are cached per set object (weakly, so a set's cache dies
# with it) and per shape: the set itself is never written to.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_projection(S: ConvexSet, shape: tuple[int, ...]):
    """Return the cached compiled projection problem for ``(S, shape)``, building it once.

    A :class:`CompiledProjection` of the defining problem, or for a polyhedron
    with fewer rows than weights, its :class:`PolyhedronDualProjection`.

    Examples
    --------
    >>> from cvxdual.projection import compiled_projection
    >>> from cvxdual.sets import NonNegative
    >>> S = NonNegative()
    >>> compiled_projection(S, (3, 2)) is compiled_projection(S, (3, 2))
    True
    """
    per_shape = _COMPILED.setdefault(S, {})
    shape = tuple(shape)
    if shape not in per_shape:
        if isinstance(S, Polyhedron) and S.A.shape[0] < int(np.prod(shape)):
            per_shape[shape] = PolyhedronDualProjection(S, shape)
        else:
            per_shape[shape] = CompiledProjection(S, shape)
    return per_shape[shape]


def project(
    V, S: ConvexSet, *, method: str = "auto", solver: str | None = None
) -> ProjectionResult:
    r"""Return the Euclidean projection of ``V`` onto ``S`` and its dual values.

    Solves :math:`\min_W \frac12\|W - V\|_F^2` s.t. :math:`W \in S`.

    Parameters
    ----------
    V : array-like of shape (n,) or (n_in, n_out)
        The point to project. Never modified.
    S : ConvexSet
        A set from :mod:`cvxdual.sets`.
    method : {"auto", "fast", "closed_form", "cvxpy"}, default="auto"
        ``"auto"`` uses the closed form when the set has one and CVXPY
        otherwise; ``"fast"`` (or its synonym ``"closed_form"``) requires one;
        ``"cvxpy"`` always solves the defining CVXPY problem (compiled once per
        set and shape).
    solver : str, optional
        CVXPY solver for the CVXPY path (ignored by closed forms). By default
        the installed solvers are tried in order (Clarabel first) until one is
        optimal; a named solver is used alone.

    Returns
    -------
    ProjectionResult
        ``(weights, duals, status, method)``; ``duals[name]`` is CVXPY's
        ``dual_value`` of the constraint ``name`` of ``S.constraints(W)``.

    Raises
    ------
    ValueError
        For an unknown method, NaN or inf in ``V``, a shape the set cannot
        hold, or ``method="fast"`` on a set without a closed form.
    InfeasibleSetError
        If the set is empty.
    SolverError
        If no solver reaches an optimal solution.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import SpectralBall
    >>> V = np.array([[2.0, 0.0], [0.0, 0.5]])
    >>> fast = project(V, SpectralBall(1.0))
    >>> exact = project(V, SpectralBall(1.0), method="cvxpy")
    >>> bool(np.allclose(fast.weights, exact.weights, atol=1e-7))
    True
    >>> fast.duals["norm"], round(exact.duals["norm"], 6)
    (1.0, 1.0)
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if not isinstance(S, ConvexSet):
        raise ValueError(f"S must be a cvxdual.sets.ConvexSet, got {S!r}")
    if method in ("fast", "closed_form") and not S.has_closed_form:
        raise ValueError(
            f"{type(S).__name__} has no closed-form projection, so no method={method!r}; "
            "use method='auto' or 'cvxpy'."
        )
    closed_form = S.has_closed_form and method != "cvxpy"
    # No defensive copy of a large V: closed forms never write into their
    # input, and a result that would share memory with it is copied below.
    V = check_finite_array(
        V, "V", ndim=(1, 2), copy=False, check_finite=not (closed_form and S.checks_finite)
    )
    S.check_shape(V.shape)
    if closed_form:
        weights, duals = S.project_closed_form(V)
        if np.may_share_memory(weights, V):
            # V may be a view of the user's buffer (any array-like), or read-only
            weights = weights.copy()
        return ProjectionResult(weights, duals, "optimal", "closed_form")
    solver = _solvers.check_solver(solver)
    return compiled_projection(S, V.shape).solve(V, solver)
