"""The demo behind ``cvxdual demo``: constraints, their multipliers, and proof.

Run ``cvxdual demo`` or ``python -m cvxdual`` (``--quick`` for a shorter run,
``--seed N``, ``--out DIR``; see :mod:`cvxdual.cli`). Each section prints
what a user of cvxdual sees: projected weights, which constraints bind and the
Lagrange multipliers that say how hard, each checked against the CVXPY problem
that defines it. :func:`run` also writes the tables, plots and verification
reports to a folder.
"""

from __future__ import annotations

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


def linear_section():
    """A norm-bounded logistic model: its multiplier is a price, checked three ways.

    Deterministic (the data set and the solver draw no random numbers); returns
    ``(model, X, y)``.
    """
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
    return model, X, y


def network_section(quick: bool, seed: int = 0):
    """A network whose hidden layer is Lipschitz-bounded and whose head is exact.

    ``seed`` drives the split, the initial weights and the shuffling; returns
    ``(model, X_train, y_train)``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from .estimators import ConstrainedMLPClassifier

    print("== Constrained MLP on digits: head duals train the hidden layer ==")
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3,
                                                        random_state=seed)
    spectral = SpectralBall(2.0)
    model = ConstrainedMLPClassifier(
        hidden_layer_sizes=(32,), layer_constraints=spectral, head_radius=5.0,
        max_iter=5 if quick else 15, tol=0.0, random_state=seed,
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
    return model, X_train, y_train


def convex_relu_section(seed: int = 0):
    """A two-layer ReLU network trained exactly, with a global optimality certificate.

    ``seed`` draws the data, the sampled patterns and the gradient-descent
    network's start; returns ``(model, X, y)``.
    """
    from .convex_relu import certify
    from .estimators import ConvexReLURegressor

    print("== Two-layer ReLU network, trained as a convex program, certified ==")
    rng = np.random.default_rng(seed)
    n = 20
    X = rng.uniform(-1, 1, size=(n, 2))  # with the bias column, rank 3: all patterns
    y = np.sin(3 * X[:, 0]) * X[:, 1] + 0.05 * rng.normal(size=n)
    alpha = 1e-3
    model = ConvexReLURegressor(alpha, n_patterns=500, random_state=seed).fit(X, y)
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
    return model, X, y


def _write_csv(path, rows, columns) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _csv_cell(row.get(key)) for key in columns})


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, tuple):  # an entry of an array dual: "i;j"
        return ";".join(str(i) for i in value)
    if isinstance(value, np.ndarray):
        return ";".join(repr(float(v)) for v in value.ravel())
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return value


def _records(table) -> list[dict]:
    return table.to_dict("records") if hasattr(table, "to_dict") else list(table)


#: What :func:`run` writes to its output folder.
OUTPUT_FILES = {
    "dual_history.csv": "the network's duals, every epoch (dual_frame: epoch, block, "
    "constraint, index, value, active)",
    "final_duals.csv": "the final duals of every model (a model column, then dual_frame's; "
    "the convex ReLU's n_samples × patterns cone multipliers are left out)",
    "shadow_prices.csv": "dual_path of the logistic model along its radius "
    "(value, objective, norm)",
    "verification.txt": "verify_estimator's table for the logistic model, the convex ReLU "
    "network and the digits network's construction on breast cancer",
    "dual_history.png": "the network's largest multiplier per constraint by epoch",
    "active_constraints.png": "which constraints bind, epoch by epoch",
    "shadow_prices.png": "the logistic model's multiplier against its radius, with "
    "−d objective / d radius",
}


def write_outputs(out, models: dict, path, *, verify: dict | None = None,
                  plots: bool = True) -> list[str]:
    """Write the demo's tables, plots and verification reports to ``out``.

    Parameters
    ----------
    out : pathlib.Path
        An existing, writable folder.
    models : dict of str to (estimator, X, y)
        The fitted models of the demo, with their training data; the one named
        ``"network"`` gives the dual history.
    path : DataFrame or dict
        The :func:`cvxdual.report.dual_path` of the logistic model.
    verify : dict of str to (estimator, X, y), optional
        The models to verify (default ``models``).
    plots : bool, default=True
        Draw the PNG files (when matplotlib is installed).

    Returns
    -------
    written : list of str
        The names of the files written.
    """
    from .report import DUAL_FRAME_COLUMNS, dual_frame
    from .verify import verify_estimator

    written = []
    network = models["network"][0]
    _write_csv(out / "dual_history.csv", _records(dual_frame(network)), DUAL_FRAME_COLUMNS)
    written.append("dual_history.csv")
    final = []
    for name, (model, _, _) in models.items():
        rows = _records(dual_frame(model))
        if name == "network":
            rows = [r for r in rows if r["epoch"] == network.best_epoch_]
        # the convex ReLU's cone multipliers (n_samples × patterns, ~15,000 numbers)
        # stay out of the file; dual_frame(model) has them
        rows = [r for r in rows if not r["constraint"].startswith("cone_")]
        final.extend({"model": name, **r} for r in rows)
    _write_csv(out / "final_duals.csv", final, ("model", *DUAL_FRAME_COLUMNS))
    written.append("final_duals.csv")
    columns = list(path.columns) if hasattr(path, "columns") else list(path)
    path_rows = (_records(path) if hasattr(path, "to_dict") else
                 [dict(zip(columns, values, strict=True))
                  for values in zip(*path.values(), strict=True)])
    _write_csv(out / "shadow_prices.csv", path_rows, columns)
    written.append("shadow_prices.csv")

    print("== Verification: each convex subproblem re-solved by CVXPY ==")
    reports = []
    for name, (model, X, y) in (models if verify is None else verify).items():
        report = verify_estimator(model, X, y)
        n_bad = len(report.failures())
        print(f"{name:12s} {type(model).__name__:28s} {len(report.checks):3d} checks: "
              + ("all pass" if report.ok else f"{n_bad} FAIL"))
        reports.append(f"[{name}]\n{report}\n")
    (out / "verification.txt").write_text("\n".join(reports), encoding="utf-8")
    written.append("verification.txt")

    if plots:
        try:
            import matplotlib

            matplotlib.use("Agg")  # files only; never opens a window
            import matplotlib.pyplot as plt
        except ImportError:
            print('matplotlib is not installed: skipping the plots (pip install '
                  '"cvxdual[notebooks]" to get them).')
        else:
            from .report import plot_active_constraints, plot_dual_history, plot_shadow_prices

            for name, draw in (
                ("dual_history.png", lambda: plot_dual_history(network)),
                ("active_constraints.png", lambda: plot_active_constraints(network)),
                ("shadow_prices.png", lambda: plot_shadow_prices(path)),
            ):
                ax = draw()
                ax.figure.tight_layout()
                ax.figure.savefig(out / name, dpi=100)
                plt.close(ax.figure)
                written.append(name)
    return written


def shadow_price_section(model, X, y, quick: bool):
    """The logistic model's multiplier along a grid of radii (warm-started fits)."""
    from .report import dual_path

    radii = np.linspace(0.25, 3.0, 6 if quick else 12)
    path = dual_path(model, X, y, "radius", radii)
    print("== Shadow-price curve: λ(r) = −d p*/d r, refitted along the radius ==")
    lams = np.asarray(path["norm"], dtype=float)
    print("radius " + " ".join(f"{r:7.3f}" for r in radii))
    print("λ      " + " ".join(f"{v:7.4f}" for v in lams))
    print()
    return path


