"""Multilayer perceptrons whose hidden layers are trained by an exact head's duals.

:class:`ConstrainedMLPClassifier` and :class:`ConstrainedMLPRegressor` are thin
scikit-learn wrappers around :func:`cvxdual.training.train`: hidden layers
(:mod:`cvxdual.network`) kept inside convex sets by projection, under a linear
head that is the exact solution of a norm-bounded convex problem
(:class:`cvxdual.heads.NormBoundedHead`) on the current features.
"""

from __future__ import annotations

import copy
import itertools
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .._lipschitz import (
    ACTIVATION_LIPSCHITZ,
    certified_radius_from_scores,
    lipschitz_bound,
    spectral_norm_bound,
)
from .._threads import limit_competing_blas
from ..fairness import FairnessConstraint
from ..heads import NormBoundedHead
from ..heads._fair import FairHead
from ..heads._margin import LipschitzMarginHead
from ..network import ACTIVATIONS, SGD, Adam, forward, init_params
from ..sets import ConvexSet
from ..training import check_layer_constraints, train
from ._base import BALLS, ScoresClassifierMixin, SolverOptions, group_labels, make_ball

__all__ = ["ConstrainedMLPClassifier", "ConstrainedMLPRegressor"]

# Rows taken by sklearn's MLP per minibatch when batch_size="auto".
_AUTO_BATCH_SIZE = 200


def _check_sensitive_features(estimator, X, groups):
    """The group labels of the rows of ``X`` (None without ``head_fairness``)."""
    if estimator.head_fairness is None:
        if groups is not None:
            raise ValueError(
                "sensitive_features is only used with head_fairness; got head_fairness=None."
            )
        return None
    if groups is None:
        raise ValueError(
            f"{type(estimator).__name__} with head_fairness requires sensitive_features "
            "in fit, got None."
        )
    return group_labels(groups, X)[0]


