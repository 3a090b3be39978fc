"""Benchmark: exact warm-started head solves at scale (issue 10, item 3).

The head problems of one fit of the issue's reference case
(``make_classification(20000, 50 features, 30 informative, 5 classes)``,
75/25 split, ``ConstrainedMLPClassifier(hidden_layer_sizes=(128, 128),
layer_constraints=SpectralBall(3), head_radius=10, max_iter=10, tol=0,
random_state=0)``: features 15000 x 128, K = 5, L2 ball) are captured by
wrapping ``NormBoundedHead.solve`` (features, targets, warm start), then each is
solved again:

* ``sketch``: the shipped selection (above ``chord_max_work`` the chord matrix
  is the inverse Hessian of a row sketch; gradients, Hessian-vector products and
  the KKT test exact on all rows);
* ``full``: the previous selection (no sketch: full Hessians only), for the
  first ``--baseline`` problems, interleaved with ``sketch``.

For each solve: time, method, gradient evaluations, Hessian-vector products,
Hessians assembled (rows of each), and the relative KKT residual in the
original units. For comparison, one epoch of the network's forward/backward
work: ``cvxdual.network.forward`` + ``backward`` over minibatches of 200 rows,
and one epoch of scikit-learn's ``MLPClassifier`` (same layers).

Run from the repository root::

    python benchmarks/bench_head_scale.py [--baseline 2] [--threads default|1]
        [--cache /tmp/cvxdual_head_scale.pkl]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import time
import warnings
from dataclasses import replace

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from cvxdual import network
from cvxdual.estimators import ConstrainedMLPClassifier
from cvxdual.heads import NormBoundedHead
from cvxdual.heads._config import _HeadConfig
from cvxdual.heads._objective import _Smooth
from cvxdual.sets import L2Ball, SpectralBall

RADIUS = 10.0
# The previous selection: a sketch as large as the data is never affordable,
# so above chord_max_work only L-BFGS and full-Hessian Newton run.
FULL = replace(_HeadConfig(), sketch_rows_per_param=1e9)


def data():
    X, y = make_classification(
        20000, n_features=50, n_informative=30, n_classes=5, random_state=0
    )
    return train_test_split(X, y, test_size=0.25, random_state=0)


def capture(path):
    """The head problems of one reference fit: [(features, y, warm_start), ...]."""
    if os.path.exists(path):
        with open(path, "rb") as fh:
            return pickle.load(fh)
    X_train, _, y_train, _ = data()
    problems = []
    original = NormBoundedHead.solve

    def spy(self, features, y, sample_weight=None, warm_start=None):
        problems.append((np.array(features), np.array(y), warm_start))
        return original(self, features, y, sample_weight, warm_start)

    NormBoundedHead.solve = spy
    try:
        model = ConstrainedMLPClassifier(
            hidden_layer_sizes=(128, 128), layer_constraints=SpectralBall(3),
            head_radius=RADIUS, max_iter=10, tol=0, random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
    finally:
        NormBoundedHead.solve = original
    with open(path, "wb") as fh:
        pickle.dump(problems, fh)
    return problems


class Counts:
    """Gradient evaluations, Hessian-vector products and Hessian rows of the solves."""

    def __enter__(self):
        self.smooths, self.hessians = [], []
        init, hessian = _Smooth.__init__, _Smooth.hessian
        self._saved = (init, hessian)
        counts = self

        def spy_init(self, *args, **kwargs):
            init(self, *args, **kwargs)
            counts.smooths.append(self)

        def spy_hessian(self, z, *args, **kwargs):
            counts.hessians.append(self.A.shape[0])
            return hessian(self, z, *args, **kwargs)

        _Smooth.__init__, _Smooth.hessian = spy_init, spy_hessian
        return self

    def __exit__(self, *exc):
        _Smooth.__init__, _Smooth.hessian = self._saved

    def summary(self):
        grads = sum(s.n_eval for s in self.smooths)
        hvps = sum(s.n_hvp for s in self.smooths)
        return grads, hvps, list(self.hessians)


def kkt(sol, Phi, radius):
    """Largest relative KKT residual: stationarity in W and b, feasibility, complementarity."""
    nu, W = sol.sample_duals, sol.coef
    lam, norm = sol.duals["norm"], float(np.linalg.norm(W))
    g = Phi.T @ nu + lam * W / max(norm, 1e-300)
    scale = float(np.max(np.abs(Phi).T @ np.abs(nu)))  # the gradient without cancellation
    b = float(np.max(np.abs(nu.sum(axis=0)))) / float(np.max(np.abs(nu).sum(axis=0)))
    return max(float(np.max(np.abs(g))) / scale, b, max(norm - radius, 0.0) / radius,
               abs(lam * (norm - radius)) / max(lam * radius, 1e-300) if lam > 0 else 0.0)


def solve(problem, config):
    Phi, y, warm = problem
    head = NormBoundedHead("multinomial", L2Ball(RADIUS), _config=config)
    with Counts() as counts:
        start = time.perf_counter()
        sol = head.solve(Phi, y, warm_start=warm)
        elapsed = time.perf_counter() - start
    return elapsed, sol, counts.summary()


def epoch_times(repeats):
    """One epoch of forward/backward (cvxdual.network) and of sklearn's MLPClassifier."""
    X_train, _, y_train, _ = data()
    rng = np.random.default_rng(0)
    coefs, intercepts = network.init_params([50, 128, 128], random_state=0)
    G = rng.normal(size=(200, 128)) / 200
    ours, theirs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, X_train.shape[0], 200):
            acts = network.forward(X_train[i : i + 200], coefs, intercepts)
            network.backward(acts, coefs, G[: acts[0].shape[0]])
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MLPClassifier((128, 128), max_iter=1, random_state=0).fit(X_train, y_train)
        theirs.append(time.perf_counter() - start)
    return np.median(ours), np.median(theirs)


