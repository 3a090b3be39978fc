"""benchmarks/bench_mlp.py's breakdown: what RESULTS.md's "where the time goes" counts."""

import warnings

import numpy as np
from bench_support import load_benchmark
from sklearn.exceptions import ConvergenceWarning

from cvxdual import training
from cvxdual.estimators import ConstrainedMLPClassifier
from cvxdual.sets import SpectralBall


def _fit(max_iter=3):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = ConstrainedMLPClassifier(
        (5, 4), layer_constraints=[SpectralBall(0.5), None], head_radius=1.0,
        batch_size=20, max_iter=max_iter, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def test_profile_counts_every_projection_and_head_solve():
    bench = load_benchmark("bench_mlp")
    with bench.Profile() as profile:
        clf = _fit()
    # one constrained layer: the initial weights and after each of 3 x 3 steps
    assert profile.calls["projections"] == 1 + 9
    assert profile.calls["head solves"] == clf.n_iter_ + 1
    # (their time is attributed to both; no timing is compared here)
    assert set(profile.seconds) == {"head solves", "projections"}
    # and it puts the training functions back
    assert training._project_layers is bench.training._project_layers
    assert training._project_layers.__name__ == "_project_layers"


def test_floor_variants_skip_what_they_say(monkeypatch):
    bench = load_benchmark("bench_mlp")
    calls = []
    original = SpectralBall.project_closed_form

    def counting(self, V):
        calls.append(1)
        return original(self, V)

    monkeypatch.setattr(SpectralBall, "project_closed_form", counting)
    with bench.Floor(skip_projections=True):
        _fit()
    assert not calls
    assert training._project_layers.__name__ == "_project_layers"


def test_best_times_interleaves_and_records_each_round():
    bench = load_benchmark("bench_mlp")
    order = []

    def maker(label):
        def make():
            order.append(label)
            return ConstrainedMLPClassifier((3,), max_iter=1, random_state=0)

        return make

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 2)), np.arange(30) % 2
    rounds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best, models = bench.best_times([maker("a"), maker("b")], X, y, 3, rounds=rounds)
    assert order == ["a", "b"] * 3  # one fit of each per round, alternating
    assert len(rounds) == 3 and all(len(r) == 2 for r in rounds)
    assert best == [min(r[0] for r in rounds), min(r[1] for r in rounds)]
    assert all(m.n_iter_ == 1 for m in models)
