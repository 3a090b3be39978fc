r"""Checks that make cvxdual's numbers auditable.

* :func:`projection_kkt` measures each KKT condition of a projection result
  separately (primal feasibility, dual feasibility, complementary slackness,
  stationarity through the Lagrangian, duality gap), for any set, closed form
  or not, following CVXPY's convention that the Lagrangian is
  ``f(W) + Σ_i <y_i, g_i(W)>`` with ``g_i = lhs − rhs``.
* :func:`finite_difference` differentiates any scalar function numerically, to
  check a dual value against the sensitivity of an optimal value (e.g.
  ``d/dr ½‖P_r(V) − V‖² = −λ`` for a norm ball of radius ``r``).
* :func:`compare_with_cvxpy` runs the fast path and the CVXPY definition side by
  side and reports the largest differences.
* :func:`verify_estimator` does all of that for a fitted estimator: it
  re-solves each of its convex subproblems with CVXPY and returns a
  :class:`VerificationReport` that prints as a table.
* :func:`certified_accuracy` counts the rows a classifier gets right with a
  certified ℓ2 radius of at least ``eps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kkt import (
    KKTResiduals,
    compare_with_cvxpy,
    finite_difference,
    projection_kkt,
)
from .estimators._base import make_ball
from .projection import ProjectionResult, project

__all__ = [
    "VERIFY_TOLERANCES",
    "KKTResiduals",
    "VerificationCheck",
    "VerificationReport",
    "certified_accuracy",
    "compare_with_cvxpy",
    "finite_difference",
    "projection_kkt",
    "verify_estimator",
]


# ---------------------------------------------------------------------------
# Whole estimators

#: Tolerances of :func:`verify_estimator`. Every check's ``error`` is an
#: absolute difference divided by ``max(1, |reference|)`` (the largest entry
#: for arrays), so these are relative for large numbers and absolute for small.
VERIFY_TOLERANCES = {
    # fitted vs CVXPY weights, intercepts, predictions: both solve to ~1e-8
    "weights": 1e-5,
    # optimal values agree more tightly than the points that attain them
    "objective": 1e-6,
    # multipliers are the least well conditioned output of a solver
    "duals": 1e-4,
    # KKT residuals of the fitted point itself (no second solve involved)
    "kkt": 1e-6,
    # −d p*/d bound by central differences of re-solved optimal values, vs the dual
    "shadow_price": 1e-3,
}

# Relative step of the finite differences along a bound (radius, head_radius).
_FD_STEP = 1e-4
# Relative step along the weight decay of a convex ReLU program: its optimal
# value is re-solved by CVXPY (accurate to ~1e-8), so the step is larger.
_FD_STEP_ALPHA = 1e-2


@dataclass(frozen=True)
class VerificationCheck:
    """One number checked by :func:`verify_estimator`.

    Attributes
    ----------
    subproblem : str
        ``"head"``, ``"layer <i> projection"`` or ``"convex program"``.
    check : str
        What is compared, e.g. ``"objective"``, ``"dual norm"``,
        ``"KKT stationarity"``, ``"shadow price norm"``.
    fitted : float or None
        The estimator's value (None for array comparisons).
    reference : float or None
        CVXPY's value, or the finite difference for a shadow price.
    error : float
        ``|fitted − reference| / max(1, |reference|)`` (largest entry for
        arrays), or the residual itself for KKT conditions.
    tolerance : float
        ``ok`` is ``error <= tolerance``.
    """

    subproblem: str
    check: str
    fitted: float | None
    reference: float | None
    error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """Whether ``error <= tolerance`` (a NaN error is never ok)."""
        return bool(self.error <= self.tolerance)


_REPORT_COLUMNS = ("subproblem", "check", "fitted", "reference", "error", "tolerance", "ok")


@dataclass
class VerificationReport:
    """What :func:`verify_estimator` found; prints as a table.

    Attributes
    ----------
    estimator : str
        The estimator's class name.
    checks : list of VerificationCheck
        One entry per compared number, subproblem by subproblem.

    Examples
    --------
    >>> from cvxdual.verify import VerificationCheck, VerificationReport
    >>> report = VerificationReport("Model", [VerificationCheck("head", "objective", 0.5,
    ...                                                         0.5, 0.0, 1e-6)])
    >>> report.ok, len(report.rows())
    (True, 1)
    """

    estimator: str
    checks: list[VerificationCheck]

    @property
    def ok(self) -> bool:
        """Whether every check is within its tolerance."""
        return all(check.ok for check in self.checks)

    def failures(self) -> list[VerificationCheck]:
        """Return the checks outside their tolerance."""
        return [check for check in self.checks if not check.ok]

    def rows(self) -> list[dict]:
        """Return one dict per check (keys: subproblem, check, fitted, reference,
        error, tolerance, ok)."""
        return [
            {**{key: getattr(c, key) for key in _REPORT_COLUMNS[:-1]}, "ok": c.ok}
            for c in self.checks
        ]

    def to_frame(self):
        """Return :meth:`rows` as a :class:`pandas.DataFrame` (requires pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                'VerificationReport.to_frame requires pandas; install it with pip install '
                '"cvxdual[notebooks]" (or use rows()).'
            ) from exc
        return pd.DataFrame(self.rows(), columns=list(_REPORT_COLUMNS))

    def __str__(self) -> str:
        def number(value):
            return "" if value is None else f"{value:.6g}"

        table = [("subproblem", "check", "fitted", "reference", "error", "tol", "ok")]
        table += [
            (c.subproblem, c.check, number(c.fitted), number(c.reference), f"{c.error:.1e}",
             f"{c.tolerance:.0e}", "yes" if c.ok else "NO")
            for c in self.checks
        ]
        widths = [max(len(row[j]) for row in table) for j in range(len(table[0]))]
        lines = [
            "  ".join(cell.ljust(w) if j < 2 else cell.rjust(w)
                      for j, (cell, w) in enumerate(zip(row, widths, strict=True)))
            for row in table
        ]
        lines.insert(1, "-" * len(lines[0]))
        verdict = "all checks pass" if self.ok else f"{len(self.failures())} check(s) FAIL"
        return "\n".join([f"Verification of {self.estimator}: {verdict}", *lines])

    __repr__ = __str__