class _BaseConstrainedMLP(BaseEstimator):
    """Shared fitting code; not public. Subclasses define the head's loss and targets."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions({"adam", "sgd"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "layer_constraints": [None, ConvexSet, list, tuple],
        "head_norm": [StrOptions(set(BALLS))],
        "head_radius": [None, Interval(Real, 0, None, closed="neither")],
        "head_solver": [SolverOptions()],
        "head_solve_every": [None, Interval(Integral, 1, None, closed="left")],
        "head_fairness": [None, FairnessConstraint],
    }

    # -- helpers ---------------------------------------------------------

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if len(sizes) == 0 or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a positive integer or a non-empty sequence of "
                f"positive integers, got {self.hidden_layer_sizes!r}"
            )
        return [int(s) for s in sizes]

    def _layer_sets(self, layer_shapes) -> list:
        # One deep copy per layer: the user's sets are never shared or modified.
        sets = check_layer_constraints(self.layer_constraints, layer_shapes)
        return [copy.deepcopy(S) for S in sets]

    def _make_head(self, loss: str, sensitive_features=None) -> NormBoundedHead | FairHead:
        constraint = make_ball(self.head_norm, self.head_radius)
        if self.head_fairness is not None:
            # the groups of the training rows are bound to the head: train() needs no change
            return FairHead(loss, self.head_fairness, constraint, fit_intercept=True,
                            solver=self.head_solver, sensitive_features=sensitive_features)
        return NormBoundedHead(loss, constraint, fit_intercept=True, solver=self.head_solver)

    def _make_optimizer(self):
        if self.solver == "sgd":
            return SGD(self.learning_rate_init, self.momentum, self.nesterovs_momentum)
        return Adam(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)

    def _scores(self, X, coefs=None, intercepts=None, head_coef=None, head_intercept=None):
        """Head scores ``z = Φ(X) W + b`` of shape (n_samples, K)."""
        coefs = self.coefs_ if coefs is None else coefs
        intercepts = self.intercepts_ if intercepts is None else intercepts
        head_coef = self.head_coef_ if head_coef is None else head_coef
        head_intercept = self.head_intercept_ if head_intercept is None else head_intercept
        features = forward(X, coefs, intercepts, self.activation)[-1]
        return features @ head_coef + head_intercept

    def _fit_network(self, X, y_head, head_loss, val_metric, stratify=None, groups=None,
                     sample_weight=None):
        """Run :func:`cvxdual.training.train` and set the fitted attributes."""
        groups = _check_sensitive_features(self, X, groups)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        hidden = self._hidden_sizes()
        rng = check_random_state(self.random_state)
        sizes = [X.shape[1], *hidden]
        coefs, intercepts = init_params(sizes, self.activation, rng)
        sets = self._layer_sets([W.shape for W in coefs])
        validation_score = None
        # Row-aligned extras (groups, weights) follow their rows into the split.
        extras = {"groups": groups, "sample_weight": sample_weight}
        given = [key for key, value in extras.items() if value is not None]
        X_train, y_train = X, y_head
        if self.early_stopping:
            X_train, X_val, y_train, y_val, *split = train_test_split(
                X,
                y_head,
                *(extras[key] for key in given),
                random_state=rng,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            extras.update({key: split[2 * i] for i, key in enumerate(given)})
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small: increase validation_fraction "
                    f"(got {self.validation_fraction}) or the number of samples."
                )

            def validation_score(coefs, intercepts, solution):
                z = self._scores(X_val, coefs, intercepts, solution.coef, solution.intercept)
                return val_metric(y_val, z)

        head = self._make_head(head_loss, extras["groups"])
        n_train = X_train.shape[0]
        batch_size = (
            min(_AUTO_BATCH_SIZE, n_train) if self.batch_size == "auto" else self.batch_size
        )
        result = train(
            X_train,
            y_train,
            coefs,
            intercepts,
            head,
            activation=self.activation,
            optimizer=self._make_optimizer(),
            layer_constraints=sets,
            batch_size=batch_size,
            max_iter=self.max_iter,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            shuffle=self.shuffle,
            random_state=rng,
            head_solve_every=self.head_solve_every,
            sample_weight=extras["sample_weight"],
            validation_score=validation_score,
            verbose=bool(self.verbose),
        )
        solution = result.head_solution
        if str(getattr(solution, "method", "")).startswith("merged-margin"):
            warnings.warn(
                f"lipschitz_margin={self.lipschitz_margin!r} merges every class: the optimal "
                "head is constant (head_coef_ = 0, the scores are the log class shares), so "
                "the hidden layers get no gradient from it. Certified margins this large "
                "are out of reach of these features; lower lipschitz_margin.",
                UserWarning,
                stacklevel=5,  # _fit_network <- fit <- thread limit <- _fit_context <- caller
            )
        self.coefs_ = result.coefs
        self.intercepts_ = result.intercepts
        self.head_coef_ = np.asarray(solution.coef, dtype=float).copy()
        self.head_intercept_ = np.asarray(solution.intercept, dtype=float).copy()
        self.layer_constraints_ = sets
        self.loss_curve_ = result.loss_curve
        self.dual_history_ = result.dual_history
        self.n_iter_ = result.n_iter
        self.t_ = result.t
        self.best_epoch_ = result.best_epoch
        # What each constrained layer's returned weights are the projection of;
        # cvxdual.verify.verify_estimator re-solves those projections.
        self._projection_points_ = result.projection_points
        record = result.dual_history[result.best_epoch - 1]
        self.duals_ = {
            "head": copy.deepcopy(record["head"]["duals"]),
            "layers": {i: copy.deepcopy(r["duals"]) for i, r in record["layers"].items()},
        }
        self.objective_ = float(solution.objective)
        self.validation_scores_ = result.validation_scores
        self.best_validation_score_ = (
            max(result.validation_scores) if result.validation_scores else None
        )
        self.n_layers_ = len(hidden) + 2
        self.n_outputs_ = self.head_coef_.shape[1]
        self.lipschitz_bound_ = lipschitz_bound(self.coefs_, self.activation)
        return self


_SHARED_PARAMS_DOC = """
    hidden_layer_sizes : array-like of shape (n_layers,) or int, default=(100,)
        Sizes of the hidden layers.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Hidden-layer activation.
    solver : {"adam", "sgd"}, default="adam"
        Optimizer of the hidden parameters.
    learning_rate_init : float, default=0.001
        Step size of the optimizer.
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``. Values above the
        number of training rows are clipped.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Initial weights, validation split and shuffling.
    tol : float, default=1e-4
        Minimum improvement of the head objective (or, with early stopping,
        of the validation score) for an epoch to count as an improvement.
    verbose : bool or int, default=False
        Print one line per epoch: head objective, largest dual (and its block),
        the epoch's time, time elapsed and an estimate of the time remaining
        (mean epoch time × epochs left until ``max_iter``).
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``solver="sgd"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when the validation
        score stops improving and return the best epoch's model.
    validation_fraction : float, default=0.1
        Held-out fraction with ``early_stopping``.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters.
    n_iter_no_change : int, default=10
        Stop after more than this many epochs without an improvement of ``tol``.
    layer_constraints : ConvexSet, list of (ConvexSet or None), or None, default=None
        Convex set of each hidden weight matrix (shape ``(n_in, n_out)``): one
        set for every layer, or one set or None per layer. Deep-copied, never
        modified. Weights are projected onto their sets after every step.
    head_norm : {"l2", "l1", "linf"}, default="l2"
        Norm of the head's bound ``‖W‖ ≤ head_radius`` (Frobenius, entrywise
        ℓ1 or entrywise max).
    head_solver : str, default="auto"
        ``solver`` of :class:`cvxdual.heads.NormBoundedHead`. With ``"auto"``
        a head solve the fast solver cannot certify is re-solved by CVXPY, and
        CVXPY (``"auto"`` or ``"cvxpy"``) tries the installed solvers in turn;
        ``"fast"`` or an installed CVXPY solver's name (e.g. ``"CLARABEL"``, any
        case) is used alone; other values are rejected when ``fit`` starts.
        If no attempt is optimal, ``fit`` raises :class:`cvxdual.SolverError`
        naming the epoch.
    head_solve_every : int or None, default=None
        Besides the end of every epoch, also re-solve the head on all training
        rows every this many optimizer steps.
    head_fairness : DemographicParity, EqualOpportunity, BoundedGroupLoss or None, \
