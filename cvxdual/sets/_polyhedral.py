"""Polyhedral sets: non-negativity, boxes, the simplex, general polyhedra (private)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
from scipy.optimize import linprog

from .._linalg import _simplex_threshold
from .._validation import check_finite_array, check_positive
from ..exceptions import InfeasibleSetError
from ._base import ConvexSet


class NonNegative(ConvexSet):
    r"""The non-negative orthant :math:`\{W : W \ge 0\}`.

    Notes
    -----
    Projection ``max(V, 0)``; dual ``"nonneg"`` (shape of ``W``) ``max(−V, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import NonNegative
    >>> res = project(np.array([2.0, -3.0]), NonNegative())
    >>> res.weights, res.duals["nonneg"]
    (array([2., 0.]), array([0., 3.]))
    """

    has_closed_form = True

    def constraints(self, W):
        return {"nonneg": W >= 0}

    def project_closed_form(self, V):
        return np.maximum(V, 0.0), {"nonneg": np.maximum(-V, 0.0)}

    def violation(self, W):
        return max(float(-np.min(np.asarray(W, dtype=float))), 0.0)



def _bound_array(value, name: str) -> np.ndarray:
    array = np.array(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    array.setflags(write=False)
    return array


class Box(ConvexSet):
    r"""Entrywise bounds :math:`\{W : \text{lower} \le W \le \text{upper}\}`.

    Parameters
    ----------
    lower, upper : float or array-like
        Finite bounds, scalars or arrays that broadcast to the weight shape,
        with ``lower <= upper`` everywhere.

    Notes
    -----
    Projection ``clip(V, lower, upper)``; duals (shape of ``W``)
    ``"lower"`` = ``max(lower − V, 0)`` and ``"upper"`` = ``max(V − upper, 0)``.
    Where ``lower == upper`` the two duals are determined only up to a common
    shift; the closed form returns the smallest pair, a solver may not.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import Box
    >>> res = project(np.array([-2.0, 0.5, 3.0]), Box(-1.0, 1.0))
    >>> res.weights, res.duals["lower"], res.duals["upper"]
    (array([-1. ,  0.5,  1. ]), array([1., 0., 0.]), array([0., 0., 2.]))
    """

    has_closed_form = True

    def __init__(self, lower=-1.0, upper=1.0):
        self.lower = _bound_array(lower, "lower")
        self.upper = _bound_array(upper, "upper")
        try:
            gap = self.upper - self.lower
        except ValueError as exc:
            raise ValueError(
                f"lower and upper must broadcast together, got shapes "
                f"{self.lower.shape} and {self.upper.shape}"
            ) from exc
        if np.any(gap < 0):
            raise ValueError(
                f"lower must be <= upper everywhere, got lower={value_repr(self.lower)} "
                f"> upper={value_repr(self.upper)} at {int(np.sum(gap < 0))} entries"
            )

    def _params(self):
        return {"lower": _scalar_or_array(self.lower), "upper": _scalar_or_array(self.upper)}


    def check_shape(self, shape):
        super().check_shape(shape)
        for name, bound in (("lower", self.lower), ("upper", self.upper)):
            if bound.ndim == 0:
                continue
            try:
                ok = np.broadcast_shapes(bound.shape, tuple(shape)) == tuple(shape)
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"{name} of shape {bound.shape} does not broadcast to the weight shape "
                    f"{tuple(shape)}"
                )

    def constraints(self, W):
        # Broadcast the bounds here: CVXPY's fast (C++) canonicalisation
        # backend does not take implicitly broadcast constants.
        lower = np.broadcast_to(self.lower, W.shape)
        upper = np.broadcast_to(self.upper, W.shape)
        return {"lower": W >= lower, "upper": W <= upper}

    def project_closed_form(self, V):
        return np.clip(V, self.lower, self.upper), {
            "lower": np.maximum(self.lower - V, 0.0),
            "upper": np.maximum(V - self.upper, 0.0),
        }

    def violation(self, W):
        W = np.asarray(W, dtype=float)
        self.check_shape(W.shape)
        return max(float(np.max(self.lower - W)), float(np.max(W - self.upper)), 0.0)


def value_repr(array: np.ndarray) -> str:
    """Short text of a bound for error messages."""
    if array.ndim == 0:
        return repr(float(array))
    return f"array(shape={array.shape})"


def _scalar_or_array(array: np.ndarray):
    return float(array) if array.ndim == 0 else array


class Simplex(ConvexSet):
    r"""The scaled probability simplex :math:`\{W : W \ge 0, \sum_{ij} W_{ij} = t\}`.

    Parameters
    ----------
    total : float, default=1.0
        The sum ``t > 0`` of all entries.

    Notes
    -----
    Projection ``max(V − τ, 0)`` with ``τ`` found by sorting; duals ``"sum"`` =
    ``τ`` and ``"nonneg"`` = ``max(τ − V, 0)`` (zero on the support).

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import Simplex
    >>> res = project(np.array([2.0, 0.0, -1.0]), Simplex())
    >>> res.weights, res.duals["sum"], res.duals["nonneg"]
    (array([1., 0., 0.]), 1.0, array([0., 1., 2.]))
    """

    has_closed_form = True

    def __init__(self, total: float = 1.0):
        # total = 0 leaves the single point W = 0, whose "sum" dual is not unique.
        self.total = check_positive(total, "total")

    def _params(self):
        return {"total": self.total}


    def constraints(self, W):
        return {"nonneg": W >= 0, "sum": cp.sum(W) == self.total}

    def project_closed_form(self, V):
        tau = _simplex_threshold(V.ravel(), self.total)
        return np.maximum(V - tau, 0.0), {"nonneg": np.maximum(tau - V, 0.0), "sum": tau}

    def violation(self, W):
        W = np.asarray(W, dtype=float)
        return max(float(-W.min()), abs(float(W.sum()) - self.total), 0.0)


class Polyhedron(ConvexSet):
    r"""A polyhedron :math:`\{W : A\,\mathrm{vec}(W) \le b\}`, ``vec`` in row-major order.

    Parameters
    ----------
    A : array-like of shape (n_constraints, n_weights)
        Constraint matrix; ``n_weights`` must equal ``W.size``.
    b : array-like of shape (n_constraints,)
        Right-hand side.

    Raises
    ------
    InfeasibleSetError
        If no point satisfies ``A x <= b`` (checked by a linear program).

    Notes
    -----
    No closed form: :func:`cvxdual.project` solves a CVXPY problem compiled once
    per (set, shape) and re-solved. The dual ``"ineq"`` has shape
    ``(n_constraints,)``. Monotonicity (``W[i] <= W[i+1]``) and budget limits
    are polyhedra.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import Polyhedron
    >>> S = Polyhedron([[1.0, 1.0]], [1.0])  # w0 + w1 <= 1
    >>> res = project(np.array([1.0, 1.0]), S)
    >>> np.round(res.weights, 6), np.round(res.duals["ineq"], 6)
    (array([0.5, 0.5]), array([0.5]))
    """

    def __init__(self, A, b):
        A = check_finite_array(A, "A", ndim=(2,))
        b = check_finite_array(b, "b", ndim=(1,))
        if A.shape[0] != b.shape[0]:
            raise ValueError(
                f"A and b must have the same number of rows, got A.shape={A.shape} and "
                f"b.shape={b.shape}"
            )
        feasibility = linprog(
            np.zeros(A.shape[1]), A_ub=A, b_ub=b, bounds=(None, None), method="highs"
        )
        if feasibility.status == 2:
            raise InfeasibleSetError(
                f"Polyhedron(A, b) is empty: no point satisfies A @ vec(W) <= b "
                f"({A.shape[0]} constraints on {A.shape[1]} weights)."
            )
        A.setflags(write=False)
        b.setflags(write=False)
        self.A = A
        self.b = b

    def _params(self):
        return {"A": self.A, "b": self.b}


    def check_shape(self, shape):
        super().check_shape(shape)
        size = int(np.prod(shape))
        if self.A.shape[1] != size:
            raise ValueError(
                f"A has {self.A.shape[1]} columns but the weights of shape {tuple(shape)} "
                f"have {size} entries; A must have shape (n_constraints, {size})."
            )

    def constraints(self, W):
        return {"ineq": self.A @ cp.vec(W, order="C") <= self.b}

    def violation(self, W):
        W = np.asarray(W, dtype=float)
        self.check_shape(W.shape)
        return max(float(np.max(self.A @ W.ravel() - self.b)), 0.0)
