"""Two-layer ReLU networks ``ŷ = (X̃ U)₊ a``: objective, recovery from the convex
program's solution, and pruning to at most ``n_samples + 1`` neurons."""

from __future__ import annotations

import numpy as np

from .._validation import check_positive, check_sample_vector, check_samples
from ._common import _augment, _get_loss
from ._constants import _ZERO_GROUP_RTOL


def network_objective(
    X, y, hidden_weights, output_weights, alpha: float, *, loss: str = "squared",
    fit_intercept: bool = True,
) -> float:
    """Return (1/n) Σ ℓ(ŷ_k, y_k) + (alpha/2)(‖U‖²_F + ‖a‖²) for ``ŷ = (X̃ U)₊ a``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    hidden_weights : array-like of shape (n_features + 1, m)
        ``U``, bias row last; shape ``(n_features, m)`` when ``fit_intercept=False``.
    output_weights : array-like of shape (m,)
    alpha : float
    loss : {"squared", "squared_hinge", "log_loss"}
    fit_intercept : bool

    Returns
    -------
    objective : float
        ``inf`` when it overflows the float range.

    Raises
    ------
    ValueError
        If overflowing intermediate values leave it undefined (NaN), e.g.
        predictions ``inf − inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import network_objective
    >>> X, y = np.array([[1.0], [2.0]]), np.array([1.0, 2.0])
    >>> U, a = np.array([[1.0], [0.0]]), np.array([1.0])
    >>> round(network_objective(X, y, U, a, 0.1), 6)
    0.1
    """
    X = check_samples(X)
    y = check_sample_vector(y, X.shape[0])
    alpha = check_positive(alpha, "alpha")
    U, a = _check_network(X, hidden_weights, output_weights, fit_intercept)
    loss = _get_loss(loss)
    with np.errstate(over="ignore", invalid="ignore"):
        yhat = np.maximum(_augment(X, fit_intercept) @ U, 0.0) @ a
        decay = 0.5 * alpha * (float(np.sum(U * U)) + float(a @ a))
        value = loss.value(yhat[:, None], y[:, None]) + decay
    if np.isnan(value):
        raise ValueError(
            "the network's objective is not representable: its weights or predictions "
            "overflow the float range (inf − inf); rescale X or the weights"
        )
    return float(value)


def _check_network(X, hidden_weights, output_weights, fit_intercept):
    """``(U, a)`` as finite float arrays of the shapes ``X`` and ``fit_intercept`` need."""
    U = np.asarray(hidden_weights, dtype=float)
    a = np.asarray(output_weights, dtype=float)
    rows = X.shape[1] + int(bool(fit_intercept))
    if U.ndim != 2 or U.shape[0] != rows:
        raise ValueError(
            f"hidden_weights must have shape (n_features{' + 1' if fit_intercept else ''}"
            f"={rows}, m), got shape {U.shape}"
        )
    if a.ndim != 1 or a.shape[0] != U.shape[1]:
        raise ValueError(
            f"output_weights must have shape (m={U.shape[1]},), got shape {a.shape}"
        )
    if not (np.all(np.isfinite(U)) and np.all(np.isfinite(a))):
        raise ValueError("hidden_weights and output_weights must be finite")
    return U, a