default=None
        A group-fairness constraint on the head's scores (see
        :mod:`cvxdual.fairness`), met exactly by every head solve on the
        training rows; ``fit`` then needs ``sensitive_features``. Its duals
        (``"upper"``, ``"lower"`` or ``"group_loss"``) join the head's in
        ``duals_`` and ``dual_history_``, and they reach the hidden layers
        through the head's sample duals."""

_SHARED_ATTRIBUTES_DOC = """
    coefs_ : list of ndarray
        Hidden weights; ``coefs_[i]`` has shape ``(n_in, n_out)``.
    intercepts_ : list of ndarray
        Hidden intercepts; ``intercepts_[i]`` has shape ``(n_out,)``.
    head_coef_ : ndarray of shape (n_hidden_last, n_outputs)
        Head weights, the exact solution of the head problem on the final
        features (same orientation as ``coefs_``).
    head_intercept_ : ndarray of shape (n_outputs,)
        Head intercepts.
    objective_ : float
        Optimal value of the head problem for the returned model.
    duals_ : dict
        ``{"head": {key: λ}, "layers": {i: {key: dual}}}``: the duals of the
        returned model (last epoch, or best epoch with early stopping); head
        keys as :class:`cvxdual.sets.L2Ball` etc. (``{}`` for an unbounded
        head), layer keys as the layer's set.
    dual_history_ : list of dict
        One record per epoch; format in :mod:`cvxdual.training` (use
        :func:`cvxdual.report.dual_history_table` for a long table).
    loss_curve_ : list of float
        Head objective ``p*(Φ)`` after each epoch.
    layer_constraints_ : list of (ConvexSet or None)
        The (copied) set of each hidden layer.
    n_iter_ : int
        Number of epochs run.
    t_ : int
        Number of optimizer steps.
    best_epoch_ : int
        The epoch whose model is returned.
    validation_scores_ : list of float or None
        Validation scores with ``early_stopping``.
    best_validation_score_ : float or None
        Best validation score with ``early_stopping``.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names.
    n_layers_ : int
        Number of layers (input, hidden and output).
    n_outputs_ : int
        Number of head outputs ``K``."""

_LIPSCHITZ_ATTRIBUTE_DOC = """
    lipschitz_bound_ : float
        Upper bound on the ℓ2 Lipschitz constant of {what}: the product of
        the exact spectral norms ``np.linalg.norm(W, 2)`` of {which} times the
        activation's Lipschitz constant per hidden layer (1 for relu, tanh and
        identity, 1/4 for logistic)."""


