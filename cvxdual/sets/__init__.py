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

Layout:

===============  ============================================================
``_base``        :class:`ConvexSet` and the base of the norm balls
``_balls``       the norm balls: L2, ℓ1, ℓ∞, spectral, nuclear, max-norm
``_polyhedral``  :class:`NonNegative`, :class:`Box`, :class:`Simplex`,
                 :class:`Polyhedron`
``_composite``   :class:`Intersection` and :class:`CvxpySet`
===============  ============================================================
"""

from ._balls import L1Ball, L2Ball, LinfBall, MaxNorm, NuclearBall, SpectralBall
from ._base import ConvexSet
from ._composite import CvxpySet, Intersection
from ._polyhedral import Box, NonNegative, Polyhedron, Simplex

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
