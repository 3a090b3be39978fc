"""Write ``data/golden.json``: reference solutions of a fixed set of problems.

Run from the repository root::

    python data/make_golden.py            # rewrites data/golden.json
    python data/make_golden.py --check    # solves again, compares, writes nothing

Every problem is written here *directly* in CVXPY from the definitions in the
README (the projection ``min ½‖W − V‖² s.t. W ∈ S`` with the set's constraints
as listed in its table; the head problem with its "scores" constraint; the
convex program of a two-layer ReLU network over enumerated patterns), without
cvxdual's own formulations, and solved by Clarabel at tight tolerances. A
second solver (SCS, first-order, independent) solves each problem again; a
number is marked *determined* when the two agree to ``AGREE_TOL``, and the
tests (``tests/test_golden.py``) compare cvxdual's answers only with
determined numbers (a linear-programming head, e.g. hinge loss in an ℓ1 ball,
may have many optimal weights but has one optimal value).

The file stores the inputs too (small: at most a few thousand floats per
data set), so the tests depend neither on random generators nor on
scikit-learn's bundled data staying the same. Data: scikit-learn's bundled
``load_diabetes``, ``load_iris`` and ``load_digits`` (BSD-3-Clause, shipped with
scikit-learn) and seeded NumPy draws; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import cvxpy as cp
import numpy as np
from sklearn.datasets import load_diabetes, load_digits, load_iris

GOLDEN = Path(__file__).with_name("golden.json")
FORMAT = 1

# Reference solver settings: both far tighter than any tolerance the tests use.
CLARABEL = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10,
            "tol_ktratio": 1e-9, "max_iter": 500}
# On the heads' equality constraints Clarabel may stop one step short of 1e-10
# feasibility ("optimal_inaccurate"): then 1e-9, then without equilibration.
CLARABEL_ATTEMPTS = [CLARABEL, {**CLARABEL, "tol_feas": 1e-9},
                     {**CLARABEL, "tol_feas": 1e-9, "equilibrate_enable": False}]
SCS = {"eps_abs": 1e-10, "eps_rel": 1e-10, "max_iters": 400_000}
# Two solvers "agree" on an array when max|a − b| ≤ AGREE_TOL · max(1, max|a|)
# (SCS, first-order, gets about 1e-6 on the semidefinite sets).
AGREE_TOL = 1e-5


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------


def _standardize(X):
    X = np.asarray(X, dtype=float)
    return (X - X.mean(axis=0)) / X.std(axis=0)


def datasets() -> dict[str, dict[str, np.ndarray]]:
    """Return the head problems' data, each ``{"X": ..., "y": ...}`` (y encoded for the head)."""
    diabetes = load_diabetes()
    X, y = diabetes.data[:60], diabetes.target[:60]
    iris = load_iris()
    digits = load_digits()
    keep = np.flatnonzero(digits.target < 3)[:60]
    return {
        # regression: first 60 patients, standardised features and target
        "diabetes": {"X": _standardize(X), "y": (y - y.mean()) / y.std()},
        # binary: versicolor (+1) against the rest (-1), not linearly separable
        "iris": {"X": _standardize(iris.data), "y": np.where(iris.target == 1, 1.0, -1.0)},
        # three classes (digits 0, 1, 2), pixels scaled to [0, 1]
        "digits": {"X": digits.data[keep] / 16.0, "y": digits.target[keep].astype(float)},
    }


def _projection_points():
    """(set name, point name) -> V, for points inside, on and outside each set."""
    rng = np.random.default_rng(12)
    G = rng.normal(size=(4, 3))
    small = 0.05 * G
    big = 3.0 * G
    return rng, G, small, big


