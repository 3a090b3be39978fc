r"""KKT residuals, finite differences and side-by-side CVXPY comparisons of projections (private).

The public names are re-exported by :mod:`cvxdual.verify`; see its docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse
from cvxpy.constraints import Equality, Inequality, NonNeg, NonPos, Zero

from . import _solvers
from ._validation import check_finite_array, check_positive
from .projection import ProjectionResult, project
from .sets import ConvexSet, L1Ball, L2Ball, LinfBall, NuclearBall, SpectralBall

__all__ = ["KKTResiduals", "compare_with_cvxpy", "finite_difference", "projection_kkt"]


@dataclass(frozen=True)
class KKTResiduals:
    """Residuals of the KKT conditions of a projection; all are ≥ 0, 0 at optimality.

    Attributes
    ----------
    primal_feasibility : float
        Largest constraint violation of ``W``.
    dual_feasibility : float
        Largest negative part of an inequality dual.
    complementary_slackness : float
        Largest ``|y_i * g_i(W)|``, entrywise over all constraints.
    stationarity : float
        ``‖X − W‖_F``, where ``X`` minimises the Lagrangian at the given duals;
        zero exactly when ``W`` and the duals satisfy stationarity.
    duality_gap : float
        ``|½‖W − V‖² − L(X, y)|``, primal value minus dual value.

    Examples
    --------
    >>> from cvxdual.verify import KKTResiduals
    >>> KKTResiduals(0.0, 0.0, 0.0, 0.0, 0.0).max()
    0.0
    """

    primal_feasibility: float
    dual_feasibility: float
    complementary_slackness: float
    stationarity: float
    duality_gap: float

    def max(self) -> float:
        """Return the largest residual."""
        return max(
            self.primal_feasibility,
            self.dual_feasibility,
            self.complementary_slackness,
            self.stationarity,
            self.duality_gap,
        )


def _is_inequality(constraint) -> bool:
    return isinstance(constraint, Inequality | NonPos | NonNeg)


def _constraint_function(constraint) -> cp.Expression:
    """Return ``g`` with the constraint read as ``g <= 0`` or ``g == 0``."""
    if isinstance(constraint, Inequality | Equality):
        return constraint.expr
    if isinstance(constraint, NonPos | Zero):
        return constraint.args[0]
    if isinstance(constraint, NonNeg):
        return -constraint.args[0]
    raise ValueError(
        "projection_kkt checks sets whose constraints are (in)equalities; got a "
        f"{type(constraint).__name__} constraint"
    )


def projection_kkt(
    V, S: ConvexSet, result: ProjectionResult, *, solver: str | None = None
) -> KKTResiduals:
    r"""Return the KKT residuals of ``result`` as a projection of ``V`` onto ``S``.

    Stationarity is checked without differentiating the constraints: with the
    reported duals ``y``, the Lagrangian
    :math:`L(X) = \tfrac12\|X - V\|^2 + \sum_i \langle y_i, g_i(X)\rangle` is
    strongly convex, and ``W`` satisfies stationarity exactly when it is
    ``L``'s minimiser, which CVXPY computes.

    Parameters
    ----------
    V : array-like
        The projected point.
    S : ConvexSet
        The set.
    result : ProjectionResult
        What :func:`cvxdual.project` (or anything else) returned.
    solver : str, optional
        CVXPY solver for the Lagrangian minimisation.

    Returns
    -------
    KKTResiduals

    Raises
    ------
    ValueError
        If a constraint of ``S`` is neither an inequality nor an equality (for
        example a PSD constraint of a :class:`~cvxdual.sets.CvxpySet`).

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import L1Ball
    >>> from cvxdual.verify import projection_kkt
    >>> V = np.array([[3.0, -1.0], [0.5, 2.0]])
    >>> res = projection_kkt(V, L1Ball(1.0), project(V, L1Ball(1.0)))
    >>> bool(res.max() < 1e-6)
    True
    """
    V = check_finite_array(V, "V", ndim=(1, 2))
    W = np.asarray(result.weights, dtype=float)
    at_W = S.constraints(cp.Constant(W))
    dual_feasibility = 0.0
    slackness = 0.0
    for key, constraint in at_W.items():
        y = np.asarray(result.duals[key], dtype=float)
        g = np.asarray(_constraint_function(constraint).value, dtype=float)
        if _is_inequality(constraint):
            dual_feasibility = max(dual_feasibility, float(np.max(-y, initial=0.0)))
        slackness = max(slackness, float(np.max(np.abs(y * g))))

    if isinstance(S, _SCALAR_NORM_BALLS):
        stationarity, gap = _norm_ball_stationarity(V, W, S, float(result.duals["norm"]))
    elif all(
        _constraint_function(c).is_affine() for c in S.constraints(cp.Variable(W.shape)).values()
    ):
        stationarity, gap = _affine_stationarity(V, W, S, result.duals), None
    else:
        stationarity, gap = _lagrangian_stationarity(V, W, S, result.duals, solver)
    if gap is None:
        # Affine constraints: L(W) − min L = ½‖∇L(W)‖² exactly (unit curvature).
        gap = 0.5 * stationarity**2
    return KKTResiduals(
        primal_feasibility=float(S.violation(W)) + 0.0,
        dual_feasibility=dual_feasibility,
        complementary_slackness=slackness,
        stationarity=float(stationarity),
        duality_gap=float(gap),
    )


_DUAL_BALL = {
    L2Ball: L2Ball,
    L1Ball: LinfBall,
    LinfBall: L1Ball,
    SpectralBall: NuclearBall,
    NuclearBall: SpectralBall,
}
_SCALAR_NORM_BALLS = tuple(_DUAL_BALL)


def _norm_ball_stationarity(V, W, S, lam):
    """Minimise the Lagrangian ``½‖X − V‖² + λ(‖X‖ − r)`` in closed form.

    By Moreau's decomposition its minimiser is ``X = V − Π(V)``, with ``Π`` the
    projection onto the dual-norm ball of radius ``λ`` (ℓ2 ↔ ℓ2, ℓ1 ↔ ℓ∞,
    spectral ↔ nuclear), so the check needs no solver and is exact.
    """
    scale = float(np.max(np.abs(V)))
    if scale > 0 and not 1e-100 < scale < 1e100:
        # Squares of such entries over- or underflow: everything is homogeneous
        # (the residual scales with V, the gap with V²), so compute on V / scale.
        stationarity, gap = _norm_ball_stationarity(
            V / scale, W / scale, type(S)(S.radius / scale), lam / scale
        )
        with np.errstate(over="ignore"):
            return stationarity * scale, gap * scale * scale
    if lam > 0:
        dual_ball = _DUAL_BALL[type(S)](lam)
        X = V - dual_ball.project_closed_form(V)[0]
    else:
        X = V
    dual_value = 0.5 * float(np.sum((X - V) ** 2)) + lam * (S.norm(X) - S.radius)
    primal = 0.5 * float(np.sum((W - V) ** 2))
    return float(np.linalg.norm(X - W)), abs(primal - dual_value)


def _affine_stationarity(V, W, S, duals):
    """``‖(W − V) + Σ_i J_iᵀ y_i‖_F`` with exact Jacobians of affine constraints."""
    X = cp.Variable(W.shape)
    X.value = W
    gradient = (W - V).ravel(order="F")
    for key, constraint in S.constraints(X).items():
        g = _constraint_function(constraint)
        jacobian = g.grad[X]  # (X.size, g.size) in CVXPY's column-major order
        if jacobian is None:
            continue
        if not scipy.sparse.issparse(jacobian):
            # one entry and one row give a scalar
            jacobian = np.reshape(np.asarray(jacobian, dtype=float), (X.size, g.size))
        y = np.asarray(duals[key], dtype=float)
        gradient = gradient + jacobian @ np.broadcast_to(y, g.shape).ravel(order="F")
    return float(np.linalg.norm(gradient))


def _lagrangian_stationarity(V, W, S, duals, solver):
    """``‖X − W‖_F`` where CVXPY minimises the Lagrangian at the given duals."""
    X = cp.Variable(W.shape)
    terms = [0.5 * cp.sum_squares(X - V)]
    for key, constraint in S.constraints(X).items():
        y = np.asarray(duals[key], dtype=float)
        if _is_inequality(constraint):
            # Inequality duals multiply convex functions: clip the (reported
            # separately) negative part so that the Lagrangian stays convex.
            y = np.maximum(y, 0.0)
        g = _constraint_function(constraint)
        terms.append(cp.sum(cp.multiply(y, g)) if g.size > 1 else float(y) * cp.sum(g))
    lagrangian = cp.Problem(cp.Minimize(cp.sum(terms)))
    _solvers.solve(lagrangian, solver, what="Lagrangian minimisation")
    primal = 0.5 * float(np.sum((W - V) ** 2))
    return float(np.linalg.norm(X.value - W)), abs(primal - float(lagrangian.value))


def finite_difference(
    f: Callable[[np.ndarray], float], x, *, step: float = 1e-6
) -> float | np.ndarray:
    r"""Return the central-difference gradient of a scalar function ``f`` at ``x``.

    :math:`\partial f/\partial x_k \approx (f(x + h e_k) - f(x - h e_k)) / (2h)`,
    with ``h = step * max(1, |x_k|)``.

    Parameters
    ----------
    f : callable
        Scalar function of an array (or of a float when ``x`` is a float).
    x : float or array-like
        Where to differentiate.
    step : float, default=1e-6
        Relative step.

    Returns
    -------
    gradient : float or ndarray
        Same shape as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import L2Ball
    >>> from cvxdual.verify import finite_difference
    >>> V = np.array([3.0, 4.0])
    >>> def value(r):
    ...     return 0.5 * np.sum((project(V, L2Ball(r)).weights - V) ** 2)
    >>> round(finite_difference(value, 2.0), 6), project(V, L2Ball(2.0)).duals["norm"]
    (-3.0, 3.0)
    """
    step = check_positive(step, "step")
    if np.ndim(x) == 0:
        h = step * max(1.0, abs(float(x)))
        return float((f(float(x) + h) - f(float(x) - h)) / (2 * h))
    x = np.array(x, dtype=float)
    grad = np.empty_like(x)
    for index in np.ndindex(x.shape):
        h = step * max(1.0, abs(x[index]))
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (f(plus) - f(minus)) / (2 * h)
    return grad


def compare_with_cvxpy(V, S: ConvexSet, *, solver: str | None = None) -> dict[str, float]:
    """Return the largest differences between ``project``'s fast path and CVXPY.

    Parameters
    ----------
    V : array-like
        The point to project.
    S : ConvexSet
        A set (with or without a closed form).
    solver : str, optional
        CVXPY solver for the reference solve.

    Returns
    -------
    differences : dict of str to float
        ``"weights"`` (max abs difference, relative to ``max(1, ‖W‖_max)``),
        and one entry per dual key (same scaling).

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.sets import LinfBall
    >>> from cvxdual.verify import compare_with_cvxpy
    >>> diff = compare_with_cvxpy(np.array([2.0, -0.3]), LinfBall(1.0))
    >>> bool(max(diff.values()) < 1e-6)
    True
    """
    fast = project(V, S)
    exact = project(V, S, method="cvxpy", solver=solver)

    def rel(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))

    out = {"weights": rel(fast.weights, exact.weights)}
    out.update({key: rel(fast.duals[key], exact.duals[key]) for key in exact.duals})
    return out
