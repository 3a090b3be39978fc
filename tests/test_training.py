"""Tests of cvxdual.training: the dual-driven outer loop."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import cvxdual.training as training
from cvxdual.exceptions import DivergenceError, SolverError
from cvxdual.heads import HeadSolution, NormBoundedHead
from cvxdual.network import SGD, Adam, backward, forward, init_params
from cvxdual.sets import L1Ball, L2Ball, MaxNorm, NonNegative, Polyhedron, SpectralBall
from cvxdual.training import ACTIVE_TOL, train

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(kind, n=24, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    score = X @ rng.normal(size=d) + 0.3 * rng.normal(size=n)
    if kind == "real":
        return X, score
    if kind == "sign":
        return X, np.where(score > 0, 1.0, -1.0)
    return X, np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))  # labels 0, 1, 2


def _p_star(head, X, coefs, intercepts, activation, y):
    return head.solve(forward(X, coefs, intercepts, activation)[-1], y).objective


def _fd_gradient(head, X, y, coefs, intercepts, activation, eps=1e-5):
    """Central finite differences of θ ↦ p*(Φ(θ)) for every hidden parameter."""
    grads = []
    for p in [*coefs, *intercepts]:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = _p_star(head, X, coefs, intercepts, activation, y)
            p[idx] = old - eps
            down = _p_star(head, X, coefs, intercepts, activation, y)
            p[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize(
    "loss, constraint, kind",
    [
        ("squared", L2Ball(0.5), "real"),
        ("squared", None, "real"),
        ("log_loss", L2Ball(1.0), "sign"),
        ("multinomial", L2Ball(1.0), "labels"),
    ],
)
def test_full_batch_gradient_step_is_exact_negative_gradient_of_p_star(loss, constraint, kind):
    """THE key property: one full-batch GD step moves θ by −η ∇_θ p*(Φ(θ))."""
    X, y = _data(kind)
    coefs, intercepts = init_params([3, 4, 3], "tanh", random_state=0)
    lr = 0.1
    head = NormBoundedHead(loss, constraint, tol=1e-12)
    result = train(
        X,
        y,
        coefs,
        intercepts,
        head,
        activation="tanh",
        optimizer=SGD(lr, momentum=0.0),
        batch_size=None,
        max_iter=1,
        random_state=0,
    )
    steps = [
        new - old
        for new, old in zip(
            [*result.coefs, *result.intercepts], [*coefs, *intercepts], strict=True
        )
    ]
    fd = _fd_gradient(
        NormBoundedHead(loss, constraint, tol=1e-12), X, y, coefs, intercepts, "tanh"
    )
    assert max(np.abs(g).max() for g in fd) > 1e-3  # the check is not vacuous
    if constraint is not None:
        assert result.dual_history[0]["head"]["active"]  # the head bound binds
    for step, g in zip(steps, fd, strict=True):
        np.testing.assert_allclose(step, -lr * g, rtol=1e-5, atol=1e-9)


def test_minibatch_steps_rescale_the_last_solve_duals_by_n_over_batch():
    X, y = _data("real", n=20)
    coefs, intercepts = init_params([3, 5], "tanh", random_state=1)
    head = NormBoundedHead("squared", L2Ball(0.5))
    lr = 0.05
    result = train(
        X, y, coefs, intercepts, head, activation="tanh",
        optimizer=SGD(lr, momentum=0.0), batch_size=8, max_iter=1, shuffle=False,
        minibatch_duals="last_solve",
    )  # fmt: skip
    # Replay: the duals of the initial solve drive all three minibatch steps.
    G = head.solve(forward(X, coefs, intercepts, "tanh")[-1], y).feature_gradient()
    W, b = [c.copy() for c in coefs], [i.copy() for i in intercepts]
    for rows in (slice(0, 8), slice(8, 16), slice(16, 20)):
        acts = forward(X[rows], W, b, "tanh")
        size = rows.stop - rows.start
        cg, ig = backward(acts, W, G[rows] * (20 / size), "tanh")
        W[0] -= lr * cg[0]
        b[0] -= lr * ig[0]
    np.testing.assert_allclose(result.coefs[0], W[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(result.intercepts[0], b[0], rtol=1e-12, atol=1e-14)
    assert result.t == 3


@pytest.mark.parametrize(
    "loss, kind, weighted",
    [("squared", "real", False), ("log_loss", "sign", True), ("multinomial", "labels", False)],
)
def test_minibatch_steps_use_the_duals_at_the_current_features(loss, kind, weighted):
    """Each minibatch backpropagates ν_i = w_i ∂ℓ/∂z_i at its current features, not stale ν."""
    X, y = _data(kind, n=20)
    sample_weight = np.linspace(0.5, 2.0, 20) if weighted else None
    coefs, intercepts = init_params([3, 5], "tanh", random_state=1)
    head = NormBoundedHead(loss, L2Ball(0.5))
    lr = 0.5
    run = dict(activation="tanh", optimizer=SGD(lr, momentum=0.0), batch_size=8, max_iter=1,
               shuffle=False, sample_weight=sample_weight)  # fmt: skip
    result = train(X, y, coefs, intercepts, head, **run)
    stale = train(X, y, coefs, intercepts, head, minibatch_duals="last_solve", **run)
    # Replay with the head of the initial solve and duals at the moving features.
    sol = head.solve(forward(X, coefs, intercepts, "tanh")[-1], y, sample_weight=sample_weight)
    w = np.full(20, 1 / 20) if sample_weight is None else sample_weight / sample_weight.sum()
    Y = head.loss.encode_targets(y)
    W, b = [c.copy() for c in coefs], [i.copy() for i in intercepts]
    for rows in (slice(0, 8), slice(8, 16), slice(16, 20)):
        acts = forward(X[rows], W, b, "tanh")
        z = acts[-1] @ sol.coef + sol.intercept
        nu = w[rows, None] * head.loss.gradient(z, Y[rows])
        if rows.start == 0:  # right after the solve: the solver's own duals
            np.testing.assert_allclose(nu, sol.sample_duals[rows], rtol=1e-6, atol=1e-10)
        cg, ig = backward(acts, W, nu @ sol.coef.T * (20 / (rows.stop - rows.start)), "tanh")
        W[0] -= lr * cg[0]
        b[0] -= lr * ig[0]
    np.testing.assert_allclose(result.coefs[0], W[0], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(result.intercepts[0], b[0], rtol=1e-6, atol=1e-12)
    # ... which the stale duals of the solve do not give
    assert np.abs(stale.coefs[0] - W[0]).max() > 1e-4


def test_current_duals_never_form_the_full_feature_gradient(monkeypatch):
    """With current duals only a solve's first minibatch uses its duals: no n × p ν Wᵀ.

    (At 10^5 rows × 128 hidden units that array is 100 MB per epoch.) The
    last-solve mode uses it in every minibatch and forms it once per solve.
    """
    X, y = _data("labels", n=40)
    coefs, intercepts = init_params([3, 5], "tanh", random_state=1)
    head = NormBoundedHead("multinomial", L2Ball(0.5))
    formed = []
    original = HeadSolution.feature_gradient

    def spy(self):
        formed.append(1)
        return original(self)

    monkeypatch.setattr(HeadSolution, "feature_gradient", spy)
    run = dict(activation="tanh", optimizer=SGD(0.5, momentum=0.0), batch_size=8, max_iter=3,
               shuffle=False, head_solve_every=3)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        train(X, y, coefs, intercepts, head, **run)
        assert not formed
        stale = train(X, y, coefs, intercepts, head, minibatch_duals="last_solve", **run)
    assert len(formed) == 3 + stale.t // 3  # each epoch's start, and each extra solve


@pytest.mark.parametrize(
    "loss, constraint, kind",
    [("multinomial", L2Ball(0.5), "labels"), ("log_loss", L2Ball(1.0), "sign"),
     ("squared", None, "real")],
)
def test_current_duals_equal_the_solver_duals_at_a_solve(loss, constraint, kind):
    X, y = _data(kind, n=30)
    features = np.tanh(X @ np.random.default_rng(2).normal(size=(3, 6)))
    weights = np.linspace(1.0, 3.0, 30)
    head = NormBoundedHead(loss, constraint, tol=1e-12)
    sol = head.solve(features, y, sample_weight=weights)
    fresh = training._CurrentDuals(head.loss, y, weights, 30)(features, np.arange(30), sol)
    assert np.abs(sol.sample_duals).max() > 1e-3
    np.testing.assert_allclose(fresh, sol.sample_duals, rtol=1e-7, atol=1e-12)


def test_heads_with_more_than_a_norm_bound_keep_the_duals_of_their_last_solve():
    """A fair head's ν also carries its fairness multipliers: no ``w ∂ℓ/∂z`` refresh."""
    from cvxdual.fairness import DemographicParity
    from cvxdual.heads._fair import FairHead

    X, y = _data("sign", n=40)
    groups = (X[:, 0] > 0).astype(int)
    coefs, intercepts = init_params([3, 5], "tanh", random_state=1)
    head = FairHead("log_loss", DemographicParity(0.05), L2Ball(1.0), sensitive_features=groups)
    run = dict(activation="tanh", optimizer=SGD(0.5, momentum=0.0), batch_size=8, max_iter=2,
               shuffle=False)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        current = train(X, y, coefs, intercepts, head, **run)
        stale = train(X, y, coefs, intercepts, head, minibatch_duals="last_solve", **run)
    assert np.abs(current.head_solution.duals["upper"]).max() + np.abs(
        current.head_solution.duals["lower"]).max() > 1e-6  # the parity constraint binds
    np.testing.assert_array_equal(current.coefs[0], stale.coefs[0])