def _polyhedron():
    A = np.array([[1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 1.0, -1.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 1.0, 1.0],
                  [-1.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    return A, np.array([1.0, 0.5, 1.0, 0.25])


def _row_sums(W):
    # The CvxpySet of the goldens: each row of W sums to at most 1.
    return {"rows": cp.sum(W, axis=1) <= 1.0}


# name -> (cvxdual constructor as text, CVXPY constraints of the definition)
SETS = {
    "L2Ball": ("L2Ball(1.0)", lambda W: {"norm": cp.norm(W, "fro") <= 1.0}),
    "L1Ball": ("L1Ball(1.0)", lambda W: {"norm": cp.sum(cp.abs(W)) <= 1.0}),
    "LinfBall": ("LinfBall(0.5)", lambda W: {"norm": cp.max(cp.abs(W)) <= 0.5}),
    "SpectralBall": ("SpectralBall(1.0)", lambda W: {"norm": cp.sigma_max(W) <= 1.0}),
    "NuclearBall": ("NuclearBall(1.0)", lambda W: {"norm": cp.normNuc(W) <= 1.0}),
    "MaxNorm": ("MaxNorm(1.0)", lambda W: {"norm": cp.norm(W, 2, axis=0) <= 1.0}),
    "NonNegative": ("NonNegative()", lambda W: {"nonneg": W >= 0}),
    "Box": ("Box(-0.5, 0.25)", lambda W: {"lower": W >= -0.5, "upper": W <= 0.25}),
    "Simplex": ("Simplex(1.0)", lambda W: {"nonneg": W >= 0, "sum": cp.sum(W) == 1.0}),
    "Polyhedron": (
        "Polyhedron(A, b)",
        lambda W: {"ineq": _polyhedron()[0] @ cp.vec(W, order="C") <= _polyhedron()[1]},
    ),
    "Intersection": (
        "Intersection(NonNegative(), SpectralBall(1.0))",
        lambda W: {"0.nonneg": W >= 0, "1.norm": cp.sigma_max(W) <= 1.0},
    ),
    "CvxpySet": ("CvxpySet(row_sums)", _row_sums),
}


def projection_points() -> dict[str, dict[str, np.ndarray]]:
    """Return, per set, the points ``inside``, ``on`` (the boundary) and ``outside``."""
    _, G, small, big = _projection_points()
    u, s, vt = np.linalg.svd(G, full_matrices=False)
    A, b = _polyhedron()
    simplex_on = np.zeros((4, 3))
    simplex_on[0, 0], simplex_on[1, 2], simplex_on[3, 1] = 0.5, 0.25, 0.25
    polyhedron_on = np.zeros(6)
    polyhedron_on[:2] = [0.75, 0.25]  # first row of A exactly at its bound
    points = {
        "L2Ball": {"on": G / np.linalg.norm(G)},
        "L1Ball": {"on": G / np.abs(G).sum()},
        "LinfBall": {"on": 0.5 * G / np.abs(G).max()},
        "SpectralBall": {"on": G / s[0]},
        "NuclearBall": {"on": G / s.sum()},
        "MaxNorm": {"on": G / np.linalg.norm(G, axis=0)},
        "NonNegative": {"inside": np.abs(G) + 0.1, "on": np.maximum(G, 0.0)},
        "Box": {"inside": np.clip(small, -0.2, 0.2), "on": np.clip(G, -0.5, 0.25)},
        "Simplex": {"inside": None, "on": simplex_on},
        "Polyhedron": {"on": polyhedron_on.reshape(3, 2)},
        "Intersection": {"inside": np.abs(small), "on": np.maximum(G, 0.0) / s[0] / 2},
        "CvxpySet": {"on": G - (G.sum(axis=1, keepdims=True) - 1.0) / 3.0},
    }
    out = {}
    for name, given in points.items():
        shape = given["on"].shape
        inside = given.get("inside", small)
        if inside is None:  # the simplex has no interior: a second boundary point
            inside = np.full(shape, 1.0 / np.prod(shape))
        out[name] = {
            "inside": np.reshape(inside[: shape[0], : shape[1]], shape),
            "on": given["on"],
            "outside": np.reshape(big[: shape[0], : shape[1]], shape),
        }
    # Outside the spectral ball with one singular value above the radius: with
    # several clipped to it, interior-point solvers reach the projection only to
    # about √tol (repeated singular values at the bound), no use as a reference.
    out["SpectralBall"]["outside"] = (u * [2.0, 0.8, 0.3]) @ vt
    out["Polyhedron"]["inside"] = np.zeros((3, 2))
    out["Polyhedron"]["outside"] = big[:3, :2]
    assert np.all(A @ out["Polyhedron"]["on"].ravel() <= b + 1e-15)
    return out


# (dataset, loss, norm, radius): every loss of the head with each norm ball. The
# radii are well inside the unconstrained solutions' norms, so every bound binds.
HEADS = [
    ("diabetes", "squared", "l2", 0.5),
    ("diabetes", "squared", "l1", 0.5),
    ("diabetes", "squared", "linf", 0.1),
    ("iris", "logistic", "l2", 1.0),
    ("iris", "logistic", "l1", 1.0),
    ("iris", "logistic", "linf", 0.5),
    ("digits", "multinomial", "l2", 1.0),
    ("digits", "multinomial", "l1", 2.0),
    ("digits", "multinomial", "linf", 0.05),
    ("iris", "hinge", "l2", 1.0),
    ("iris", "hinge", "l1", 1.0),
    ("iris", "hinge", "linf", 0.5),
    ("iris", "squared_hinge", "l2", 1.0),
    ("iris", "squared_hinge", "l1", 1.0),
    ("iris", "squared_hinge", "linf", 0.5),
]


def head_key(dataset, loss, norm, radius) -> str:
    return f"{dataset}/{loss}/{norm}"


def relu_data() -> dict[str, np.ndarray]:
    """Inputs of the convex ReLU problem: 12 points in the plane (rank 3 with the bias)."""
    rng = np.random.default_rng(3)
    X = rng.uniform(-1.0, 1.0, size=(12, 2))
    y = np.sin(3.0 * X[:, 0]) * X[:, 1] + 0.1 * rng.normal(size=12)
    return {"X": X, "y": y}


RELU_ALPHA = 1e-2


def problem_keys() -> list[str]:
    """Every problem's key, in the file's order (the tests check the file has exactly these)."""
    keys = [f"projection/{s}/{p}" for s in SETS for p in ("inside", "on", "outside")]
    keys += [f"head/{head_key(*h)}" for h in HEADS]
    keys.append("convex_relu/squared")
    return keys


# ---------------------------------------------------------------------------
# the CVXPY definitions
# ---------------------------------------------------------------------------


def _solve(problem, solver):
    attempts = CLARABEL_ATTEMPTS if solver == "CLARABEL" else [SCS]
    for options in attempts:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            problem.solve(solver=solver, **options)
        if problem.status == cp.OPTIMAL:
            return
    raise RuntimeError(f"{solver} returned status {problem.status!r}")


def solve_projection(name, V, solver):
    W = cp.Variable(V.shape)
    constraints = SETS[name][1](W)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W - V)), list(constraints.values()))
    _solve(problem, solver)
    return {
        "objective": problem.value,
        "weights": W.value,
        **{f"duals/{k}": c.dual_value for k, c in constraints.items()},
    }


