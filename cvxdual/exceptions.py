"""Exceptions and warnings raised by cvxdual."""

from __future__ import annotations

import cvxpy as cp

__all__ = ["DivergenceError", "InfeasibleSetError", "SolverError"]


class SolverError(cp.error.SolverError, RuntimeError):
    """No solver reached an optimal solution of a convex subproblem.

    Subclasses :class:`cvxpy.error.SolverError`, so code that already catches
    CVXPY's solver failures catches cvxdual's too.

    Examples
    --------
    >>> from cvxdual.exceptions import SolverError
    >>> issubclass(SolverError, RuntimeError)
    True
    """


class InfeasibleSetError(ValueError):
    """A constraint set is empty, so the problem has no feasible point.

    Examples
    --------
    >>> from cvxdual.exceptions import InfeasibleSetError
    >>> issubclass(InfeasibleSetError, ValueError)
    True
    """


class DivergenceError(FloatingPointError):
    """Training produced non-finite values (usually: the learning rate is too large).

    Subclasses :class:`FloatingPointError`, so ``except FloatingPointError``
    still catches it.

    Examples
    --------
    >>> from cvxdual.exceptions import DivergenceError
    >>> issubclass(DivergenceError, FloatingPointError)
    True
    """
