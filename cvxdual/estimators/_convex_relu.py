"""Exact two-layer ReLU networks through their convex program (scikit-learn API)."""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._threads import limit_competing_blas
from ..convex_relu import (
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    ConvexReLUProgram,
    network_objective,
    prune_network,
    recover_network,
    solve_convex_relu,
)
from ..convex_relu._common import _augment, _get_loss
from ..convex_relu._patterns import _default_patterns
from ..convex_relu._solve import _check_method, _resolve_auto
from ._base import ScoresClassifierMixin

__all__ = ["ConvexReLUClassifier", "ConvexReLURegressor"]


def _fit_one(X, y, alpha, patterns, loss, est, program, method):
    """Solve one convex program by ``method`` ("fast" or "cvxpy", ``est.solver``
    resolved); return (solution, program).

    With ``solver="auto"``, a fast solve whose certificate does not close is
    followed by the definition (CVXPY).
    """
    common = dict(loss=loss, fit_intercept=est.fit_intercept, max_iter=est.max_iter, tol=est.tol,
                  verbose=bool(est.verbose))
    if method == "fast":
        if est.solver != "auto":
            return solve_convex_relu(X, y, alpha, patterns, method="fast", **common), program
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sol = solve_convex_relu(X, y, alpha, patterns, method="fast", **common)
        if sol.converged:
            return sol, program
    if program is None:
        program = ConvexReLUProgram(X, patterns, loss=loss, fit_intercept=est.fit_intercept)
    return solve_convex_relu(X, y, alpha, patterns, method="cvxpy", program=program,
                             **common), program


def _report_stage(stage, n_stages, what, sol, start, fit_start):
    """``verbose`` line of one convex program solved (one per one-vs-rest class)."""
    now = time.perf_counter()
    elapsed = now - fit_start
    cone = max(float(np.max(np.abs(sol.duals[k]), initial=0.0)) for k in ("cone_v", "cone_w"))
    print(
        f"Program {stage}/{n_stages}{what}: {sol.method}, objective = {sol.objective:.8g}, "
        f"relative gap = {sol.relative_gap:.2e}, largest dual = {cone:.4g} (cone), "
        f"max |nu| = {float(np.max(np.abs(sol.duals['sample_duals']))):.4g}, "
        f"time = {now - start:.3f}s, elapsed = {elapsed:.1f}s, "
        f"remaining ~ {elapsed / stage * (n_stages - stage):.1f}s",
        flush=True,
    )


def _path_program(est, X, loss):
    """The compiled program a previous fit of a :func:`cvxdual.report.dual_path` left.

    Along a grid of ``alpha`` the data and patterns stay the same, and
    ``alpha`` is a parameter of the program: it is re-solved, not rebuilt.
    """
    state = getattr(est, "_path_state", None)
    key, program = (None, None) if state is None else state.get("program", (None, None))
    if (
        program is None
        or key != (str(getattr(loss, "name", loss)), est.fit_intercept)
        or program.X.shape != X.shape
        or not np.array_equal(program.X, X)
        or not np.array_equal(program.patterns, est.patterns_)
    ):
        return None
    return program


def _keep_program(est, program, loss):
    state = getattr(est, "_path_state", None)
    if state is not None and program is not None:
        state["program"] = ((str(getattr(loss, "name", loss)), est.fit_intercept), program)


def _network(X, sol, fit_intercept):
    """Balanced network of a solution, pruned to at most n_samples + 1 neurons."""
    U, a = recover_network(sol.v, sol.w)
    if U.shape[1] > X.shape[0] + 1:
        U, a = prune_network(X, U, a, fit_intercept=fit_intercept)
    return U, a


