r"""Group-fairness constraints on the scores of a head, defined by CVXPY constraints.

A head (see :mod:`cvxdual.heads`) has the score variable ``z = Φ W + 1 bᵀ``
of shape ``(n, K)``. The constraints here act on ``z`` only, with groups
``g = 1..G`` given by a sensitive feature and means weighted by the normalised
sample weights ``w``:

=====================  ===================================================  ==================
constraint             CVXPY constraints on ``z``                           dual keys (shape)
=====================  ===================================================  ==================
DemographicParity(δ)   ``mean_{i∈g} z_ik − mean_i z_ik <= δ`` ("upper"),    ``"upper"``,
                       ``mean_i z_ik − mean_{i∈g} z_ik <= δ`` ("lower")     ``"lower"`` (G, K)
EqualOpportunity(δ)    the same over the samples of the positive class      ``"upper"``,
                       (column ``k``: the samples of class ``k``)           ``"lower"`` (G, K)
BoundedGroupLoss(ζ)    ``Σ_{i∈g} w_i ℓ(z_i, y_i) / Σ_{i∈g} w_i <= ζ``       ``"group_loss"`` (G,)
=====================  ===================================================  ==================

Written as ``A_k z_{:,k}`` with one ``(G, n)`` matrix per column (one shared
matrix for demographic parity), the parity constraints are linear in ``z``;
``A_k`` holds the group data and is a :class:`cvxpy.Parameter`, so the head
problem is compiled once per shape. Because every constraint acts on ``z``,
the dual ``ν`` of the scores constraint ``Φ W + 1 bᵀ − z = 0`` becomes

.. math:: \nu_{:,k} = w \circ \partial_k \ell + A_k^\top(\lambda^{up}_{:,k} - \lambda^{lo}_{:,k})

(for parity; ``ν_i = w_i(1 + λ_g/W_g)∂ℓ_i`` for a bounded group loss) and the
envelope theorem still gives ``∇_Φ p* = ν W*ᵀ``. By the same theorem
``∂p*/∂δ = −Σ (λ^{up} + λ^{lo})``: the duals price the bound.

The parity constraints always hold at ``W = 0`` (constant scores have equal
group means), so with ``δ >= 0`` they never make a norm-bounded head
infeasible; a bounded group loss below what any model attains does, and the
head then raises :class:`~cvxdual.exceptions.InfeasibleSetError`.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from ._validation import check_positive
from .exceptions import InfeasibleSetError

__all__ = [
    "BoundedGroupLoss",
    "DemographicParity",
    "EqualOpportunity",
    "FairnessConstraint",
    "encode_groups",
]


def encode_groups(sensitive_features) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(codes, groups)``: integer group codes ``0..G−1`` and the group labels.

    Several columns (a 2-D array or a DataFrame) define intersectional groups,
    labelled by the tuple of their values joined with ``","`` (as fairlearn).

    Parameters
    ----------
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_columns)
        Any labels: strings, integers, booleans.

    Returns
    -------
    codes : ndarray of shape (n_samples,)
        Index of each sample's group in ``groups``.
    groups : ndarray of shape (G,)
        The sorted distinct group labels.

    Examples
    --------
    >>> from cvxdual.fairness import encode_groups
    >>> codes, groups = encode_groups(["b", "a", "b"])
    >>> codes.tolist(), groups.tolist()
    ([1, 0, 1], ['a', 'b'])
    """
    if sensitive_features is None:
        raise ValueError("sensitive_features must be given, got None")
    values = np.asarray(sensitive_features)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 2:
        values = np.array([",".join(str(v) for v in row) for row in values], dtype=object)
    if values.ndim != 1:
        raise ValueError(
            f"sensitive_features must be 1-D or 2-D, got an array of shape {values.shape}"
        )
    if values.shape[0] == 0:
        raise ValueError("sensitive_features must not be empty")
    if values.dtype.kind in "fc" and not np.all(np.isfinite(values)):
        raise ValueError("sensitive_features contains NaN or infinity.")
    try:
        groups, codes = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types (e.g. str and None) do not sort: compare as strings
        groups, codes = np.unique(values.astype(str), return_inverse=True)
    return codes.reshape(-1).astype(np.intp), groups