def _rel(fitted, reference) -> float:
    fitted, reference = np.asarray(fitted, dtype=float), np.asarray(reference, dtype=float)
    if fitted.shape != reference.shape:
        return np.inf
    if fitted.size == 0:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(reference))))
    return float(np.max(np.abs(fitted - reference)) / scale)


def _scalar(value):
    value = np.asarray(value, dtype=float)
    return float(value) if value.size == 1 else None


class _Checks:
    """Collects the checks of one subproblem."""

    def __init__(self, subproblem: str, out: list):
        self.subproblem, self.out = subproblem, out

    def compare(self, check, fitted, reference, kind, tolerance=None):
        self.out.append(VerificationCheck(
            self.subproblem, check, _scalar(fitted), _scalar(reference),
            _rel(fitted, reference), VERIFY_TOLERANCES[kind] if tolerance is None else tolerance))

    def residual(self, check, value, tolerance=None):
        self.out.append(VerificationCheck(
            self.subproblem, check, None, None, float(value),
            VERIFY_TOLERANCES["kkt"] if tolerance is None else tolerance))

    def shadow_price(self, key, dual, slope):
        """``dual`` against ``−slope``, the finite difference of the optimal value."""
        self.compare(f"shadow price {key}", dual, -slope + 0.0, "shadow_price")


