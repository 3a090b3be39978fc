"""The demo behind ``python -m cvxdual``: constraints, their multipliers, and proof.

Run ``python -m cvxdual`` (``--quick`` for a shorter run). Each section prints
what a user of cvxdual sees: projected weights, which constraints bind and the
Lagrange multipliers that say how hard, each checked against the CVXPY problem
that defines it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from .projection import project
from .sets import (
    Box,
    Intersection,
    L1Ball,
    L2Ball,
    MaxNorm,
    NonNegative,
    NuclearBall,
    Polyhedron,
    Simplex,
    SpectralBall,
)
from .verify import compare_with_cvxpy, projection_kkt


def _fmt(value) -> str:
    value = np.asarray(value, dtype=float)
    if value.ndim == 0:
        return f"{float(value):.6g}"
    return f"array{value.shape}, max {value.max():.4g}, active {int(np.sum(value > 1e-9))}"


def projections_section(rng: np.random.Generator) -> None:
    """Project one matrix onto several sets; print duals and the checks."""
    print("== Projections: minimize ½‖W − V‖² s.t. W ∈ S ==")
    V = 2.0 * rng.normal(size=(8, 5))
    # Monotone rows: W[i, j] <= W[i + 1, j], as A @ vec(W) <= 0 (row-major vec).
    monotone = Polyhedron(np.kron(np.eye(7, 8) - np.eye(7, 8, 1), np.eye(5)), np.zeros(35))
    sets = [
        L2Ball(3.0),
        L1Ball(5.0),
        SpectralBall(2.0),
        NuclearBall(4.0),
        MaxNorm(1.0),
        NonNegative(),
        Box(-0.5, 0.5),
        Simplex(1.0),
        monotone,
        Intersection(NonNegative(), SpectralBall(1.0)),
    ]
    print(f"{'set':44s} {'method':12s} {'max |Δ| vs CVXPY':>18s} {'KKT':>9s}  duals")
    for S in sets:
        start = time.perf_counter()
        result = project(V, S)
        elapsed = time.perf_counter() - start
        diff = max(compare_with_cvxpy(V, S).values())
        kkt = projection_kkt(V, S, result).max()
        duals = "; ".join(f"{k}: {_fmt(v)}" for k, v in result.duals.items())
        name = repr(S) if len(repr(S)) <= 44 else repr(S)[:41] + "..."
        print(f"{name:44s} {result.method:12s} {diff:18.1e} {kkt:9.1e}  {duals}"
              f"  ({elapsed * 1e3:.2f} ms)")
    print()


def linear_section() -> None:
    """A norm-bounded logistic model: its multiplier is a price, checked three ways."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from .estimators import NormBoundedLinearClassifier

    print("== Norm-bounded logistic regression: minimize mean log-loss s.t. ‖w‖₂ ≤ r ==")
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n = X.shape[0]
    radius = 1.0
    model = NormBoundedLinearClassifier(radius).fit(X, y)
    lam = model.duals_["norm"]
    print(f"breast cancer, n={n}, d={X.shape[1]}, radius {radius}: objective "
          f"{model.objective_:.6f}, λ = {lam:.6f} (bound binds: {lam > 0}), "
          f"‖w‖ = {np.linalg.norm(model.coef_):.6f}, train accuracy {model.score(X, y):.4f}")
    h = 1e-4
    up = NormBoundedLinearClassifier(radius + h).fit(X, y).objective_
    down = NormBoundedLinearClassifier(radius - h).fit(X, y).objective_
    print(f"  sensitivity: (p*(r+h) − p*(r−h)) / 2h = {(up - down) / (2 * h):.6f}  vs  −λ = "
          f"{-lam:.6f}")
    exact = NormBoundedLinearClassifier(radius, solver="cvxpy").fit(X, y)
    print(f"  CVXPY definition: |Δ objective| = {abs(exact.objective_ - model.objective_):.1e}, "
          f"max |Δ coef| = {np.abs(exact.coef_ - model.coef_).max():.1e}, "
          f"|Δ λ| = {abs(exact.duals_['norm'] - lam):.1e}")
    penalised = LogisticRegression(C=radius / (n * lam), tol=1e-10, max_iter=10_000).fit(X, y)
    print(f"  Lagrangian twin LogisticRegression(C = r/(nλ) = {radius / (n * lam):.5f}): "
          f"max |Δ coef| = {np.abs(penalised.coef_ - model.coef_).max():.1e}")
    print()