def _loss_terms(loss, z, y):
    if loss == "squared":
        return 0.5 * cp.square(z[:, 0] - y)
    if loss == "logistic":
        return cp.logistic(-cp.multiply(y, z[:, 0]))
    if loss == "hinge":
        return cp.pos(1 - cp.multiply(y, z[:, 0]))
    if loss == "squared_hinge":
        return cp.square(cp.pos(1 - cp.multiply(y, z[:, 0])))
    if loss == "multinomial":
        onehot = np.eye(int(y.max()) + 1)[y.astype(int)]
        return cp.log_sum_exp(z, axis=1) - cp.sum(cp.multiply(onehot, z), axis=1)
    raise ValueError(loss)


_NORMS = {
    "l2": lambda W: cp.norm(W, "fro"),
    "l1": lambda W: cp.sum(cp.abs(W)),
    "linf": lambda W: cp.max(cp.abs(W)),
}


def solve_head(X, y, loss, norm, radius, solver):
    n, d = X.shape
    K = int(y.max()) + 1 if loss == "multinomial" else 1
    W, b, z = cp.Variable((d, K)), cp.Variable(K), cp.Variable((n, K))
    scores = X @ W + np.ones((n, 1)) @ cp.reshape(b, (1, K), order="C") - z == 0
    bound = _NORMS[norm](W) <= radius
    problem = cp.Problem(cp.Minimize(cp.sum(_loss_terms(loss, z, y)) / n), [scores, bound])
    _solve(problem, solver)
    intercept = np.asarray(b.value, dtype=float)
    if loss == "multinomial":  # defined up to a common constant: centred, as cvxdual reports
        intercept = intercept - intercept.mean()
    return {
        "objective": problem.value,
        "coef": W.value,
        "intercept": intercept,
        "duals/norm": bound.dual_value,
        "sample_duals": scores.dual_value,
    }