def _check_head(checks: _Checks, *, loss, constraint, fit_intercept, solver, Phi, y,
                sample_weight, coef, intercept, objective, duals, sample_duals, centre):
    """Re-solve a head with CVXPY; compare, check KKT and the bound's shadow price."""
    from .heads import HeadSolution, NormBoundedHead
    from .losses import get_loss

    exact = NormBoundedHead(loss, constraint, fit_intercept=fit_intercept,
                            solver="cvxpy").solve(Phi, y, sample_weight=sample_weight)
    ref_coef, ref_intercept = exact.coef, exact.intercept
    if centre:  # multiclass losses: scores, so weights, are defined up to a common shift
        coef = coef - coef.mean(axis=1, keepdims=True)
        ref_coef = ref_coef - ref_coef.mean(axis=1, keepdims=True)
        intercept = intercept - intercept.mean()
        ref_intercept = ref_intercept - ref_intercept.mean()
    loss_obj = get_loss(loss)
    # A non-smooth loss (hinge) may have many minimisers: weights at the duals' tolerance.
    checks.compare("weights", np.concatenate([coef.ravel(), intercept]),
                   np.concatenate([ref_coef.ravel(), ref_intercept]),
                   "weights" if loss_obj.smooth else "duals")
    checks.compare("objective", objective, exact.objective, "objective")
    for key, value in exact.duals.items():
        checks.compare(f"dual {key}", duals[key], value, "duals")

    Y = loss_obj.encode_targets(y)
    n = Phi.shape[0]
    weights = np.full(n, 1.0 / n) if sample_weight is None else (
        np.asarray(sample_weight, dtype=float) / np.sum(sample_weight))
    z = Phi @ coef + intercept
    if sample_duals is None:  # smooth losses: ν_i = w_i ∂ℓ/∂z_i at the fitted scores
        sample_duals = weights[:, None] * loss_obj.gradient(z, Y)
    elif loss_obj.smooth:
        checks.residual("KKT stationarity (scores)",
                        np.max(np.abs(sample_duals - weights[:, None] * loss_obj.gradient(z, Y))))
    checks.compare("sample duals", sample_duals, exact.sample_duals, "duals")
    if fit_intercept:
        checks.residual("KKT stationarity (intercept)", np.max(np.abs(sample_duals.sum(axis=0))))
    G = Phi.T @ sample_duals  # ∇_W of the loss; stationarity: G + λ ∂‖W‖ ∋ 0
    if constraint is None:
        checks.residual("KKT stationarity (weights)", np.max(np.abs(G)))
        return
    lam = float(duals["norm"])
    norm = constraint.norm(coef)
    checks.residual("KKT primal feasibility", constraint.violation(coef))
    checks.residual("KKT dual feasibility", max(-lam, 0.0))
    checks.residual("KKT complementarity", abs(lam * (norm - constraint.radius)))
    # −G/λ is a subgradient of ‖·‖ at W  ⇔  ‖G‖_* = λ and <G, W> = −λ‖W‖.
    checks.residual("KKT stationarity (weights)",
                    max(abs(constraint.dual_norm(G) - lam), abs(np.sum(G * coef) + lam * norm)))

    # Warm-started from the fitted solution: the perturbed problems are its neighbours.
    fitted = HeadSolution(coef, intercept, float(objective), {"norm": lam}, sample_duals,
                          "optimal", "fitted")

    def optimal_value(radius):
        head = NormBoundedHead(loss, type(constraint)(radius), fit_intercept=fit_intercept,
                               solver=solver)
        return head.solve(Phi, y, sample_weight=sample_weight, warm_start=fitted).objective

    slope = finite_difference(optimal_value, constraint.radius, step=_FD_STEP)
    checks.shadow_price("norm", lam, slope)


def _check_projection(checks: _Checks, S, V, W, duals):
    """Re-solve a layer's last projection with CVXPY; compare, KKT, shadow price."""
    from .sets import Box
    from .sets._base import _NormBall as NormBall

    exact = project(V, S, method="cvxpy")
    checks.compare("weights", W, exact.weights, "weights")
    checks.compare("objective", 0.5 * np.sum((W - V) ** 2),
                   0.5 * np.sum((exact.weights - V) ** 2), "objective")
    for key, value in exact.duals.items():
        checks.compare(f"dual {key}", duals[key], value, "duals")
    try:
        kkt = projection_kkt(V, S, ProjectionResult(W, duals, "optimal", "fitted"))
    except ValueError:  # constraint kinds projection_kkt cannot check (e.g. PSD)
        kkt = None
    if kkt is not None:
        scale = max(1.0, float(np.max(np.abs(V))))
        for name in ("primal_feasibility", "dual_feasibility", "complementary_slackness",
                     "stationarity"):
            checks.residual(f"KKT {name.replace('_', ' ')}", getattr(kkt, name) / scale)

    def value(T):
        return 0.5 * float(np.sum((project(V, T).weights - V) ** 2))

    if isinstance(S, NormBall):  # a shared radius prices all entries: −Σ duals
        slope = finite_difference(lambda r: value(type(S)(r)), S.radius, step=_FD_STEP)
        checks.shadow_price("norm", np.sum(duals["norm"]), slope)
    elif isinstance(S, Box) and np.ndim(S.lower) == 0 and np.ndim(S.upper) == 0:
        lower, upper = float(S.lower), float(S.upper)
        slope = finite_difference(lambda u: value(Box(lower, u)), upper, step=_FD_STEP)
        checks.shadow_price("upper", np.sum(duals["upper"]), slope)
        slope = finite_difference(lambda low: value(Box(low, upper)), lower, step=_FD_STEP)
        checks.shadow_price("lower", np.sum(duals["lower"]), -slope)