class _BaseConvexReLU(BaseEstimator):
    _parameter_constraints: ClassVar[dict] = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "n_patterns": [Interval(Integral, 1, None, closed="left")],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"auto", "fast", "cvxpy", "fista"}, deprecated={"fista"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        alpha=1e-3,
        *,
        n_patterns=100,
        fit_intercept=True,
        solver="auto",
        max_iter=DEFAULT_MAX_ITER,
        tol=DEFAULT_TOL,
        random_state=None,
        verbose=False,
    ):
        self.alpha = alpha
        self.n_patterns = n_patterns
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def _method(self, X):
        """``self.solver`` resolved for the patterns of ``X``: "fast" or "cvxpy"."""
        method = _check_method(self.solver, name="solver", stacklevel=3)
        return _resolve_auto(method, X.shape[0], self.patterns_.shape[1])

    def _patterns(self, X):
        patterns, complete = _default_patterns(X, self.n_patterns, self.fit_intercept,
                                               self.random_state)
        if patterns.shape[1] == 0:
            # every sampled gate was off everywhere: the all-on pattern keeps the
            # program meaningful (it always exists when X̃ has a nonzero row).
            patterns = np.ones((X.shape[0], 1), dtype=bool)
            complete = False
        self.patterns_ = patterns
        self.patterns_complete_ = complete

    def _hidden(self, X):
        return np.maximum(_augment(X, self.fit_intercept) @ self.hidden_weights_, 0.0)


