"""Tests of ConstrainedMLPClassifier and ConstrainedMLPRegressor."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import cvxdual.estimators._mlp as mlp_module
from cvxdual.estimators._mlp import ConstrainedMLPClassifier, ConstrainedMLPRegressor
from cvxdual.exceptions import DivergenceError, SolverError
from cvxdual.heads import NormBoundedHead
from cvxdual.sets import (
    Box,
    L2Ball,
    LinfBall,
    MaxNorm,
    NonNegative,
    Polyhedron,
    SpectralBall,
)
from cvxdual.training import ACTIVE_TOL

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@parametrize_with_checks(
    [
        ConstrainedMLPClassifier((8,), max_iter=15, random_state=0),
        # check_regressors_train needs R² > 0.5 on a 1-informative-feature problem:
        # a wider layer and a larger step than the defaults reach it in few epochs.
        ConstrainedMLPRegressor((20,), learning_rate_init=0.01, max_iter=30, random_state=0),
    ],
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data": (
            "the check's data have 30 features and about 10 distinct weighted rows: "
            "the unbounded least-squares head on 20 hidden features has many "
            "minimisers, and weights and repetitions lead the solver to different "
            "ones (test_sample_weight_equals_repetition checks the equivalence "
            "where the head is unique)"
            if isinstance(est, ConstrainedMLPRegressor)
            else "the weighted and the repeated fit (rows shuffled: the two differ "
            "from the start by rounding) run 15 epochs of warm-started head solves, "
            "each certified to the relative KKT residual 1e-7; training amplifies "
            "their differences to ~5e-6 in predict_proba (1e-8 and 1e-10 give "
            "1e-6 and 2e-7), the check asks 1e-7 (test_sample_weight_equals_"
            "repetition_and_zero_equals_removal checks it on its own problem)"
        )
    },
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits_like():
    X, y = make_classification(
        n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return StandardScaler().fit_transform(X), y


def test_classifier_constraints_hold_after_fit(digits_like):
    X, y = digits_like
    S = SpectralBall(1.0)
    clf = ConstrainedMLPClassifier(
        (10, 8), layer_constraints=S, head_radius=3.0, max_iter=8, random_state=0,
        learning_rate_init=0.01,
    ).fit(X, y)  # fmt: skip
    for W in clf.coefs_:
        assert np.linalg.norm(W, 2) <= 1.0 + 1e-8
        assert S.violation(W) <= 1e-8
    assert np.linalg.norm(clf.head_coef_) <= 3.0 * (1 + 1e-8)
    assert clf.head_coef_.shape == (8, 3) and clf.head_intercept_.shape == (3,)
    assert [W.shape for W in clf.coefs_] == [(6, 10), (10, 8)]
    assert len(clf.dual_history_) == clf.n_iter_ == len(clf.loss_curve_) == 8
    assert set(clf.duals_) == {"head", "layers"}
    assert set(clf.duals_["layers"]) == {0, 1}
    assert clf.duals_["head"]["norm"] == clf.dual_history_[-1]["head"]["duals"]["norm"]
    assert clf.duals_["layers"][1] == clf.dual_history_[-1]["layers"][1]["duals"]
    # Binding spectral bound: on the boundary exactly when the multiplier is positive.
    for i, W in enumerate(clf.coefs_):
        if clf.duals_["layers"][i]["norm"] > ACTIVE_TOL:
            assert np.linalg.norm(W, 2) == pytest.approx(1.0, rel=1e-8)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert clf.score(X, y) > 0.7


def test_per_layer_constraints_and_linf_head():
    X, y = make_regression(n_samples=60, n_features=4, noise=0.5, random_state=1)
    sets = [MaxNorm(0.5), None, NonNegative()]
    reg = ConstrainedMLPRegressor(
        (6, 5, 4), activation="tanh", layer_constraints=sets, head_norm="linf",
        head_radius=2.0, max_iter=3, random_state=0,
    ).fit(X, y / 50)  # fmt: skip
    assert np.linalg.norm(reg.coefs_[0], axis=0).max() <= 0.5 + 1e-8
    assert reg.coefs_[2].min() >= -1e-8
    assert np.abs(reg.head_coef_).max() <= 2.0 + 1e-7  # the CVXPY path
    assert set(reg.duals_["layers"]) == {0, 2}
    assert reg.layer_constraints_[1] is None
    assert reg.predict(X).shape == (60,)


def test_constraint_sets_are_copied_not_mutated(digits_like):
    X, y = digits_like
    S = SpectralBall(0.5)
    sets = [S, None]
    before = copy.deepcopy(sets)
    clf = ConstrainedMLPClassifier(
        (5, 4), layer_constraints=sets, max_iter=2, random_state=0
    ).fit(X, y)
    assert clf.layer_constraints is sets and sets[1] is None and sets[0] is S
    assert repr(sets) == repr(before) and S.radius == 0.5
    assert clf.layer_constraints_[0] is not S
    # One set for every layer, holding arrays: neither the set nor its arrays change.
    lower, upper = np.full((6, 5), -0.2), np.full((6, 5), 0.3)
    box = Box(lower, upper)
    saved = box.lower.copy(), box.upper.copy()
    reg = ConstrainedMLPRegressor(
        (5,), layer_constraints=box, max_iter=2, random_state=0
    ).fit(X, y * 1.0)
    assert reg.layer_constraints is box and reg.layer_constraints_[0] is not box
    np.testing.assert_array_equal(box.lower, saved[0])
    np.testing.assert_array_equal(box.upper, saved[1])
    assert np.all(box.lower == -0.2) and np.all(lower == -0.2) and np.all(upper == 0.3)
    assert box.violation(reg.coefs_[0]) <= 1e-12


def test_same_random_state_same_model(digits_like):
    X, y = digits_like
    params = dict(layer_constraints=MaxNorm(1.0), max_iter=4, batch_size=32)
    a = ConstrainedMLPClassifier((6,), random_state=1, **params).fit(X, y)
    b = ConstrainedMLPClassifier((6,), random_state=1, **params).fit(X, y)
    c = ConstrainedMLPClassifier((6,), random_state=2, **params).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    np.testing.assert_array_equal(a.head_coef_, b.head_coef_)
    assert a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


@pytest.mark.parametrize("Estimator", [ConstrainedMLPClassifier, ConstrainedMLPRegressor])
def test_pipeline_and_grid_search_over_head_radius(Estimator, digits_like):
    X, y = digits_like
    if Estimator is ConstrainedMLPRegressor:
        y = X[:, 0] - 2.0 * X[:, 1] ** 2
    pipe = make_pipeline(StandardScaler(), Estimator((6,), max_iter=3, random_state=0))
    name = f"{Estimator.__name__.lower()}__head_radius"
    search = GridSearchCV(pipe, {name: [0.5, 5.0]}, cv=2).fit(X, y)
    assert search.best_params_[name] in (0.5, 5.0)
    assert len(search.cv_results_["mean_test_score"]) == 2
    best = search.best_estimator_[-1]
    assert best.head_radius == search.best_params_[name]
    assert np.linalg.norm(best.head_coef_) <= best.head_radius * (1 + 1e-8)
    assert search.predict(X).shape == (150,)


def test_binary_and_squared_hinge_heads():
    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    labels = np.where(y == 1, "yes", "no")
    clf = ConstrainedMLPClassifier((6,), max_iter=5, random_state=0).fit(X, labels)
    assert clf.head_coef_.shape == (6, 1)
    assert clf.predict_proba(X).shape == (80, 2)
    assert set(clf.predict(X)) <= {"no", "yes"}
    hinge = ConstrainedMLPClassifier(
        (6,), head_loss="squared_hinge", max_iter=5, random_state=0
    ).fit(X, labels)
    assert not hasattr(hinge, "predict_proba")
    assert hinge.score(X, labels) > 0.7
    with pytest.raises(ValueError, match="binary targets only, got 3 classes"):
        ConstrainedMLPClassifier((4,), head_loss="squared_hinge").fit(X, np.arange(80) % 3)


def test_regressor_multi_output_and_unbounded_head():
    X, y = make_regression(n_samples=50, n_features=3, n_targets=2, random_state=0)
    reg = ConstrainedMLPRegressor((8,), max_iter=3, random_state=0).fit(X, y / 100)
    assert reg.predict(X).shape == (50, 2)
    assert reg.duals_["head"] == {}
    assert not reg.dual_history_[0]["head"]["active"]


def test_early_stopping_returns_best_epoch(monkeypatch, digits_like):
    X, y = digits_like
    seen = []

    def recording(X_train, y_train, *args, **kwargs):
        seen.append(np.asarray(y_train))
        return mlp_module.train.__wrapped__(X_train, y_train, *args, **kwargs)

    recording.__wrapped__ = mlp_module.train
    monkeypatch.setattr(mlp_module, "train", recording)
    clf = ConstrainedMLPClassifier(
        (6,), early_stopping=True, validation_fraction=0.2, n_iter_no_change=2,
        max_iter=30, random_state=0, learning_rate_init=0.01,
    ).fit(X, y)  # fmt: skip
    # The loop trains on the other 80% of the rows, stratified.
    (y_train,) = seen
    assert y_train.shape == (120,)  # class indices of the multinomial head
    counts = np.bincount(y_train.astype(int), minlength=3)
    assert np.all(np.abs(counts - 0.8 * np.bincount(y)) <= 1)
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.dual_history_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.validation_scores_[clf.best_epoch_ - 1] == clf.best_validation_score_
    record = clf.dual_history_[clf.best_epoch_ - 1]
    assert clf.duals_["head"] == record["head"]["duals"]


def test_verbose_prints_one_line_per_epoch(capsys, digits_like):
    X, y = digits_like
    ConstrainedMLPClassifier(
        (4,), layer_constraints=SpectralBall(0.5), max_iter=3, verbose=True, random_state=0
    ).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all("largest dual" in line for line in lines)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"layer_constraints": [SpectralBall(1.0)]}, "one set or None per hidden layer"),
        (
            {"layer_constraints": [Polyhedron(np.ones((1, 3)), np.ones(1)), None]},
            "cannot hold the weights of hidden layer 0",
        ),
        ({"layer_constraints": [LinfBall(1.0), "l2"]}, "must be a cvxdual.sets.ConvexSet"),
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": ()}, "hidden_layer_sizes"),
    ],
)
def test_bad_parameters_raise(params, match, digits_like):
    X, y = digits_like
    params = {"hidden_layer_sizes": (4, 3), **params}
    with pytest.raises(ValueError, match=match):
        ConstrainedMLPClassifier(max_iter=1, **params).fit(X, y)


def test_failed_head_solve_stops_fit_naming_the_epoch(monkeypatch, digits_like):
    X, y = digits_like
    calls = {"n": 0}
    original = NormBoundedHead.solve

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # initial solve, epochs 1 and 2, then epoch 3 fails
            raise SolverError("Could not solve the head problem to optimality (test).")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(mlp_module.NormBoundedHead, "solve", flaky)
    clf = ConstrainedMLPClassifier((4,), max_iter=10, random_state=0)
    with pytest.raises(SolverError, match="head solve failed at epoch 3"):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")


@pytest.mark.parametrize(
    "estimator, data",
    [
        *[
            (
                ConstrainedMLPRegressor(
                    (4,), solver="sgd", learning_rate_init=1e308, max_iter=5, random_state=seed
                ),
                "digits_like",
            )
            for seed in range(4)
        ],
        # Features ~1e50 once broke the fast head solver's arithmetic (ZeroDivisionError).
        (
            ConstrainedMLPRegressor(
                (5,), learning_rate_init=1e50, head_radius=1.0, max_iter=8, random_state=0
            ),
            "regression",
        ),
        (
            ConstrainedMLPClassifier(
                (4,), activation="identity", solver="sgd", learning_rate_init=1e308,
                max_iter=5, random_state=0,
            ),
            "digits_like",
        ),
    ],
)  # fmt: skip
def test_divergence_is_reported_and_leaves_no_weights(estimator, data, digits_like):
    if data == "regression":
        X, y = make_regression(n_samples=80, n_features=5, random_state=0)
    else:
        X, y = digits_like
        y = y if isinstance(estimator, ConstrainedMLPClassifier) else y * 1.0
    # Non-finite weights raise DivergenceError; finite but astronomically large
    # features make the head solve fail first (SolverError): both give the advice.
    with pytest.raises(
        (DivergenceError, SolverError), match=r"(?i)at epoch \d+.*lower the learning rate"
    ):
        estimator.fit(X, y)
    assert not hasattr(estimator, "coefs_")


def test_head_falls_back_to_cvxpy_inside_fit(monkeypatch, digits_like):
    X, y = digits_like

    def broken(self, *args, **kwargs):
        raise ZeroDivisionError("test")

    monkeypatch.setattr(NormBoundedHead, "_solve_fast_unchecked", broken)
    clf = ConstrainedMLPClassifier(
        (5,), layer_constraints=SpectralBall(1.0), head_radius=1.0, max_iter=3, random_state=0
    ).fit(X, y)
    assert clf.n_iter_ == len(clf.dual_history_) == 3
    features = mlp_module.forward(X, clf.coefs_, clf.intercepts_, clf.activation)[-1]
    exact = NormBoundedHead("multinomial", L2Ball(1.0), solver="cvxpy").solve(features, y)
    np.testing.assert_allclose(clf.head_coef_, exact.coef, atol=1e-12)
    assert clf.duals_["head"]["norm"] == exact.duals["norm"]


def test_convergence_warning_when_max_iter_is_too_small(digits_like):
    X, y = digits_like
    with pytest.warns(ConvergenceWarning):
        ConstrainedMLPClassifier((4,), max_iter=2, tol=0.0, random_state=0).fit(X, y)


def test_fitted_head_and_duals_are_those_of_the_cvxpy_definition():
    X, y = make_classification(n_samples=60, n_features=4, random_state=3)
    clf = ConstrainedMLPClassifier(
        (5,), layer_constraints=SpectralBall(1.0), head_radius=1.0, max_iter=3, random_state=0
    ).fit(X, y)
    features = mlp_module.forward(X, clf.coefs_, clf.intercepts_, clf.activation)[-1]
    exact = NormBoundedHead("log_loss", L2Ball(1.0), solver="cvxpy").solve(
        features, np.where(y == 1, 1.0, -1.0)
    )
    # Clarabel's exponential-cone solutions are ~1e-6 accurate (KKT residual
    # ~3e-7 here), so CVXPY is matched at that level, and the KKT-checked fast
    # solve on the same features to rounding
    np.testing.assert_allclose(clf.head_coef_, exact.coef, atol=1e-5)
    fast = NormBoundedHead("log_loss", L2Ball(1.0)).solve(features, np.where(y == 1, 1.0, -1.0))
    np.testing.assert_allclose(clf.head_coef_, fast.coef, atol=1e-9)
    assert clf.objective_ == pytest.approx(exact.objective, abs=1e-8)
    assert clf.duals_["head"]["norm"] == pytest.approx(exact.duals["norm"], rel=1e-5)
    assert clf.loss_curve_[-1] == pytest.approx(exact.objective, abs=1e-8)


def test_too_small_class_for_early_stopping_is_named_by_the_users_label():
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = np.array(["cat"] * 29 + ["dog"])
    clf = ConstrainedMLPClassifier((4,), early_stopping=True, max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="dog"):
        clf.fit(X, y)


@pytest.mark.parametrize("Estimator", [ConstrainedMLPClassifier, ConstrainedMLPRegressor])
def test_sample_weight_equals_repetition_and_zero_equals_removal(Estimator, rng):
    # Full batch and a bounded (unique) head: weight 2 is the row twice, weight 0
    # the row removed, up to the head solver's tolerance.
    X = rng.normal(size=(30, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=30)
    if Estimator is ConstrainedMLPClassifier:
        y = np.where(y > 0, "yes", "no")
    weights = np.ones(30)
    weights[:5], weights[5:8] = 2.0, 0.0
    X_rep = np.vstack([X[8:], X[:5], X[:5]])
    y_rep = np.concatenate([y[8:], y[:5], y[:5]])
    params = dict(hidden_layer_sizes=(6,), max_iter=15, random_state=0, head_radius=2.0,
                  layer_constraints=SpectralBall(1.0), learning_rate_init=0.01)
    weighted = Estimator(**params).fit(X, y, sample_weight=weights)
    repeated = Estimator(**params).fit(X_rep, y_rep)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-7)
    np.testing.assert_allclose(weighted.coefs_[0], repeated.coefs_[0], atol=1e-7)
    np.testing.assert_allclose(weighted.head_coef_, repeated.head_coef_, atol=1e-7)
    unweighted = Estimator(**params).fit(X, y)
    assert abs(unweighted.objective_ - weighted.objective_) > 1e-6


def test_sample_weight_is_validated():
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    reg = ConstrainedMLPRegressor((4,), max_iter=2)
    with pytest.raises(ValueError, match="sample_weight"):
        reg.fit(X, y, sample_weight=np.ones(19))
    with pytest.raises(ValueError, match=r"[Nn]egative"):
        reg.fit(X, y, sample_weight=-np.ones(20))


def test_sample_weight_with_early_stopping_is_split_with_the_rows():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    clf = ConstrainedMLPClassifier((4,), max_iter=3, early_stopping=True, random_state=0)
    clf.fit(X, y, sample_weight=np.arange(60) % 3 + 1.0)
    assert clf.n_iter_ >= 1


@pytest.mark.parametrize("Estimator", [ConstrainedMLPClassifier, ConstrainedMLPRegressor])
def test_verbose_prints_one_line_per_epoch_with_time_remaining(Estimator, capsys):
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    Estimator((4,), max_iter=3, tol=0.0, verbose=True, random_state=0,
              layer_constraints=SpectralBall(1.0)).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"Epoch {epoch}, loss = ")
        assert "largest dual = " in line and "elapsed = " in line and "remaining ~ " in line
    assert lines[-1].endswith("remaining ~ 0.0s")
