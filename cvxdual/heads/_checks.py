"""Argument checks shared by the heads (private)."""

from __future__ import annotations

from .. import _solvers
from .._validation import resolve_alias
from ..losses import Loss, get_loss
from ..sets import ConvexSet

# The solver words of every head; any other string must name a CVXPY solver.
_SOLVER_WORDS = ("auto", "fast", "cvxpy")


def _check_loss(loss) -> Loss:
    """The :class:`~cvxdual.losses.Loss` of ``loss`` (``"logistic"`` warns: use ``"log_loss"``)."""
    return get_loss(resolve_alias(loss, "loss", {"logistic": "log_loss"}, stacklevel=3))


def _check_constraint(constraint):
    """Return ``constraint`` if it is a :class:`~cvxdual.sets.ConvexSet` or None."""
    if constraint is not None and not isinstance(constraint, ConvexSet):
        raise ValueError(
            f"constraint must be a cvxdual.sets.ConvexSet or None, got {constraint!r}"
        )
    return constraint


def _check_solver(solver) -> str:
    """Return a solver word (lower case) or the name of an installed CVXPY solver."""
    if not isinstance(solver, str):
        raise ValueError(f"solver must be a string, got {solver!r}")
    if solver.lower() in _SOLVER_WORDS:
        return solver.lower()
    return _solvers.check_solver(solver)