def small_network(seed: int, quick: bool):
    """The digits network's architecture on breast cancer, for the verification.

    Verifying the digits network exactly means a 10-class exponential-cone head
    on 1257 rows and a 64 × 32 semidefinite projection: about a minute of
    CVXPY. The same construction on a binary problem verifies in about a second.
    """
    import warnings

    from sklearn.datasets import load_breast_cancer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    from .estimators import ConstrainedMLPClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = ConstrainedMLPClassifier(
        hidden_layer_sizes=(16,), layer_constraints=SpectralBall(2.0), head_radius=5.0,
        max_iter=5 if quick else 15, tol=0.0, random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, X, y


def run(*, quick: bool = False, seed: int = 0, out=None) -> int:
    """Run every section with ``seed``; write the outputs to ``out`` (a Path) if given.

    Returns the process exit code, 0.
    """
    rng = np.random.default_rng(seed)
    projections_section(rng)
    linear = linear_section()
    network = network_section(quick, seed)
    relu = convex_relu_section(seed)
    if out is None:
        return 0
    path = shadow_price_section(linear[0], linear[1], linear[2], quick)
    models = {"logistic": linear, "network": network, "convex_relu": relu}
    written = write_outputs(out, models, path, verify={
        "logistic": linear, "network_bc": small_network(seed, quick), "convex_relu": relu})
    print(f"\nwrote {len(written)} files to {out}: {', '.join(written)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``cvxdual demo`` with ``argv`` (see :func:`cvxdual.cli.main`); return the exit code.

    Examples
    --------
    >>> from cvxdual.demo import main
    >>> main(["--seed", "x"])
    2
    """
    from .cli import main as cli_main

    return cli_main(["demo", *(argv or [])] if argv is None or argv[:1] != ["demo"] else argv)
