"""Margin heads at a kink: solutions where class columns coincide (private).

The Lipschitz margin ``c ‖w_k − w_j‖`` is not differentiable where two class
columns are equal, and a large margin makes such points optimal: every column
equal (the constant head) or clusters of equal columns. The L-BFGS solver of
:mod:`cvxdual.heads._margin` cannot certify them; these do, exactly as the
other fast solves (KKT conditions to a relative ``1e-7``). Both rest on one
fact: at a point where the columns of a cluster ``a`` coincide, the objective's
directional derivative along a split ``D`` of the cluster is ``⟨H, D⟩ +
Σ_{k<j∈a} κ_kj ‖D_k − D_j‖`` (``H`` the gradient of the smooth rest, the
ball's multiplier term included; ``κ_kj = c Σ_i w_i (1[y_i=k] p_ij + 1[y_i=j]
p_ik)``), non-negative for every ``D`` iff ``−H`` restricted to the cluster is
the divergence of a flow on its class pairs with ``‖F_kj‖ <= κ_kj``
(:func:`_flow_within` finds one or proves there is none).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._l2 import _lbfgs, _sphere_gradient
from ._solution import HeadSolution

# A certificate's flow must be within the capacities by this relative slack
# (closer to the edge, CVXPY decides).
_MERGED_SLACK = 1e-8
# Rounds of reweighted electric flows tried for a certificate.
_FLOW_MAX_ITER = 200
# Columns of the failed smooth solve closer than this (relative to the largest
# distance) are taken as one cluster.
_CLUSTER_RTOL = 1e-3


def _margin_solution(kind, coef, intercept, value, lam, nu, n_iter) -> HeadSolution:
    """A certified fast margin solution: method ``"<kind>-margin"``, ``"-l2"`` with a ball.

    ``lam`` is the ball's dual, None without a ball (then no ``"norm"`` key).
    """
    return HeadSolution(
        coef=coef,
        intercept=intercept,
        objective=value,
        duals={} if lam is None else {"norm": lam},
        sample_duals=nu,
        status="optimal",
        method=f"{kind}-margin" + ("" if lam is None else "-l2"),
        n_iter=n_iter,
    )


def _merged_solution(multinomial, c, Phi, Y, w, fit_intercept, constrained):
    """The answer ``W = 0`` (every class column merged) when it is certified optimal, or None.

    A margin too large for the features makes the trivial head optimal: every
    column equal (``W = 0`` the least-norm choice, inside any ball) and ``b``
    the log of the class shares. There the objective is not differentiable,
    so the fast solver cannot certify it, and CVXPY takes minutes on a few
    hundred rows. The certificate is exact: the objective's directional
    derivative at ``W = 0`` (``b`` optimal) is ``⟨G, D⟩ + Σ_{k<j} κ_kj
    ‖D_k − D_j‖`` with ``G = Φᵀν`` the plain log-loss gradient and ``κ_kj = c
    (π_k p_j + π_j p_k)`` (``π`` the class shares, ``p`` the softmax of
    ``b``), non-negative for every ``D`` iff ``−G`` is the divergence of a
    flow with ``‖F_kj‖ <= κ_kj`` on the class pairs (:func:`_flow_within`
    looks for one, with a relative slack of :data:`_MERGED_SLACK`); binary:
    ``‖Φᵀν‖ <= c Σ_i w_i σ_i``. The margins are all zero there, so the sample
    duals are the plain log-loss's, ``ν_i = w_i (p − y_i)`` (binary ``−s_i w_i
    σ_i``), and the ball's dual is 0.
    """
    if c <= 0:
        return None
    K = Y.shape[1]
    if multinomial:
        pi = w @ Y
        if fit_intercept:
            if not np.all(pi > 0):
                return None  # (b_j = log 0 for an absent class: no minimiser)
            b = np.log(pi)
            b -= b.mean()
        else:
            b = np.zeros(K)
        p = np.exp(b - b.max())
        p /= p.sum()
        nu = w[:, None] * (p - Y)
        G = Phi.T @ nu
        kappa = c * (np.outer(pi, p) + np.outer(p, pi))
        np.fill_diagonal(kappa, 0.0)
        if not _flow_within(G, kappa):
            return None
        value = float(w @ (np.log(np.exp(b - b.max()).sum()) + b.max() - Y @ b))
    else:
        s = Y[:, 0]
        if fit_intercept:
            share = float(w[s > 0].sum())
            if not 0 < share < 1:
                return None
            b = np.array([np.log(share / (1.0 - share))])
        else:
            b = np.zeros(1)
        m = -s * b[0]
        sigma = w * expit(m)
        nu = (-s * sigma)[:, None]
        if not float(np.linalg.norm(Phi.T @ nu[:, 0])) <= (1.0 - _MERGED_SLACK) * c * float(
            sigma.sum()
        ):
            return None
        value = float(w @ np.logaddexp(0.0, m))
    return _margin_solution("merged", np.zeros((Phi.shape[1], K)), b, value,
                            0.0 if constrained else None, nu, 0)


def _flow_within(G, kappa) -> bool:
    """Whether ``−G`` is the divergence of a flow with ``‖F_kj‖ <= (1 − slack) κ_kj``.

    Iteratively reweighted electric flows: with conductances ``g`` (first
    ``κ``), potentials ``X L_g = −G`` give the flow ``F_kj = g_kj (x_k − x_j)``,
    whose divergence is ``−G`` exactly (to the rounding of a ``K × K``
    solve); each pair's conductance is then divided by its congestion ``‖F_kj‖
    / κ_kj``, which drives the largest congestion down to its minimum ``t*``.
    Answers True once a flow is within the capacities, False once the
    potentials prove ``t* > 1`` (``t* >= ⟨−G, X⟩ / Σ κ_kj ‖x_k − x_j‖`` for
    any ``X``: weak duality) or after :data:`_FLOW_MAX_ITER` rounds.
    """
    K = kappa.shape[0]
    pairs = kappa > 0
    if not np.any(pairs):
        return False
    g = kappa.copy()
    for _ in range(_FLOW_MAX_ITER):
        laplacian = np.diag(g.sum(axis=1)) - g
        # (+ 11ᵀ/K: invertible on a connected graph, the same X for G ⊥ 1)
        try:
            X = -np.linalg.solve(laplacian + 1.0 / K, G.T).T
        except np.linalg.LinAlgError:
            return False
        gaps = np.linalg.norm(X[:, :, None] - X[:, None, :], axis=0)  # ‖x_k − x_j‖
        congestion = np.where(pairs, g * gaps / np.where(pairs, kappa, 1.0), 0.0)
        if congestion.max() <= 1.0 - _MERGED_SLACK:
            return True
        # (each pair twice in the sums: the factor cancels)
        if -float(np.sum(G * X)) > 0.5 * float(np.sum(kappa * gaps)):
            return False
        g = np.where(pairs, g / np.maximum(congestion, 1e-3), 0.0)
        g /= g.max()  # (the flow does not depend on the conductances' scale)
    return False


def _clusters(W):
    """Cluster labels of the columns of ``W`` (connected by distances ``<= _CLUSTER_RTOL``
    of the largest) and their number, or None without a proper partial merge."""
    D = np.linalg.norm(W[:, :, None] - W[:, None, :], axis=0)
    top = float(D.max())
    if not top > 0:
        return None
    close = D <= _CLUSTER_RTOL * top
    K = W.shape[1]
    labels = np.full(K, -1)
    m = 0
    for k in range(K):
        if labels[k] >= 0:
            continue
        labels[k], stack = m, [k]
        while stack:
            for j in np.flatnonzero(close[stack.pop()] & (labels < 0)):
                labels[j] = m
                stack.append(j)
        m += 1
    return (labels, m) if 1 < m < K else None


def _clustered_solution(original, centred, mean, W0, b0, radius, fit_intercept, config):
    """The solution with clusters of equal columns read from ``W0``, certified; or None.

    ``(W0, b0)`` is where the smooth solver stopped at a kink (``b0`` for the
    centred features; ``original`` and ``centred`` the margin objectives on
    ``Φ`` and ``Φ − mean``; ``config`` the L-BFGS settings). With each
    cluster's columns shared, ``W = U Mᵀ`` with ``M = S diag(n_a^{-1/2})``
    (``S`` the cluster membership, so ``‖W‖_F = ‖U‖_F``), the objective is
    smooth in ``(U, b)`` while the clusters stay apart; L-BFGS minimises it
    (on the sphere ``‖U‖ = r`` when ``W0`` is on it). The answer is returned
    if the reduced problem's KKT residual is at most ``kkt_rtol`` (relative,
    as for every fast solve) with ``λ >= 0``, the clusters are apart, and
    every cluster's split certificate holds (module docstring): then it
    satisfies the full problem's KKT conditions to that accuracy. Clusters
    that the reduced solve brings together are read again from there (the
    smooth solver may stop where only some of the merging columns have met).
    """
    if not original.multinomial or W0.shape[1] < 3:
        return None  # (a partial merge needs three classes; binary heads have one column)
    tried = set()
    for _ in range(W0.shape[1]):
        # (the minimum-norm member of the gauge: the loss does not change when one
        # vector is added to every column)
        W0 = W0 - W0.mean(axis=1, keepdims=True)
        found = _clusters(W0)
        if found is None or tuple(found[0]) in tried:
            return None
        tried.add(tuple(found[0]))
        solution, moved = _on_clusters(original, centred, mean, W0, b0, *found, radius,
                                       fit_intercept, config)
        if moved is None:
            return solution
        # clusters that ran into each other: read them again from there
        W0, b0 = moved
    return None


def _on_clusters(original, centred, mean, W0, b0, labels, m, radius, fit_intercept, config):
    """:func:`_clustered_solution` for given clusters: ``(solution or None, moved)``.

    ``moved`` is ``(W, b)`` (``b`` for the centred features) when the reduced
    solve brought two clusters together, else None.
    """
    d, K = W0.shape
    S = np.eye(m)[labels]
    sizes = S.sum(axis=0)
    M = S / np.sqrt(sizes)
    U = (W0 @ S) / np.sqrt(sizes)  # each cluster's mean column, times √n_a
    binding = radius is not None and float(np.linalg.norm(W0)) >= radius * (1 - 1e-6)
    nU = d * m

    def unpack(x):
        return x[:nU].reshape(d, m), (x[nU:] if fit_intercept else np.zeros(K))

    def pack(U, b):
        return np.concatenate([U.ravel(), b]) if fit_intercept else U.ravel()

    def on_sphere(U):
        return radius * U / float(np.linalg.norm(U)) if binding else U

    def reduced(x):  # (reads ``binding`` when called: the loop below may switch it)
        U, b = unpack(x)
        value, gW, gb, _, _ = centred.evaluate(on_sphere(U) @ M.T, b)
        g = gW @ M
        return value, pack(_sphere_gradient(g, U, radius) if binding else g, gb)

    nu = original.evaluate(W0, b0 - mean @ W0)[3]
    scale = float(np.abs(original.Phi).max()) * float(np.abs(nu).sum())
    b, n_iter = b0, 0
    # on the sphere or inside the ball, switching once when the first answer says
    # so (as the smooth solver): λ < 0 on the sphere, or an answer outside the ball
    for switched in (False, True):
        start = U / float(np.linalg.norm(U)) if binding else U
        x = pack(start, b)
        x, it = _lbfgs(reduced, x, config.kkt_rtol * scale / np.sqrt(x.size), config)
        n_iter += it
        U, b = unpack(x)
        U = on_sphere(U)
        W = U @ M.T
        value, gW, gb, nu, _ = original.evaluate(W, b - mean @ W)
        lam = 0.0
        if binding:
            lam = -float(np.sum((gW @ M) * U)) / radius
            if lam >= 0:
                break
        elif radius is None or float(np.linalg.norm(W)) <= radius:
            break
        if switched:
            return None, None
        binding = not binding
    # the clusters apart (the reduced objective smooth there)
    centres = U / np.sqrt(sizes)
    gaps = np.linalg.norm(centres[:, :, None] - centres[:, None, :], axis=0)
    if not np.all(gaps[~np.eye(m, dtype=bool)] > _CLUSTER_RTOL * float(gaps.max())):
        return None, (W, b)
    b = b - mean @ W
    H = gW + (lam / radius) * W if radius is not None else gW
    scale = float(np.abs(original.Phi).max()) * float(np.abs(nu).sum()) + lam + 1e-300
    residual = max(float(np.linalg.norm(H @ M)), float(np.linalg.norm(gb)))
    if not residual <= config.kkt_rtol * scale:
        return None, None
    # each cluster's split certificate, on H without its mean column (that part
    # is the reduced stationarity residual, bounded above)
    wP = nu + original.w[:, None] * original.Y
    Q = original.c * (original.Y.T @ wP)
    kappa = Q + Q.T
    for a in range(m):
        members = np.flatnonzero(labels == a)
        if members.size < 2:
            continue
        Ha = H[:, members]
        Ha = Ha - Ha.mean(axis=1, keepdims=True)
        k_a = kappa[np.ix_(members, members)].copy()
        np.fill_diagonal(k_a, 0.0)
        if not _flow_within(Ha, k_a):
            return None, None
    if fit_intercept:
        b = b - b.mean()
    solution = _margin_solution("clustered", W, b, value, None if radius is None else lam, nu,
                                n_iter)
    return solution, None