def test_minibatch_duals_is_validated():
    X, y = _data("real")
    coefs, intercepts = init_params([3, 4], random_state=0)
    with pytest.raises(ValueError, match="minibatch_duals must be"):
        train(X, y, coefs, intercepts, NormBoundedHead("squared"), minibatch_duals="fresh")


def test_constrained_layers_and_head_stay_feasible_and_duals_are_recorded():
    X, y = _data("sign", n=40, d=4)
    coefs, intercepts = init_params([4, 6, 5, 3], "relu", random_state=0)
    # A polyhedron (solved by CVXPY): the sum of the last layer's weights is at most -1.
    poly = Polyhedron(np.ones((1, 15)), np.array([-1.0]))
    sets = [SpectralBall(0.3), MaxNorm(0.2), poly]
    head = NormBoundedHead("log_loss", L2Ball(2.0))
    result = train(
        X, y, coefs, intercepts, head, activation="relu", optimizer=Adam(0.01),
        layer_constraints=sets, batch_size=16, max_iter=3, random_state=0,
    )  # fmt: skip
    for S, W in zip(sets, result.coefs, strict=True):
        assert S.violation(W) <= 1e-8
    assert np.linalg.norm(result.coefs[0], 2) <= 0.3 + 1e-8
    assert np.linalg.norm(result.coefs[1], axis=0).max() <= 0.2 + 1e-8
    assert np.linalg.norm(result.head_solution.coef) <= 2.0 * (1 + 1e-8)

    assert len(result.dual_history) == result.n_iter == 3
    for epoch, record in enumerate(result.dual_history, start=1):
        assert record["epoch"] == epoch
        assert record["loss"] == pytest.approx(result.loss_curve[epoch - 1])
        assert set(record["layers"]) == {0, 1, 2}
        assert record["layers"][1]["duals"]["norm"].shape == (5,)
        for layer in record["layers"].values():
            largest = max(np.max(np.abs(v)) for v in layer["duals"].values())
            assert layer["active"] == (largest > ACTIVE_TOL)
        stats = record["head"]["sample_duals"]
        assert 0 <= stats["mean_abs"] <= stats["max_abs"] <= stats["l2"]
    last = result.dual_history[-1]
    nu = np.abs(result.head_solution.sample_duals)  # the last epoch's head solve
    assert last["head"]["sample_duals"] == {
        "mean_abs": pytest.approx(nu.mean(), rel=1e-12),
        "max_abs": pytest.approx(nu.max(), rel=1e-12),
        "l2": pytest.approx(np.linalg.norm(nu), rel=1e-12),
    }
    # The initial weights lie far outside these small balls: they stay binding.
    assert last["layers"][0]["active"] and last["layers"][1]["active"]
    assert np.linalg.norm(result.coefs[0], 2) == pytest.approx(0.3, rel=1e-8)
    # MaxNorm: a unit is on its bound exactly when its multiplier is positive.
    norms = np.linalg.norm(result.coefs[1], axis=0)
    lam = last["layers"][1]["duals"]["norm"]
    np.testing.assert_allclose(norms[lam > 0], 0.2, rtol=1e-8)
    if last["layers"][2]["active"]:
        assert np.sum(result.coefs[2]) == pytest.approx(-1.0, abs=1e-7)
    assert last["head"]["duals"]["norm"] == result.head_solution.duals["norm"]


