"""The base class of the convex sets, and of the norm balls (private)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from .._validation import check_positive

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

    def violation(self, W) -> float:
        """Return ``max(‖W‖ − radius, 0)``, the norm being :meth:`norm`.

        Examples
        --------
        >>> import numpy as np
        >>> from cvxdual.sets import L1Ball
        >>> L1Ball(1.0).violation(np.array([1.0, -0.5]))
        0.5
        """
        W = np.asarray(W, dtype=float)
        self.check_shape(W.shape)
        return max(self.norm(W) - self.radius, 0.0)
