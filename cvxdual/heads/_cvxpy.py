"""The CVXPY definition of a head problem, compiled once per shape (private)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from .. import _solvers
from ..losses import Loss
from ..sets import ConvexSet
from ._solution import HeadSolution, _cvxpy_solution


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
        """Solve for this data (``solver`` None: the default order) with every dual."""
        if isinstance(self.Phi, cp.Parameter):
            self.Phi.value = Phi
            for name, value in self.loss.parameter_values(Y, weights).items():
                self.params[name].value = value
        used = _solvers.solve(self.problem, solver, what=what)
        return _cvxpy_solution(self, used)