def test_inputs_are_not_modified_and_runs_are_reproducible():
    X, y = _data("real")
    coefs, intercepts = init_params([3, 4], "tanh", random_state=0)
    saved = [c.copy() for c in coefs], [i.copy() for i in intercepts]
    optimizer = Adam(0.01)
    S = SpectralBall(0.5)
    runs = [
        train(
            X, y, coefs, intercepts, NormBoundedHead("squared"), activation="tanh",
            optimizer=optimizer, layer_constraints=S, batch_size=5, max_iter=4,
            random_state=3,
        )
        for _ in range(2)
    ]  # fmt: skip
    for a, b in zip([*coefs, *intercepts], [*saved[0], *saved[1]], strict=True):
        np.testing.assert_array_equal(a, b)
    assert optimizer.t == 0 and optimizer.ms is None
    assert S.radius == 0.5
    np.testing.assert_array_equal(runs[0].coefs[0], runs[1].coefs[0])
    assert runs[0].loss_curve == runs[1].loss_curve
    other = train(
        X, y, coefs, intercepts, NormBoundedHead("squared"), activation="tanh",
        optimizer=optimizer, layer_constraints=S, batch_size=5, max_iter=4, random_state=4,
    )  # fmt: skip
    assert not np.array_equal(other.coefs[0], runs[0].coefs[0])


