"""Benchmark: constrained MLPs against scikit-learn's MLPs (same sizes, epochs, seed).

Three problems, each with its target:

* digits, 70/30 split (stratified), hidden (64, 64), ``SpectralBall(2)`` on
  both hidden layers, head radius 5, 60 epochs, against ``MLPClassifier``:
  test accuracy >= sklearn's - 0.02 and fit time <= 3x sklearn's (issue 10);
* ``make_classification(20000, n_features=50, n_informative=30, n_classes=5)``,
  75/25 split, hidden (128, 128), ``SpectralBall(3)``, head radius 10, 10
  epochs (issue 10's scale case): accuracy >= sklearn's - 0.01, time <= 3x;
* ``make_friedman1`` (2,000 samples, 70/30), hidden (64,), ``MaxNorm(3)``,
  60 epochs, against ``MLPRegressor``: test R² >= sklearn's - 0.03.

Both sides use Adam, batch size "auto", learning rate 1e-3, standardised
inputs, and run every epoch (``tol=0``, ``n_iter_no_change=max_iter``). Fit
times are the best of ``--repeats`` runs in this process, with the libraries'
default threads (as a user runs them; ``--threads N`` limits every pool to N
for both). The script also reports where the constrained fit spends its time
(head solves, projections, the rest).

Run from the repository root::

    python benchmarks/bench_mlp.py [--repeats 3] [--threads 1] [--epochs 60] [--floor]

Fits of the two sides alternate (best of ``--repeats`` each), so load drift on
the machine hits both alike. ``--floor`` also times the digits fit with its head
solves and then also its projections skipped (timing-only; see ``Floor``).
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings
from collections import defaultdict

import numpy as np
from _timing import add_threads_option, thread_limit
from sklearn.datasets import load_digits, make_classification, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

import cvxdual.training as training
from cvxdual.estimators._mlp import ConstrainedMLPClassifier, ConstrainedMLPRegressor
from cvxdual.heads import NormBoundedHead
from cvxdual.sets import MaxNorm, SpectralBall

SEED = 0


def fit_time(make, X, y):
    """Return (fit time, fitted model)."""
    model = make()
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start, model


def best_times(makers, X, y, repeats, contexts=None, rounds=None):
    """Best fit time and last model of each maker, the fits interleaved.

    One fit of each maker per round (ours, sklearn's, ours, ...), so that the
    load of this shared machine drifting during the run hits both sides alike;
    ``contexts`` (one per maker, or None) wrap that maker's fits. ``rounds``, a
    list, receives each round's times (one per maker).
    """
    best = [np.inf] * len(makers)
    models = [None] * len(makers)
    contexts = contexts or [None] * len(makers)
    for _ in range(repeats):
        times = []
        for i, make in enumerate(makers):
            with contexts[i] if contexts[i] is not None else contextlib.nullcontext():
                seconds, models[i] = fit_time(make, X, y)
            best[i] = min(best[i], seconds)
            times.append(seconds)
        if rounds is not None:
            rounds.append(times)
    return best, models


class Profile:
    """Accumulates the time spent in head solves and projections during one fit."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)
        self.methods = defaultdict(int)
        self.total = 0.0  # time inside the context, over every use

    def __enter__(self):
        self._start = time.perf_counter()
        self._solve, self._project = NormBoundedHead.solve, training._project_layers
        profile = self

        def solve(head, *args, **kwargs):
            start = time.perf_counter()
            solution = profile._solve(head, *args, **kwargs)
            profile.seconds["head solves"] += time.perf_counter() - start
            profile.calls["head solves"] += 1
            profile.methods[solution.method] += 1
            return solution

        def project_layers(sets, *args, **kwargs):
            start = time.perf_counter()
            result = profile._project(sets, *args, **kwargs)
            profile.seconds["projections"] += time.perf_counter() - start
            profile.calls["projections"] += sum(S is not None for S in sets)
            return result

        NormBoundedHead.solve, training._project_layers = solve, project_layers
        return self

    def __exit__(self, *exc):
        NormBoundedHead.solve, training._project_layers = self._solve, self._project
        self.total += time.perf_counter() - self._start


class Floor:
    """Timing-only variants of the constrained fit (the models are NOT valid).

    ``"no head solves"``: the head keeps its first solution (training._solve_head
    returns the warm start after the initial solve); ``"no head solves, no
    projections"``: the constrained layers are not projected either. What is
    left is the cost of the network loop itself, to see how much of the ratio
    to sklearn the exact solves and projections take.
    """

    def __init__(self, skip_projections):
        self.skip_projections = skip_projections

    def __enter__(self):
        self._solve_head, self._project_layers = training._solve_head, training._project_layers
        original = self._solve_head

        def keep_first(head, features, y, sample_weight, warm_start, epoch):
            if warm_start is None:
                return original(head, features, y, sample_weight, warm_start, epoch)
            return warm_start

        training._solve_head = keep_first
        if self.skip_projections:
            training._project_layers = lambda sets, coefs, records, finite=False: None
        return self

    def __exit__(self, *exc):
        training._solve_head, training._project_layers = self._solve_head, self._project_layers


def floor(data, make_ours, make_theirs, repeats):
    """Fit time of the constrained network without its head solves / projections."""
    X_train, _, y_train, _ = data
    makers = [make_ours, make_ours, make_ours, make_theirs]
    contexts = [None, Floor(False), Floor(True), None]
    (t_full, t_nohead, t_bare, t_sk), _ = best_times(makers, X_train, y_train, repeats, contexts)
    print("  floor (timing-only variants, not valid models; interleaved, best of "
          f"{repeats}): sklearn {t_sk:.3f}s | ours {t_full:.3f}s ({t_full / t_sk:.2f}x) | "
          f"without head solves {t_nohead:.3f}s ({t_nohead / t_sk:.2f}x) | without head "
          f"solves and projections {t_bare:.3f}s ({t_bare / t_sk:.2f}x)")


def split(X, y, stratify, test_size=0.3):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=SEED, stratify=y if stratify else None
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def run(name, ours, theirs, data, repeats, threshold, metric):
    X_train, X_test, y_train, y_test = data
    profile = Profile()
    rounds = []
    (t_ours, t_theirs), (model, reference) = best_times(
        [ours, theirs], X_train, y_train, repeats, [profile, None], rounds)
    # (each round's two fits ran back to back: the median of their ratios is less
    # moved by the machine's drift than the ratio of two minima taken apart)
    paired = float(np.median([a / b for a, b in rounds]))
    total = profile.total / repeats
    profile.seconds = {k: v / repeats for k, v in profile.seconds.items()}
    profile.calls = {k: v // repeats for k, v in profile.calls.items()}
    s_ours, s_theirs = model.score(X_test, y_test), reference.score(X_test, y_test)
    print(f"\n## {name}")
    print(f"  test {metric}: cvxdual {s_ours:.4f}  sklearn {s_theirs:.4f}  "
          f"difference {s_ours - s_theirs:+.4f} (target >= {-threshold:+.2f}: "
          f"{'PASS' if s_ours >= s_theirs - threshold else 'FAIL'})")  # fmt: skip
    print(f"  fit time (best of {repeats}): cvxdual {t_ours:.3f}s  sklearn {t_theirs:.3f}s  "
          f"ratio {t_ours / t_theirs:.2f}x (median of the {repeats} paired rounds' "
          f"ratios {paired:.2f}x)")  # fmt: skip
    print(f"  epochs: cvxdual {model.n_iter_}, sklearn {reference.n_iter_}")
    rest = total - sum(profile.seconds.values())
    parts = ", ".join(
        f"{k} {v:.3f}s ({profile.calls[k]} calls, {100 * v / total:.0f}%)"
        for k, v in profile.seconds.items()
    )
    print(f"  where the time goes (mean fit, {total:.3f}s): {parts}, "
          f"forward/backward/optimizer {rest:.3f}s ({100 * rest / total:.0f}%)")  # fmt: skip
    print(f"  head solver methods (all fits): {dict(profile.methods)}")
    return s_ours, s_theirs, t_ours, t_theirs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--floor", action="store_true",
                        help="also time the digits fit without head solves / projections")
    parser.add_argument("--scale-epochs", type=int, default=10,
                        help="epochs of the 20,000-row case")
    add_threads_option(parser)
    args = parser.parse_args()
    epochs = args.epochs
    common = dict(max_iter=epochs, tol=0.0, n_iter_no_change=epochs, random_state=SEED)
    warnings.simplefilter("ignore", ConvergenceWarning)

    with thread_limit(args.threads):
        X, y = load_digits(return_X_y=True)
        digits = split(X, y, stratify=True)

        def ours():
            return ConstrainedMLPClassifier(
                (64, 64), layer_constraints=SpectralBall(2.0), head_radius=5.0, **common
            )

        def theirs():
            return MLPClassifier((64, 64), **common)

        run(
            f"digits: hidden (64, 64), SpectralBall(2) on both layers, head radius 5, "
            f"{epochs} epochs",
            ours,
            theirs,
            digits,
            args.repeats,
            0.02,
            "accuracy",
        )
        if args.floor:
            floor(digits, ours, theirs, args.repeats)
        X, y = make_classification(
            20000, n_features=50, n_informative=30, n_classes=5, random_state=SEED
        )
        scale = split(X, y, stratify=False, test_size=0.25)
        e = args.scale_epochs
        wide = dict(max_iter=e, tol=0.0, n_iter_no_change=e, random_state=SEED)
        run(
            f"make_classification (20,000 x 50, 5 classes), 75/25: hidden (128, 128), "
            f"SpectralBall(3), head radius 10, {e} epochs",
            lambda: ConstrainedMLPClassifier(
                (128, 128), layer_constraints=SpectralBall(3.0), head_radius=10.0, **wide
            ),
            lambda: MLPClassifier((128, 128), **wide),
            scale,
            args.repeats,
            0.01,
            "accuracy",
        )
        X, y = make_friedman1(n_samples=2000, random_state=SEED)
        friedman = split(X, y, stratify=False)
        run(
            f"make_friedman1 (2,000 samples): hidden (64,), MaxNorm(3), {epochs} epochs",
            lambda: ConstrainedMLPRegressor((64,), layer_constraints=MaxNorm(3.0), **common),
            lambda: MLPRegressor(hidden_layer_sizes=(64,), **common),
            friedman,
            args.repeats,
            0.03,
            "R²",
        )


if __name__ == "__main__":
    main()
