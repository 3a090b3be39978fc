r"""Linear models under a group-fairness constraint, with its exact multipliers.

:class:`FairLinearClassifier` and :class:`FairLinearRegressor` solve

.. math:: \min_{W, b} \; \sum_i w_i \, \ell(W^\top x_i + b, y_i)
          \quad \text{s.t.} \quad \text{fairness}(z) \le 0, \quad \|W\| \le r \text{ (optional)}

through :class:`cvxdual.heads._fair.FairHead`, whose CVXPY problem is the
definition (see :mod:`cvxdual.fairness`). One deterministic model meets the
bound on the training data, and ``duals_`` prices it: ``∂ objective_ / ∂δ =
−Σ (duals_["upper"] + duals_["lower"])``.

The groups come from ``sensitive_features``, passed to ``fit`` as in
fairlearn. In a :class:`~sklearn.pipeline.Pipeline` or
:class:`~sklearn.model_selection.GridSearchCV`, route it with scikit-learn's
metadata routing (``sklearn.set_config(enable_metadata_routing=True)`` and
``estimator.set_fit_request(sensitive_features=True)``).
"""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from .._threads import limit_competing_blas
from ..fairness import FairnessConstraint
from ..heads._fair import FairHead
from ._base import BALLS, ScoresClassifierMixin, SolverOptions, group_labels, make_ball
from ._linear import (
    _CLASSIFIER_LOSSES,
    NormBoundedLinearClassifier,
    NormBoundedLinearRegressor,
    _NormBoundedLinearModel,
)

__all__ = ["FairLinearClassifier", "FairLinearRegressor"]


class _FairLinearModel(BaseEstimator):
    """Shared parameters and fitting of the fair linear models; not public."""

    _parameter_constraints: ClassVar[dict] = {
        "constraint": [FairnessConstraint],
        "radius": [None, Interval(Real, 0, None, closed="neither")],
        "norm": [StrOptions(set(BALLS))],
        "fit_intercept": ["boolean"],
        "solver": [SolverOptions()],
    }

    def _solve(self, X, y, sensitive_features, sample_weight, head_loss):
        if sensitive_features is None:
            raise ValueError(
                f"{type(self).__name__}.fit requires sensitive_features (the group of every "
                "sample), got None. In a Pipeline or GridSearchCV, enable metadata routing "
                "and call set_fit_request(sensitive_features=True)."
            )
        # the group labels (not the codes) name groups in errors
        labels, groups = group_labels(sensitive_features, X)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        head = FairHead(
            head_loss,
            self.constraint,
            make_ball(self.norm, self.radius),
            sensitive_features=labels,
            fit_intercept=self.fit_intercept,
            solver=self.solver,
        )
        solution = head.solve(X, y, sample_weight=sample_weight)
        self.groups_ = groups
        self.objective_ = float(solution.objective)
        self.duals_ = {
            key: (float(v) if np.ndim(v) == 0 else np.array(v, dtype=float))
            for key, v in solution.duals.items()
        }
        self.solve_method_ = solution.method
        self.n_iter_ = int(solution.n_iter)
        return solution

    _scores = _NormBoundedLinearModel._scores


_PARAMETERS_DOC = """
    Parameters
    ----------
    constraint : DemographicParity, EqualOpportunity or BoundedGroupLoss
        The group constraint on the scores (see :mod:`cvxdual.fairness`).
    radius : float or None, default=None
        An optional bound ``r > 0`` on the norm of the coefficients.
    norm : {{"l2", "l1", "linf"}}, default="l2"
        The norm of that bound, over all entries of the coefficient matrix.
    loss : {loss_options}, default={loss_default}
        {loss_doc}
    fit_intercept : bool, default=True
        Whether to fit an (unconstrained) intercept.
    solver : str, default="auto"
        ``"auto"`` uses the fast exact solver (active-set Newton; parity
        constraints with the logistic, squared-hinge or squared loss and no
        bound or an "l2" bound, or the multinomial loss with an "l2" bound that
        binds) and CVXPY otherwise; ``"fast"`` requires it; ``"cvxpy"`` always solves the
        CVXPY problem; a CVXPY solver name solves it with that solver only.
"""

_ATTRIBUTES_DOC = """
    objective_ : float
        Optimal value of the (weighted) mean loss under the constraints.
    duals_ : dict
        The multipliers: ``"norm"`` (with a radius) and the constraint's keys,
        ``"upper"``, ``"lower"`` of shape (n_groups, K) for the parity
        constraints, ``"group_loss"`` of shape (n_groups,) for the bounded group
        loss, rows in the order of ``groups_``. ``−Σ`` of a constraint's duals
        is the derivative of ``objective_`` with respect to its bound.
    sample_duals_ : ndarray
        ``ν``, the dual of the scores constraint ``z = Xw + b``: the sample
        gradients of the loss plus the fairness multipliers' share.
    groups_ : ndarray of shape (n_groups,)
        The distinct values of ``sensitive_features`` seen in fit.
    solve_method_ : str
        ``"active-set-newton"``, ``"active-set-newton-l2"`` or ``"cvxpy"``.
    n_iter_ : int
        Newton iterations of the fast solver, or iterations of the CVXPY solver.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
"""

_NOTES_DOC = """
    Notes
    -----
    ``fit`` requires ``sensitive_features``; without them it raises a
    ``ValueError``. scikit-learn's estimator checks cannot pass them, so the
    test suite runs the checks on a subclass that derives the groups from the
    sign of the first feature when none are given.
"""