class FairnessConstraint:
    """Base class of the group constraints on the scores ``z`` of a head.

    Subclasses give the CVXPY constraints (the definition) through
    :meth:`parameters`, :meth:`parameter_values` and :meth:`constraints`.
    Instances are immutable value objects.

    Examples
    --------
    >>> from cvxdual.fairness import DemographicParity
    >>> DemographicParity(0.1).keys
    ('upper', 'lower')
    """

    keys: tuple[str, ...] = ()
    #: whether the constraints are linear in ``z`` (rows ``A_k`` of :meth:`parity_matrices`)
    linear: bool = False

    @property
    def bound(self) -> float:
        """The bound (``δ`` or ``ζ``)."""
        raise NotImplementedError

    def parameters(self, n: int, K: int, G: int, loss) -> dict[str, cp.Parameter]:
        """Return fresh CVXPY parameters holding the group data and the bound."""
        raise NotImplementedError

    def parameter_values(self, codes, groups, Y, weights, loss) -> dict[str, np.ndarray]:
        """Return the values of :meth:`parameters` for group codes, targets and weights.

        ``Y`` is encoded as the loss expects; ``weights`` are non-negative and
        sum to one. Raises :class:`~cvxdual.exceptions.InfeasibleSetError` when a
        group has no (positively weighted) sample the constraint averages over.
        """
        raise NotImplementedError

    def constraints(self, z: cp.Expression, params: dict, loss) -> dict[str, cp.Constraint]:
        """Return the named CVXPY constraints on the scores ``z`` (the definition)."""
        raise NotImplementedError

    def values(self, z: np.ndarray, codes, groups, Y, weights, loss) -> dict[str, np.ndarray]:
        """Return ``g(z)`` of each constraint ``g(z) <= 0`` (positive entries are violations)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.bound!r})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.bound == self.bound

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.bound))


def _parity_matrix(codes, groups, weights, member, what: str) -> np.ndarray:
    """Rows ``A[g] z = mean_{i∈g} z_i − mean_i z_i`` (means weighted by ``w ∘ member``)."""
    mw = weights * member
    total = mw.sum()
    G = groups.shape[0]
    per_group = np.bincount(codes, weights=mw, minlength=G)
    empty = np.flatnonzero(per_group <= 0)
    if total <= 0 or empty.size:
        labels = groups[empty[:5]].tolist() if empty.size else []
        raise InfeasibleSetError(
            f"{what} is undefined: group(s) {labels} have no sample with a positive weight "
            "to average over. Merge or drop such groups."
        )
    A = np.tile(-mw / total, (G, 1))
    A[codes, np.arange(codes.shape[0])] += mw / per_group[codes]
    return A


class _Parity(FairnessConstraint):
    keys = ("upper", "lower")
    linear = True

    def __init__(self, difference_bound: float):
        self._bound = check_positive(difference_bound, "difference_bound", allow_zero=True)

    @property
    def bound(self) -> float:
        return self._bound

    @property
    def difference_bound(self) -> float:
        """``δ``."""
        return self._bound

    def _members(self, Y, loss) -> np.ndarray:
        """``(K', n)`` weights of the samples each column averages over (K' = 1: shared)."""
        raise NotImplementedError

    def parity_matrices(self, codes, groups, Y, weights, loss) -> np.ndarray:
        """Return ``A`` of shape ``(K', G, n)``: ``A[k] z[:, k]`` are the group differences.

        ``K' = 1`` when every column uses the same matrix (demographic parity).
        """
        name = type(self).__name__
        members = self._members(Y, loss)
        return np.stack(
            [
                _parity_matrix(codes, groups, weights, m, f"{name} (column {k})")
                for k, m in enumerate(members)
            ]
        )

    def _differences(self, z, A):
        if A.shape[0] == 1:
            return A[0] @ z
        return np.column_stack([A[k] @ z[:, k] for k in range(A.shape[0])])

    def parameters(self, n, K, G, loss):
        shared = self._members(np.zeros((1, K)), loss).shape[0] == 1
        params = {f"A{k}": cp.Parameter((G, n), name=f"A{k}") for k in range(1 if shared else K)}
        params["bound"] = cp.Parameter(nonneg=True, name="difference_bound")
        return params

    def parameter_values(self, codes, groups, Y, weights, loss):
        A = self.parity_matrices(codes, groups, Y, weights, loss)
        values = {f"A{k}": A[k] for k in range(A.shape[0])}
        values["bound"] = self._bound
        return values

    def constraints(self, z, params, loss):
        if "A1" in params:  # one matrix per column
            G = params["A0"].shape[0]
            diff = cp.hstack([
                cp.reshape(params[f"A{k}"] @ z[:, k], (G, 1), order="C") for k in range(z.shape[1])
            ])
        else:
            diff = params["A0"] @ z
        return {"upper": diff <= params["bound"], "lower": -diff <= params["bound"]}

    def values(self, z, codes, groups, Y, weights, loss):
        diff = self._differences(np.asarray(z, dtype=float),
                                 self.parity_matrices(codes, groups, Y, weights, loss))
        return {"upper": diff - self._bound, "lower": -diff - self._bound}


class DemographicParity(_Parity):
    r"""Demographic parity of mean scores: ``|mean_{i∈g} z_ik − mean_i z_ik| <= δ``.

    One pair of constraints per group ``g`` and score column ``k``: ``"upper"``
    (the group mean exceeds the overall mean by at most ``δ``) and ``"lower"``,
    each with duals of shape ``(G, K)``. For one binary score this is Zafar et
    al.'s decision-boundary covariance constraint, rescaled by the group share.

    Parameters
    ----------
    difference_bound : float
        ``δ >= 0``, in units of the scores.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import FairLinearClassifier
    >>> from cvxdual.fairness import DemographicParity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 2))
    >>> group = np.where(X[:, 0] + rng.normal(size=80) > 0, "a", "b")
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> clf = FairLinearClassifier(DemographicParity(0.1)).fit(X, y, sensitive_features=group)
    >>> z = clf.decision_function(X)
    >>> gap = abs(z[group == "a"].mean() - z.mean())
    >>> bool(gap <= 0.1 + 1e-7), clf.duals_["upper"].shape
    (True, (2, 1))
    """

    def _members(self, Y, loss):
        return np.ones((1, Y.shape[0]))


class EqualOpportunity(_Parity):
    r"""Equal opportunity of scores: demographic parity over the positive samples.

    With one binary score, the means are over the samples of the positive class
    (``y = +1``); with one score per class (multinomial), column ``k`` is
    averaged over the samples of class ``k`` (true-positive-rate parity of the
    scores). Duals ``"upper"``, ``"lower"`` of shape ``(G, K)``.

    Parameters
    ----------
    difference_bound : float
        ``δ >= 0``, in units of the scores.

    Examples
    --------
    >>> from cvxdual.fairness import EqualOpportunity
    >>> EqualOpportunity(0.05)
    EqualOpportunity(0.05)
    """

    def _members(self, Y, loss):
        if getattr(loss, "name", None) == "squared":
            raise ValueError(
                "EqualOpportunity needs class labels (a classification loss), "
                "got the squared loss; use DemographicParity or BoundedGroupLoss."
            )
        Y = np.asarray(Y, dtype=float)
        if Y.shape[1] == 1:
            return (Y[:, 0] > 0).astype(float)[None, :]
        return Y.T


class BoundedGroupLoss(FairnessConstraint):
    r"""Bounded group loss: ``Σ_{i∈g} w_i ℓ(z_i, y_i) / Σ_{i∈g} w_i <= ζ`` for every group.

    Duals ``"group_loss"`` of shape ``(G,)``. A bound below the smallest loss a
    model can reach in some group makes the head problem infeasible
    (:class:`~cvxdual.exceptions.InfeasibleSetError`).

    Parameters
    ----------
    upper_bound : float
        ``ζ >= 0``, in units of the loss.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import FairLinearRegressor
    >>> from cvxdual.fairness import BoundedGroupLoss
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> group = (X[:, 0] > 0.5).astype(int)
    >>> y = X @ np.array([1.0, -1.0]) + 0.3 * rng.normal(size=60) + 1.5 * group * X[:, 1]
    >>> reg = FairLinearRegressor(BoundedGroupLoss(0.4)).fit(X, y, sensitive_features=group)
    >>> reg.duals_["group_loss"].round(3).tolist()  # the second group's bound binds
    [0.0, 0.143]
    """

    keys = ("group_loss",)

    def __init__(self, upper_bound: float):
        self._bound = check_positive(upper_bound, "upper_bound", allow_zero=True)

    @property
    def bound(self) -> float:
        return self._bound

    @property
    def upper_bound(self) -> float:
        """``ζ``."""
        return self._bound

    def group_weights(self, codes, groups, weights) -> np.ndarray:
        """Return ``(G, n)``: the weights of each group's mean loss (rows sum to one)."""
        G = groups.shape[0]
        per_group = np.bincount(codes, weights=weights, minlength=G)
        empty = np.flatnonzero(per_group <= 0)
        if empty.size:
            raise InfeasibleSetError(
                f"BoundedGroupLoss is undefined: group(s) {groups[empty[:5]].tolist()} have no "
                "sample with a positive weight. Merge or drop such groups."
            )
        Wg = np.zeros((G, codes.shape[0]))
        Wg[codes, np.arange(codes.shape[0])] = weights / per_group[codes]
        return Wg

    def parameters(self, n, K, G, loss):
        params = {}
        for g in range(G):
            for key, p in loss.cvxpy_parameters(n, K).items():
                params[f"{g}.{key}"] = p
        params["bound"] = cp.Parameter(nonneg=True, name="upper_bound")
        return params

    def parameter_values(self, codes, groups, Y, weights, loss):
        values = {}
        for g, wg in enumerate(self.group_weights(codes, groups, weights)):
            for key, v in loss.parameter_values(Y, wg).items():
                values[f"{g}.{key}"] = v
        values["bound"] = self._bound
        return values

    def constraints(self, z, params, loss):
        G = len({key.split(".")[0] for key in params if "." in key})
        losses = []
        for g in range(G):
            prefix = f"{g}."
            group_params = {k[len(prefix):]: p for k, p in params.items() if k.startswith(prefix)}
            losses.append(loss.cvxpy_objective(z, group_params))
        return {"group_loss": cp.hstack(losses) <= params["bound"]}

    def values(self, z, codes, groups, Y, weights, loss):
        per_sample = loss.per_sample(np.asarray(z, dtype=float), Y)
        means = self.group_weights(codes, groups, weights) @ per_sample
        return {"group_loss": means - self._bound}