class _CountingHead:
    """Wraps a head: counts solves, records warm starts, can fail at a given call."""

    def __init__(self, head, fail_at=None):
        self.head, self.fail_at, self.calls = head, fail_at, 0
        self.warm_starts, self.solutions = [], []

    def solve(self, features, y, sample_weight=None, warm_start=None):
        self.calls += 1
        self.warm_starts.append(warm_start)
        if self.calls == self.fail_at:
            raise SolverError("Could not solve the head problem to optimality (test).")
        solution = self.head.solve(
            features, y, sample_weight=sample_weight, warm_start=warm_start
        )
        self.solutions.append(solution)
        return solution


def test_head_is_resolved_each_epoch_and_every_k_steps():
    X, y = _data("real", n=20)
    coefs, intercepts = init_params([3, 4], random_state=0)
    head = _CountingHead(NormBoundedHead("squared"))
    # 4 steps per epoch: solves after steps 2 and 4; the one after step 4 is also
    # the end-of-epoch solve.
    train(X, y, coefs, intercepts, head, batch_size=5, max_iter=3, head_solve_every=2)
    assert head.calls == 1 + 3 * 2
    head = _CountingHead(NormBoundedHead("squared"))
    train(X, y, coefs, intercepts, head, batch_size=5, max_iter=3, head_solve_every=3)
    # After global steps 3, 6, 9 and 12 (the end of epoch 3), and at the ends of epochs 1, 2.
    assert head.calls == 1 + 4 + 2
    head = _CountingHead(NormBoundedHead("squared"))
    train(X, y, coefs, intercepts, head, batch_size=5, max_iter=3)
    assert head.calls == 1 + 3
    # The initial solve starts cold; each later one from the solution before it.
    assert head.warm_starts[0] is None
    assert all(w is s for w, s in zip(head.warm_starts[1:], head.solutions[:-1], strict=True))