def _verify_linear(estimator, X, y, sample_weight, out):
    from .estimators._linear import _CLASSIFIER_LOSSES

    if hasattr(estimator, "classes_"):
        codes = _codes(estimator, y)
        binary = estimator.classes_.size == 2
        loss = _CLASSIFIER_LOSSES[estimator.loss][0 if binary else 1]
        y_head = 2.0 * codes - 1.0 if binary else codes
        coef, centre = estimator.coef_.T, not binary  # multiclass: scores up to a shift
    else:
        loss, y_head = estimator.loss, np.asarray(y, dtype=float)
        coef, centre = np.asarray(estimator.coef_, dtype=float).reshape(-1, X.shape[1]).T, False
    K = coef.shape[1]
    _check_head(
        _Checks("head", out), loss=loss, constraint=make_ball(estimator.norm, estimator.radius),
        fit_intercept=estimator.fit_intercept, solver=estimator.solver, Phi=X, y=y_head,
        sample_weight=sample_weight, coef=coef,
        intercept=np.broadcast_to(np.asarray(estimator.intercept_, dtype=float), (K,)),
        objective=estimator.objective_, duals=estimator.duals_,
        sample_duals=np.asarray(estimator.sample_duals_, dtype=float).reshape(-1, K),
        centre=centre,
    )


def _codes(estimator, y):
    y = np.asarray(y)
    codes = np.searchsorted(estimator.classes_, y)
    codes = np.clip(codes, 0, estimator.classes_.size - 1)
    if not np.all(estimator.classes_[codes] == y):
        unknown = sorted(set(np.asarray(y).tolist()) - set(estimator.classes_.tolist()))
        raise ValueError(f"y contains labels not seen in fit: {unknown!r}")
    return codes.astype(float)


def _verify_network(estimator, X, y, sample_weight, out):
    from . import losses
    from .network import forward

    if hasattr(estimator, "classes_"):
        codes = _codes(estimator, y)
        binary = estimator.classes_.size == 2
        if estimator.head_loss == "log_loss":
            # the Loss objects, whatever the head's name for them
            loss = losses.logistic if binary else losses.multinomial
        else:
            loss = estimator.head_loss
        y_head = 2.0 * codes - 1.0 if binary else codes
    else:
        loss, y_head, binary = "squared", np.asarray(y, dtype=float), True
    Phi = forward(X, estimator.coefs_, estimator.intercepts_, estimator.activation)[-1]
    radius = estimator.head_radius
    _check_head(
        _Checks("head", out), loss=loss,
        constraint=make_ball(estimator.head_norm, radius),
        fit_intercept=True, solver=estimator.head_solver, Phi=Phi, y=y_head,
        sample_weight=sample_weight, coef=estimator.head_coef_,
        intercept=estimator.head_intercept_, objective=estimator.objective_,
        duals=estimator.duals_["head"], sample_duals=None,
        centre=loss is losses.multinomial,
    )
    points = getattr(estimator, "_projection_points_", {})
    for i, S in enumerate(estimator.layer_constraints_):
        if S is None:
            continue
        if i not in points:
            raise ValueError(
                f"{type(estimator).__name__} was fitted without recording the point of layer "
                f"{i}'s last projection (fitted by an older cvxdual?): refit it."
            )
        _check_projection(_Checks(f"layer {i} projection", out), S, points[i],
                          estimator.coefs_[i], estimator.duals_["layers"][i])


