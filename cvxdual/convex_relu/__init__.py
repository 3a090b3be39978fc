"""Exact convex training of two-layer ReLU networks, with optimality certificates.

A two-layer ReLU network ``ŷ = (X̃ U)₊ a`` with weight decay,

    min_{U, a}  (1/n) Σ_k ℓ(ŷ_k, y_k) + (alpha/2) (‖U‖²_F + ‖a‖²),

where ``X̃`` is ``X`` with a column of ones appended (``fit_intercept=True``; the
bias is the *last* row of ``U``), is equivalent (Pilanci & Ergen, 2020) to the
convex program, over activation patterns ``D_i = diag(1[X̃ g_i ≥ 0])``,

    min_{v_i, w_i}  (1/n) Σ_k ℓ(z_k, y_k) + alpha Σ_i (‖v_i‖₂ + ‖w_i‖₂)
    s.t.            z = Σ_i D_i X̃ (v_i − w_i),
                    (2 D_i − I) X̃ v_i ≥ 0,   (2 D_i − I) X̃ w_i ≥ 0,

when the patterns are *all* the patterns the data admit and the network is wide
enough. :class:`ConvexReLUProgram` writes this program in CVXPY: that is the
definition. :func:`solve_convex_relu` solves it either through CVXPY or with a
fast solver (a primal-dual interior-point method specialised to the program's
structure, stopped by the certificate below; if it falls short, an augmented
Lagrangian warm-up and exact solves over working sets of neurons and cone rows;
see Notes there).

The losses are ``"squared"`` (ℓ = ½(z − y)², so the data term is
(1/(2n))‖ŷ − y‖²) and, for labels ``y ∈ {−1, +1}``, ``"squared_hinge"``
(max(0, 1 − y z)²) and ``"log_loss"`` (log(1 + exp(−y z)); ``"logistic"`` is
a deprecated alias). Each is the loss of the same name in :mod:`cvxdual.losses`.

Certificates
------------
For any ``ν ∈ Rⁿ`` in the domain of the conjugate loss, weak duality gives

    p* ≥ −(1/n) Σ_k ℓ*(t n ν_k, y_k)   for every 0 ≤ t ≤ alpha / c(ν),
    c(ν) = max_i max_± max{ ±νᵀ D_i X̃ u : ‖u‖ ≤ 1, (2D_i − I) X̃ u ≥ 0 },

and ``c(ν)`` is computed exactly, pattern by pattern, as the norm of a projection
onto a polyhedral cone (a non-negative least-squares problem). Any multipliers
``μ_i ≥ 0`` of the cone constraints give the cheaper upper bound
``‖X̃ᵀ((2D_i − I) μ_i) ∓ X̃ᵀ D_i ν‖`` on each term. The bound is over the pattern
set used: when that set holds every activation pattern of ``X̃`` (see
:func:`enumerate_patterns`: for ``rank(X̃) ≤ 3``, and by search for small n), it is a lower bound
on the nonconvex objective of *every* two-layer ReLU network of any width;
otherwise only on the networks whose neurons' patterns are in the set
(``is_global`` flags the difference).

Layout
------
``_patterns`` (sampling, enumeration), ``_network`` (objective, recovery,
pruning), ``_program`` (the CVXPY definition and the solution type),
``_certificate`` (the dual bound), ``_ipm`` / ``_first_order`` /
``_working_set`` (the fast solver's stages), ``_fast`` (their order and the
certified candidates), ``_solve`` (:func:`solve_convex_relu`, the ``"auto"``
policy, :func:`certify`); tuning constants in ``_constants``.
"""

from __future__ import annotations

from ._certificate import Certificate, dual_lower_bound
from ._constants import AUTO_CVXPY_SIZE as AUTO_CVXPY_SIZE  # defaults, importable as before
from ._constants import CERTIFY_TOL as CERTIFY_TOL
from ._constants import DEFAULT_MAX_ITER as DEFAULT_MAX_ITER
from ._constants import DEFAULT_TOL as DEFAULT_TOL
from ._network import network_objective, prune_network, recover_network
from ._patterns import enumerate_patterns, sample_patterns
from ._program import ConvexReLUProgram, ConvexReLUSolution
from ._solve import certify, solve_convex_relu

__all__ = [
    "Certificate",
    "ConvexReLUProgram",
    "ConvexReLUSolution",
    "certify",
    "dual_lower_bound",
    "enumerate_patterns",
    "network_objective",
    "prune_network",
    "recover_network",
    "sample_patterns",
    "solve_convex_relu",
]
