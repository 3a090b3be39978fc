"""Linear models fitted under a hard norm bound, with the exact Lagrange multiplier.

:class:`NormBoundedLinearRegressor` and :class:`NormBoundedLinearClassifier`
solve

.. math:: \\min_{W, b} \\; \\frac{1}{n} \\sum_i \\ell(W^\\top x_i + b, y_i)
          \\quad \\text{s.t.} \\quad \\|W\\| \\le r

(weighted mean with ``sample_weight``) through
:class:`cvxdual.heads.NormBoundedHead`, so ``coef_``, ``objective_``,
``duals_ = {"norm": λ}`` and ``sample_duals_`` are those of the CVXPY problem
``min (1/n) Σ ℓ(z_i, y_i) s.t. X W + 1 bᵀ − z = 0 (dual ν), ‖W‖ ≤ r (dual λ)``.
``λ = −d objective_ / d radius``: it prices the bound.

The norm of a coefficient *matrix* (multi-output regression, multiclass) is
taken over all its entries: Frobenius for ``"l2"``, the sum of absolute values
for ``"l1"`` and the largest absolute value for ``"linf"``.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._threads import limit_competing_blas
from ..heads import HeadSolution, NormBoundedHead
from ._base import BALLS, ScoresClassifierMixin, SolverOptions

__all__ = ["NormBoundedLinearClassifier", "NormBoundedLinearRegressor"]


# Head losses of the classifier: (binary, multiclass).
_CLASSIFIER_LOSSES = {
    "log_loss": ("log_loss", "multinomial"),
    "hinge": ("hinge", "multiclass_hinge"),
    "squared_hinge": ("squared_hinge", "multiclass_squared_hinge"),
}


class _NormBoundedLinearModel(BaseEstimator):
    """Shared parameters and fitting of the norm-bounded linear models; not public."""

    _parameter_constraints: ClassVar[dict] = {
        "radius": [Interval(Real, 0, None, closed="neither")],
        "norm": [StrOptions(set(BALLS))],
        "fit_intercept": ["boolean"],
        "solver": [SolverOptions()],
        "tol": [Interval(Real, 0, 1, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def _solve(self, X, y, sample_weight, head_loss: str) -> HeadSolution:
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        head = NormBoundedHead(
            head_loss,
            BALLS[self.norm](self.radius),
            fit_intercept=self.fit_intercept,
            solver=self.solver,
            tol=self.tol,
            max_iter=self.max_iter,
        )
        # cvxdual.report.dual_path sets _path_state to carry the previous fit's
        # solution along its grid (a warm start); ordinary fits have none.
        state = getattr(self, "_path_state", None)
        warm_start = None if state is None else state.get("head")
        solution = head.solve(X, y, sample_weight=sample_weight, warm_start=warm_start)
        if state is not None:
            state["head"] = solution
        self.objective_ = float(solution.objective)
        self.duals_ = {"norm": float(solution.duals["norm"])}
        self.solve_method_ = solution.method
        self.n_iter_ = int(solution.n_iter)
        return solution

    def _scores(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return X @ np.atleast_2d(self.coef_).T + self.intercept_


class NormBoundedLinearRegressor(RegressorMixin, _NormBoundedLinearModel):
    """Least squares under a hard norm bound on the coefficients.

    Solves ``min (1/n) Σ_i ½‖coefᵀ x_i + intercept − y_i‖²  s.t.  ‖coef‖ ≤ radius``
    exactly (a weighted mean with ``sample_weight``). The intercept is not bounded.

    Parameters
    ----------
    radius : float, default=1.0
        The bound ``r > 0`` on the norm of the coefficients.
    norm : {"l2", "l1", "linf"}, default="l2"
        The norm, over all entries of the coefficient matrix (Frobenius for "l2").
    loss : {"squared"}, default="squared"
        The loss ``½(z − y)²``.
    fit_intercept : bool, default=True
        Whether to fit an (unbounded) intercept.
    solver : str, default="auto"
        ``"auto"`` uses the fast exact solver (see :mod:`cvxdual.heads`), falling
        back to CVXPY; ``"fast"`` uses the fast solver alone; ``"cvxpy"`` always
        solves the CVXPY problem; a CVXPY solver name (e.g. ``"CLARABEL"``, any
        case) solves it with that solver only.
    tol : float, default=1e-9
        Relative tolerance of the fast solver.
    max_iter : int, default=200
        Newton iterations per penalised solve of the fast solver.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients, shaped as in :class:`~sklearn.linear_model.Ridge`.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept (0.0 when ``fit_intercept=False``).
    objective_ : float
        Optimal value of the mean loss.
    duals_ : dict
        ``{"norm": λ}``, the multiplier of the bound (0 when it does not bind).
        ``λ = −d objective_ / d radius``, and the fit equals Ridge with
        ``alpha = n·λ/r`` (l2) or Lasso with ``alpha = λ`` (l1).
    sample_duals_ : ndarray of the shape of ``y``
        ``ν_i = (1/n) ∂ℓ/∂z_i = (ŷ_i − y_i)/n`` (weighted: ``w_i/Σw``), the dual
        of the scores constraint.
    solve_method_ : str
        The head solver used (see :class:`cvxdual.heads.HeadSolution`).
    n_iter_ : int
        Iterations of the fast solver, or of the CVXPY solver.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    NormBoundedLinearClassifier : The classification counterpart.
    sklearn.linear_model.Ridge : The penalised form of the "l2" bound.
    sklearn.linear_model.Lasso : The penalised form of the "l1" bound.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.estimators._linear import NormBoundedLinearRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3))
    >>> y = X @ np.array([3.0, -2.0, 1.0]) + 0.1 * rng.normal(size=50)
    >>> reg = NormBoundedLinearRegressor(radius=1.0).fit(X, y)
    >>> round(float(np.linalg.norm(reg.coef_)), 6), reg.duals_["norm"] > 0
    (1.0, True)
    """

    _parameter_constraints: ClassVar[dict] = {
        **_NormBoundedLinearModel._parameter_constraints,
        "loss": [StrOptions({"squared"})],
    }

    def __init__(
        self,
        radius: float = 1.0,
        *,
        norm: str = "l2",
        loss: str = "squared",
        fit_intercept: bool = True,
        solver: str = "auto",
        tol: float = 1e-9,
        max_iter: int = 200,
    ):
        self.radius = radius
        self.norm = norm
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    @limit_competing_blas
    def fit(self, X, y, sample_weight=None):
        """Fit the bounded least-squares model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : NormBoundedLinearRegressor
            The fitted model.
        """
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        solution = self._solve(X, y, sample_weight, self.loss)
        self._store_regression(solution, y)
        return self

    def _store_regression(self, solution: HeadSolution, y) -> None:
        """Set ``coef_``, ``intercept_``, ``sample_duals_`` shaped as ``y`` (as Ridge)."""
        if y.ndim == 1:
            self.coef_ = solution.coef[:, 0].copy()
            self.intercept_ = float(solution.intercept[0])
            self.sample_duals_ = solution.sample_duals[:, 0].copy()
        else:
            self.coef_ = solution.coef.T.copy()
            self.intercept_ = solution.intercept.copy()
            self.sample_duals_ = solution.sample_duals.copy()

    def predict(self, X):
        """Return ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions.
        """
        scores = self._scores(X)
        return scores[:, 0] if np.ndim(self.coef_) == 1 else scores


class NormBoundedLinearClassifier(ScoresClassifierMixin, _NormBoundedLinearModel):
    """Linear classifier under a hard norm bound on the coefficients.

    Solves ``min (1/n) Σ_i ℓ(coefᵀ x_i + intercept, y_i)  s.t.  ‖coef‖ ≤ radius``
    exactly (a weighted mean with ``sample_weight``). The intercept is not bounded.

    Parameters
    ----------
    radius : float, default=1.0
        The bound ``r > 0`` on the norm of the coefficients. On separable
        classes with the log-loss the bound always binds, and a very large one
        (the scores then reach the hundreds) leaves a nearly flat problem whose
        exact solve is slow: prefer radii at the scale the data need.
    norm : {"l2", "l1", "linf"}, default="l2"
        The norm, over all entries of the coefficient matrix (Frobenius for "l2").
    loss : {"log_loss", "hinge", "squared_hinge"}, default="log_loss"
        With two classes: the logistic loss ``log(1 + exp(−s z))``, the hinge
        ``max(0, 1 − s z)`` or its square, with ``s = +1`` for ``classes_[1]``.
        With more classes: the multinomial (softmax cross-entropy) loss for
        "log_loss", and the Crammer–Singer multiclass hinge
        ``max(0, 1 + max_{k≠y} z_k − z_y)`` (squared for "squared_hinge"). Each
        is one convex problem with one bound on the whole coefficient matrix,
        so there is one multiplier λ (no one-vs-rest).
    fit_intercept : bool, default=True
        Whether to fit an (unbounded) intercept.
    solver : str, default="auto"
        ``"auto"`` uses the fast exact solver for the smooth losses ("log_loss",
        "squared_hinge" with two classes), CVXPY otherwise; ``"fast"`` uses the
        fast solver alone (smooth losses only); ``"cvxpy"`` always solves the
        CVXPY problem; a CVXPY solver name (any case) solves it with that solver
        only.
    tol : float, default=1e-9
        Relative tolerance of the fast solver.
    max_iter : int, default=200
        Newton iterations per penalised solve of the fast solver.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients, shaped as in :class:`~sklearn.linear_model.LogisticRegression`.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts; centred (summing to zero) for several classes, where only
        their differences are defined.
    objective_ : float
        Optimal value of the mean loss.
    duals_ : dict
        ``{"norm": λ}``, the multiplier of the bound (0 when it does not bind).
        With two classes and "l2", the fit equals
        ``LogisticRegression(C=r / (n·λ))``.
    sample_duals_ : ndarray of shape (n_samples,) or (n_samples, n_classes)
        ``ν_i = (1/n) ∂ℓ/∂z_i`` at the optimum (weighted: ``w_i/Σw``), shaped as
        :meth:`decision_function`.
    solve_method_ : str
        The head solver used (see :class:`cvxdual.heads.HeadSolution`).
    n_iter_ : int
        Iterations of the fast solver, or of the CVXPY solver.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    NormBoundedLinearRegressor : The regression counterpart.
    sklearn.linear_model.LogisticRegression : The penalised form of the "l2" bound.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.estimators._linear import NormBoundedLinearClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> y = np.where(X[:, 0] + 0.3 * rng.normal(size=60) > 0, "yes", "no")
    >>> clf = NormBoundedLinearClassifier(radius=0.5).fit(X, y)
    >>> clf.classes_.tolist(), clf.coef_.shape, round(float(np.linalg.norm(clf.coef_)), 6)
    (['no', 'yes'], (1, 2), 0.5)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: ClassVar[dict] = {
        **_NormBoundedLinearModel._parameter_constraints,
        "loss": [StrOptions(set(_CLASSIFIER_LOSSES))],
    }

    def __init__(
        self,
        radius: float = 1.0,
        *,
        norm: str = "l2",
        loss: str = "log_loss",
        fit_intercept: bool = True,
        solver: str = "auto",
        tol: float = 1e-9,
        max_iter: int = 200,
    ):
        self.radius = radius
        self.norm = norm
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter

    @_fit_context(prefer_skip_nested_validation=True)
    @limit_competing_blas
    def fit(self, X, y, sample_weight=None):
        """Fit the bounded linear classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : NormBoundedLinearClassifier
            The fitted model.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        self._fit_classes(
            y,
            lambda targets, loss: self._solve(X, targets, sample_weight, loss),
            "NormBoundedLinearClassifier",
        )
        return self

    def _fit_classes(self, y, solve, name: str) -> None:
        """Encode the classes of ``y``, solve, set ``coef_``, ``intercept_``, ``sample_duals_``.

        ``solve(targets, head_loss)`` returns the head's solution: ±1 targets
        and the binary loss for two classes, else the labels and the multiclass
        loss. ``name`` is the estimator named in the error for a single class.
        """
        check_classification_targets(y)
        encoder = LabelEncoder()
        labels = encoder.fit_transform(y)
        self.classes_ = encoder.classes_
        n_classes = self.classes_.shape[0]
        if n_classes < 2:
            raise ValueError(
                f"{name} needs samples of at least 2 classes in the data, "
                f"but the data contains only one class: {self.classes_[0]!r}"
            )
        binary_loss, multi_loss = _CLASSIFIER_LOSSES[self.loss]
        if n_classes == 2:
            solution = solve(2.0 * labels - 1.0, binary_loss)
            self.coef_ = solution.coef.T.copy()
            self.intercept_ = solution.intercept.copy()
            self.sample_duals_ = solution.sample_duals[:, 0].copy()
        else:
            solution = solve(labels, multi_loss)
            self.coef_ = solution.coef.T.copy()
            # Only intercept differences are defined: report them centred, as sklearn does.
            self.intercept_ = solution.intercept - solution.intercept.mean()
            self.sample_duals_ = solution.sample_duals.copy()

    def decision_function(self, X):
        """Return the scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            With two classes, the score of ``classes_[1]``.
        """
        scores = self._scores(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def _has_proba(self):
        return self.loss == "log_loss"
