"""Benchmark: the fast exact norm-bounded head against scikit-learn and CVXPY.

For a binary problem (20,000 x 50) and the digits data (multinomial, 10
classes) with an L2 bound that binds, and a binary problem (100,000 x 50)
with a bound that does not bind (the equivalent model is then the
unpenalised one, ``C=np.inf``), time in one process (best of k):

* ``NormBoundedLinearClassifier(radius=r)`` (fast exact solver);
* ``LogisticRegression(C=r / (n λ))``, the equivalent penalised problem (``C = ∞``
  for ``λ = 0``), with
  its default tolerance and with a tight one (``tol=1e-10``);
* the same constrained problem solved by CVXPY + Clarabel
  (``solver="CLARABEL"``, build + solve) against the fast head on the same
  rows: the first 2,000 (binary) and 300 (digits) rows by default, as CVXPY
  takes minutes (and, for the binary problem, tens of GiB) on the full data;
  ``--cvxpy-full`` tries the full problems as well.

Ratios ``ours / LogisticRegression`` (target <= 3) and ``CVXPY / ours`` (target
>= 10) are printed, with the agreement of the coefficients. Threads are the
libraries' defaults, as a user runs them; ``--threads 1`` limits every pool.

Run from the repository root::

    python benchmarks/bench_heads.py [--repeats 5] [--cvxpy-full] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _timing import add_threads_option, thread_limit
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from cvxdual.estimators._linear import NormBoundedLinearClassifier
from cvxdual.exceptions import SolverError
from cvxdual.heads import NormBoundedHead
from cvxdual.sets import L2Ball


def best_of(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def datasets():
    X, y = make_classification(n_samples=20_000, n_features=50, n_informative=20, random_state=0)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    yield "binary 20000x50", X, y, 0.5
    digits = load_digits()
    yield "digits 1797x64, 10 classes", digits.data / 16.0, digits.target, 2.0
    X, y = make_classification(n_samples=100_000, n_features=50, n_informative=30,
                               n_redundant=0, random_state=1)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    yield "binary 100000x50, not binding", X, y, 100.0


def run(repeats: int, cvxpy_full: bool) -> None:
    # CVXPY + Clarabel takes minutes on the full problems (and the binary one
    # needs tens of GiB in CVXPY's exponential-cone canonicalisation), so by
    # default the comparison with CVXPY uses the first rows only.
    n_cvxpy = {"log_loss": 2000, "multinomial": 300}
    print(f"{'problem':28s} {'what':40s} {'time [s]':>9s} {'ratio':>8s}")
    for name, X, y, radius in datasets():
        n = X.shape[0]
        t_ours, ours = best_of(
            lambda X=X, y=y, radius=radius: NormBoundedLinearClassifier(radius).fit(X, y),
            repeats,
        )
        lam = ours.duals_["norm"]
        C = radius / (n * lam) if lam > 0 else np.inf
        print(
            f"{name:28s} {'NormBoundedLinearClassifier (' + ours.solve_method_ + ')':40s} "
            f"{t_ours:9.4f} {'1':>8s}   λ = {lam:.6g}, n_iter = {ours.n_iter_}"
        )
        for label, kwargs in (("default tol", {}), ("tol=1e-10", {"tol": 1e-10})):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t_lr, lr = best_of(
                    lambda X=X, y=y, C=C, kwargs=kwargs: LogisticRegression(
                        C=C, max_iter=10_000, **kwargs
                    ).fit(X, y),
                    repeats,
                )
            diff = np.max(np.abs(lr.coef_ - ours.coef_)) / np.max(np.abs(ours.coef_))
            print(
                f"{'':28s} {'LogisticRegression(C=r/(nλ)), ' + label:40s} {t_lr:9.4f} "
                f"{t_ours / t_lr:8.2f}   ours/sklearn; coef rel. diff {diff:.1e}"
            )
        loss = "log_loss" if len(np.unique(y)) == 2 else "multinomial"
        target = 2.0 * y - 1.0 if loss == "log_loss" else y
        sizes = [n] if cvxpy_full else []
        sizes.append(n_cvxpy[loss])
        for m in sizes:
            Xm, tm = X[:m], target[:m]
            t_fast, fast = best_of(
                lambda Xm=Xm, tm=tm, loss=loss, radius=radius: NormBoundedHead(
                    loss, L2Ball(radius)
                ).solve(Xm, tm),
                repeats,
            )
            head = NormBoundedHead(loss, L2Ball(radius), solver="CLARABEL")
            try:
                t_cvx, exact = best_of(lambda head=head, Xm=Xm, tm=tm: head.solve(Xm, tm), 1)
            except (SolverError, MemoryError) as exc:
                print(f"{'':28s} CVXPY + Clarabel on the first {m} rows failed: {exc}")
                continue
            diff = np.max(np.abs(exact.coef - fast.coef)) / np.max(np.abs(fast.coef))
            lam_diff = abs(exact.duals["norm"] - fast.duals["norm"]) / max(fast.duals["norm"],
                                                                           1.0)
            print(
                f"{'':28s} {f'first {m} rows: head (fast)':40s} {t_fast:9.4f} {'1':>8s}"
                f"   λ = {fast.duals['norm']:.6g}"
            )
            print(
                f"{'':28s} {f'first {m} rows: CVXPY + Clarabel':40s} {t_cvx:9.4f} "
                f"{t_cvx / t_fast:8.1f}   CVXPY/ours; coef rel. diff {diff:.1e}, "
                f"λ diff (rel. to max(λ, 1)) {lam_diff:.1e}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--cvxpy-full", action="store_true", help="also run CVXPY on the full problems"
    )
    add_threads_option(parser)
    args = parser.parse_args()
    with thread_limit(args.threads):
        run(args.repeats, args.cvxpy_full)


if __name__ == "__main__":
    main()