def _verify_convex_relu(estimator, X, y, out):
    from .convex_relu import ConvexReLUProgram

    loss = getattr(estimator, "loss", "squared")
    if hasattr(estimator, "classes_"):
        codes = _codes(estimator, y)
        classes = range(1, 2) if estimator.classes_.size == 2 else range(estimator.classes_.size)
        targets = [np.where(codes == k, 1.0, -1.0) for k in classes]
        scores = estimator.decision_function(X)
    else:
        targets, scores = [np.asarray(y, dtype=float)], estimator.predict(X)
    program = ConvexReLUProgram(X, estimator.patterns_, loss=loss,
                                fit_intercept=estimator.fit_intercept)
    mask = estimator.patterns_.astype(float)
    alpha = float(estimator.alpha)
    solutions = [program.solve(s, alpha) for s in targets]
    optimum = sum(sol.objective for sol in solutions)
    z = np.column_stack([np.sum(mask * (program.Xt @ (sol.v - sol.w)), axis=1)
                         for sol in solutions])
    checks = _Checks("convex program", out)
    # The fast solver stops at a certified relative gap of `tol`: the objective is
    # within tol of the optimum, and the (strongly convex in z) loss puts the
    # predictions within about sqrt(tol) of CVXPY's.
    tol = float(estimator.tol) if estimator.solver_ != "cvxpy" else 0.0
    checks.compare("predictions", np.reshape(scores, z.shape), z, "weights",
                   max(VERIFY_TOLERANCES["weights"], np.sqrt(tol)))
    checks.compare("objective", estimator.objective_, optimum, "objective",
                   max(VERIFY_TOLERANCES["objective"], tol))
    nu = np.column_stack([sol.duals["sample_duals"] for sol in solutions])
    checks.compare("sample duals", np.reshape(estimator.duals_["sample_duals"], nu.shape), nu,
                   "duals", max(VERIFY_TOLERANCES["duals"], np.sqrt(tol)))
    gap = (estimator.objective_ - estimator.lower_bound_) / max(1.0, abs(estimator.objective_))
    checks.residual("certified gap", gap, max(10 * float(estimator.tol), VERIFY_TOLERANCES["kkt"]))
    checks.residual("lower bound <= CVXPY optimum",
                    max(estimator.lower_bound_ - optimum, 0.0) / max(1.0, abs(optimum)))

    def optimal_value(a):
        return sum(program.solve(s, a).objective for s in targets)

    # Envelope theorem: d p*/d alpha = Σ_i ‖v_i‖ + ‖w_i‖ = ½(‖U‖² + ‖a‖²) (balanced network).
    regulariser = 0.5 * (np.sum(estimator.hidden_weights_**2)
                         + np.sum(estimator.output_weights_**2))
    # log-scale central difference: alpha ± h must stay positive for small alpha
    h = _FD_STEP_ALPHA * alpha
    slope = (optimal_value(alpha + h) - optimal_value(alpha - h)) / (2 * h)
    checks.compare("d objective / d alpha", regulariser, slope, "shadow_price")


