"""What the estimators share: balls, solver names, deprecated aliases, probabilities."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from cvxdual import (
    ConstrainedMLPClassifier,
    ConstrainedMLPRegressor,
    ConvexReLUClassifier,
    L1Ball,
    L2Ball,
    LinfBall,
    NormBoundedLinearClassifier,
    NormBoundedLinearRegressor,
)
from cvxdual._validation import resolve_alias
from cvxdual.estimators._base import (
    BALLS,
    SOLVER_WORDS,
    ScoresClassifierMixin,
    SolverOptions,
    make_ball,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _classification(n=40, d=3, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    scores = X[:, :classes] * 2.0 + 0.5 * rng.normal(size=(n, classes))
    y = np.argmax(scores, axis=1) if classes > 2 else (scores[:, 0] > 0).astype(int)
    return X, y


# --- the ball map -------------------------------------------------------------


def test_ball_map_and_make_ball():
    assert BALLS == {"l2": L2Ball, "l1": L1Ball, "linf": LinfBall}
    ball = make_ball("linf", 0.5)
    assert type(ball) is LinfBall and ball.radius == 0.5
    assert make_ball("l1", None) is None


# --- solver names -------------------------------------------------------------


@pytest.mark.parametrize("name", ["auto", "fast", "cvxpy", "FAST", "CLARABEL", "clarabel", "Scs"])
def test_solver_options_accept_words_and_installed_solvers_in_any_case(name):
    assert SolverOptions().is_satisfied_by(name)


@pytest.mark.parametrize("name", ["newton", "NOSUCHSOLVER", "", None, 3])
def test_solver_options_reject_anything_else(name):
    options = SolverOptions()
    assert not options.is_satisfied_by(name)
    text = str(options)
    assert all(repr(word) in text for word in SOLVER_WORDS) and "'CLARABEL'" in text


@pytest.mark.parametrize(
    "estimator, param",
    [
        (NormBoundedLinearRegressor(), "solver"),
        (NormBoundedLinearClassifier(), "solver"),
        (ConstrainedMLPClassifier((3,), max_iter=2, random_state=0), "head_solver"),
        (ConstrainedMLPRegressor((3,), max_iter=2, random_state=0), "head_solver"),
    ],
)
def test_every_estimator_checks_solver_names_the_same_way(estimator, param):
    X, y = _classification()
    estimator.set_params(**{param: "nope"})
    with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter .* 'fast'"):
        estimator.fit(X, y)
    estimator.set_params(**{param: "clarabel"}).fit(X, y)  # a CVXPY solver, any case


@pytest.mark.parametrize("Estimator", [NormBoundedLinearRegressor, NormBoundedLinearClassifier])
def test_linear_fast_solver_is_the_auto_fit(Estimator):
    X, y = _classification(classes=3 if Estimator is NormBoundedLinearClassifier else 2)
    auto = Estimator(radius=0.5).fit(X, y)
    fast = Estimator(radius=0.5, solver="fast").fit(X, y)
    assert fast.solve_method_ == auto.solve_method_ != "cvxpy"
    np.testing.assert_array_equal(fast.coef_, auto.coef_)
    assert fast.duals_ == auto.duals_


def test_linear_fast_solver_needs_a_smooth_loss():
    X, y = _classification()
    with pytest.raises(ValueError, match="solver='fast' needs a smooth loss"):
        NormBoundedLinearClassifier(loss="hinge", solver="fast").fit(X, y)


def test_mlp_fast_head_solver_is_the_auto_fit():
    X, y = _classification(classes=3)
    kw = dict(hidden_layer_sizes=(4,), head_radius=1.0, max_iter=3, random_state=0)
    auto = ConstrainedMLPClassifier(**kw).fit(X, y)
    fast = ConstrainedMLPClassifier(head_solver="fast", **kw).fit(X, y)
    np.testing.assert_array_equal(fast.head_coef_, auto.head_coef_)
    assert fast.loss_curve_ == auto.loss_curve_


# --- deprecated aliases -------------------------------------------------------


def test_resolve_alias_warns_only_for_aliases():
    with pytest.warns(FutureWarning, match=r"loss='logistic' was deprecated.*loss='log_loss'"):
        assert resolve_alias("logistic", "loss", {"logistic": "log_loss"}) == "log_loss"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_alias("log_loss", "loss", {"logistic": "log_loss"}) == "log_loss"


@pytest.mark.parametrize("classes", [2, 3])
def test_convex_relu_logistic_is_a_deprecated_alias_of_log_loss(classes):
    X, y = _classification(n=24, classes=classes, seed=1)
    kw = dict(alpha=1e-2, n_patterns=10, random_state=0)
    new = ConvexReLUClassifier(loss="log_loss", **kw).fit(X, y)
    with pytest.warns(FutureWarning, match="loss='logistic' was deprecated"):
        old = ConvexReLUClassifier(loss="logistic", **kw).fit(X, y)
    assert old.loss == "logistic"  # fit never writes to a hyperparameter
    assert old.objective_ == new.objective_
    np.testing.assert_array_equal(old.hidden_weights_, new.hidden_weights_)
    np.testing.assert_array_equal(old.predict_proba(X), new.predict_proba(X))


# --- probabilities from scores ------------------------------------------------


class _Fixed(ScoresClassifierMixin):
    """Scores given directly: X holds them."""

    def __init__(self, multiclass_proba="softmax"):
        self._multiclass_proba = multiclass_proba

    def decision_function(self, X):
        return np.asarray(X, dtype=float)


@pytest.mark.parametrize("kind", ["softmax", "ovr"])
@pytest.mark.parametrize("shape", [(5,), (5, 3)])
def test_log_proba_is_the_log_of_proba_and_finite_for_huge_scores(kind, shape):
    rng = np.random.default_rng(0)
    model = _Fixed(kind)
    model.classes_ = np.arange(2 if len(shape) == 1 else shape[1])
    moderate = rng.normal(size=shape)
    np.testing.assert_allclose(
        model.predict_log_proba(moderate), np.log(model.predict_proba(moderate)), rtol=1e-12
    )
    huge = 1e4 * np.sign(moderate)
    log_proba = model.predict_log_proba(huge)
    assert np.all(np.isfinite(log_proba))
    np.testing.assert_allclose(np.exp(log_proba), model.predict_proba(huge), atol=1e-300)
    np.testing.assert_array_equal(log_proba.argmax(axis=1), model.predict(huge))


def test_binary_log_proba_of_huge_scores_is_minus_the_score():
    model = _Fixed()
    model.classes_ = np.array(["no", "yes"])
    np.testing.assert_array_equal(
        model.predict_log_proba(np.array([-1e6, 1e6])), [[0.0, -1e6], [-1e6, 0.0]]
    )
    np.testing.assert_array_equal(model.predict(np.array([-1.0, 0.0, 2.0])), ["no", "no", "yes"])


@pytest.mark.parametrize(
    "estimator",
    [
        NormBoundedLinearClassifier(radius=1.0),
        ConstrainedMLPClassifier((4,), head_radius=5.0, max_iter=5, random_state=0),
        ConvexReLUClassifier(loss="log_loss", n_patterns=10, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
@pytest.mark.parametrize("classes", [2, 3])
def test_estimators_give_finite_log_probas_far_from_the_data(estimator, classes):
    X, y = _classification(classes=classes)
    estimator.fit(X, y)
    far = 1e6 * X[:5]
    log_proba = estimator.predict_log_proba(far)
    assert log_proba.shape == (5, classes) and np.all(np.isfinite(log_proba))
    np.testing.assert_allclose(np.exp(log_proba).sum(axis=1), 1.0)
    # On the data: the same probabilities (log(1 − p) loses digits near p = 1, so
    # compare probabilities).
    np.testing.assert_allclose(
        np.exp(estimator.predict_log_proba(X)), estimator.predict_proba(X), atol=1e-14
    )


@parametrize_with_checks([ConvexReLUClassifier(loss="log_loss", n_patterns=10, random_state=0)])
def test_sklearn_compatible_with_probabilities(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
