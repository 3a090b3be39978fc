"""Benchmark: exact convex training of a two-layer ReLU network (n = 200, d = 10).

On one data set (n = 200, d = 10, y = sin(Xw) + noise, alpha = 1e-3) and the
patterns of 200 Gaussian gates (``patterns_`` of ``ConvexReLURegressor(n_patterns=200,
random_state=0)``), time in one process:

* the fast solver (``solve_convex_relu(method="fast")``: a primal-dual
  interior-point method on the program's conic form with Woodbury Newton
  solves, certified stop at relative gap ``tol``; its fallback stage, an
  augmented-Lagrangian warm-up and exact working-set solves, is not needed
  here);
* the CVXPY definition with Clarabel on the same patterns (build + solve, and a
  re-solve of the compiled DPP problem);
* full-batch gradient descent on the nonconvex network (plain NumPy, m = 200
  neurons, fixed step), for the objective it reaches and its time.

Printed: objectives, the relative difference fast vs CVXPY (target ≤ 1e-4),
the speed ratio CVXPY / fast (target ≥ 5), GD's objective relative to the
convex optimum, and the certificate of the GD network. Threads are the
libraries' defaults; ``--threads 1`` limits BLAS to one thread.

Run from the repository root::

    python benchmarks/bench_convex_relu.py [--repeats 1] [--tol 1e-5] [--gd-steps 20000]

With ``--scan``, instead: fast solver vs CVXPY + Clarabel (build + solve) on
smaller and larger problems, the measurements behind ``AUTO_CVXPY_SIZE``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _timing import add_threads_option, thread_limit
from sklearn.exceptions import ConvergenceWarning

from cvxdual.convex_relu import (
    ConvexReLUProgram,
    certify,
    network_objective,
    sample_patterns,
    solve_convex_relu,
)


def make_data(n=200, d=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.sin(X @ rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)
    return X, y


def gradient_descent(X, y, alpha, *, m=200, steps=20000, lr=0.1, seed=0):
    """Full-batch GD on (1/(2n))‖(X̃U)₊a − y‖² + (alpha/2)(‖U‖² + ‖a‖²)."""
    rng = np.random.default_rng(seed)
    Xt = np.hstack([X, np.ones((X.shape[0], 1))])
    n = X.shape[0]
    U = rng.standard_normal((Xt.shape[1], m)) / np.sqrt(Xt.shape[1])
    a = rng.standard_normal(m) / np.sqrt(m)
    for _ in range(steps):
        pre = Xt @ U
        H = np.maximum(pre, 0.0)
        r = (H @ a - y) / n
        ga = H.T @ r + alpha * a
        gU = Xt.T @ (r[:, None] * a[None, :] * (pre > 0)) + alpha * U
        U -= lr * gU
        a -= lr * ga
    return U, a


def best_of(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def scan(repeats, threads=None, alpha=1e-3):
    """Fast solver vs CVXPY + Clarabel (build + solve) from n·P ≈ 500 to 60,000."""
    print("| n | d | patterns | n·P | fast (s) | iterations | CVXPY (s) | CVXPY / fast "
          "| relative difference |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, d, gates in [(30, 2, 20), (50, 3, 50), (100, 5, 50), (100, 5, 100), (200, 10, 100),
                        (300, 10, 200)]:
        X, y = make_data(n, d)
        D = sample_patterns(X, gates, random_state=0)
        with thread_limit(threads, user_api="blas"):
            t_fast, s_fast = best_of(lambda X=X, y=y, D=D: solve_convex_relu(
                X, y, alpha, D, method="fast"), repeats)
            t_cvx, s_cvx = best_of(lambda X=X, y=y, D=D: solve_convex_relu(
                X, y, alpha, D, method="cvxpy", solver="CLARABEL"), repeats)
        rel = (s_fast.objective - s_cvx.objective) / s_cvx.objective
        print(f"| {n} | {d} | {D.shape[1]} | {n * D.shape[1]} | {t_fast:.3f} | {s_fast.n_iter} "
              f"| {t_cvx:.3f} | {t_cvx / t_fast:.1f} | {rel:.1e} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--tol", type=float, default=1e-5)
    parser.add_argument("--max-iter", type=int, default=5000)
    parser.add_argument("--gd-steps", type=int, default=20000)
    parser.add_argument("--scan", action="store_true",
                        help="time fast vs CVXPY over problem sizes instead")
    add_threads_option(parser)
    args = parser.parse_args()
    threads = args.threads
    if args.scan:
        scan(args.repeats, args.threads)
        return

    alpha = 1e-3
    X, y = make_data()
    D = sample_patterns(X, 200, random_state=0)
    print(f"n = {X.shape[0]}, d = {X.shape[1]}, patterns = {D.shape[1]}, alpha = {alpha}")

    with thread_limit(threads, user_api="blas"):

        def fast():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return solve_convex_relu(X, y, alpha, D, method="fast", tol=args.tol,
                                         max_iter=args.max_iter)

        def cvx_first():
            prog = ConvexReLUProgram(X, D)
            return prog, prog.solve(y, alpha, solver="CLARABEL")

        t_fast, s_fast = best_of(fast, args.repeats)
        t_cvx, (prog, s_cvx) = best_of(cvx_first, args.repeats)
        t_resolve, _ = best_of(lambda: prog.solve(y, alpha, solver="CLARABEL"), args.repeats)
        t_gd, (U, a) = best_of(lambda: gradient_descent(X, y, alpha, steps=args.gd_steps),
                               args.repeats)
    gd_obj = network_objective(X, y, U, a, alpha)
    cert = certify(X, y, U, a, alpha, patterns=D, dual="residual")

    rel = (s_fast.objective - s_cvx.objective) / s_cvx.objective
    print(f"CVXPY+Clarabel objective     {s_cvx.objective:.10f}  "
          f"(certified gap {s_cvx.relative_gap:.1e})")
    print(f"fast solver objective        {s_fast.objective:.10f}  "
          f"(certified gap {s_fast.relative_gap:.1e}, {s_fast.n_iter} iterations, "
          f"stage {s_fast.solver!r}, converged={s_fast.converged})")
    print(f"relative difference fast vs CVXPY: {rel:.2e}   (target |.| <= 1e-4)")
    print(f"time fast {t_fast:.2f} s | CVXPY build+solve {t_cvx:.2f} s | "
          f"CVXPY re-solve {t_resolve:.2f} s")
    print(f"speed ratio CVXPY / fast: {t_cvx / t_fast:.2f}x (build+solve), "
          f"{t_resolve / t_fast:.2f}x (re-solve)   (target >= 5)")
    print(f"GD ({args.gd_steps} steps, m=200) objective {gd_obj:.10f} in {t_gd:.2f} s; "
          f"GD / convex optimum = {gd_obj / s_cvx.objective:.4f}; "
          f"time GD / fast = {t_gd / t_fast:.2f}")
    print(f"certify(GD network, dual=\"residual\") over patterns_ + its own: lower bound "
          f"{cert.lower_bound:.10f}, relative gap {cert.relative_gap:.2e}, "
          f"global={cert.is_global}")


if __name__ == "__main__":
    main()
