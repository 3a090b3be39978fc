"""Benchmark: networks trained with heads beyond a norm bound, against the plain network.

    python benchmarks/bench_training_heads.py [--repeats 3] [--epochs 30] [--threads 1]

Digits (standardised, 70/30 stratified split), ``ConstrainedMLPClassifier((64, 64),
layer_constraints=SpectralBall(2), head_radius=5)``, ``--epochs`` epochs, seed 0, trained
with

* the plain norm-bounded head,
* a fair head, ``head_fairness=DemographicParity(0.05)`` (the sensitive attribute: pixel
  20 of the raw image above 8, a binary attribute correlated with the digit),
* a Lipschitz-margin head, ``lipschitz_margin=0.1`` (the score margin ``0.1 L ‖w_y − w_j‖``
  with the layers' Lipschitz bound ``L = 4``; 0.3 merges every class on these features),

and scikit-learn's ``MLPClassifier((64, 64))`` for scale. The fits alternate (best of
``--repeats`` each, same process); the table gives each fit's time, its ratio to the
plain network and to ``MLPClassifier``, the share of the fit spent in head solves, the
head solver's method and the test accuracy (for the fair network also the largest
gap between a group's mean score and the overall mean on the training rows, which the
constraint bounds by 0.05).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import Counter

import numpy as np
from _timing import add_threads_option, thread_limit
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import cvxdual.training as training
from cvxdual import ConstrainedMLPClassifier
from cvxdual.fairness import DemographicParity
from cvxdual.network import forward
from cvxdual.sets import SpectralBall


def _data():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    groups = (X_train[:, 20] > 8).astype(int)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test, groups


class _HeadClock:
    """Times every head solve of the fits run inside it (wraps ``training._solve_head``)."""

    def __init__(self):
        self.seconds, self.methods = 0.0, Counter()

    def __enter__(self):
        self._original = training._solve_head

        def timed(*args, **kwargs):
            start = time.perf_counter()
            solution = self._original(*args, **kwargs)
            self.seconds += time.perf_counter() - start
            self.methods[solution.method] += 1
            return solution

        training._solve_head = timed
        return self

    def __exit__(self, *exc):
        training._solve_head = self._original


def _models(epochs):
    common = {"max_iter": epochs, "tol": 0.0, "n_iter_no_change": epochs, "random_state": 0}
    ours = {"layer_constraints": SpectralBall(2.0), "head_radius": 5.0, **common}
    return {
        "plain": lambda: ConstrainedMLPClassifier((64, 64), **ours),
        "fair": lambda: ConstrainedMLPClassifier(
            (64, 64), head_fairness=DemographicParity(0.05), **ours
        ),
        "margin": lambda: ConstrainedMLPClassifier((64, 64), lipschitz_margin=0.1, **ours),
        "MLPClassifier": lambda: MLPClassifier((64, 64), **common),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    add_threads_option(parser)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    X_train, X_test, y_train, y_test, groups = _data()
    makers = _models(args.epochs)
    times = {name: [] for name in makers}
    heads, fitted = {}, {}
    with thread_limit(args.threads):
        for _ in range(args.repeats):
            for name, make in makers.items():
                extra = {"sensitive_features": groups} if name == "fair" else {}
                with _HeadClock() as clock:
                    start = time.perf_counter()
                    fitted[name] = make().fit(X_train, y_train, **extra)
                    times[name].append(time.perf_counter() - start)
                heads.setdefault(name, []).append(clock)
    best = {name: min(values) for name, values in times.items()}
    print(f"digits, hidden (64, 64), {args.epochs} epochs, best of {args.repeats} "
          f"(threads: {args.threads or 'default'})\n")
    print("| fit | time | / plain | / MLPClassifier | head solves | head method | "
          "test accuracy |")
    print("|---|---|---|---|---|---|---|")
    for name in makers:
        clock = heads[name][int(np.argmin(times[name]))]
        share = f"{clock.seconds / best[name]:.0%}" if name != "MLPClassifier" else "—"
        method = ", ".join(sorted(clock.methods)) or "—"
        accuracy = fitted[name].score(X_test, y_test)
        print(f"| {name} | {best[name]:.2f} s | {best[name] / best['plain']:.2f} | "
              f"{best[name] / best['MLPClassifier']:.2f} | {share} | {method} | "
              f"{accuracy:.4f} |")
    fair = fitted["fair"]
    features = forward(X_train, fair.coefs_, fair.intercepts_, fair.activation)[-1]
    scores = features @ fair.head_coef_ + fair.head_intercept_
    gaps = [np.abs(scores[groups == g].mean(axis=0) - scores.mean(axis=0)).max()
            for g in np.unique(groups)]
    print(f"\nfair network: largest group gap of the mean scores on the training rows "
          f"{max(gaps):.4f} (bound 0.05, on the head's scores of the final features)")


if __name__ == "__main__":
    main()