def test_constrained_layers_are_projected_after_every_step(monkeypatch):
    X, y = _data("real", n=20)
    coefs, intercepts = init_params([3, 4, 2], random_state=0)
    calls = []
    original = SpectralBall.project_closed_form
    original_after = SpectralBall._project_closed_form_after

    def counting(self, V):
        calls.append((V.shape, self))
        return original(self, V)

    def counting_after(self, V, previous):
        calls.append((V.shape, self))
        assert previous is not None and "norm" in previous  # (the last projection's duals)
        return original_after(self, V, previous)

    # (the first projection goes through project(), which checks the initial
    # weights; the later ones, of weights checked finite, call the closed form
    # with the previous projection's duals)
    monkeypatch.setattr(SpectralBall, "project_closed_form", counting)
    monkeypatch.setattr(SpectralBall, "_project_closed_form_after", counting_after)
    S = SpectralBall(0.5)
    result = train(
        X, y, coefs, intercepts, NormBoundedHead("squared"), layer_constraints=[None, S],
        batch_size=5, max_iter=3,
    )  # fmt: skip
    # 4 steps per epoch: the initial weights, then once after each of the 12 steps,
    # and only the constrained layer (1, of shape (4, 2)).
    assert result.t == 12
    assert calls == [((4, 2), S)] * (1 + 12)


@pytest.mark.parametrize("fail_at, words", [(1, "epoch 0"), (3, "at epoch 2")])
def test_failed_head_solve_names_the_epoch(fail_at, words):
    X, y = _data("real")
    coefs, intercepts = init_params([3, 4], random_state=0)
    head = _CountingHead(NormBoundedHead("squared"), fail_at=fail_at)
    with pytest.raises(SolverError, match=f"head solve failed .*{words}"):
        train(X, y, coefs, intercepts, head, max_iter=5)


@pytest.mark.parametrize("learning_rate", [np.inf, 1e308])
def test_divergence_raises_with_learning_rate_advice(learning_rate):
    X, y = _data("real")
    coefs, intercepts = init_params([3, 4], "relu", random_state=0)
    with pytest.raises(DivergenceError, match=r"diverged.*[Ll]ower the learning rate"):
        train(
            X, y, coefs, intercepts, NormBoundedHead("squared", L2Ball(1.0)),
            optimizer=SGD(learning_rate, momentum=0.9), max_iter=50,
        )  # fmt: skip


def test_head_failure_on_exploding_features_points_at_the_learning_rate():
    X, y = _data("real")
    coefs, intercepts = init_params([3, 4], "identity", random_state=0)
    head = NormBoundedHead("squared", L2Ball(1.0), solver="CLARABEL")  # one solver: fast
    with pytest.raises(SolverError, match=r"epoch 1 .*lower the learning rate"):
        train(
            X, y, coefs, intercepts, head,
            activation="identity", optimizer=SGD(1e100, momentum=0.9), max_iter=5,
        )  # fmt: skip