def enumerated_patterns(X):
    """Every activation pattern 1[X̃ g > 0] of 2-D data in general position (bias column last).

    Independent of cvxdual: with ``X̃ = [X, 1]`` of rank 3 the patterns are
    constant on the cells of the central arrangement of the planes
    ``x̃_kᵀ g = 0`` in R³. Every cell is a pointed cone, so it has an extreme
    ray ``x̃_a × x̃_b``; in general position exactly two planes pass through that
    ray, and the four cells around it are reached by a small step along
    ``± p ± q`` with ``x̃_aᵀp = x̃_bᵀq = 1``, ``x̃_aᵀq = x̃_bᵀp = 0``.
    """
    Xt = np.hstack([X, np.ones((X.shape[0], 1))])
    n = Xt.shape[0]
    directions = []
    for a in range(n):
        for b in range(a + 1, n):
            ray = np.cross(Xt[a], Xt[b])
            ray /= np.linalg.norm(ray)
            pq = np.linalg.pinv(Xt[[a, b]])  # columns p, q (minimum-norm dual basis)
            for sign in (1.0, -1.0):
                for s1 in (1.0, -1.0):
                    for s2 in (1.0, -1.0):
                        directions.append(sign * ray + 1e-7 * (s1 * pq[:, 0] + s2 * pq[:, 1]))
    products = Xt @ np.array(directions).T
    # general position: no other sample lies on a candidate's plane pair
    assert np.min(np.abs(products)) > 1e-12
    D = np.unique(products > 0, axis=1)
    D = D[:, D.any(axis=0)]
    return D[:, np.lexsort(D[::-1])]


def solve_relu(X, y, patterns, alpha, solver):
    n = X.shape[0]
    Xt = np.hstack([X, np.ones((n, 1))])
    P = patterns.shape[1]
    mask = patterns.astype(float)
    sign = 2.0 * mask - 1.0
    v, w = cp.Variable((3, P)), cp.Variable((3, P))
    z = cp.sum(cp.multiply(mask, Xt @ v - Xt @ w), axis=1)
    reg = cp.sum(cp.norm(v, 2, axis=0)) + cp.sum(cp.norm(w, 2, axis=0))
    cones = [cp.multiply(sign, Xt @ v) >= 0, cp.multiply(sign, Xt @ w) >= 0]
    problem = cp.Problem(cp.Minimize(cp.sum_squares(z - y) / (2 * n) + alpha * reg), cones)
    _solve(problem, solver)
    prediction = np.sum(mask * (Xt @ (v.value - w.value)), axis=1)
    return {
        "objective": problem.value,
        "prediction": prediction,
        "sample_duals": (prediction - y) / n,
    }


# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------


def _agree(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.max(np.abs(a - b), initial=0.0) <= AGREE_TOL * max(1.0, np.max(np.abs(a))))


def _entry(inputs, solve):
    reference = solve("CLARABEL")
    second = solve("SCS")
    return {
        **{k: np.asarray(v, dtype=float).tolist() for k, v in inputs.items()},
        "reference": {k: np.asarray(v, dtype=float).tolist() for k, v in reference.items()},
        "determined": sorted(k for k in reference if _agree(reference[k], second[k])),
    }


