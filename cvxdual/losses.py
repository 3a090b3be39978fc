"""Losses of the convex heads, each defined once: value, gradient, CVXPY expression.

A loss acts on a score matrix ``z`` of shape ``(n_samples, K)`` and encoded
targets ``Y`` of the same shape (see :meth:`Loss.encode_targets`). The head
objective is the weighted mean

.. math:: f(z) = \\sum_i w_i \\, \\ell(z_i, y_i), \\qquad w_i \\ge 0,\\ \\sum_i w_i = 1,

with ``w_i = 1/n`` without sample weights. Shapes:

========================  ====  ==========================================  ======================
loss                      K     targets ``y`` accepted                      ``ℓ(z, y)``
========================  ====  ==========================================  ======================
``squared``               K     floats ``(n,)`` (K = 1) or ``(n, K)``        ½‖z − y‖²
``logistic``              1     ``±1`` of shape ``(n,)``                     log(1 + exp(−s z))
``multinomial``           K     labels ``0..K−1`` (K = max label + 1), or    logsumexp(z) − z_y
                                an ``(n, K)`` one-hot/probability matrix
``hinge``                 1     ``±1``                                       max(0, 1 − s z)
``squared_hinge``         1     ``±1``                                       max(0, 1 − s z)²
``multiclass_hinge``      K     as ``multinomial`` (one-hot only)            Crammer–Singer hinge
``multiclass_squared_``   K     as ``multinomial`` (one-hot only)            its square
``hinge``
========================  ====  ==========================================  ======================

``multiclass_hinge`` is the Crammer–Singer loss ``max(0, 1 + max_{k≠y} z_k − z_y)``
``= max_k (z_k + [k ≠ y]) − z_y``; ``multiclass_squared_hinge`` is its square.

The CVXPY expressions are DPP: they only involve ``z`` and
:class:`cvxpy.Parameter` objects holding the weights and the targets, so a
compiled problem can be re-solved for new data. Each expression equals
:meth:`Loss.value` exactly (no constant is dropped).

The single-output losses of the convex ReLU program (``squared``,
``squared_hinge``, ``logistic``) also give what that program needs:
:meth:`Loss.cvxpy_mean` (the mean loss in a target parameter ``y``),
:meth:`Loss.conjugate_bound` (the weak-duality bound of its certificate) and
:attr:`Loss.curvature_bound` (``sup ℓ''``, for its first-order stage).
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import scipy.optimize
from scipy.special import expit, logsumexp, xlogy

__all__ = [
    "LOSSES",
    "Loss",
    "get_loss",
    "hinge",
    "logistic",
    "multiclass_hinge",
    "multiclass_squared_hinge",
    "multinomial",
    "squared",
    "squared_hinge",
]

# Multinomial labels 0..K-1 may leave classes unseen, but K may exceed the number of
# samples only up to this (a label like 1e9 is a mistake, and an n x 1e9 one-hot array).
_MAX_UNSEEN_CLASSES = 1_000


def _check_signs(y: np.ndarray, name: str) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y for the {name} loss must be 1-D with values ±1, got shape {y.shape}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        bad = np.unique(y[~np.isin(y, (-1.0, 1.0))])[:5]
        raise ValueError(f"y for the {name} loss must contain only -1 and +1, got values {bad}")
    return y[:, None]


class Loss:
    """A loss ``ℓ(z, y)`` of the scores, defined once for NumPy and for CVXPY.

    Subclasses give the per-sample value, its gradient with respect to the
    scores, the DPP CVXPY expression of the weighted mean and the target
    encoding. Instances are stateless; use the module-level objects
    (:data:`squared`, :data:`logistic`, ...) or :func:`get_loss`.

    Attributes
    ----------
    name : str
        The name used by :func:`get_loss` and the heads.
    smooth : bool
        Whether the loss has a Lipschitz gradient (the fast head solvers need it).
    curvature_bound : float or None
        ``sup ℓ''(z, y)`` of a single-output loss (the Lipschitz constant of its
        derivative); ``None`` where the convex ReLU solvers do not use the loss.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.losses import get_loss
    >>> loss = get_loss("logistic")
    >>> Y = loss.encode_targets(np.array([1.0, -1.0]))
    >>> round(loss.value(np.zeros((2, 1)), Y), 6)
    0.693147
    """

    name: str = ""
    smooth: bool = True
    curvature_bound: float | None = None

    def encode_targets(self, y) -> np.ndarray:
        """Return the targets as a float array of the scores' shape ``(n, K)``."""
        raise NotImplementedError

    def per_sample(self, z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Return ``ℓ(z_i, y_i)`` for every sample, shape ``(n,)``."""
        raise NotImplementedError

    def gradient(self, z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Return ``∂ℓ(z_i, y_i)/∂z_i`` (a subgradient where not smooth), shape ``(n, K)``."""
        raise NotImplementedError

    def per_sample_and_gradient(self, z: np.ndarray, Y: np.ndarray):
        """Return :meth:`per_sample` and :meth:`gradient` together (sharing work)."""
        return self.per_sample(z, Y), self.gradient(z, Y)

    def value(self, z: np.ndarray, Y: np.ndarray, weights: np.ndarray | None = None) -> float:
        """Return the weighted mean ``Σ_i w_i ℓ(z_i, y_i)`` (``w_i = 1/n`` by default).

        ``weights`` must be non-negative; they are normalised to sum to one.
        """
        values = self.per_sample(np.asarray(z, dtype=float), Y)
        if weights is None:
            return float(np.mean(values))
        weights = np.asarray(weights, dtype=float)
        return float(weights @ values / weights.sum())

    def cvxpy_parameters(self, n: int, K: int) -> dict[str, cp.Parameter]:
        """Return fresh parameters (weights and targets) for :meth:`cvxpy_objective`."""
        raise NotImplementedError

    def cvxpy_objective(self, z: cp.Expression, params: dict[str, cp.Parameter]) -> cp.Expression:
        """Return the DPP expression of ``Σ_i w_i ℓ(z_i, y_i)`` in the scores ``z``."""
        raise NotImplementedError

    def parameter_values(self, Y: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Return the values of :meth:`cvxpy_parameters` for targets ``Y`` and weights.

        ``weights`` must be non-negative and sum to one.
        """
        raise NotImplementedError

    def cvxpy_mean(self, z: cp.Expression, y) -> cp.Expression:
        """Return the CVXPY expression of ``(1/n) Σ_k ℓ(z_k, y_k)`` for one output.

        ``z`` has shape ``(n,)``; ``y`` is a :class:`cvxpy.Parameter` (DPP) or an
        array of shape ``(n,)``: the targets, or the signs ``±1`` of a
        classification loss (no encoding, no weights).

        Examples
        --------
        >>> import cvxpy as cp
        >>> import numpy as np
        >>> from cvxdual.losses import squared
        >>> z = cp.Variable(2)
        >>> expr = squared.cvxpy_mean(z, np.array([1.0, -1.0]))
        >>> z.value = np.zeros(2)
        >>> float(expr.value)
        0.5
        """
        raise NotImplementedError

    def conjugate_bound(self, nu: np.ndarray, y: np.ndarray, t_max: float):
        """Return ``max_{0 ≤ t ≤ t_max} −(1/n) Σ_k ℓ*(t n ν_k, y_k)`` and its maximiser ``t``.

        ``ℓ*`` is the convex conjugate of ``ℓ(·, y_k)`` for one output; by weak
        duality the value is a lower bound on a program whose dual constraint
        holds for every ``t ≤ t_max``. ``-inf`` (with ``t = 0``) when ``ν``
        is outside the conjugate's domain.

        Examples
        --------
        >>> import numpy as np
        >>> from cvxdual.losses import squared
        >>> y = np.array([1.0, -1.0])
        >>> squared.conjugate_bound(-y / 2, y, 10.0)  # = (1/n) Σ ½ y², at z = 0
        (0.5, 1.0)
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<loss {self.name!r}>"


def _best_quadratic(a: float, b: float, t_max: float):
    """Maximise ``−a t² − b t`` over ``[0, t_max]`` (``a ≥ 0``): (value, t)."""
    t = -b / (2.0 * a) if a > 0 else (t_max if b < 0 else 0.0)
    t = float(min(max(t, 0.0), t_max))
    return -a * t * t - b * t, t


class _Squared(Loss):
    """``ℓ(z, y) = ½‖z − y‖²``."""

    name = "squared"
    curvature_bound = 1.0

    def encode_targets(self, y) -> np.ndarray:
        Y = np.asarray(y, dtype=float)
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.ndim != 2:
            raise ValueError(f"y for the squared loss must be 1-D or 2-D, got shape {Y.shape}")
        return Y

    def per_sample(self, z, Y):
        return 0.5 * np.sum((z - Y) ** 2, axis=1)

    def gradient(self, z, Y):
        return z - Y

    def hessian_diag(self, z, Y):
        return np.ones_like(z)

    def cvxpy_parameters(self, n, K):
        return {
            "sqrt_w": cp.Parameter((n, 1), nonneg=True, name="sqrt_w"),
            "sqrt_w_y": cp.Parameter((n, K), name="sqrt_w_y"),
        }

    def cvxpy_objective(self, z, params):
        # ½ Σ w_i ‖z_i − y_i‖² = ½ ‖√w ∘ z − √w ∘ y‖², DPP with √w ∘ y a parameter.
        return 0.5 * cp.sum_squares(cp.multiply(params["sqrt_w"], z) - params["sqrt_w_y"])

    def parameter_values(self, Y, weights):
        sw = np.sqrt(weights)[:, None]
        return {"sqrt_w": sw, "sqrt_w_y": sw * Y}

    def cvxpy_mean(self, z, y):
        return cp.sum_squares(z - y) / (2 * y.shape[0])

    def conjugate_bound(self, nu, y, t_max):
        # ℓ*(q) = q²/2 + q y  ⇒  −(n/2) t² ‖ν‖² − t νᵀy
        n = y.shape[0]
        return _best_quadratic(0.5 * n * float(nu @ nu), float(nu @ y), t_max)


class _Logistic(Loss):
    """``ℓ(z, s) = log(1 + exp(−s z))`` with ``s = ±1``."""

    name = "logistic"
    curvature_bound = 0.25

    def encode_targets(self, y) -> np.ndarray:
        return _check_signs(y, self.name)

    def per_sample(self, z, Y):
        return np.logaddexp(0.0, -Y[:, 0] * z[:, 0])

    def gradient(self, z, Y):
        return -Y * expit(-Y * z)

    def per_sample_and_gradient(self, z, Y):
        # One exponential for both: log(1 + e^m) = max(m, 0) + log1p(e^{-|m|}) and
        # σ(m) = 1/(1 + e^{-|m|}) or e^{-|m|}/(1 + e^{-|m|}), with m = −s z.
        m = -Y * z
        e = np.exp(-np.abs(m))
        values = np.maximum(m, 0.0) + np.log1p(e)
        sigma = np.where(m >= 0, 1.0, e) / (1.0 + e)
        return values[:, 0], -Y * sigma

    def hessian_diag(self, z, Y):
        p = expit(z)
        return p * (1.0 - p)

    def cvxpy_parameters(self, n, K):
        return {
            "w": cp.Parameter((n, 1), nonneg=True, name="w"),
            "w_pos": cp.Parameter((n, 1), name="w_pos"),
        }

    def cvxpy_objective(self, z, params):
        # log(1 + e^{−s z}) = log(1 + e^{z}) − [s = 1] z keeps the weights DPP.
        return cp.sum(cp.multiply(params["w"], cp.logistic(z))) - cp.sum(
            cp.multiply(params["w_pos"], z)
        )

    def parameter_values(self, Y, weights):
        w = weights[:, None]
        return {"w": w, "w_pos": w * (Y > 0)}

    def cvxpy_mean(self, z, y):
        return cp.sum(cp.logistic(-cp.multiply(y, z))) / y.shape[0]

    def conjugate_bound(self, nu, y, t_max):
        # ℓ*(q) = (−p) log(−p) + (1 + p) log(1 + p), p = q y ∈ [−1, 0]
        n = y.shape[0]
        p = n * nu * y
        if np.any(p > 0):
            return -np.inf, 0.0
        pmax = float(np.max(-p)) if p.size else 0.0
        if pmax > 0:
            t_max = min(t_max, 1.0 / pmax)

        def neg_dual(t):
            q = t * p
            return float(np.sum(xlogy(-q, -q) + xlogy(1 + q, 1 + q))) / n

        if t_max <= 0:
            return 0.0, 0.0
        res = scipy.optimize.minimize_scalar(
            neg_dual, bounds=(0.0, t_max), method="bounded", options={"xatol": 1e-12}
        )
        t = float(res.x)
        # the end points are candidates too (bounded Brent never evaluates them)
        best = min((neg_dual(t), t), (neg_dual(t_max), t_max), (0.0, 0.0))
        return -best[0], best[1]


class _Multinomial(Loss):
    """``ℓ(z, y) = logsumexp(z) − z_y`` (cross-entropy of the softmax)."""

    name = "multinomial"

    def encode_targets(self, y) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 2:
            Y = y.astype(float)
            if np.any(Y < 0) or not np.allclose(Y.sum(axis=1), 1.0):
                raise ValueError(
                    "2-D y for the multinomial loss must have non-negative rows summing to 1"
                )
            return Y
        if y.ndim != 1:
            raise ValueError(f"y for the multinomial loss must be 1-D or 2-D, got shape {y.shape}")
        if y.size == 0:
            raise ValueError("y for the multinomial loss is empty")
        labels = y.astype(int) if np.issubdtype(y.dtype, np.number) else None
        if labels is None or np.any(labels != y) or labels.min() < 0:
            raise ValueError(
                "y for the multinomial loss must hold integer labels 0..K-1, "
                f"got {np.unique(y)[:5]}"
            )
        n_classes = int(labels.max()) + 1
        if n_classes > max(y.shape[0], _MAX_UNSEEN_CLASSES):
            raise ValueError(
                f"y for the multinomial loss must hold integer labels 0..K-1; its largest "
                f"label {n_classes - 1} would make {n_classes} classes for {y.shape[0]} "
                "samples. Encode the labels first, e.g. with sklearn.preprocessing.LabelEncoder."
            )
        Y = np.zeros((y.shape[0], n_classes))
        Y[np.arange(y.shape[0]), labels] = 1.0
        return Y

    def per_sample(self, z, Y):
        top = _row_max(z)
        if not np.all(np.isfinite(top)):
            # (infinite scores: SciPy's conventions for them)
            return logsumexp(z, axis=1) - np.sum(Y * z, axis=1)
        # (the shifted exponentials summed by a product: 5x faster than logsumexp's
        # reductions along rows of a few entries)
        E = np.exp(z - top[:, None])
        return np.log(E @ np.ones(z.shape[1])) + top - np.einsum("ij,ij->i", Y, z)

    def gradient(self, z, Y):
        P = _softmax(z)
        P -= Y
        return P

    def per_sample_and_gradient(self, z, Y):
        top = z.max(axis=1, keepdims=True)
        e = np.exp(z - top)
        total = e.sum(axis=1, keepdims=True)
        lse = (np.log(total) + top)[:, 0]
        return lse - np.sum(Y * z, axis=1), e / total - Y

    def cvxpy_parameters(self, n, K):
        return {
            "w": cp.Parameter(n, nonneg=True, name="w"),
            "w_y": cp.Parameter((n, K), name="w_y"),
        }

    def cvxpy_objective(self, z, params):
        return cp.sum(cp.multiply(params["w"], cp.log_sum_exp(z, axis=1))) - cp.sum(
            cp.multiply(params["w_y"], z)
        )

    def parameter_values(self, Y, weights):
        return {"w": weights, "w_y": weights[:, None] * Y}


class _Hinge(Loss):
    """``ℓ(z, s) = max(0, 1 − s z)``."""

    name = "hinge"
    smooth = False

    def encode_targets(self, y) -> np.ndarray:
        return _check_signs(y, self.name)

    def per_sample(self, z, Y):
        return np.maximum(0.0, 1.0 - Y[:, 0] * z[:, 0])

    def gradient(self, z, Y):
        return -Y * (Y * z < 1.0)

    def cvxpy_parameters(self, n, K):
        return {
            "w": cp.Parameter((n, 1), nonneg=True, name="w"),
            "w_s": cp.Parameter((n, 1), name="w_s"),
        }

    def cvxpy_objective(self, z, params):
        # w max(0, 1 − s z) = max(0, w − (w s) z) for w ≥ 0.
        return cp.sum(cp.pos(params["w"] - cp.multiply(params["w_s"], z)))

    def parameter_values(self, Y, weights):
        w = weights[:, None]
        return {"w": w, "w_s": w * Y}


class _SquaredHinge(Loss):
    """``ℓ(z, s) = max(0, 1 − s z)²``."""

    name = "squared_hinge"
    curvature_bound = 2.0

    def encode_targets(self, y) -> np.ndarray:
        return _check_signs(y, self.name)

    def per_sample(self, z, Y):
        return np.maximum(0.0, 1.0 - Y[:, 0] * z[:, 0]) ** 2

    def gradient(self, z, Y):
        return -2.0 * Y * np.maximum(0.0, 1.0 - Y * z)

    def hessian_diag(self, z, Y):
        # Generalised Hessian (the loss is C¹ with a piecewise-constant second derivative).
        return 2.0 * (Y * z < 1.0)

    def cvxpy_parameters(self, n, K):
        return {
            "sqrt_w": cp.Parameter((n, 1), nonneg=True, name="sqrt_w"),
            "sqrt_w_s": cp.Parameter((n, 1), name="sqrt_w_s"),
        }

    def cvxpy_objective(self, z, params):
        # w max(0, 1 − s z)² = max(0, √w − (√w s) z)² for w ≥ 0.
        return cp.sum_squares(cp.pos(params["sqrt_w"] - cp.multiply(params["sqrt_w_s"], z)))

    def parameter_values(self, Y, weights):
        sw = np.sqrt(weights)[:, None]
        return {"sqrt_w": sw, "sqrt_w_s": sw * Y}

    def cvxpy_mean(self, z, y):
        return cp.sum_squares(cp.pos(1 - cp.multiply(y, z))) / y.shape[0]

    def conjugate_bound(self, nu, y, t_max):
        # ℓ*(q) = q y + q²/4 on q y ≤ 0  ⇒  −t Σ ν y − t² n ‖ν‖²/4
        n = y.shape[0]
        if np.any(nu * y > 0):
            return -np.inf, 0.0
        return _best_quadratic(0.25 * n * float(nu @ nu), float(nu @ y), t_max)


class _CrammerSinger(_Multinomial):
    """``ℓ(z, y) = max(0, 1 + max_{k≠y} z_k − z_y)`` (Crammer–Singer multiclass hinge)."""

    name = "multiclass_hinge"
    smooth = False
    power = 1

    def encode_targets(self, y) -> np.ndarray:
        Y = super().encode_targets(y)
        if not np.all(np.isin(Y, (0.0, 1.0))):
            raise ValueError(f"2-D y for the {self.name} loss must be one-hot")
        return Y

    def _margin(self, z, Y):
        # max_k (z_k + 1[k ≠ y]) − z_y  =  max(0, 1 + max_{k≠y} z_k − z_y)
        return np.max(z + (1.0 - Y), axis=1) - np.sum(Y * z, axis=1)

    def per_sample(self, z, Y):
        return self._margin(z, Y) ** self.power

    def gradient(self, z, Y):
        margin = self._margin(z, Y)
        top = np.argmax(z + (1.0 - Y), axis=1)
        G = -Y.copy()
        G[np.arange(z.shape[0]), top] += 1.0
        return G * (self.power * margin ** (self.power - 1))[:, None]

    def cvxpy_parameters(self, n, K):
        return {
            "c": cp.Parameter(n, nonneg=True, name="c"),
            "c_not_y": cp.Parameter((n, K), nonneg=True, name="c_not_y"),
            "c_y": cp.Parameter((n, K), nonneg=True, name="c_y"),
        }

    def _cvxpy_margin(self, z, params):
        # c_i max_k(z_ik + 1[k≠y_i]) − c_i z_iy with c = w (hinge) or √w (squared).
        c = cp.reshape(params["c"], (params["c"].shape[0], 1), order="C")
        shifted = cp.max(cp.multiply(c, z) + params["c_not_y"], axis=1)
        return shifted - cp.sum(cp.multiply(params["c_y"], z), axis=1)

    def cvxpy_objective(self, z, params):
        return cp.sum(self._cvxpy_margin(z, params))

    def parameter_values(self, Y, weights):
        c = weights
        return {"c": c, "c_not_y": c[:, None] * (1.0 - Y), "c_y": c[:, None] * Y}


class _SquaredCrammerSinger(_CrammerSinger):
    """``ℓ(z, y) = max(0, 1 + max_{k≠y} z_k − z_y)²``."""

    name = "multiclass_squared_hinge"
    power = 2

    def cvxpy_objective(self, z, params):
        return cp.sum_squares(cp.pos(self._cvxpy_margin(z, params)))

    def parameter_values(self, Y, weights):
        return super().parameter_values(Y, np.sqrt(weights))


squared = _Squared()
logistic = _Logistic()
multinomial = _Multinomial()
hinge = _Hinge()
squared_hinge = _SquaredHinge()
multiclass_hinge = _CrammerSinger()
multiclass_squared_hinge = _SquaredCrammerSinger()

#: The losses by name.
LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        squared,
        logistic,
        multinomial,
        hinge,
        squared_hinge,
        multiclass_hinge,
        multiclass_squared_hinge,
    )
}


