r"""Convex sets for weight matrices, defined by their CVXPY constraints.

Each set says what it *is* through :meth:`ConvexSet.constraints`, a dict of
named CVXPY constraints on a weight variable ``W``; that dict is the
definition, and :func:`cvxdual.project` solves

.. math:: \min_W \tfrac12 \|W - V\|_F^2 \quad \text{s.t.} \quad W \in S

with it. Sets that admit a closed-form projection also implement it, returning
the same weights *and the same dual values* as CVXPY's ``dual_value`` of each
named constraint; the duals follow from the KKT conditions of the projection:

=============  =======================================  ================================
set            weights                                  dual
=============  =======================================  ================================
L2Ball         ``V * min(1, r/‖V‖_F)``                  ``max(‖V‖_F − r, 0)``
L1Ball         soft-threshold ``V`` at θ (sort-based)    ``θ`` (= ‖V − W‖_∞)
LinfBall       ``clip(V, −r, r)``                        ``‖V − W‖_1``
SpectralBall   clip singular values at r                 ``Σ (σ_i − r)_+`` (nuclear norm)
NuclearBall    ℓ1-ball projection of singular values     ``θ`` (spectral norm of V − W)
MaxNorm        rescale each column to norm ≤ r          ``(‖v_j‖ − r)_+`` per column
NonNegative    ``max(V, 0)``                             ``max(−V, 0)``
Box            ``clip(V, lower, upper)``                 ``(lower − V)_+``, ``(V − upper)_+``
Simplex        ``max(V − τ, 0)``, Σ = total              ``max(τ − V, 0)``·1[W = 0], ``τ``
=============  =======================================  ================================

CVXPY's sign convention, which these duals follow, is that the Lagrangian is
``f(W) + Σ_i <y_i, g_i(W)>`` where each constraint reads ``g_i(W) <= 0`` or
``g_i(W) == 0`` (``g = lhs − rhs``), with ``y_i >= 0`` for inequalities.

The constraint names, which are the keys of the duals: ``"norm"`` for every
norm ball (a float; an array with one entry per column for :class:`MaxNorm`),
``"nonneg"`` (:class:`NonNegative`), ``"lower"`` and ``"upper"``
(:class:`Box`), ``"nonneg"`` and ``"sum"`` (:class:`Simplex`), ``"ineq"``
(:class:`Polyhedron`), ``"<i>.<key>"`` for member ``i`` of an
:class:`Intersection`, and the returned dict's keys for a :class:`CvxpySet`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import cvxpy as cp
import numpy as np
from cvxpy.constraints.constraint import Constraint
from scipy.optimize import linprog

from ._linalg import (
    _column_norms,
    _frobenius,
    _simplex_threshold,
    _spectral_clip,
)
from ._validation import check_finite_array, check_positive
from .exceptions import InfeasibleSetError

__all__ = [
    "Box",
    "ConvexSet",
    "CvxpySet",
    "Intersection",
    "L1Ball",
    "L2Ball",
    "LinfBall",
    "MaxNorm",
    "NonNegative",
    "NuclearBall",
    "Polyhedron",
    "Simplex",
    "SpectralBall",
]

Duals = dict[str, "float | np.ndarray"]


class ConvexSet:
    """Base class of the convex sets a weight matrix can be constrained to.

    Subclasses implement :meth:`constraints` (the definition) and, when a closed
    form exists, set ``has_closed_form = True`` and implement
    :meth:`project_closed_form`. Sets are immutable value objects: array
    parameters are copied and made read-only at construction.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.sets import L2Ball
    >>> S = L2Ball(1.0)
    >>> S.contains(np.array([0.6, 0.8]))
    True
    """

    #: Whether :meth:`project_closed_form` is implemented.
    has_closed_form: bool = False
    #: Whether :meth:`project_closed_form` itself rejects NaN and infinity
    #: (so :func:`cvxdual.project` can skip a separate pass over large inputs).
    checks_finite: bool = False

    def constraints(self, W: cp.Expression) -> dict[str, cp.Constraint]:
        """Return the named CVXPY constraints that define ``W ∈ S``.

        Parameters
        ----------
        W : cvxpy.Expression
            The weight variable (or a constant), of shape ``(n_in, n_out)`` or ``(n,)``.

        Returns
        -------
        constraints : dict of str to cvxpy.Constraint
            Keyed by constraint name (listed in the module docstring); these
            keys are the keys of the duals.
        """
        raise NotImplementedError

    def check_shape(self, shape: tuple[int, ...]) -> None:
        """Raise ``ValueError`` if the set cannot hold a matrix of this shape."""
        if len(shape) not in (1, 2):
            raise ValueError(f"W must be a 1-D or 2-D array, got shape {tuple(shape)}")

    def project_closed_form(self, V: np.ndarray) -> tuple[np.ndarray, Duals]:
        """Return ``(W, duals)``, the exact projection of ``V`` and its duals.

        ``V`` must be a validated float array (use :func:`cvxdual.project`,
        which validates and copies). Only sets with ``has_closed_form`` have it.
        """
        raise NotImplementedError(f"{type(self).__name__} has no closed-form projection.")

    def _project_closed_form_after(self, V: np.ndarray, previous: Duals | None):
        """:meth:`project_closed_form` of ``V``, given the duals ``previous`` of the last
        projection of the same weights (None for a first one).

        Training projects after every optimizer step; a set may use the hint to
        decide how to compute the projection, never what it is.
        """
        return self.project_closed_form(V)

    def violation(self, W) -> float:
        """Return the largest constraint violation of ``W`` (0 when ``W ∈ S``).

        Examples
        --------
        >>> import numpy as np
        >>> from cvxdual.sets import NonNegative
        >>> float(NonNegative().violation(np.array([1.0, -0.5])))
        0.5
        """
        W = np.asarray(W, dtype=float)
        self.check_shape(W.shape)
        worst = 0.0
        for constraint in self.constraints(cp.Constant(W)).values():
            worst = max(worst, float(np.max(constraint.violation())))
        return worst

    def contains(self, W, tol: float = 1e-8) -> bool:
        """Return whether ``W`` satisfies every constraint up to ``tol``."""
        return bool(self.violation(W) <= tol)

    def _params(self) -> dict:
        return {}

    def __repr__(self) -> str:
        def show(value):
            if isinstance(value, np.ndarray) and value.ndim > 0:
                return f"array(shape={value.shape})"
            return repr(value)

        args = ", ".join(f"{k}={show(v)}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"


class _NormBall(ConvexSet):
    """A ball ``{W : ‖W‖ <= radius}`` of some norm; its dual key is ``"norm"``."""

    has_closed_form = True

    def __init__(self, radius: float = 1.0):
        self.radius = check_positive(radius, "radius")

    def _params(self) -> dict:
        return {"radius": self.radius}

    def norm(self, W) -> float:
        """Return the norm of ``W`` that this ball bounds."""
        raise NotImplementedError

    def dual_norm(self, W) -> float:
        """Return the dual norm of ``W``; ``duals["norm"]`` equals ``dual_norm(V − W)``."""
        raise NotImplementedError



class L2Ball(_NormBall):
    r"""Frobenius-norm ball :math:`\{W : \|W\|_F \le r\}`.

    Parameters
    ----------
    radius : float
        The bound ``r > 0``.

    Notes
    -----
    Projection: :math:`W = V \min(1, r/\|V\|_F)`; dual
    :math:`\lambda = \max(\|V\|_F - r, 0) = \|V - W\|_F`.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import L2Ball
    >>> res = project(np.array([3.0, 4.0]), L2Ball(1.0))
    >>> res.weights, round(res.duals["norm"], 6)
    (array([0.6, 0.8]), 4.0)
    """

    def constraints(self, W):
        return {"norm": cp.norm(W, "fro") <= self.radius}

    # The norm is finite exactly when every entry is (overflow is rescaled
    # away), so the closed form checks its input in the same pass.
    checks_finite = True

    def project_closed_form(self, V):
        norm = _frobenius(V)
        if not np.isfinite(norm):
            raise ValueError("V contains NaN or infinity.")
        if norm <= self.radius:
            return V, {"norm": 0.0}
        return V * (self.radius / norm), {"norm": norm - self.radius}

    def norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float)))

    def dual_norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float)))

    def violation(self, W):
        return max(float(np.linalg.norm(np.asarray(W, dtype=float))) - self.radius, 0.0)


class L1Ball(_NormBall):
    r"""Entrywise ℓ1 ball :math:`\{W : \sum_{ij} |W_{ij}| \le r\}`.

    Parameters
    ----------
    radius : float
        The bound ``r > 0``.

    Notes
    -----
    Projection by sorting (Duchi et al., 2008): :math:`W = \mathrm{sign}(V)
    (|V| - \theta)_+`; the dual is :math:`\theta = \|V - W\|_\infty`.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import L1Ball
    >>> res = project(np.array([3.0, -1.0]), L1Ball(1.0))
    >>> res.weights, res.duals["norm"]
    (array([ 1., -0.]), 2.0)
    """

    def constraints(self, W):
        return {"norm": cp.sum(cp.abs(W)) <= self.radius}

    def project_closed_form(self, V):
        a = np.abs(V)
        with np.errstate(over="ignore"):  # an overflowing sum is outside the ball
            inside = a.sum() <= self.radius
        if inside:
            return V, {"norm": 0.0}
        theta = _simplex_threshold(a.ravel(), self.radius)
        return np.sign(V) * np.maximum(a - theta, 0.0), {"norm": theta}

    def norm(self, W):
        return float(np.abs(np.asarray(W, dtype=float)).sum())

    def dual_norm(self, W):
        return float(np.abs(np.asarray(W, dtype=float)).max())

    def violation(self, W):
        return max(float(np.abs(np.asarray(W, dtype=float)).sum()) - self.radius, 0.0)


class LinfBall(_NormBall):
    r"""Entrywise ℓ∞ ball :math:`\{W : \max_{ij} |W_{ij}| \le r\}`.

    Parameters
    ----------
    radius : float
        The bound ``r > 0``.

    Notes
    -----
    Projection: :math:`W = \mathrm{clip}(V, -r, r)`; dual
    :math:`\lambda = \sum_{ij} (|V_{ij}| - r)_+ = \|V - W\|_1`.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import LinfBall
    >>> res = project(np.array([3.0, -0.5, -2.0]), LinfBall(1.0))
    >>> res.weights, res.duals["norm"]
    (array([ 1. , -0.5, -1. ]), 3.0)
    """

    def constraints(self, W):
        return {"norm": cp.max(cp.abs(W)) <= self.radius}

    def project_closed_form(self, V):
        excess = np.abs(V) - self.radius
        if excess.max() <= 0:
            return V, {"norm": 0.0}
        return np.clip(V, -self.radius, self.radius), {"norm": float(excess[excess > 0].sum())}

    def norm(self, W):
        return float(np.abs(np.asarray(W, dtype=float)).max())

    def dual_norm(self, W):
        return float(np.abs(np.asarray(W, dtype=float)).sum())

    def violation(self, W):
        return max(float(np.abs(np.asarray(W, dtype=float)).max()) - self.radius, 0.0)


class _MatrixNormBall(_NormBall):
    """A norm ball that needs a 2-D weight matrix."""

    def check_shape(self, shape):
        if len(shape) != 2:
            raise ValueError(
                f"{type(self).__name__} needs a 2-D weight matrix, got shape {tuple(shape)}"
            )


class SpectralBall(_MatrixNormBall):
    r"""Spectral-norm ball :math:`\{W : \sigma_{\max}(W) \le r\}` (Lipschitz bound).

    Parameters
    ----------
    radius : float
        The bound ``r > 0`` on the largest singular value.

    Notes
    -----
    Projection: clip the singular values at ``r``; the dual is the nuclear norm
    of the residual, :math:`\sum_i (\sigma_i - r)_+`. The singular pairs come
    from an eigendecomposition of the smaller Gram matrix, which is exact to
    rounding for the clipped directions and faster than an SVD.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import SpectralBall
    >>> res = project(np.diag([3.0, 0.5]), SpectralBall(1.0))
    >>> res.weights, res.duals["norm"]
    (array([[1. , 0. ],
           [0. , 0.5]]), 2.0)
    """

    def constraints(self, W):
        return {"norm": cp.sigma_max(W) <= self.radius}

    def project_closed_form(self, V):
        return _spectral_clip(V, self.radius)

    def _project_closed_form_after(self, V, previous):
        if type(self).project_closed_form is not SpectralBall.project_closed_form:
            return self.project_closed_form(V)
        # After a projection that bound, a step usually leaves the ball again: the
        # Cholesky test for a matrix inside it would fail, so it is not tried.
        bound = previous is not None and previous.get("norm", 0.0) > 0
        return _spectral_clip(V, self.radius, certify=not bound)

    def norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float), 2))

    def dual_norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float), "nuc"))

    def violation(self, W):
        W = np.asarray(W, dtype=float)
        self.check_shape(W.shape)
        return max(float(np.linalg.norm(W, 2)) - self.radius, 0.0)


class NuclearBall(_MatrixNormBall):
    r"""Nuclear-norm ball :math:`\{W : \sum_i \sigma_i(W) \le r\}` (low rank).

    Parameters
    ----------
    radius : float
        The bound ``r > 0`` on the sum of singular values.

    Notes
    -----
    Projection: project the singular values onto the ℓ1 ball,
    :math:`\sigma_i \mapsto (\sigma_i - \theta)_+`; the dual is
    :math:`\theta`, the spectral norm of the residual.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import NuclearBall
    >>> res = project(np.diag([3.0, 1.0]), NuclearBall(1.0))
    >>> res.weights, res.duals["norm"]
    (array([[1., 0.],
           [0., 0.]]), 2.0)
    """

    def constraints(self, W):
        return {"norm": cp.normNuc(W) <= self.radius}

    def project_closed_form(self, V):
        U, s, Vt = np.linalg.svd(V, full_matrices=False)
        if s.sum() <= self.radius:
            return V, {"norm": 0.0}
        theta = _simplex_threshold(s, self.radius)
        kept = s > theta
        W = (U[:, kept] * (s[kept] - theta)) @ Vt[kept]
        return W, {"norm": theta}

    def norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float), "nuc"))

    def dual_norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float), 2))

    def violation(self, W):
        W = np.asarray(W, dtype=float)
        self.check_shape(W.shape)
        return max(float(np.linalg.norm(W, "nuc")) - self.radius, 0.0)


class MaxNorm(_MatrixNormBall):
    r"""Bound on each unit's incoming weights: :math:`\|W_{:, j}\|_2 \le r` for every column.

    Parameters
    ----------
    radius : float
        The bound ``r > 0`` on every column's Euclidean norm.

    Notes
    -----
    Projection: rescale each column of norm above ``r``; the dual is an array
    of shape ``(n_out,)``, :math:`\lambda_j = (\|v_j\|_2 - r)_+`.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import MaxNorm
    >>> res = project(np.array([[3.0, 0.1], [4.0, 0.0]]), MaxNorm(1.0))
    >>> res.weights, res.duals["norm"]
    (array([[0.6, 0.1],
           [0.8, 0. ]]), array([4., 0.]))
    """

    def constraints(self, W):
        return {"norm": cp.norm(W, 2, axis=0) <= self.radius}

    def project_closed_form(self, V):
        norms = _column_norms(V)
        excess = np.maximum(norms - self.radius, 0.0)
        if not excess.any():
            return V, {"norm": excess}
        # r / max(‖v_j‖, r): 1 for columns inside the ball, r/‖v_j‖ outside.
        return V * (self.radius / np.maximum(norms, self.radius)), {"norm": excess}

    def norm(self, W):
        """Return the largest column norm, ``max_j ‖W[:, j]‖_2``."""
        return float(np.linalg.norm(np.asarray(W, dtype=float), axis=0).max())

    def dual_norm(self, W):
        """Return ``Σ_j ‖W[:, j]‖_2``; ``duals["norm"].sum()`` equals ``dual_norm(V − W)``."""
        return float(np.linalg.norm(np.asarray(W, dtype=float), axis=0).sum())

    def violation(self, W):
        W = np.asarray(W, dtype=float)
        self.check_shape(W.shape)
        return max(float(np.linalg.norm(W, axis=0).max()) - self.radius, 0.0)


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


class Intersection(ConvexSet):
    r"""The intersection of several sets: all members' constraints at once.

    Parameters
    ----------
    *sets : ConvexSet
        At least one member. The duals of member ``i``'s constraint ``key`` are
        reported as ``"<i>.<key>"``.

    Notes
    -----
    No closed form in general; projected through CVXPY. An empty intersection
    raises :class:`~cvxdual.exceptions.InfeasibleSetError` when projected onto.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import Intersection, L2Ball, NonNegative
    >>> res = project(np.array([3.0, -4.0]), Intersection(NonNegative(), L2Ball(1.0)))
    >>> np.round(res.weights, 6) + 0.0, sorted(res.duals)
    (array([1., 0.]), ['0.nonneg', '1.norm'])
    """

    def __init__(self, *sets: ConvexSet):
        if not sets:
            raise ValueError("Intersection needs at least one set, got none.")
        for i, member in enumerate(sets):
            if not isinstance(member, ConvexSet):
                raise ValueError(
                    f"Intersection members must be cvxdual.sets.ConvexSet instances, "
                    f"got {member!r} at position {i}"
                )
        self.sets = tuple(sets)


    def __repr__(self):
        return f"Intersection({', '.join(repr(s) for s in self.sets)})"

    def check_shape(self, shape):
        for member in self.sets:
            member.check_shape(shape)

    def constraints(self, W):
        return {
            f"{i}.{key}": constraint
            for i, member in enumerate(self.sets)
            for key, constraint in member.constraints(W).items()
        }

    def violation(self, W):
        return max(member.violation(W) for member in self.sets)


class CvxpySet(ConvexSet):
    r"""A set given by any function returning named CVXPY constraints on ``W``.

    Parameters
    ----------
    fn : callable
        ``fn(W) -> dict[str, cvxpy.Constraint]``; the constraints must be DCP
        (and DPP, to be compiled once) in ``W``. The dict's keys are the dual keys.

    Examples
    --------
    >>> import cvxpy as cp
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import CvxpySet
    >>> increasing = CvxpySet(lambda W: {"order": cp.diff(W) >= 0})
    >>> res = project(np.array([2.0, 1.0, 3.0]), increasing)
    >>> np.round(res.weights, 6), np.round(res.duals["order"], 6)
    (array([1.5, 1.5, 3. ]), array([0.5, 0. ]))
    """

    def __init__(self, fn: Callable[[cp.Expression], Mapping[str, cp.Constraint]]):
        if not callable(fn):
            raise ValueError(f"fn must be callable, got {fn!r}")
        self.fn = fn

    def _params(self):
        return {"fn": getattr(self.fn, "__name__", self.fn)}


    def check_shape(self, shape):
        super().check_shape(shape)
        try:
            self.constraints(cp.Variable(tuple(shape)))
        except Exception as exc:  # whatever the user's function raises on this shape
            raise ValueError(
                f"CvxpySet function cannot constrain weights of shape {tuple(shape)}: {exc}"
            ) from exc

    def constraints(self, W):
        result = self.fn(W)
        if not isinstance(result, Mapping) or not result:
            raise ValueError(
                f"CvxpySet function must return a non-empty dict of named CVXPY constraints, "
                f"got {result!r}"
            )
        out = {}
        for key, constraint in result.items():
            if not isinstance(key, str) or not isinstance(constraint, Constraint):
                raise ValueError(
                    f"CvxpySet function must map str to cvxpy constraints, got {key!r}: "
                    f"{constraint!r}"
                )
            out[key] = constraint
        return out

