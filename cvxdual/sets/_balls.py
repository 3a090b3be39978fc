"""The norm balls: Frobenius, ℓ1, ℓ∞, spectral, nuclear and max-norm (private)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from .._linalg import _column_norms, _frobenius, _simplex_threshold, _spectral_clip
from ._base import _NormBall


class L2Ball(_NormBall):
    r"""Frobenius-norm ball :math:`\{W : \|W\|_F \le r\}`.

    Parameters
    ----------
    radius : float
        The bound ``r > 0``.

    Notes
    -----
    Projection: :math:`W = V \min(1, r/\|V\|_F)`; dual
    :math:`\lambda = \max(\|V\|_F - r, 0) = \|V - W\|_F`.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import L2Ball
    >>> res = project(np.array([3.0, 4.0]), L2Ball(1.0))
    >>> res.weights, round(res.duals["norm"], 6)
    (array([0.6, 0.8]), 4.0)
    """

    def constraints(self, W):
        return {"norm": cp.norm(W, "fro") <= self.radius}

    # The norm is finite exactly when every entry is (overflow is rescaled
    # away), so the closed form checks its input in the same pass.
    checks_finite = True

    def project_closed_form(self, V):
        norm = _frobenius(V)
        if not np.isfinite(norm):
            raise ValueError("V contains NaN or infinity.")
        if norm <= self.radius:
            return V, {"norm": 0.0}
        return V * (self.radius / norm), {"norm": norm - self.radius}

    def norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float)))

    def dual_norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float)))


class L1Ball(_NormBall):
    r"""Entrywise ℓ1 ball :math:`\{W : \sum_{ij} |W_{ij}| \le r\}`.

    Parameters
    ----------
    radius : float
        The bound ``r > 0``.

    Notes
    -----
    Projection by sorting (Duchi et al., 2008): :math:`W = \mathrm{sign}(V)
    (|V| - \theta)_+`; the dual is :math:`\theta = \|V - W\|_\infty`.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import L1Ball
    >>> res = project(np.array([3.0, -1.0]), L1Ball(1.0))
    >>> res.weights, res.duals["norm"]
    (array([ 1., -0.]), 2.0)
    """

    def constraints(self, W):
        return {"norm": cp.sum(cp.abs(W)) <= self.radius}

    def project_closed_form(self, V):
        a = np.abs(V)
        with np.errstate(over="ignore"):  # an overflowing sum is outside the ball
            inside = a.sum() <= self.radius
        if inside:
            return V, {"norm": 0.0}
        theta = _simplex_threshold(a.ravel(), self.radius)
        return np.sign(V) * np.maximum(a - theta, 0.0), {"norm": theta}

    def norm(self, W):
        return float(np.abs(np.asarray(W, dtype=float)).sum())

    def dual_norm(self, W):
        return float(np.abs(np.asarray(W, dtype=float)).max())


class LinfBall(_NormBall):
    r"""Entrywise ℓ∞ ball :math:`\{W : \max_{ij} |W_{ij}| \le r\}`.

    Parameters
    ----------
    radius : float
        The bound ``r > 0``.

    Notes
    -----
    Projection: :math:`W = \mathrm{clip}(V, -r, r)`; dual
    :math:`\lambda = \sum_{ij} (|V_{ij}| - r)_+ = \|V - W\|_1`.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import LinfBall
    >>> res = project(np.array([3.0, -0.5, -2.0]), LinfBall(1.0))
    >>> res.weights, res.duals["norm"]
    (array([ 1. , -0.5, -1. ]), 3.0)
    """

    def constraints(self, W):
        return {"norm": cp.max(cp.abs(W)) <= self.radius}

    def project_closed_form(self, V):
        excess = np.abs(V) - self.radius
        if excess.max() <= 0:
            return V, {"norm": 0.0}
        return np.clip(V, -self.radius, self.radius), {"norm": float(excess[excess > 0].sum())}

    def norm(self, W):
        return float(np.abs(np.asarray(W, dtype=float)).max())

    def dual_norm(self, W):
        return float(np.abs(np.asarray(W, dtype=float)).sum())


class _MatrixNormBall(_NormBall):
    """A norm ball that needs a 2-D weight matrix."""

    def check_shape(self, shape):
        if len(shape) != 2:
            raise ValueError(
                f"{type(self).__name__} needs a 2-D weight matrix, got shape {tuple(shape)}"
            )


class SpectralBall(_MatrixNormBall):
    r"""Spectral-norm ball :math:`\{W : \sigma_{\max}(W) \le r\}` (Lipschitz bound).

    Parameters
    ----------
    radius : float
        The bound ``r > 0`` on the largest singular value.

    Notes
    -----
    Projection: clip the singular values at ``r``; the dual is the nuclear norm
    of the residual, :math:`\sum_i (\sigma_i - r)_+`. The singular pairs come
    from an eigendecomposition of the smaller Gram matrix, which is exact to
    rounding for the clipped directions and faster than an SVD.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import SpectralBall
    >>> res = project(np.diag([3.0, 0.5]), SpectralBall(1.0))
    >>> res.weights, res.duals["norm"]
    (array([[1. , 0. ],
           [0. , 0.5]]), 2.0)
    """

    def constraints(self, W):
        return {"norm": cp.sigma_max(W) <= self.radius}

    def project_closed_form(self, V):
        return _spectral_clip(V, self.radius)

    def _project_closed_form_after(self, V, previous):
        if type(self).project_closed_form is not SpectralBall.project_closed_form:
            return self.project_closed_form(V)
        # After a projection that bound, a step usually leaves the ball again: the
        # Cholesky test for a matrix inside it would fail, so it is not tried.
        bound = previous is not None and previous.get("norm", 0.0) > 0
        return _spectral_clip(V, self.radius, certify=not bound)

    def norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float), 2))

    def dual_norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float), "nuc"))


class NuclearBall(_MatrixNormBall):
    r"""Nuclear-norm ball :math:`\{W : \sum_i \sigma_i(W) \le r\}` (low rank).

    Parameters
    ----------
    radius : float
        The bound ``r > 0`` on the sum of singular values.

    Notes
    -----
    Projection: project the singular values onto the ℓ1 ball,
    :math:`\sigma_i \mapsto (\sigma_i - \theta)_+`; the dual is
    :math:`\theta`, the spectral norm of the residual.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import NuclearBall
    >>> res = project(np.diag([3.0, 1.0]), NuclearBall(1.0))
    >>> res.weights, res.duals["norm"]
    (array([[1., 0.],
           [0., 0.]]), 2.0)
    """

    def constraints(self, W):
        return {"norm": cp.normNuc(W) <= self.radius}

    def project_closed_form(self, V):
        U, s, Vt = np.linalg.svd(V, full_matrices=False)
        if s.sum() <= self.radius:
            return V, {"norm": 0.0}
        theta = _simplex_threshold(s, self.radius)
        kept = s > theta
        W = (U[:, kept] * (s[kept] - theta)) @ Vt[kept]
        return W, {"norm": theta}

    def norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float), "nuc"))

    def dual_norm(self, W):
        return float(np.linalg.norm(np.asarray(W, dtype=float), 2))


class MaxNorm(_MatrixNormBall):
    r"""Bound on each unit's incoming weights: :math:`\|W_{:, j}\|_2 \le r` for every column.

    Parameters
    ----------
    radius : float
        The bound ``r > 0`` on every column's Euclidean norm.

    Notes
    -----
    Projection: rescale each column of norm above ``r``; the dual is an array
    of shape ``(n_out,)``, :math:`\lambda_j = (\|v_j\|_2 - r)_+`.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import project
    >>> from cvxdual.sets import MaxNorm
    >>> res = project(np.array([[3.0, 0.1], [4.0, 0.0]]), MaxNorm(1.0))
    >>> res.weights, res.duals["norm"]
    (array([[0.6, 0.1],
           [0.8, 0. ]]), array([4., 0.]))
    """

    def constraints(self, W):
        return {"norm": cp.norm(W, 2, axis=0) <= self.radius}

    def project_closed_form(self, V):
        norms = _column_norms(V)
        excess = np.maximum(norms - self.radius, 0.0)
        if not excess.any():
            return V, {"norm": excess}
        # r / max(‖v_j‖, r): 1 for columns inside the ball, r/‖v_j‖ outside.
        return V * (self.radius / np.maximum(norms, self.radius)), {"norm": excess}

    def norm(self, W):
        """Return the largest column norm, ``max_j ‖W[:, j]‖_2``."""
        return float(np.linalg.norm(np.asarray(W, dtype=float), axis=0).max())

    def dual_norm(self, W):
        """Return ``Σ_j ‖W[:, j]‖_2``; ``duals["norm"].sum()`` equals ``dual_norm(V − W)``."""
        return float(np.linalg.norm(np.asarray(W, dtype=float), axis=0).sum())