def run(args):
    problems = capture(args.cache)
    print(f"{len(problems)} head problems, features {problems[0][0].shape}, K = 5, "
          f"L2 ball r = {RADIUS}")
    header = (f"{'#':>3} {'path':6} {'method':15} {'time s':>8} {'grads':>6} {'HVPs':>5} "
              f"{'Hessians (rows)':24} {'KKT rel':>9} {'λ':>10} {'objective':>20}")
    print(header)
    rows = []
    for i, problem in enumerate(problems):
        runs = [("sketch", _HeadConfig())]
        if i < args.baseline:
            runs.append(("full", FULL))
        for label, config in runs * args.repeats:
            t, sol, (grads, hvps, hessians) = solve(problem, config)
            rows.append((i, label, t, sol, grads, hvps, hessians))
            hess = ",".join(str(h) for h in hessians[:4]) + ("…" if len(hessians) > 4 else "")
            print(f"{i:3d} {label:6} {sol.method:15} {t:8.3f} {grads:6d} {hvps:5d} "
                  f"{len(hessians):2d} ({hess:20s}) {kkt(sol, problem[0], RADIUS):9.1e} "
                  f"{sol.duals['norm']:10.3e} {sol.objective:20.15f}", flush=True)
    sketch = [r for r in rows if r[1] == "sketch"]
    times = np.array([r[2] for r in sketch])
    print(f"\nsketch: median {np.median(times):.3f} s per solve (range {times.min():.3f}–"
          f"{times.max():.3f}), total {times.sum() / args.repeats:.2f} s per fit; median "
          f"{np.median([r[4] for r in sketch]):.0f} gradients, "
          f"{np.median([r[5] for r in sketch]):.0f} HVPs per solve")
    full = [r for r in rows if r[1] == "full"]
    if full:
        print(f"full: median {np.median([r[2] for r in full]):.3f} s per solve")
    ours, theirs = epoch_times(args.repeats + 2)
    print(f"one epoch forward/backward (cvxdual.network, batches of 200): {ours:.3f} s; "
          f"one epoch of sklearn MLPClassifier: {theirs:.3f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=int, default=2,
                        help="problems also solved with the previous (full-Hessian) selection")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", choices=["1", "default"], default="default")
    parser.add_argument("--cache", default="/tmp/cvxdual_head_scale.pkl")
    args = parser.parse_args()
    limits = threadpool_limits(1) if args.threads == "1" else contextlib.nullcontext()
    with limits:
        run(args)


if __name__ == "__main__":
    main()
