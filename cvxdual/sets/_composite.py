"""Sets built from others: intersections and user-given CVXPY constraints (private)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import cvxpy as cp
from cvxpy.constraints.constraint import Constraint

from ._base import ConvexSet


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