def test_stopping_on_loss_plateau_does_not_warn():
    X, y = _data("real")
    coefs, intercepts = init_params([3, 4], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = train(
            X, y, coefs, intercepts, NormBoundedHead("squared"), tol=10.0,
            n_iter_no_change=2, max_iter=50,
        )  # fmt: skip
    assert result.converged
    assert result.n_iter == 4 == len(result.dual_history)


def test_too_few_epochs_warn():
    X, y = _data("real")
    coefs, intercepts = init_params([3, 4], random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum number of epochs"):
        train(X, y, coefs, intercepts, NormBoundedHead("squared"), tol=0.0, max_iter=2)


def test_validation_score_returns_the_best_epoch():
    X, y = _data("real")
    coefs, intercepts = init_params([3, 4], random_state=0)
    scores = iter([0.1, 0.5, 0.3, 0.2, 0.2, 0.2, 0.2])
    seen = []

    def score(coefs, intercepts, solution):
        seen.append(([c.copy() for c in coefs], solution.objective))
        return next(scores)

    result = train(
        X, y, coefs, intercepts, NormBoundedHead("squared"), tol=0.0, n_iter_no_change=2,
        max_iter=20, validation_score=score,
    )  # fmt: skip
    assert result.n_iter == 5 and result.best_epoch == 2
    assert result.validation_scores == [0.1, 0.5, 0.3, 0.2, 0.2]
    np.testing.assert_array_equal(result.coefs[0], seen[1][0][0])
    assert result.head_solution.objective == seen[1][1]
    assert [r["validation_score"] for r in result.dual_history] == result.validation_scores


@pytest.mark.parametrize(
    "constraints, match",
    [
        ([None], "one set or None per hidden layer"),
        (L1Ball(1.0), None),
        ([NonNegative(), "spectral"], "must be a cvxdual.sets.ConvexSet"),
        ([Polyhedron(np.ones((1, 5)), np.ones(1)), None], "cannot hold the weights"),
    ],
)
def test_layer_constraints_are_validated(constraints, match):
    X, y = _data("real")
    coefs, intercepts = init_params([3, 4, 2], random_state=0)
    if match is None:
        result = train(
            X, y, coefs, intercepts, NormBoundedHead("squared"), layer_constraints=constraints,
            max_iter=1,
        )  # fmt: skip
        assert all(np.abs(W).sum() <= 1.0 + 1e-8 for W in result.coefs)
        return
    with pytest.raises(ValueError, match=match):
        train(
            X, y, coefs, intercepts, NormBoundedHead("squared"), layer_constraints=constraints
        )


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _data("real")
    coefs, intercepts = init_params([3, 4], random_state=0)
    train(
        X, y, coefs, intercepts, NormBoundedHead("squared", L2Ball(0.1)),
        layer_constraints=SpectralBall(0.2), max_iter=3, verbose=True,
    )  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert all("loss = " in line and "largest dual = " in line and "time = " in line
               for line in lines)  # fmt: skip


def test_check_layer_constraints_expands_and_checks_each_layer():
    shapes = [(3, 4), (4, 2)]
    S = SpectralBall(1.0)
    assert training.check_layer_constraints(S, shapes) == [S, S]
    assert training.check_layer_constraints(None, shapes) == [None, None]
    assert training.check_layer_constraints((None, S), shapes) == [None, S]
    with pytest.raises(ValueError, match=r"one set or None per hidden layer \(2\), got 1"):
        training.check_layer_constraints([S], shapes)
    with pytest.raises(ValueError, match=r"layer_constraints\[1\] must be a cvxdual.sets"):
        training.check_layer_constraints([S, "l2"], shapes)
    with pytest.raises(ValueError, match="cannot hold the weights of hidden layer 0 of shape"):
        training.check_layer_constraints([Polyhedron(np.ones((1, 5)), np.ones(1)), None], shapes)


def test_training_solves_a_copy_of_the_head_with_an_early_switch_to_chord_steps():
    from cvxdual.heads._config import _HeadConfig
    from cvxdual.training import _TRAINING_LBFGS_CHORD_RTOL, _training_head

    head = NormBoundedHead("multinomial", L2Ball(2.0))
    trained = _training_head(head)
    assert trained is not head and head._config.lbfgs_chord_rtol is None
    assert trained._config.lbfgs_chord_rtol == _TRAINING_LBFGS_CHORD_RTOL
    assert trained.loss is head.loss and trained.constraint is head.constraint
    # a head configured by its user, or another kind of head, is used as given
    from dataclasses import replace

    own = NormBoundedHead("multinomial", L2Ball(2.0),
                          _config=replace(_HeadConfig(), lbfgs_chord_rtol=1e-2))
    assert _training_head(own) is own

    class Other:
        def solve(self, features, y, sample_weight=None, warm_start=None):
            raise NotImplementedError

    other = Other()
    assert _training_head(other) is other