class ConvexReLURegressor(RegressorMixin, _BaseConvexReLU):
    """Two-layer ReLU regression network trained to global optimality (convex program).

    Fits ``ŷ = (X̃ U)₊ a`` minimising
    ``(1/(2n))‖ŷ − y‖² + (alpha/2)(‖U‖²_F + ‖a‖²)`` through the equivalent convex
    program over activation patterns (:mod:`cvxdual.convex_relu`). The
    network is exactly optimal among networks whose neurons use the patterns in
    ``patterns_``; when ``patterns_complete_`` the patterns are all those the
    data admit and the network is globally optimal among two-layer ReLU
    networks of any width (certified by ``lower_bound_``).

    Parameters
    ----------
    alpha : float, default=1e-3
        Weight decay, > 0.
    n_patterns : int, default=100
        Number of Gaussian gates sampled for the patterns (duplicates and the
        all-zero pattern are dropped). When every pattern fits in this budget
        and :func:`~cvxdual.convex_relu.enumerate_patterns` can list them
        (``rank(X̃) ≤ 3``, or small n), all patterns are enumerated instead.
    fit_intercept : bool, default=True
        Hidden-layer biases (last row of ``hidden_weights_``). No output bias.
    solver : {"auto", "fast", "cvxpy"}, default="auto"
        ``"cvxpy"``: the CVXPY definition (:class:`~cvxdual.convex_relu.ConvexReLUProgram`).
        ``"fast"``: the fast solver of :func:`~cvxdual.convex_relu.solve_convex_relu`,
        warning with ``ConvergenceWarning`` when its certified gap does not
        reach ``tol`` within ``max_iter``. ``"auto"``: ``"fast"``, falling back
        to ``"cvxpy"`` when the fast solver's certificate does not close; for
        small problems (``n_samples * n_patterns ≤ 1_000``) ``"auto"`` uses
        ``"cvxpy"`` directly, which is as fast there. ``"fista"`` is a
        deprecated alias of ``"fast"``.
    max_iter : int, default=5000
        Iteration budget of the fast solver.
    tol : float, default=1e-5
        Certified relative duality gap at which the fast solver stops (it
        bounds the relative suboptimality).
    random_state : int, RandomState instance or None, default=None
        Seeds the pattern sampling.
    verbose : bool or int, default=False
        Print the solver's progress (``solve_convex_relu(verbose=True)``) and
        one line per convex program solved: method, objective, certified
        relative gap, largest dual, time, time elapsed and remaining.

    Attributes
    ----------
    hidden_weights_ : ndarray of shape (n_features_in_ + 1, n_neurons_)
        ``U``, bias row last (``(n_features_in_, n_neurons_)`` without intercept).
    output_weights_ : ndarray of shape (n_neurons_,)
        ``a``; the network is balanced, ``|a_j| = ‖u_j‖``.
    objective_ : float
        Nonconvex objective of the returned network on the training data.
    lower_bound_ : float
        Certified lower bound on the objective of every network whose neurons'
        patterns are in ``patterns_`` (every network when ``patterns_complete_``).
    patterns_ : ndarray of bool, shape (n_samples, n_patterns_used)
    patterns_complete_ : bool
        Whether ``patterns_`` holds every activation pattern of the data.
    n_neurons_ : int
    duals_ : dict
        ``"sample_duals"`` (n_samples,): ν = (1/n)(ŷ − y), the dual of the
        prediction constraint; ``"cone_v"``, ``"cone_w"`` (n_samples, P):
        multipliers of ``(2D_i − I)X̃v_i ≥ 0`` / ``… w_i ≥ 0`` (CVXPY's dual values
        with ``solver="cvxpy"``, otherwise the certificate's multipliers, see
        :func:`~cvxdual.convex_relu.solve_convex_relu`);
        ``"dual_scale"``: the factor t of the certified dual point t ν.
    solver_ : str
        ``"cvxpy"`` or ``"fast"``: which method produced the fit.
    n_iter_ : int
        Iterations of the fast solver (1 for a CVXPY solve).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string feature names.

    See Also
    --------
    ConvexReLUClassifier : the classification counterpart.
    cvxdual.convex_relu.certify : certificate for any two-layer ReLU network.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.estimators._convex_relu import ConvexReLURegressor
    >>> X = np.linspace(-1, 1, 20)[:, None]
    >>> y = np.abs(X).ravel()
    >>> reg = ConvexReLURegressor(alpha=1e-3, random_state=0).fit(X, y)
    >>> reg.patterns_complete_, bool(reg.objective_ - reg.lower_bound_ < 1e-6)
    (True, True)
    >>> round(float(reg.score(X, y)), 3)
    1.0
    """

    @limit_competing_blas
    def fit(self, X, y):
        """Fit the network; returns ``self``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        """
        self._validate_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        self._patterns(X)
        start = time.perf_counter()
        program = _path_program(self, X, "squared")
        sol, program = _fit_one(X, y, self.alpha, self.patterns_, "squared", self, program,
                                self._method(X))
        _keep_program(self, program, "squared")
        if self.verbose:
            _report_stage(1, 1, "", sol, start, start)
        U, a = _network(X, sol, self.fit_intercept)
        self.hidden_weights_, self.output_weights_ = U, a
        self.objective_ = network_objective(X, y, U, a, self.alpha,
                                            fit_intercept=self.fit_intercept)
        self.lower_bound_ = sol.lower_bound
        self.n_neurons_ = U.shape[1]
        self.duals_ = dict(sol.duals)
        self.solver_ = sol.method
        self.n_iter_ = max(int(sol.n_iter), 1)
        return self

    def predict(self, X):
        """Return ``(X̃ U)₊ a``, shape (n_samples,)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._hidden(X) @ self.output_weights_


class ConvexReLUClassifier(ScoresClassifierMixin, _BaseConvexReLU):
    """Two-layer ReLU classifier trained to global optimality (convex program).

    Binary: the network score ``z = (X̃ U)₊ a`` minimises
    ``(1/n) Σ ℓ(z_k, s_k) + (alpha/2)(‖U‖²_F + ‖a‖²)`` with ``s_k = ±1`` and a
    convex classification loss ℓ, through the equivalent convex program. More
    classes: one network per class (one-vs-rest) sharing ``patterns_``.

    Parameters
    ----------
    alpha : float, default=1e-3
        Weight decay, > 0.
    loss : {"squared_hinge", "log_loss"}, default="squared_hinge"
        ``max(0, 1 − s z)²`` or ``log(1 + exp(−s z))``. ``predict_proba``
        exists only for ``"log_loss"``. ``"logistic"`` is a deprecated alias
        of ``"log_loss"`` (``FutureWarning``).
    n_patterns : int, default=100
        See :class:`ConvexReLURegressor`.
    fit_intercept : bool, default=True
    solver : {"auto", "fast", "cvxpy"}, default="auto"
        See :class:`ConvexReLURegressor`.
    max_iter : int, default=5000
    tol : float, default=1e-5
    random_state : int, RandomState instance or None, default=None
    verbose : bool or int, default=False
        See :class:`ConvexReLURegressor`; one line per one-vs-rest program.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    hidden_weights_ : ndarray of shape (n_features_in_ + 1, n_neurons_)
        Bias row last; for more than two classes the neurons of all
        one-vs-rest networks side by side.
    output_weights_ : ndarray of shape (n_neurons_,) or (n_neurons_, n_classes)
        Binary: ``a``. More classes: column k holds the output weights of
        class k's network (zero for the other classes' neurons).
    objective_ : float
        Objective of the returned network(s) on the training data (the sum
        over one-vs-rest problems).
    lower_bound_ : float
        Certified lower bound on ``objective_``'s optimum over networks whose
        neurons' patterns are in ``patterns_`` (sum over classes).
    patterns_ : ndarray of bool, shape (n_samples, n_patterns_used)
    patterns_complete_ : bool
    n_neurons_ : int
    duals_ : dict
        As :class:`ConvexReLURegressor`'s with ν = (1/n) ℓ'(z, s); for more
        than two classes each entry gets a trailing class axis.
    solver_ : str
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    ConvexReLURegressor

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.estimators._convex_relu import ConvexReLUClassifier
    >>> X = np.linspace(-1, 1, 20)[:, None]
    >>> y = (np.abs(X).ravel() > 0.5).astype(int)
    >>> clf = ConvexReLUClassifier(alpha=1e-3, random_state=0).fit(X, y)
    >>> float(clf.score(X, y))
    1.0
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseConvexReLU._parameter_constraints,
        "loss": [StrOptions({"squared_hinge", "log_loss", "logistic"}, deprecated={"logistic"})],
    }

    def __init__(
        self,
        alpha=1e-3,
        *,
        loss="squared_hinge",
        n_patterns=100,
        fit_intercept=True,
        solver="auto",
        max_iter=DEFAULT_MAX_ITER,
        tol=DEFAULT_TOL,
        random_state=None,
        verbose=False,
    ):
        super().__init__(alpha, n_patterns=n_patterns, fit_intercept=fit_intercept,
                         solver=solver, max_iter=max_iter, tol=tol, random_state=random_state,
                         verbose=verbose)
        self.loss = loss

    @limit_competing_blas
    def fit(self, X, y):
        """Fit the network(s); returns ``self``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        """
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        enc = LabelEncoder().fit(y)
        self.classes_ = enc.classes_
        if self.classes_.size < 2:
            raise ValueError(
                f"ConvexReLUClassifier needs samples of at least 2 classes in the data, got "
                f"{self.classes_.size} class"
            )
        codes = enc.transform(y)
        self._patterns(X)
        targets = (
            [np.where(codes == 1, 1.0, -1.0)]
            if self.classes_.size == 2
            else [np.where(codes == k, 1.0, -1.0) for k in range(self.classes_.size)]
        )
        loss = _get_loss(self.loss, stacklevel=2)
        method = self._method(X)
        program = _path_program(self, X, loss)
        Us, As, sols = [], [], []
        objective = 0.0
        fit_start = time.perf_counter()
        for k, s in enumerate(targets):
            start = time.perf_counter()
            sol, program = _fit_one(X, s, self.alpha, self.patterns_, loss, self, program, method)
            if self.verbose:
                what = "" if len(targets) == 1 else f" (class {self.classes_[k]} vs rest)"
                _report_stage(k + 1, len(targets), what, sol, start, fit_start)
            U, a = _network(X, sol, self.fit_intercept)
            objective += network_objective(X, s, U, a, self.alpha, loss=loss,
                                           fit_intercept=self.fit_intercept)
            Us.append(U)
            As.append(a)
            sols.append(sol)
        _keep_program(self, program, loss)
        self.hidden_weights_ = np.hstack(Us)
        if len(targets) == 1:
            self.output_weights_ = As[0]
            self.duals_ = dict(sols[0].duals)
        else:
            out = np.zeros((self.hidden_weights_.shape[1], len(targets)))
            start = 0
            for k, a in enumerate(As):
                out[start : start + a.size, k] = a
                start += a.size
            self.output_weights_ = out
            self.duals_ = {
                key: np.stack([np.asarray(s.duals[key]) for s in sols], axis=-1)
                for key in sols[0].duals
            }
        self.objective_ = objective
        self.lower_bound_ = float(sum(s.lower_bound for s in sols))
        self.n_neurons_ = self.hidden_weights_.shape[1]
        self.solver_ = "cvxpy" if any(s.method == "cvxpy" for s in sols) else "fast"
        self.n_iter_ = max(max(int(s.n_iter) for s in sols), 1)
        return self

    def decision_function(self, X):
        """Network scores: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._hidden(X) @ self.output_weights_

    _multiclass_proba = "ovr"

    def _has_proba(self):
        return self.loss in ("log_loss", "logistic")
