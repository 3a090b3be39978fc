r"""Convex linear heads: the exact solution of a norm-bounded (or set-constrained) fit.

For fixed features ``Phi`` (n, d) the head solves

.. math::

    p^*(\Phi) = \min_{W, b, z} \; \sum_i w_i\, \ell(z_i, y_i)
    \quad \text{s.t.} \quad \Phi W + \mathbf 1 b^\top - z = 0 \;\; (\nu),
    \qquad W \in C,

with ``w_i = 1/n`` (or the normalised sample weights); the intercept ``b`` is
never constrained. The CVXPY problem is the definition: :class:`NormBoundedHead`
compiles it once per shape with :class:`cvxpy.Parameter` objects and re-solves
it. For the smooth losses (``squared``, ``log_loss``, ``multinomial``,
``squared_hinge``) with an :class:`~cvxdual.sets.L2Ball`,
:class:`~cvxdual.sets.L1Ball` or :class:`~cvxdual.sets.LinfBall` (or no
constraint) a fast exact solver returns the same numbers, and only when it
certifies the KKT conditions of the CVXPY problem; otherwise the CVXPY problem
is solved.

Shapes: ``K = 1`` for the binary losses and 1-D squared targets (``coef`` is
``(d, 1)``, ``sample_duals`` ``(n, 1)``); ``K = n_targets`` for 2-D squared
targets; ``K = n_classes`` for the multinomial loss.

Dual sign convention (checked numerically in the tests): CVXPY's Lagrangian for
the constraint ``"scores"`` is :math:`f + \langle \nu, \Phi W + \mathbf 1 b^\top
- z\rangle`, so stationarity in ``z`` gives :math:`\nu_i = w_i\,\partial\ell/\partial
z_i`, i.e. :math:`\frac1n \partial\ell/\partial z_i` without weights. By the
envelope theorem :math:`\nabla_\Phi p^* = \nu W^{*\top}`
(:meth:`HeadSolution.feature_gradient`). The duals of the set are CVXPY's
``dual_value`` of its named constraints (``"norm"`` for the balls).

Layout (as scikit-learn's ``linear_model/_glm``: estimator, objective and
solvers apart):

==================  ==============================================================
``_head``           :class:`NormBoundedHead`: validation, scaling, dispatch of the
                    constraint type to its fast solver, the CVXPY fallback
``_solution``       :class:`HeadSolution` and the fast solvers' result
``_cvxpy``          the CVXPY definition, compiled once per shape
``_objective``      the smooth objective in ``[W; b]``: value, gradient, Hessian
``_newton``         damped Newton methods (penalised, on an ℓ1 face, free coordinates)
``_l2``             the L2 ball: root find in the penalty, L-BFGS on the sphere, polish
``_chord``          the chord method of warm-started L2 solves
``_faces``          the ℓ1 and ℓ∞ balls: FISTA face identification, face Newton
``_config``         the tuning constants of the fast solvers
==================  ==============================================================
"""

from ._head import NormBoundedHead
from ._solution import HeadSolution

__all__ = ["HeadSolution", "NormBoundedHead"]