def verify_estimator(estimator, X, y, *, sample_weight=None) -> VerificationReport:
    """Re-solve each convex subproblem of a fitted estimator with CVXPY and compare.

    For each subproblem the report holds the largest differences between the
    fitted numbers and CVXPY's (weights, optimal value, every dual), the KKT
    residuals of the fitted point, and the shadow-price check: each bound is
    relaxed and tightened a little, the problem re-solved, and the slope of the
    optimal value compared with −dual (:func:`finite_difference`).

    * Linear models (:class:`~cvxdual.NormBoundedLinearRegressor`,
      :class:`~cvxdual.NormBoundedLinearClassifier`): the head problem on ``X``.
    * Networks: the head problem on the final features ``Φ(X)`` (forward pass
      through the fitted hidden layers), and each constrained layer's last
      projection (of the point recorded during ``fit``).
    * Convex ReLU estimators: the convex program over ``patterns_``
      (:class:`~cvxdual.convex_relu.ConvexReLUProgram`, one per one-vs-rest
      class): predictions (unique, unlike the weights), objective, sample duals
      (the cone multipliers are not unique and are not compared), the
      certified gap, and ``d objective / d alpha`` against the regulariser
      ``½(‖U‖² + ‖a‖²)`` (the envelope theorem).

    ``ok`` is true when every check is within :data:`VERIFY_TOLERANCES`:
    differences are divided by ``max(1, |reference|)``; weights 1e-5
    (1e-4 for the hinge losses, whose minimiser need not be unique),
    objective 1e-6, duals 1e-4, KKT residuals 1e-6 (projection residuals
    divided by ``max(1, max|V|)``), shadow prices 1e-3. A convex ReLU
    estimator fitted by the fast solver stops at a certified relative gap of
    its ``tol``: its objective is allowed ``tol``, its predictions and sample
    duals ``sqrt(tol)``, and its certified gap ``10 × tol``.

    Parameters
    ----------
    estimator : fitted cvxdual estimator
    X : array-like of shape (n_samples, n_features)
        The training inputs the estimator was fitted on (for a network with
        ``early_stopping``, the training part of the split).
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        The training targets.
    sample_weight : array-like of shape (n_samples,), optional
        The weights of the fit, if any.

    Returns
    -------
    VerificationReport
        Prints as a table; ``ok``, ``rows()``, ``to_frame()``, ``failures()``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If the estimator is not a cvxdual estimator, or ``X``/``y`` do not fit it.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import NormBoundedLinearRegressor
    >>> from cvxdual.verify import verify_estimator
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5])
    >>> report = verify_estimator(NormBoundedLinearRegressor(1.0).fit(X, y), X, y)
    >>> report.ok
    True
    >>> [c.check for c in report.checks][:4]
    ['weights', 'objective', 'dual norm', 'KKT stationarity (scores)']
    """
    from sklearn.utils.validation import check_is_fitted, validate_data

    from .estimators._convex_relu import _BaseConvexReLU
    from .estimators._linear import _NormBoundedLinearModel
    from .estimators._mlp import _BaseConstrainedMLP

    kinds = (_NormBoundedLinearModel, _BaseConstrainedMLP, _BaseConvexReLU)
    if not isinstance(estimator, kinds):
        raise ValueError(
            "verify_estimator checks cvxdual's estimators (norm-bounded linear models, "
            f"constrained MLPs, convex ReLU networks), got {type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    X = validate_data(estimator, X, reset=False, dtype=np.float64)
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
    if sample_weight is not None:
        from sklearn.utils.validation import _check_sample_weight

        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
    out: list[VerificationCheck] = []
    if isinstance(estimator, _NormBoundedLinearModel):
        _verify_linear(estimator, X, y, sample_weight, out)
    elif isinstance(estimator, _BaseConstrainedMLP):
        _verify_network(estimator, X, y, sample_weight, out)
    else:
        if sample_weight is not None:
            raise ValueError(f"{type(estimator).__name__} is fitted without sample weights")
        _verify_convex_relu(estimator, X, y, out)
    return VerificationReport(type(estimator).__name__, out)


def certified_accuracy(estimator, X, y, eps):
    """Return the fraction of rows predicted correctly with certified radius ≥ ``eps``.

    A row counts when ``estimator.predict`` is right and
    ``estimator.certified_radius`` (e.g.
    :meth:`cvxdual.ConstrainedMLPClassifier.certified_radius`) is at least
    ``eps``: no ℓ2 perturbation of norm below ``eps`` can change its
    prediction. At ``eps = 0`` this is the clean accuracy.

    Parameters
    ----------
    estimator : fitted classifier
        With ``predict`` and ``certified_radius``.
    X : array-like of shape (n_samples, n_features)
        Inputs.
    y : array-like of shape (n_samples,)
        True labels.
    eps : float or array-like of float
        Radii ``≥ 0``.

    Returns
    -------
    accuracy : float or ndarray
        A float for a scalar ``eps``, else an array of the shape of ``eps``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from cvxdual import ConstrainedMLPClassifier
    >>> from cvxdual.sets import SpectralBall
    >>> from cvxdual.verify import certified_accuracy
    >>> X, y = make_blobs(n_samples=60, centers=2, random_state=0)
    >>> clf = ConstrainedMLPClassifier((8,), layer_constraints=SpectralBall(1.0),
    ...                                max_iter=30, random_state=0).fit(X, y)
    >>> acc = certified_accuracy(clf, X, y, [0.0, 0.5, 1e9])
    >>> acc.shape, bool(acc[0] == clf.score(X, y)), float(acc[2])
    ((3,), True, 0.0)
    """
    if not hasattr(estimator, "certified_radius"):
        raise TypeError(
            f"certified_accuracy needs an estimator with a certified_radius method, got "
            f"{type(estimator).__name__}"
        )
    eps_array = np.asarray(eps, dtype=float)
    if eps_array.size == 0 or not np.all(np.isfinite(eps_array)) or np.any(eps_array < 0):
        raise ValueError(f"eps must be finite and >= 0, got {eps!r}")
    y = np.asarray(y).reshape(-1)
    predicted = np.asarray(estimator.predict(X)).reshape(-1)
    if predicted.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {predicted.shape[0]} and "
            f"{y.shape[0]}"
        )
    correct = predicted == y
    radius = np.asarray(estimator.certified_radius(X), dtype=float)
    counts = (correct[:, None] & (radius[:, None] >= eps_array.reshape(1, -1))).mean(axis=0)
    return float(counts[0]) if eps_array.ndim == 0 else counts.reshape(eps_array.shape)
