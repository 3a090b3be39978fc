"""The convex program over fixed patterns, written in CVXPY (the definition), and
the solution type both solvers return."""

from __future__ import annotations

from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from .._solvers import solve as _cvxpy_solve
from .._validation import check_positive, check_sample_vector, check_samples
from ._certificate import _Certifier, _relative_gap
from ._common import _augment, _check_labels, _get_loss
from ._patterns import _check_patterns


@dataclass
class ConvexReLUSolution:
    """Solution of the convex program on a given pattern set.

    Attributes
    ----------
    v, w : ndarray of shape (n_features (+1), P)
        Convex weights of the positive and negative neurons, one column per pattern.
    objective : float
        Convex objective at ``(v, w)``; equals the nonconvex objective of
        :func:`recover_network` ``(v, w)``.
    lower_bound : float
        Certified lower bound on the optimum of the program over these patterns
        (see :mod:`cvxdual.convex_relu`).
    duals : dict
        ``"sample_duals"`` ν (n_samples,) = (1/n) ℓ'(z), the dual of ``z = Σ …``;
        ``"cone_v"``, ``"cone_w"`` (n_samples, P): multipliers μ ≥ 0 of the
        constraints ``(2D_i − I) X̃ v_i ≥ 0`` and ``… w_i ≥ 0`` (for
        ``method="cvxpy"`` exactly CVXPY's ``dual_value``; for ``"fast"`` the
        multipliers of the certificate, see :func:`solve_convex_relu`);
        ``"dual_scale"``: the factor t applied to ν in the bound.
    method : str
        ``"cvxpy"`` or ``"fast"``.
    solver : str
        Solver used (for ``"fast"``: ``"interior-point"`` when its first stage
        produced the answer, else the one of the final working-set solve, if
        any: ``"CLARABEL"`` called directly, or a CVXPY solver; ``"zero"``
        when every candidate was worse than the zero network, see
        :func:`solve_convex_relu`).
    n_iter : int
        Iterations of ``"fast"``: interior-point iterations, plus first-order
        iterations if its fallback stage ran (0 for ``"cvxpy"``).
    converged : bool
        Whether the relative gap ``(objective − lower_bound)/|objective|`` met tol.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import enumerate_patterns, solve_convex_relu
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0])
    >>> sol = solve_convex_relu(X, y, 0.01, enumerate_patterns(X), method="cvxpy")
    >>> sol.v.shape, bool(sol.relative_gap < 1e-6), sorted(sol.duals)
    ((2, 5), True, ['cone_v', 'cone_w', 'dual_scale', 'sample_duals'])
    """

    v: np.ndarray
    w: np.ndarray
    objective: float
    lower_bound: float
    duals: dict = field(default_factory=dict)
    method: str = "cvxpy"
    solver: str = ""
    n_iter: int = 0
    converged: bool = True

    @property
    def relative_gap(self) -> float:
        """(objective − lower_bound) / max(|objective|, tiny); ``inf`` if not finite."""
        return _relative_gap(self.objective, self.lower_bound)


class ConvexReLUProgram:
    """The convex program over fixed patterns, written in CVXPY (the definition).

    Built once per ``(X, patterns, loss)``; the targets ``y`` and ``alpha`` are
    :class:`cvxpy.Parameter` objects, so re-solving for another target (e.g. one
    class after another) or regularisation reuses the compiled problem.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    patterns : array-like of bool, shape (n_samples, P)
    loss : {"squared", "squared_hinge", "log_loss"}
    fit_intercept : bool

    Attributes
    ----------
    problem : cvxpy.Problem
    v, w : cvxpy.Variable of shape (n_features (+1), P)
    y, alpha : cvxpy.Parameter
    cone_v, cone_w : cvxpy.Constraint
        ``(2D − 1) ∘ (X̃ V) ≥ 0`` and ``(2D − 1) ∘ (X̃ W) ≥ 0``, shape (n_samples, P).

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import ConvexReLUProgram, enumerate_patterns
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0])
    >>> prog = ConvexReLUProgram(X, enumerate_patterns(X))
    >>> prog.problem.is_dcp(dpp=True)
    True
    >>> sol = prog.solve(y, 0.01)
    >>> round(sol.objective, 6), round(sol.relative_gap, 6)
    (0.03288, 0.0)
    """

    def __init__(self, X, patterns, *, loss: str = "squared", fit_intercept: bool = True):
        X = check_samples(X)
        self.loss = _get_loss(loss)
        self.fit_intercept = fit_intercept
        self.X = X
        self.Xt = _augment(X, fit_intercept)
        self.patterns = _check_patterns(patterns, X.shape[0])
        n, dd = self.Xt.shape
        P = self.patterns.shape[1]
        if P == 0:
            raise ValueError("patterns must hold at least one (nonzero) pattern")
        mask = self.patterns.astype(float)
        sign = 2.0 * mask - 1.0
        self.y = cp.Parameter(n, name="y")
        self.alpha = cp.Parameter(nonneg=True, name="alpha")
        self.v = cp.Variable((dd, P), name="v")
        self.w = cp.Variable((dd, P), name="w")
        xv = self.Xt @ self.v
        xw = self.Xt @ self.w
        z = cp.sum(cp.multiply(mask, xv - xw), axis=1)
        self.cone_v = cp.multiply(sign, xv) >= 0
        self.cone_w = cp.multiply(sign, xw) >= 0
        reg = cp.sum(cp.norm(self.v, 2, axis=0)) + cp.sum(cp.norm(self.w, 2, axis=0))
        objective = self.loss.cvxpy_mean(z, self.y) + self.alpha * reg
        self.problem = cp.Problem(cp.Minimize(objective), [self.cone_v, self.cone_w])

    def solve(self, y, alpha: float, *, solver: str | None = None) -> ConvexReLUSolution:
        """Solve for targets ``y`` and ``alpha`` through :func:`cvxdual._solvers.solve`.

        Returns
        -------
        ConvexReLUSolution
            ``v``, ``w`` and ``duals`` as CVXPY returns them; ``objective`` is
            the program's objective evaluated at ``(v, w)``.
        """
        y = check_sample_vector(y, self.Xt.shape[0])
        _check_labels(y, self.loss)
        self.y.value = y
        self.alpha.value = check_positive(alpha, "alpha")
        name = _cvxpy_solve(self.problem, solver, what="convex ReLU program")
        v = np.asarray(self.v.value, dtype=float)
        w = np.asarray(self.w.value, dtype=float)
        mu = np.hstack([self.cone_v.dual_value, self.cone_w.dual_value])
        cert = _Certifier(self.Xt, self.patterns, self.loss, y, alpha)
        theta = np.hstack([v, w])
        obj = cert.primal(theta)
        lb, t, nu = cert.lower_bound(theta, np.maximum(mu, 0.0))
        duals = {
            "sample_duals": nu,
            "cone_v": np.asarray(self.cone_v.dual_value, dtype=float),
            "cone_w": np.asarray(self.cone_w.dual_value, dtype=float),
            "dual_scale": t,
        }
        return ConvexReLUSolution(v, w, obj, lb, duals, "cvxpy", name, 0, True)
