r"""Exact ℓ2 Lipschitz bounds of constrained networks and the certified radii they give.

A hidden layer ``a ↦ f(a W + b)`` is ``c_f ‖W‖₂``-Lipschitz in the ℓ2 norm,
with ``c_f`` the activation's Lipschitz constant (1 for relu, tanh and the
identity, 1/4 for the logistic sigmoid), so the hidden map ``Φ`` is
``L = Π_i c_f ‖W_i‖₂``-Lipschitz. ``‖W‖₂`` is computed exactly (the largest
singular value from an SVD), never estimated by power iteration, which
under-estimates it and makes certificates unsound.

For a linear head ``z = Φ W + b`` the score gap ``z_k − z_j`` is
``L ‖w_k − w_j‖₂``-Lipschitz, so a prediction ``ŷ`` cannot change within the
ℓ2 radius ``min_{j≠ŷ} (z_ŷ − z_j) / (L ‖w_ŷ − w_j‖₂)`` (binary: ``|z| / (L ‖w‖₂)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .sets import (
    ConvexSet,
    Intersection,
    L1Ball,
    L2Ball,
    LinfBall,
    MaxNorm,
    NuclearBall,
    SpectralBall,
)

__all__ = [
    "ACTIVATION_LIPSCHITZ",
    "certified_radius_from_scores",
    "lipschitz_bound",
    "spectral_norm_bound",
]

#: ℓ2 Lipschitz constant of each hidden activation (max |f'|).
ACTIVATION_LIPSCHITZ: dict[str, float] = {
    "identity": 1.0,
    "relu": 1.0,
    "tanh": 1.0,
    "logistic": 0.25,
}


def _activation_constant(activation: str) -> float:
    try:
        return ACTIVATION_LIPSCHITZ[activation]
    except KeyError:
        raise ValueError(
            f"activation must be one of {tuple(ACTIVATION_LIPSCHITZ)}, got {activation!r}"
        ) from None


def lipschitz_bound(coefs: Sequence[np.ndarray], activation: str = "relu") -> float:
    """Return ``Π_i c_f ‖W_i‖₂``, an upper bound on the ℓ2 Lipschitz constant of the layers.

    Parameters
    ----------
    coefs : sequence of ndarray
        Weights ``(n_in, n_out)`` of the layers ``a ↦ f(a W + b)``.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        The activation ``f`` after every layer (``c_f`` = 1/4 for "logistic",
        1 otherwise).

    Returns
    -------
    bound : float

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual._lipschitz import lipschitz_bound
    >>> lipschitz_bound([np.diag([3.0, 1.0]), np.array([[0.5], [0.0]])], "logistic")
    0.09375
    """
    c = _activation_constant(activation)
    bound = 1.0
    for W in coefs:
        bound *= c * float(np.linalg.norm(np.asarray(W, dtype=float), 2))
    return bound


def spectral_norm_bound(S: ConvexSet | None, shape: tuple[int, int]) -> float | None:
    """Return an upper bound on ``‖W‖₂`` valid for every ``W ∈ S`` of ``shape``, or None.

    ``SpectralBall(r)``: r. ``L2Ball``, ``NuclearBall`` and ``L1Ball`` (entrywise)
    of radius r: r, since those norms dominate the spectral norm.
    ``MaxNorm(r)``: ``r √n_out``; ``LinfBall(r)``: ``r √(n_in n_out)``.
    ``Intersection``: the smallest bound of its members. Any other set (or None)
    gives None: no bound is known.

    Examples
    --------
    >>> from cvxdual._lipschitz import spectral_norm_bound
    >>> from cvxdual.sets import Intersection, MaxNorm, NonNegative, SpectralBall
    >>> spectral_norm_bound(SpectralBall(2.0), (3, 4))
    2.0
    >>> spectral_norm_bound(Intersection(NonNegative(), MaxNorm(1.0)), (3, 4))
    2.0
    >>> spectral_norm_bound(NonNegative(), (3, 4)) is None
    True
    """
    n_in, n_out = shape
    # Exact types: a subclass may redefine the set.
    kind = type(S)
    if kind in (SpectralBall, L2Ball, NuclearBall, L1Ball):
        return float(S.radius)
    if kind is MaxNorm:
        return float(S.radius) * float(np.sqrt(n_out))
    if kind is LinfBall:
        return float(S.radius) * float(np.sqrt(n_in * n_out))
    if kind is Intersection:
        bounds = [b for b in (spectral_norm_bound(m, shape) for m in S.sets) if b is not None]
        return min(bounds) if bounds else None
    return None


def _column_distances(head_coef: np.ndarray) -> np.ndarray:
    """``D[k, j] = ‖w_k − w_j‖₂`` for the head's columns ``w``."""
    diff = head_coef[:, :, None] - head_coef[:, None, :]
    return np.sqrt(np.einsum("dkj,dkj->kj", diff, diff))


def _safe_ratio(gap: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``gap / scale`` with ``gap ≥ 0``; ``+inf`` where ``scale = 0 < gap``, 0 on ties."""
    ratio = np.full(gap.shape, np.inf)
    np.divide(gap, scale, out=ratio, where=scale > 0)
    ratio[gap <= 0] = 0.0
    return ratio


def certified_radius_from_scores(
    scores: np.ndarray, head_coef: np.ndarray, lipschitz: float
) -> np.ndarray:
    """Return each row's certified ℓ2 radius from its head scores.

    ``min_{j≠ŷ} (z_ŷ − z_j) / (L ‖w_ŷ − w_j‖₂)`` for ``K ≥ 2`` scores (ŷ the
    argmax), ``|z| / (L ‖w‖₂)`` for one score; 0 on a tie, ``inf`` where no
    perturbation can change the prediction (``L ‖w_ŷ − w_j‖₂ = 0`` and a
    positive gap).

    Parameters
    ----------
    scores : ndarray of shape (n_samples, K)
        Head scores ``z = Φ W + b``.
    head_coef : ndarray of shape (n_features, K)
        Head weights ``W``.
    lipschitz : float
        An ℓ2 Lipschitz bound ``L ≥ 0`` of the features ``Φ``.

    Returns
    -------
    radius : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual._lipschitz import certified_radius_from_scores
    >>> W = np.array([[1.0, -1.0, 0.0]])
    >>> certified_radius_from_scores(np.array([[2.0, 0.0, 1.0], [1.0, 1.0, 0.0]]), W, 0.5)
    array([2., 0.])
    """
    z = np.asarray(scores, dtype=float)
    W = np.asarray(head_coef, dtype=float)
    if z.shape[1] == 1:
        scale = lipschitz * float(np.linalg.norm(W[:, 0]))
        return _safe_ratio(np.abs(z[:, 0]), np.full(z.shape[0], scale))
    rows = np.arange(z.shape[0])
    predicted = np.argmax(z, axis=1)
    gap = z[rows, predicted][:, None] - z
    ratio = _safe_ratio(gap, lipschitz * _column_distances(W)[predicted])
    ratio[rows, predicted] = np.inf
    return ratio.min(axis=1)