# Other names get_loss accepts: scikit-learn (and the estimators) call the
# logistic loss "log_loss".
_ALIASES: dict[str, str] = {"log_loss": "logistic"}


def get_loss(loss: str | Loss) -> Loss:
    """Return the :class:`Loss` named ``loss`` (a :class:`Loss` is returned as is).

    Parameters
    ----------
    loss : {"squared", "logistic", "log_loss", "multinomial", "hinge", "squared_hinge", \
"multiclass_hinge", "multiclass_squared_hinge"} or Loss
        ``"log_loss"`` is another name of ``"logistic"``.

    Returns
    -------
    Loss

    Raises
    ------
    ValueError
        If the name is unknown.

    Examples
    --------
    >>> from cvxdual.losses import get_loss
    >>> get_loss("squared").name
    'squared'
    >>> get_loss("log_loss") is get_loss("logistic")
    True
    """
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]
    if isinstance(loss, str) and loss in _ALIASES:
        return LOSSES[_ALIASES[loss]]
    raise ValueError(f"loss must be one of {sorted([*LOSSES, *_ALIASES])}, got {loss!r}")


def _row_max(z) -> np.ndarray:
    """Row maxima of an n × K array, column by column (NumPy's reductions along
    rows of a few entries are several times slower) unless ``z`` is in Fortran
    order (then one reduction runs along its contiguous columns: 3x faster)."""
    if z.ndim == 2 and z.flags.f_contiguous and not z.flags.c_contiguous:
        return np.maximum.reduce(z, axis=1)
    top = z[:, 0].copy()
    for k in range(1, z.shape[1]):
        np.maximum(top, z[:, k], out=top)
    return top


def _softmax(z) -> np.ndarray:
    """Row-wise softmax of the scores (the multinomial probabilities)."""
    P = z - _row_max(z)[:, None]
    np.exp(P, out=P)
    P /= (P @ np.ones(z.shape[1]))[:, None]
    return P