def network_section(quick: bool) -> None:
    """A network whose hidden layer is Lipschitz-bounded and whose head is exact."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from .estimators import ConstrainedMLPClassifier

    print("== Constrained MLP on digits: head duals train the hidden layer ==")
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    spectral = SpectralBall(2.0)
    model = ConstrainedMLPClassifier(
        hidden_layer_sizes=(32,), layer_constraints=spectral, head_radius=5.0,
        max_iter=5 if quick else 15, tol=0.0, random_state=0,
    )
    start = time.perf_counter()
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    print(f"{'epoch':>5s} {'head p*':>9s} {'head λ':>9s} {'layer λ':>9s} {'layer binds':>12s}")
    for record in model.dual_history_:
        layer = record["layers"][0]
        print(f"{record['epoch']:5d} {record['loss']:9.5f} {record['head']['duals']['norm']:9.5f} "
              f"{layer['duals']['norm']:9.5f} {layer['active']!s:>12s}")
    sigma = np.linalg.norm(model.coefs_[0], 2)
    print(f"test accuracy {model.score(X_test, y_test):.4f}; spectral norm of the hidden layer "
          f"{sigma:.10f} (bound 2); ‖head‖ = {np.linalg.norm(model.head_coef_):.10f} "
          f"(bound 5); fit {elapsed:.1f} s")
    print()


def convex_relu_section() -> None:
    """A two-layer ReLU network trained exactly, with a global optimality certificate."""
    from .convex_relu import certify
    from .estimators import ConvexReLURegressor

    print("== Two-layer ReLU network, trained as a convex program, certified ==")
    rng = np.random.default_rng(0)
    n = 20
    X = rng.uniform(-1, 1, size=(n, 2))  # with the bias column, rank 3: all patterns
    y = np.sin(3 * X[:, 0]) * X[:, 1] + 0.05 * rng.normal(size=n)
    alpha = 1e-3
    model = ConvexReLURegressor(alpha, n_patterns=500, random_state=0).fit(X, y)
    print(f"convex optimum {model.objective_:.8f}, lower bound {model.lower_bound_:.8f}, "
          f"neurons {model.n_neurons_}, patterns {model.patterns_.shape[1]} "
          f"(all enumerated: {model.patterns_complete_})")
    # A network of the same data trained by gradient descent, certified the same way.
    U = 0.5 * rng.normal(size=(3, 50))
    a = 0.5 * rng.normal(size=50)
    Xt = np.hstack([X, np.ones((n, 1))])
    for _ in range(3000):
        H = np.maximum(Xt @ U, 0)
        r = (H @ a - y) / len(y)
        grad_a = H.T @ r + alpha * a
        grad_U = Xt.T @ (np.outer(r, a) * (H > 0)) + alpha * U
        a -= 0.1 * grad_a
        U -= 0.1 * grad_U
    cert = certify(X, y, U, a, alpha)
    print(f"gradient descent (50 neurons, 3000 steps): objective {cert.objective:.8f}, "
          f"certified gap {cert.relative_gap:.2%} (bound over all networks: {cert.is_global})")
    print()


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the process exit code.

    Examples
    --------
    >>> from cvxdual.demo import main
    >>> callable(main)
    True
    """
    parser = argparse.ArgumentParser(prog="python -m cvxdual", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller problems, fewer epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    projections_section(rng)
    linear_section()
    network_section(args.quick)
    convex_relu_section()
    return 0