class ConstrainedMLPClassifier(ScoresClassifierMixin, _BaseConstrainedMLP):
    __doc__ = f"""Multilayer perceptron classifier: constrained hidden layers, exact convex head.

    The head is the exact solution of ``min (1/n) Σ ℓ(Φ_i W + b, y_i)`` s.t.
    ``‖W‖ ≤ head_radius`` on the current hidden features ``Φ``; the hidden
    layers are trained by backpropagating the solver's per-sample duals (the
    envelope-theorem gradient of the optimal head objective) and are projected
    onto ``layer_constraints`` after every step. See :mod:`cvxdual.training`.

    Parameters
    ----------{_SHARED_PARAMS_DOC}
    head_radius : float or None, default=10.0
        Bound of the head's weights; None for an unbounded head (whose problem
        has no minimiser when the classes are separable). Hidden features
        usually separate the training classes, so the bound binds; a very
        large one (hundreds) leaves nearly flat head problems whose exact
        solves are slower (digits, epoch 0: 0.1 s at 5, 1 s at 200).
    head_loss : {{"log_loss", "squared_hinge"}}, default="log_loss"
        Head loss: logistic (binary) or multinomial (multiclass) log-loss, or
        the squared hinge (binary targets only). The plain hinge is not offered:
        it is not differentiable, so its optimal value has no envelope gradient
        to train the hidden layers with.
    lipschitz_margin : float, default=0.0
        Target certified ℓ2 radius ``ε`` (in input units) of Lipschitz-margin
        training (Tsuzuku et al., 2018): the head's log-loss adds
        ``ε L ‖w_y − w_j‖₂`` to every non-target score ``j`` before the
        softmax (binary: ``ε L ‖w‖₂`` to ``−s z``), with ``L`` the product of
        the hidden layers' spectral-norm *bounds* (their sets' radii) times
        the activation constants, a constant, so the head stays an exact
        convex problem (:class:`cvxdual.heads._margin.LipschitzMarginHead`).
        A sample with zero margin loss is certified at radius ``ε`` (see
        :meth:`certified_radius`). Larger ``ε`` trades clean accuracy for
        certified accuracy at radii near ``ε``; too large an ``ε`` collapses
        the head (all columns equal: the constant head of the class shares,
        recognised at once with an exact certificate; ``fit`` warns). Needs
        ``head_loss="log_loss"`` and every hidden layer in a set with a known spectral bound (a
        :class:`~cvxdual.sets.SpectralBall`; an ``L2Ball``, ``NuclearBall``,
        ``L1Ball``, ``MaxNorm``, ``LinfBall`` or an ``Intersection`` holding
        one also bound it, more loosely). 0 trains the plain head.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.{_SHARED_ATTRIBUTES_DOC}{_LIPSCHITZ_ATTRIBUTE_DOC.format(
        what="the hidden map ``X ↦ Φ``", which="the hidden weights")}

    See Also
    --------
    ConstrainedMLPRegressor : The regression counterpart.
    sklearn.neural_network.MLPClassifier : Unconstrained network, trained end to end.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from cvxdual import ConstrainedMLPClassifier
    >>> from cvxdual.sets import SpectralBall
    >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    >>> clf = ConstrainedMLPClassifier((8,), layer_constraints=SpectralBall(1.0),
    ...                                head_radius=5.0, max_iter=20, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> bool(clf.score(X, y) > 0.8), len(clf.dual_history_) == clf.n_iter_
    (True, True)
    >>> bool(np.linalg.norm(clf.coefs_[0], 2) <= 1.0 + 1e-8)
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseConstrainedMLP._parameter_constraints,
        "head_loss": [StrOptions({"log_loss", "squared_hinge"})],
        "lipschitz_margin": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        learning_rate_init=0.001,
        batch_size="auto",
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        layer_constraints=None,
        head_norm="l2",
        head_radius=10.0,
        head_loss="log_loss",
        head_solver="auto",
        head_solve_every=None,
        head_fairness=None,
        lipschitz_margin=0.0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.layer_constraints = layer_constraints
        self.head_norm = head_norm
        self.head_radius = head_radius
        self.head_loss = head_loss
        self.head_solver = head_solver
        self.head_solve_every = head_solve_every
        self.head_fairness = head_fairness
        self.lipschitz_margin = lipschitz_margin

    @_fit_context(prefer_skip_nested_validation=True)
    @limit_competing_blas
    def fit(self, X, y, sample_weight=None, *, sensitive_features=None):
        """Fit the network to ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: the head objective is their normalised
            weighted mean of the loss (so its duals, which train the hidden
            layers, carry the weights). The validation score of
            ``early_stopping`` is unweighted.
        sensitive_features : array-like of shape (n_samples,) or (n_samples, m), default=None
            The group of every sample; required with ``head_fairness``.

        Returns
        -------
        self : ConstrainedMLPClassifier
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                "ConstrainedMLPClassifier needs samples of at least 2 classes in the data, "
                f"but the data contains only one class: {self.classes_[0]!r}"
            )
        if self.head_loss == "log_loss":
            loss = "log_loss" if n_classes == 2 else "multinomial"
        else:
            if n_classes > 2:
                raise ValueError(
                    f"head_loss={self.head_loss!r} supports binary targets only, got "
                    f"{n_classes} classes; use head_loss='log_loss'."
                )
            loss = self.head_loss
        y_head = np.where(y_index == 1, 1.0, -1.0) if n_classes == 2 else y_index

        def accuracy(y_val, z):
            return accuracy_score(y_val, self._labels_from_scores(z))

        # Stratify on the user's labels (the split is the same as on their codes,
        # and an error about a too small class then names the user's label).
        self._fit_network(X, y_head, loss, accuracy, stratify=y, groups=sensitive_features,
                          sample_weight=sample_weight)
        return self

    def _labels_from_scores(self, z):
        """Encoded labels (±1 for binary, 0..K-1 otherwise) from head scores."""
        if z.shape[1] == 1:
            return np.where(z[:, 0] > 0, 1.0, -1.0)
        return np.argmax(z, axis=1)

    def _decision_scores(self, X):
        """Head scores: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        z = self._scores(X)
        return z[:, 0] if z.shape[1] == 1 else z

    def _has_proba(self):
        return self.head_loss == "log_loss"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags

    def certified_radius(self, X):
        """Return, per row, an ℓ2 radius within which the prediction provably cannot change.

        With ``L = lipschitz_bound_`` (exact spectral norms of the hidden
        weights), head columns ``w`` and scores ``z``: ``min_{j≠ŷ} (z_ŷ − z_j) /
        (L ‖w_ŷ − w_j‖₂)`` for a multiclass head (tighter than the
        ``√2 L ‖W‖₂`` margin rule), ``|z| / (L ‖w‖₂)`` for a binary one. Every
        ``X + δ`` with ``‖δ‖₂ <`` this radius gets the prediction of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        radius : ndarray of shape (n_samples,)
            0 for a tie between the top scores; ``inf`` when no class can
            overtake the prediction (e.g. all hidden weights zero).

        See Also
        --------
        cvxdual.verify.certified_accuracy : Accuracy counting only certified rows.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import make_blobs
        >>> from cvxdual import ConstrainedMLPClassifier
        >>> from cvxdual.sets import SpectralBall
        >>> X, y = make_blobs(n_samples=60, centers=3, random_state=0)
        >>> clf = ConstrainedMLPClassifier((8,), layer_constraints=SpectralBall(1.0),
        ...                                max_iter=30, random_state=0).fit(X, y)
        >>> radius = clf.certified_radius(X)
        >>> radius.shape, bool(np.all(radius >= 0))
        ((60,), True)
        >>> bool(np.isclose(clf.lipschitz_bound_, np.linalg.norm(clf.coefs_[0], 2)))
        True
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        z = self._scores(X)  # (n_samples, K), K = 1 for a binary head
        return certified_radius_from_scores(z, self.head_coef_, self.lipschitz_bound_)

    def _make_head(self, loss, sensitive_features=None):
        head = super()._make_head(loss, sensitive_features)
        if not self.lipschitz_margin:
            return head
        if self.head_fairness is not None:
            raise ValueError(
                "lipschitz_margin > 0 and head_fairness cannot be combined: the margin head "
                "has no fairness constraints; set one of them to its default"
            )
        if self.head_loss != "log_loss":
            raise ValueError(
                f"lipschitz_margin > 0 needs head_loss='log_loss', got {self.head_loss!r}"
            )
        sizes = [self.n_features_in_, *self._hidden_sizes()]
        shapes = list(itertools.pairwise(sizes))
        bound = 1.0
        for i, (S, shape) in enumerate(zip(self._layer_sets(shapes), shapes, strict=True)):
            layer = spectral_norm_bound(S, shape)
            if layer is None:
                raise ValueError(
                    f"lipschitz_margin > 0 needs a spectral-norm bound on every hidden layer, "
                    f"but layer_constraints[{i}] is {S!r}: constrain it with a SpectralBall "
                    "(or an L2Ball, NuclearBall, L1Ball, MaxNorm, LinfBall, or an "
                    "Intersection holding one)."
                )
            bound *= ACTIVATION_LIPSCHITZ[self.activation] * layer
        return LipschitzMarginHead(
            loss, self.lipschitz_margin * bound, head.constraint, solver=self.head_solver
        )


