"""Benchmark: time and peak memory as the number of rows grows (issue 10, item 4).

* ``NormBoundedLinearClassifier(radius=0.5, loss="log_loss")`` (an L2 bound
  that binds) at 10^4, 10^5, 10^6 rows x 50 features, against
  ``LogisticRegression(C=r / (n λ))``, the equivalent penalised problem, λ
  the bound's dual from our fit (README, "equivalent C");
* ``ConstrainedMLPClassifier`` (hidden (128, 128), ``SpectralBall(3)``, head
  radius 10, ``--mlp-epochs`` epochs, 5 classes) at 10^4 and 10^5 rows x 50
  features against ``MLPClassifier`` with the same sizes and epochs.

Every fit runs in a fresh subprocess (this script with ``--one``), the two
sides alternating, ``--repeats`` times; the tables give the median and range
of the fit times and the peak resident memory of the child (``ru_maxrss``):
the whole process, and the part the fit added above the peak before it
(imports, data and a warm-up fit on 2,000 rows included in the first, not in
the second). The growth rate
is the least-squares slope of log(time) and log(fit memory) against log(n).
Threads are the libraries' defaults; ``--threads 1`` limits every pool.

Run from the repository root::

    python benchmarks/bench_scale.py [--repeats 3] [--threads 1] [--mlp-epochs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

D = 50
RADIUS = 0.5
LINEAR_SIZES = (10_000, 100_000, 1_000_000)
MLP_SIZES = (10_000, 100_000)


def _peak_mib() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _linear_data(n):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, D))
    w = rng.standard_normal(D) / np.sqrt(D)
    y = (X @ w + 0.5 * rng.standard_normal(n) > 0).astype(int)
    return X, y


def _mlp_data(n):
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n, n_features=D, n_informative=30, n_classes=5, random_state=0)
    return StandardScaler().fit_transform(X), y


def one(kind: str, n: int, C: float | None, epochs: int, threads: int | None) -> dict:
    """Fit one model in this process; return time, memory and what the parent needs."""
    from _timing import thread_limit
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    from cvxdual.estimators import ConstrainedMLPClassifier, NormBoundedLinearClassifier
    from cvxdual.sets import SpectralBall

    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = (_linear_data if kind.startswith("linear") else _mlp_data)(n)
    common = dict(max_iter=epochs, tol=0.0, n_iter_no_change=epochs, random_state=0)
    model = {
        "linear-ours": lambda: NormBoundedLinearClassifier(radius=RADIUS),
        "linear-sklearn": lambda: LogisticRegression(C=C),
        "mlp-ours": lambda: ConstrainedMLPClassifier(
            (128, 128), layer_constraints=SpectralBall(3.0), head_radius=10.0, **common
        ),
        "mlp-sklearn": lambda: MLPClassifier((128, 128), **common),
    }[kind]()
    with thread_limit(threads):
        # first-call costs (lazy imports, compiled kernels) are not the fit's
        clone(model).set_params(**({"max_iter": 1} if kind.startswith("mlp") else {})).fit(
            X[:2000], y[:2000]
        )
    before = _peak_mib()
    with thread_limit(threads):
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    peak = _peak_mib()
    out = {"time": seconds, "peak": peak, "fit_peak": max(peak - before, 0.0),
           "data_mib": X.nbytes / 2**20, "score": float(model.score(X, y))}  # fmt: skip
    if kind == "linear-ours":
        out["C"] = RADIUS / (n * model.duals_["norm"])
        out["lambda"] = model.duals_["norm"]
    return out


def _child(kind, n, C, epochs, threads) -> dict:
    cmd = [sys.executable, __file__, "--one", kind, str(n), "--mlp-epochs", str(epochs)]
    if C is not None:
        cmd += ["--C", repr(C)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _slope(ns, values) -> float:
    return float(np.polyfit(np.log(ns), np.log(values), 1)[0])


def _span(values) -> str:
    return f"{np.median(values):.3g} ({min(values):.3g}–{max(values):.3g})"


def compare(name, sizes, kinds, repeats, epochs, threads):
    print(f"\n## {name}\n")
    print("| n | ours time (s) | sklearn time (s) | ratio | ours peak / fit MiB "
          "| sklearn peak / fit MiB | peak ratio | data MiB |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for n in sizes:
        runs = {k: [] for k in kinds}
        for _ in range(repeats):
            ours = _child(kinds[0], n, None, epochs, threads)
            theirs = _child(kinds[1], n, ours.get("C"), epochs, threads)
            runs[kinds[0]].append(ours)
            runs[kinds[1]].append(theirs)
        t_o = [r["time"] for r in runs[kinds[0]]]
        t_s = [r["time"] for r in runs[kinds[1]]]
        p_o = max(r["peak"] for r in runs[kinds[0]])
        p_s = max(r["peak"] for r in runs[kinds[1]])
        f_o = max(r["fit_peak"] for r in runs[kinds[0]])
        f_s = max(r["fit_peak"] for r in runs[kinds[1]])
        ratios = [a / b for a, b in zip(t_o, t_s, strict=True)]
        print(f"| {n:,} | {_span(t_o)} | {_span(t_s)} | {_span(ratios)} | {p_o:.0f} / {f_o:.0f} "
              f"| {p_s:.0f} / {f_s:.0f} | {p_o / p_s:.2f} "
              f"| {runs[kinds[0]][0]['data_mib']:.0f} |")  # fmt: skip
        extra = runs[kinds[0]][0]
        if "lambda" in extra:
            print(f"|  | λ = {extra['lambda']:.4g}, C = {extra['C']:.4g} | | | | | | |")
        rows.append((n, np.median(t_o), np.median(t_s), f_o, f_s))
    if len(rows) > 1:
        ns = [r[0] for r in rows]
        slopes = [_slope(ns, [max(r[i], 1e-9) for r in rows]) for i in (1, 2, 3, 4)]
        print("\ngrowth (slope of log y vs log n): time ours {:.2f}, sklearn {:.2f}; "
              "fit memory ours {:.2f}, sklearn {:.2f}".format(*slopes))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mlp-epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="limit every pool to this many threads (default: as installed)")
    parser.add_argument("--skip-mlp", action="store_true")
    parser.add_argument("--one", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--C", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, n = args.one
        print(json.dumps(one(kind, int(n), args.C, args.mlp_epochs, args.threads)))
        return
    threads = "default threads" if args.threads is None else f"{args.threads} thread(s)"
    compare(f"NormBoundedLinearClassifier (L2 r={RADIUS}, log_loss) vs LogisticRegression "
            f"(equivalent C), {D} features, {threads}", LINEAR_SIZES,
            ("linear-ours", "linear-sklearn"), args.repeats, args.mlp_epochs, args.threads)
    if not args.skip_mlp:
        compare(f"ConstrainedMLPClassifier vs MLPClassifier, hidden (128, 128), "
                f"{args.mlp_epochs} epochs, {D} features, 5 classes, {threads}", MLP_SIZES,
                ("mlp-ours", "mlp-sklearn"), args.repeats, args.mlp_epochs, args.threads)


if __name__ == "__main__":
    main()