def recover_network(v, w, *, rtol: float = _ZERO_GROUP_RTOL):
    """Return the balanced network ``(U, a)`` of a convex solution ``(v_i, w_i)``.

    Each nonzero ``v_i`` gives the neuron ``u = v_i/√‖v_i‖`` with ``a = √‖v_i‖``,
    each nonzero ``w_i`` the neuron ``w_i/√‖w_i‖`` with ``a = −√‖w_i‖``; so
    ``(X̃u)₊ a = ± D_i X̃ v_i`` on the cone and ``(alpha/2)(‖u‖² + a²) = alpha‖v_i‖``.

    Parameters
    ----------
    v, w : ndarray of shape (n_features (+1), P)
        Columns are the convex weights of each pattern.
    rtol : float
        Columns with norm ≤ ``rtol`` times the largest norm count as zero.

    Returns
    -------
    hidden_weights : ndarray of shape (n_features (+1), m)
    output_weights : ndarray of shape (m,)

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import recover_network
    >>> U, a = recover_network(np.array([[4.0], [0.0]]), np.zeros((2, 1)))
    >>> U.ravel().tolist(), a.tolist()
    ([2.0, 0.0], [2.0])
    """
    theta = np.hstack([np.asarray(v, dtype=float), np.asarray(w, dtype=float)])
    sign = np.concatenate([np.ones(np.shape(v)[1]), -np.ones(np.shape(w)[1])])
    norms = np.linalg.norm(theta, axis=0)
    keep = norms > rtol * norms.max(initial=0.0)
    keep &= norms > 0
    root = np.sqrt(norms[keep])
    return theta[:, keep] / root, sign[keep] * root


def prune_network(X, hidden_weights, output_weights, *, fit_intercept: bool = True):
    """Return an equivalent network with at most ``n_samples + 1`` neurons.

    Carathéodory pruning: writing each neuron's contribution as
    ``c_j h_j`` with ``h_j = (X̃ u_j)₊ a_j / (|a_j| ‖u_j‖)`` and
    ``c_j = |a_j| ‖u_j‖``, any null vector ``β`` of ``[h_j; 1]`` moves ``c`` along
    a direction that leaves both ``ŷ = Σ c_j h_j`` and the weight-decay term
    ``alpha Σ c_j`` (balanced network) unchanged; the move is taken until a
    ``c_j`` hits zero. The result is balanced (``|a_j| = ‖u_j‖``) and has the
    same predictions on ``X`` and the same objective as the balanced version of
    the input.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    hidden_weights : array-like of shape (n_features (+1), m)
    output_weights : array-like of shape (m,)
    fit_intercept : bool

    Returns
    -------
    hidden_weights : ndarray of shape (n_features (+1), m')
    output_weights : ndarray of shape (m',), with m' ≤ n_samples + 1

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import prune_network
    >>> X = np.array([[1.0], [2.0]])
    >>> U = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    >>> U2, a2 = prune_network(X, U, np.ones(4))
    >>> U2.shape[1] <= 3
    True
    """
    X = check_samples(X)
    U, a = _check_network(X, hidden_weights, output_weights, fit_intercept)
    Xt = _augment(X, fit_intercept)
    un = np.linalg.norm(U, axis=0)
    c = un * np.abs(a)
    keep = c > 0
    U, a, un, c = U[:, keep], a[keep], un[keep], c[keep]
    if U.shape[1] == 0:
        return U, a
    # unit-scale neurons: u/‖u‖ with sign(a); contribution c_j h_j
    dirs = U / un
    sgn = np.sign(a)
    H = np.maximum(Xt @ dirs, 0.0) * sgn
    n = Xt.shape[0]
    while c.size > 0:
        A = np.vstack([H, np.ones((1, c.size))])
        _, s, vt = np.linalg.svd(A, full_matrices=True)
        tol = max(A.shape) * np.finfo(float).eps * (s[0] if s.size else 1.0)
        rank = int(np.sum(s > tol))
        if rank >= c.size:
            break
        beta = vt[-1]
        if not np.any(beta > 0):
            beta = -beta
        pos = beta > 0
        ratio = np.full(c.size, np.inf)
        ratio[pos] = c[pos] / beta[pos]
        j = int(np.argmin(ratio))
        c = c - ratio[j] * beta
        c[j] = 0.0
        alive = c > 1e-14 * c.max()
        c, H, dirs, sgn = c[alive], H[:, alive], dirs[:, alive], sgn[alive]
        if c.size <= n + 1 and rank == c.size:
            break
    root = np.sqrt(c)
    return dirs * root, sgn * root