class ConstrainedMLPRegressor(RegressorMixin, _BaseConstrainedMLP):
    __doc__ = f"""Multilayer perceptron regressor: constrained hidden layers, exact convex head.

    The head is the exact least-squares solution ``min (1/n) Σ ½‖Φ_i W + b − y_i‖²``
    s.t. ``‖W‖ ≤ head_radius`` on the current hidden features ``Φ``; the hidden
    layers are trained by backpropagating the solver's per-sample duals and are
    projected onto ``layer_constraints`` after every step. See
    :mod:`cvxdual.training`.

    Parameters
    ----------{_SHARED_PARAMS_DOC}
    head_radius : float or None, default=None
        Bound of the head's weights; None for an unbounded head.

    Attributes
    ----------{_SHARED_ATTRIBUTES_DOC}{_LIPSCHITZ_ATTRIBUTE_DOC.format(
        what="the whole network ``X ↦ ŷ``", which="the hidden weights and ``head_coef_``")}

    See Also
    --------
    ConstrainedMLPClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : Unconstrained network, trained end to end.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_regression
    >>> from cvxdual import ConstrainedMLPRegressor
    >>> from cvxdual.sets import MaxNorm
    >>> X, y = make_regression(n_samples=60, n_features=3, noise=0.1, random_state=0)
    >>> reg = ConstrainedMLPRegressor((16,), layer_constraints=MaxNorm(2.0),
    ...                               max_iter=20, random_state=0).fit(X, y / 100)
    >>> bool(reg.score(X, y / 100) > 0.8)
    True
    >>> bool(np.linalg.norm(reg.coefs_[0], axis=0).max() <= 2.0 + 1e-8)
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        learning_rate_init=0.001,
        batch_size="auto",
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        layer_constraints=None,
        head_norm="l2",
        head_radius=None,
        head_solver="auto",
        head_solve_every=None,
        head_fairness=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.layer_constraints = layer_constraints
        self.head_norm = head_norm
        self.head_radius = head_radius
        self.head_solver = head_solver
        self.head_solve_every = head_solve_every
        self.head_fairness = head_fairness

    @_fit_context(prefer_skip_nested_validation=True)
    @limit_competing_blas
    def fit(self, X, y, sample_weight=None, *, sensitive_features=None):
        """Fit the network to ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: the head objective is their normalised
            weighted mean of the loss. The validation score of
            ``early_stopping`` is unweighted.
        sensitive_features : array-like of shape (n_samples,) or (n_samples, m), default=None
            The group of every sample; required with ``head_fairness``.

        Returns
        -------
        self : ConstrainedMLPRegressor
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        self._y_ndim = y.ndim

        def r2(y_val, z):
            return r2_score(y_val, z[:, 0] if y_val.ndim == 1 else z)

        self._fit_network(X, y, "squared", r2, groups=sensitive_features,
                          sample_weight=sample_weight)
        self.lipschitz_bound_ *= float(np.linalg.norm(self.head_coef_, 2))
        return self

    def predict(self, X):
        """Return the predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions; 1-D when fitted on 1-D targets.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        z = self._scores(X)
        return z[:, 0] if self._y_ndim == 1 else z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
