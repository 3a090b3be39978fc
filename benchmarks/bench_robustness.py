"""Benchmark: certified ℓ2 robustness on digits from exact Lipschitz bounds (issue 14).

digits with pixels scaled to [0, 1] (``X / 16``), 70/30 stratified split,
one hidden relu layer of 64 units, head radius 10, Adam (learning rate 0.01),
``--epochs`` epochs, every epoch run. Models:

* an unconstrained network (its ``lipschitz_bound_`` is still exact);
* ``SpectralBall(r)`` on the hidden layer for each r in ``--radii``;
* Lipschitz-margin training (``lipschitz_margin=ε``) for each ε in
  ``--margins`` and each ``SpectralBall(r)``, r in ``--margin-radii``.

For each model: ``lipschitz_bound_``, clean test accuracy, test certified
accuracy (:func:`cvxdual.verify.certified_accuracy`) against eps, and the fit
time; a figure of certified accuracy against eps is written to ``--out``.

Run from the repository root::

    python benchmarks/bench_robustness.py [--epochs 30] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _timing import add_threads_option, thread_limit
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from cvxdual import ConstrainedMLPClassifier
from cvxdual.sets import SpectralBall
from cvxdual.verify import certified_accuracy

EPS = np.round(np.arange(0.0, 1.01, 0.05), 2)
REPORTED_EPS = (0.1, 0.3, 0.5)


def _models(radii, margins, margin_radii, epochs):
    common = {
        "hidden_layer_sizes": (64,),
        "learning_rate_init": 0.01,
        "max_iter": epochs,
        "tol": 0.0,
        "n_iter_no_change": epochs,
        "head_radius": 10.0,
        "random_state": 0,
    }
    yield "unconstrained", ConstrainedMLPClassifier(**common)
    for r in radii:
        yield f"SpectralBall({r:g})", ConstrainedMLPClassifier(
            layer_constraints=SpectralBall(r), **common
        )
    for r in margin_radii:
        for eps in margins:
            yield f"SpectralBall({r:g}) + margin {eps:g}", ConstrainedMLPClassifier(
                layer_constraints=SpectralBall(r), lipschitz_margin=eps, **common
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    add_threads_option(parser)
    parser.add_argument("--radii", type=float, nargs="*", default=[1.0, 2.0, 4.0])
    parser.add_argument("--margins", type=float, nargs="*", default=[0.1, 0.2, 0.3])
    parser.add_argument("--margin-radii", type=float, nargs="*", default=[1.0, 2.0])
    parser.add_argument("--out", default="benchmarks/robustness.png")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    rows = []
    with thread_limit(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in _models(args.radii, args.margins, args.margin_radii, args.epochs):
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            curve = certified_accuracy(model, X_test, y_test, EPS)
            rows.append((name, model.lipschitz_bound_, curve, seconds))
            print(f"{name}: L = {model.lipschitz_bound_:.3g}, clean {curve[0]:.3f}, "
                  f"fit {seconds:.1f} s", flush=True)

    at = [int(np.flatnonzero(np.isclose(EPS, e))[0]) for e in REPORTED_EPS]
    header = " | ".join(f"eps = {e:g}" for e in REPORTED_EPS)
    print(f"\n| model | lipschitz_bound_ | clean | {header} | fit time |")
    print("|---|---|---|" + "---|" * len(REPORTED_EPS) + "---|")
    for name, L, curve, seconds in rows:
        cells = " | ".join(f"{curve[i]:.3f}" for i in at)
        print(f"| {name} | {L:.3g} | {curve[0]:.3f} | {cells} | {seconds:.1f} s |")
    print()
    for e, i in zip(REPORTED_EPS, at, strict=True):
        best = max(rows, key=lambda row: row[2][i])
        print(f"best certified accuracy at eps = {e:g}: {best[0]} ({best[2][i]:.3f})")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, L, curve, _ in rows:
        style = "--" if "margin" in name else "-"
        ax.plot(EPS, curve, style, marker=".", label=f"{name} (L = {L:.3g})")
    ax.set_xlabel("ℓ2 radius eps (pixels in [0, 1])")
    ax.set_ylabel("certified test accuracy")
    ax.set_title("digits: certified accuracy from exact Lipschitz bounds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