def _use_exact_feasible(name, where, V, entry):
    """Replace a feasible point's solution by the exact one: W = V, every dual 0.

    It is the unique KKT point (V is feasible, so the projection is V, and with
    W = V stationarity forces every dual to zero). Interior-point solvers reach
    it only to about √tol on the boundary (strict complementarity fails there:
    a constraint is active with a zero multiplier), so the solvers' answers are
    only checked against it, to 1e-5.
    """
    exact = {k: np.zeros_like(np.asarray(v, dtype=float))
             for k, v in entry["reference"].items()}
    exact["weights"] = np.asarray(V, dtype=float)
    for k, v in entry["reference"].items():
        if not np.allclose(v, exact[k], rtol=0, atol=1e-5):
            raise RuntimeError(f"{name}: the point {where!r} is not in the set ({k})")
    entry["reference"] = {k: v.tolist() for k, v in exact.items()}
    entry["determined"] = sorted(exact)
    entry["exact"] = True


def build() -> dict:
    problems = {}
    points = projection_points()
    for name in SETS:
        for where, V in points[name].items():
            entry = _entry({"V": V}, lambda s, name=name, V=V: solve_projection(name, V, s))
            entry["set"] = SETS[name][0]
            duals = {k: v for k, v in entry["reference"].items() if k.startswith("duals/")}
            if where != "outside":
                _use_exact_feasible(name, where, V, entry)
            elif max(np.max(np.abs(v)) for v in duals.values()) <= 1e-6:
                raise RuntimeError(f"{name}: the point 'outside' is in the set")
            problems[f"projection/{name}/{where}"] = entry
    data = datasets()
    for dataset, loss, norm, radius in HEADS:
        X, y = data[dataset]["X"], data[dataset]["y"]
        entry = _entry(
            {}, lambda s, X=X, y=y, loss=loss, norm=norm, radius=radius: solve_head(
                X, y, loss, norm, radius, s)
        )
        entry.update({"dataset": dataset, "loss": loss, "norm": norm, "radius": radius})
        if not entry["reference"]["duals/norm"] > 1e-6:
            raise RuntimeError(f"head {dataset}/{loss}/{norm}: the bound does not bind")
        problems[f"head/{head_key(dataset, loss, norm, radius)}"] = entry
    relu = relu_data()
    patterns = enumerated_patterns(relu["X"])
    entry = _entry(relu, lambda s: solve_relu(relu["X"], relu["y"], patterns, RELU_ALPHA, s))
    entry.update({"alpha": RELU_ALPHA, "patterns": patterns.astype(int).tolist()})
    problems["convex_relu/squared"] = entry
    assert list(problems) == problem_keys()
    return {
        "format": FORMAT,
        "generated_by": "python data/make_golden.py",
        "solvers": {"reference": ["CLARABEL", CLARABEL_ATTEMPTS], "cross_check": ["SCS", SCS]},
        "agree_tol": AGREE_TOL,
        "datasets": {k: {kk: vv.tolist() for kk, vv in v.items()} for k, v in data.items()},
        "problems": problems,
    }


def _max_difference(old, new):
    worst = 0.0
    for key, entry in new["problems"].items():
        for field, value in entry["reference"].items():
            a = np.asarray(old["problems"][key]["reference"][field])
            b = np.asarray(value)
            worst = max(worst, float(np.max(np.abs(a - b), initial=0.0)) / max(
                1.0, float(np.max(np.abs(b), initial=0.0))))
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="solve again and compare with the stored file; write nothing")
    args = parser.parse_args(argv)
    golden = build()
    if args.check:
        old = json.loads(GOLDEN.read_text())
        worst = _max_difference(old, golden)
        print(f"largest relative difference from {GOLDEN.name}: {worst:.2e}")
        return int(worst > 1e-6)
    GOLDEN.write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    n_determined = sum(len(p["determined"]) for p in golden["problems"].values())
    n_fields = sum(len(p["reference"]) for p in golden["problems"].values())
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size / 1024:.0f} KiB): "
          f"{len(golden['problems'])} problems, {n_determined}/{n_fields} numbers determined")
    return 0


if __name__ == "__main__":
    sys.exit(main())
