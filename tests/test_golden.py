"""cvxdual's public API against the stored reference solutions in ``data/golden.json``.

The goldens are CVXPY solutions (Clarabel at 1e-10, cross-checked with SCS) of
problems written independently of cvxdual in ``data/make_golden.py``; these
tests never regenerate them (run ``python data/make_golden.py`` to do that, and
review the diff). Only numbers the two reference solvers agree on
("determined") are compared: a linear-programming head may have many optimal
weights but has one optimal value.

Tolerances (relative to ``max(1, max |reference|)``), in ``TOL``:

* ``"projection"``: weights and duals of a projection (closed forms are exact;
  the reference is accurate to about 1e-9 away from degenerate points).
* ``"boundary"``: a CVXPY projection (``method="cvxpy"``, or a set without a
  closed form) of a point exactly on the set's boundary, where interior-point
  methods converge only to about √tol (a constraint is active with a zero
  multiplier).
* ``"head"``: weights and duals of a head, fast path or CVXPY. Interior-point
  solutions at a 1e-10 gap pin the weights down only to about 1e-6 along the
  flat directions of the loss, on the reference's side as on cvxdual's.
* ``"objective"``: every optimal value (first-order insensitive to the above).
* convex ReLU: predictions to 1e-4 and sample duals to 1e-5 (the fast solver
  stops at a certified relative gap of 1e-9, which bounds the objective, not
  the weights, and the optimal network is not unique).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest

from cvxdual import (
    ConvexReLURegressor,
    NormBoundedHead,
    NormBoundedLinearClassifier,
    NormBoundedLinearRegressor,
    project,
    sets,
)
from cvxdual.losses import get_loss

DATA = Path(__file__).resolve().parents[1] / "data"
GOLDEN = json.loads((DATA / "golden.json").read_text())
PROBLEMS = GOLDEN["problems"]

TOL = {"projection": 1e-6, "boundary": 2e-5, "head": 1e-5, "objective": 1e-7}


def _load_script():
    spec = importlib.util.spec_from_file_location("make_golden", DATA / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _load_script()


def _row_sums(W):
    return {"rows": cp.sum(W, axis=1) <= 1.0}


# The library's sets for the script's definitions (the file names each one).
A, b = SCRIPT._polyhedron()
LIBRARY_SETS = {
    "L2Ball": sets.L2Ball(1.0),
    "L1Ball": sets.L1Ball(1.0),
    "LinfBall": sets.LinfBall(0.5),
    "SpectralBall": sets.SpectralBall(1.0),
    "NuclearBall": sets.NuclearBall(1.0),
    "MaxNorm": sets.MaxNorm(1.0),
    "NonNegative": sets.NonNegative(),
    "Box": sets.Box(-0.5, 0.25),
    "Simplex": sets.Simplex(1.0),
    "Polyhedron": sets.Polyhedron(A, b),
    "Intersection": sets.Intersection(sets.NonNegative(), sets.SpectralBall(1.0)),
    "CvxpySet": sets.CvxpySet(_row_sums),
}
BALLS = {"l2": sets.L2Ball, "l1": sets.L1Ball, "linf": sets.LinfBall}


def _keys(prefix):
    return [k for k in PROBLEMS if k.startswith(prefix)]


def _assert_close(actual, reference, tol, what):
    actual = np.asarray(actual, dtype=float)
    reference = np.asarray(reference, dtype=float)
    assert actual.shape == reference.shape, f"{what}: shape {actual.shape} != {reference.shape}"
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    error = float(np.max(np.abs(actual - reference), initial=0.0)) / scale
    assert error <= tol, f"{what}: relative difference {error:.2e} > {tol:.0e}"


def _compare(entry, actual: dict, tol: float):
    reference = entry["reference"]
    assert set(actual) == set(reference)
    for field in entry["determined"]:
        _assert_close(actual[field], reference[field],
                      TOL["objective"] if field == "objective" else tol, field)


# --- the file itself -------------------------------------------------------------


def test_problem_list_matches_the_file():
    assert list(PROBLEMS) == SCRIPT.problem_keys()
    assert GOLDEN["format"] == SCRIPT.FORMAT
    assert set(LIBRARY_SETS) == set(SCRIPT.SETS)
    assert {PROBLEMS[f"projection/{name}/on"]["set"] for name in LIBRARY_SETS} == {
        text for text, _ in SCRIPT.SETS.values()
    }


def test_the_file_is_small_and_mostly_determined():
    assert (DATA / "golden.json").stat().st_size < 512 * 1024
    for key, entry in PROBLEMS.items():
        assert set(entry["determined"]) <= set(entry["reference"]), key
        assert "objective" in entry["determined"], key


def test_the_script_rebuilds_the_stored_inputs():
    # Inputs are stored, so a change in a generator or a bundled data set shows here
    # (regenerate the goldens), not as a spurious difference in the solutions.
    for name, data in SCRIPT.datasets().items():
        for field, value in data.items():
            np.testing.assert_allclose(GOLDEN["datasets"][name][field], value, atol=1e-12)
    for name, points in SCRIPT.projection_points().items():
        for where, V in points.items():
            np.testing.assert_allclose(PROBLEMS[f"projection/{name}/{where}"]["V"], V,
                                       atol=1e-15)
    relu = SCRIPT.relu_data()
    entry = PROBLEMS["convex_relu/squared"]
    np.testing.assert_allclose(entry["X"], relu["X"], atol=1e-15)
    np.testing.assert_allclose(entry["y"], relu["y"], atol=1e-15)


# --- projections ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["auto", "cvxpy"])
@pytest.mark.parametrize("key", _keys("projection/"))
def test_projection_matches_golden(key, method):
    entry = PROBLEMS[key]
    name = key.split("/")[1]
    V = np.asarray(entry["V"])
    result = project(V, LIBRARY_SETS[name], method=method)
    actual = {
        "objective": 0.5 * float(np.sum((result.weights - V) ** 2)),
        "weights": result.weights,
        **{f"duals/{k}": v for k, v in result.duals.items()},
    }
    on_boundary = key.endswith("/on") or name == "Simplex"
    tol = TOL["boundary"] if result.method != "closed_form" and on_boundary else (
        TOL["projection"])
    _compare(entry, actual, tol)


# --- heads ----------------------------------------------------------------------


def _head_data(entry):
    data = GOLDEN["datasets"][entry["dataset"]]
    return np.asarray(data["X"]), np.asarray(data["y"])


def _head_loss(name):
    # The golden's "logistic" is cvxdual's "log_loss" ("logistic" its older name).
    if name != "logistic":
        return name
    try:
        get_loss("log_loss")
    except ValueError:
        return "logistic"
    return "log_loss"


@pytest.mark.parametrize("solver", ["auto", "cvxpy"])
@pytest.mark.parametrize("key", _keys("head/"))
def test_head_matches_golden(key, solver):
    entry = PROBLEMS[key]
    X, y = _head_data(entry)
    head = NormBoundedHead(_head_loss(entry["loss"]), BALLS[entry["norm"]](entry["radius"]),
                           solver=solver)
    sol = head.solve(X, y)
    intercept = sol.intercept - sol.intercept.mean() if entry["loss"] == "multinomial" else (
        sol.intercept)
    actual = {
        "objective": sol.objective,
        "coef": sol.coef,
        "intercept": intercept,
        "duals/norm": sol.duals["norm"],
        "sample_duals": sol.sample_duals,
    }
    _compare(entry, actual, TOL["head"])


_ESTIMATOR_LOSS = {"logistic": "log_loss", "multinomial": "log_loss", "hinge": "hinge",
                   "squared_hinge": "squared_hinge"}


@pytest.mark.parametrize("solver", ["auto", "cvxpy"])
@pytest.mark.parametrize("key", _keys("head/"))
def test_linear_estimator_matches_golden(key, solver):
    entry = PROBLEMS[key]
    X, y = _head_data(entry)
    common = {"norm": entry["norm"], "solver": solver}
    if entry["loss"] == "squared":
        est = NormBoundedLinearRegressor(entry["radius"], **common).fit(X, y)
    else:
        est = NormBoundedLinearClassifier(
            entry["radius"], loss=_ESTIMATOR_LOSS[entry["loss"]], **common).fit(X, y)
    reference = entry["reference"]
    actual = {
        "objective": est.objective_,
        "coef": np.atleast_2d(est.coef_).T,
        "intercept": np.atleast_1d(est.intercept_),
        "duals/norm": est.duals_["norm"],
        "sample_duals": np.reshape(est.sample_duals_, np.shape(reference["sample_duals"])),
    }
    _compare(entry, actual, TOL["head"])


# --- convex ReLU ----------------------------------------------------------------


@pytest.mark.parametrize("solver", ["auto", "cvxpy", "fast"])
def test_convex_relu_matches_golden(solver):
    entry = PROBLEMS["convex_relu/squared"]
    X, y = np.asarray(entry["X"]), np.asarray(entry["y"])
    # "fast" is the current name of the fast path; older versions call it "fista"
    names = ConvexReLURegressor._parameter_constraints["solver"][0].options
    if solver not in names:
        solver = "fista"
    model = ConvexReLURegressor(entry["alpha"], n_patterns=1000, solver=solver, tol=1e-9,
                                random_state=0).fit(X, y)
    assert model.patterns_complete_
    golden_patterns = {tuple(c) for c in np.asarray(entry["patterns"], dtype=bool).T}
    assert {tuple(c) for c in model.patterns_.T if c.any()} == golden_patterns
    reference = entry["reference"]
    assert abs(model.objective_ - reference["objective"]) <= TOL["objective"] * max(
        1.0, abs(reference["objective"]))
    assert model.lower_bound_ <= reference["objective"] * (1 + TOL["objective"])
    _assert_close(model.predict(X), reference["prediction"], 1e-4, "prediction")
    _assert_close(model.duals_["sample_duals"], reference["sample_duals"], 1e-5,
                  "sample_duals")