_CLASSIFIER_PARAMETERS = _PARAMETERS_DOC.format(
    loss_options='{"log_loss", "hinge", "squared_hinge"}',
    loss_default='"log_loss"',
    loss_doc="As in :class:`~cvxdual.NormBoundedLinearClassifier`: with two classes one\n"
    "        score, with more the multinomial or Crammer–Singer loss.",
)
_REGRESSOR_PARAMETERS = _PARAMETERS_DOC.format(
    loss_options='{"squared"}', loss_default='"squared"', loss_doc="The loss ``½(z − y)²``."
)


class FairLinearClassifier(ScoresClassifierMixin, _FairLinearModel):
    __doc__ = f"""Linear classifier under a group-fairness constraint on its scores.

    Solves ``min Σ_i w_i ℓ(coefᵀ x_i + intercept, y_i)`` subject to the
    fairness constraint on the scores (and optionally ``‖coef‖ <= radius``)
    exactly, where ``w`` are the normalised sample weights.
    {_CLASSIFIER_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients, shaped as in :class:`~sklearn.linear_model.LogisticRegression`.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (centred for several classes).{_ATTRIBUTES_DOC}
    See Also
    --------
    FairLinearRegressor : The regression counterpart.
    cvxdual.NormBoundedLinearClassifier : Without the fairness constraint.
    {_NOTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import FairLinearClassifier
    >>> from cvxdual.fairness import DemographicParity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> group = np.where(X[:, 0] + rng.normal(size=200) > 0, "a", "b")
    >>> y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no")
    >>> clf = FairLinearClassifier(DemographicParity(0.2))
    >>> clf = clf.fit(X, y, sensitive_features=group)
    >>> z = clf.decision_function(X)
    >>> gaps = [z[group == g].mean() - z.mean() for g in clf.groups_]
    >>> bool(max(map(abs, gaps)) <= 0.2 + 1e-7), clf.duals_["upper"].shape
    (True, (2, 1))
    """

    _parameter_constraints: ClassVar[dict] = {
        **_FairLinearModel._parameter_constraints,
        "loss": [StrOptions(set(_CLASSIFIER_LOSSES))],
    }

    def __init__(
        self,
        constraint,
        *,
        radius=None,
        norm="l2",
        loss="log_loss",
        fit_intercept=True,
        solver="auto",
    ):
        self.constraint = constraint
        self.radius = radius
        self.norm = norm
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.solver = solver

    @_fit_context(prefer_skip_nested_validation=True)
    @limit_competing_blas
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the classifier under the fairness constraint.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sensitive_features : array-like of shape (n_samples,) or (n_samples, m)
            The group of every sample (several columns: their combinations).
            Required.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights (the means of the constraint use them too).

        Returns
        -------
        self : FairLinearClassifier
            The fitted model.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        self._fit_classes(
            y,
            lambda targets, loss: self._solve(
                X, targets, sensitive_features, sample_weight, loss
            ),
            "FairLinearClassifier",
        )
        return self

    # Fitting the classes and scoring are those of the norm-bounded classifier
    # (same fitted attributes).
    _fit_classes = NormBoundedLinearClassifier._fit_classes
    decision_function = NormBoundedLinearClassifier.decision_function
    _has_proba = NormBoundedLinearClassifier._has_proba


class FairLinearRegressor(RegressorMixin, _FairLinearModel):
    __doc__ = f"""Least squares under a group-fairness constraint on the predictions.

    Solves ``min Σ_i w_i ½‖coefᵀ x_i + intercept − y_i‖²`` subject to the
    fairness constraint (parity of mean predictions, or a bounded mean squared
    error per group) and optionally ``‖coef‖ <= radius``, exactly.
    {_REGRESSOR_PARAMETERS}
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients, shaped as in :class:`~sklearn.linear_model.Ridge`.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept.{_ATTRIBUTES_DOC}
    See Also
    --------
    FairLinearClassifier : The classification counterpart.
    cvxdual.NormBoundedLinearRegressor : Without the fairness constraint.
    {_NOTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import FairLinearRegressor
    >>> from cvxdual.fairness import DemographicParity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> group = (X[:, 0] > 0).astype(int)
    >>> y = 2.0 * X[:, 0] + rng.normal(size=100)
    >>> reg = FairLinearRegressor(DemographicParity(0.5)).fit(X, y, sensitive_features=group)
    >>> pred = reg.predict(X)
    >>> bool(abs(pred[group == 1].mean() - pred.mean()) <= 0.5 + 1e-7)
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **_FairLinearModel._parameter_constraints,
        "loss": [StrOptions({"squared"})],
    }

    def __init__(
        self,
        constraint,
        *,
        radius=None,
        norm="l2",
        loss="squared",
        fit_intercept=True,
        solver="auto",
    ):
        self.constraint = constraint
        self.radius = radius
        self.norm = norm
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.solver = solver

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    @limit_competing_blas
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the least-squares model under the fairness constraint.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sensitive_features : array-like of shape (n_samples,) or (n_samples, m)
            The group of every sample. Required.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : FairLinearRegressor
            The fitted model.
        """
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        solution = self._solve(X, y, sensitive_features, sample_weight, self.loss)
        self._store_regression(solution, y)
        return self

    _store_regression = NormBoundedLinearRegressor._store_regression
    predict = NormBoundedLinearRegressor.predict
