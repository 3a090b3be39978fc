"""Dual tables and plots."""

from __future__ import annotations

import sys
import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from cvxdual import (
    Box,
    ConstrainedMLPRegressor,
    ConvexReLURegressor,
    MaxNorm,
    NormBoundedLinearClassifier,
    NormBoundedLinearRegressor,
    project,
    report,
)
from cvxdual.heads import NormBoundedHead
from cvxdual.network import init_params
from cvxdual.report import (
    DUAL_FRAME_COLUMNS,
    binding_constraints,
    dual_frame,
    dual_history_table,
    dual_path,
    dual_table,
    plot_active_constraints,
    plot_dual_history,
    plot_shadow_prices,
    summarize_duals,
)
from cvxdual.sets import L2Ball
from cvxdual.training import ACTIVE_TOL, train

RECORD = {
    "epoch": 1,
    "loss": 0.5,
    "head": {"duals": {"norm": 0.2}, "active": True,
             "sample_duals": {"mean_abs": 0.1, "max_abs": 0.3, "l2": 0.4}},
    "layers": {0: {"duals": {"norm": np.array([0.0, 1.5])}, "active": True}},
}


def test_summaries_and_binding_follow_the_duals():
    duals = project(np.array([[3.0, 0.1], [4.0, 0.0]]), MaxNorm(1.0)).duals
    (row,) = summarize_duals(duals)
    assert row["n_active"] == 1 and row["max_abs"] == pytest.approx(4.0)
    assert binding_constraints(project(np.array([0.0, 0.5]), Box(-1, 1)).duals) == {
        "lower": False, "upper": False}
    nested = {"head": {"norm": 0.0}, "layers": {0: {"norm": 2.0}}}
    assert binding_constraints(nested) == {"head.norm": False, "layers.0.norm": True}


def test_dual_table_from_duals_and_history():
    rows = dual_table({"norm": 1.0, "nonneg": np.array([[0.0, 2.0]])})
    assert rows[0] == {"name": "norm", "index": None, "value": 1.0}
    assert rows[2] == {"name": "nonneg", "index": (0, 1), "value": 2.0}
    history_rows = dual_table([RECORD, {**RECORD, "epoch": 2}])
    assert {r["epoch"] for r in history_rows} == {1, 2}
    assert len(history_rows) == 2 * 9
    with pytest.raises(ValueError, match="source must be"):
        dual_table(3.0)


def test_dual_table_as_frame():
    pd = pytest.importorskip("pandas")
    frame = dual_table([RECORD], as_frame=True)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["epoch", "block", "name", "index", "value"]


def test_plot_dual_history_draws_one_line_per_constraint():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = plot_dual_history([RECORD, {**RECORD, "epoch": 2}], include_loss=False)
    labels = sorted(line.get_label() for line in ax.get_lines())
    assert labels == ["head: norm", "layer 0: norm"]
    (layer_line,) = [line for line in ax.get_lines() if line.get_label() == "layer 0: norm"]
    np.testing.assert_allclose(layer_line.get_ydata(), [1.5, 1.5])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dual_history_table_is_long_and_complete():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3))
    y = X @ rng.normal(size=3)
    coefs, intercepts = init_params([3, 4, 2], random_state=0)
    result = train(
        X, y, coefs, intercepts, NormBoundedHead("squared", L2Ball(0.1)),
        layer_constraints=[MaxNorm(0.3), None], max_iter=2,
    )  # fmt: skip
    rows = dual_history_table(result.dual_history)
    # Per epoch: loss, head norm + active + 3 statistics, 4 MaxNorm duals + active.
    assert len(rows) == 2 * (1 + 5 + 5)
    norms = [r for r in rows if r["block"] == "layer 0" and r["name"] == "norm"]
    assert [r["index"] for r in norms[:4]] == [(0,), (1,), (2,), (3,)]
    last = result.dual_history[-1]["layers"][0]["duals"]["norm"]
    np.testing.assert_array_equal([r["value"] for r in norms[4:]], last)
    pd = pytest.importorskip("pandas")
    frame = dual_history_table(result.dual_history, as_frame=True)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["epoch", "block", "name", "index", "value"]
    assert len(frame) == len(rows)


def test_dual_history_table_flattens_validation_scores_and_scalar_layer_duals():
    record = {**RECORD, "validation_score": 0.75,
              "layers": {1: {"duals": {"norm": 2.0}, "active": False}}}
    rows = dual_history_table([record])
    assert rows[:2] == [
        {"epoch": 1, "block": "loss", "name": "loss", "index": None, "value": 0.5},
        {"epoch": 1, "block": "loss", "name": "validation_score", "index": None, "value": 0.75},
    ]
    assert rows[-2:] == [
        {"epoch": 1, "block": "layer 1", "name": "norm", "index": None, "value": 2.0},
        {"epoch": 1, "block": "layer 1", "name": "active", "index": None, "value": 0.0},
    ]
    # The same entries as the per-record dual table, with epoch and block added.
    assert [(r["name"], r["index"]) for r in rows if r["block"] == "layer 1"] == [
        (r["name"], r["index"]) for r in dual_table({"norm": 2.0, "active": 0.0})
    ]
# ---------------------------------------------------------------------------
# dual_frame, dual_path and their plots



@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=40)


@pytest.fixture(scope="module")
def network(regression):
    X, y = regression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ConstrainedMLPRegressor(
            (6,), layer_constraints=MaxNorm(0.3), head_radius=1.0, max_iter=4, tol=0.0,
            random_state=0,
        ).fit(X, y)


def _as_records(table):
    return table.to_dict("records") if hasattr(table, "to_dict") else table


def test_dual_frame_of_a_network_holds_every_epoch_and_entry(network):
    rows = _as_records(dual_frame(network))
    assert set(rows[0]) == set(DUAL_FRAME_COLUMNS)
    assert {r["epoch"] for r in rows} == {1, 2, 3, 4}
    assert {(r["block"], r["constraint"]) for r in rows} == {("head", "norm"),
                                                           ("layer 0", "norm")}
    layer = [r for r in rows if r["epoch"] == 4 and r["block"] == "layer 0"]
    assert [r["index"] for r in layer] == [(j,) for j in range(6)]  # MaxNorm: one per unit
    np.testing.assert_allclose([r["value"] for r in layer], network.duals_["layers"][0]["norm"])
    assert all(r["active"] == (abs(r["value"]) > ACTIVE_TOL) for r in rows)
    (head,) = [r for r in rows if r["epoch"] == 4 and r["block"] == "head"]
    assert head["index"] is None and head["value"] == network.duals_["head"]["norm"]


def test_dual_frame_of_final_duals_and_without_pandas(regression, monkeypatch):
    X, y = regression
    model = NormBoundedLinearRegressor(0.5).fit(X, y)
    monkeypatch.setattr(report, "_pandas", lambda: None)
    rows = dual_frame(model)
    assert rows == [{"epoch": None, "block": "head", "constraint": "norm", "index": None,
                     "value": model.duals_["norm"], "active": True}]
    relu = ConvexReLURegressor(1e-2, n_patterns=5, random_state=0).fit(X[:15], y[:15])
    blocks = {(r["block"], r["constraint"]) for r in dual_frame(relu)}
    assert ("program", "sample_duals") in blocks and ("program", "cone_v") in blocks


def test_dual_frame_errors(regression):
    with pytest.raises(NotFittedError):
        dual_frame(NormBoundedLinearRegressor())
    with pytest.raises(TypeError, match="fitted cvxdual estimator"):
        dual_frame(3.0)


def test_dual_path_matches_independent_fits_and_the_sensitivity(regression):
    X, y = regression
    radii = [0.5, 0.75, 1.0, 1.25]
    path = dual_path(NormBoundedLinearRegressor(), X, y, "radius", radii)
    columns = {k: np.asarray(path[k]) for k in ("value", "objective", "norm")}
    np.testing.assert_allclose(columns["value"], radii)
    for r, objective, lam in zip(radii, columns["objective"], columns["norm"], strict=True):
        alone = NormBoundedLinearRegressor(r).fit(X, y)
        assert objective == pytest.approx(alone.objective_, rel=1e-9)
        assert lam == pytest.approx(alone.duals_["norm"], rel=1e-6)
    # the multiplier is the negative slope of the optimal value
    slope = -np.gradient(columns["objective"], columns["value"])
    np.testing.assert_allclose(slope[1:-1], columns["norm"][1:-1], rtol=0.05)


def test_dual_path_warm_starts_the_linear_head(regression, monkeypatch):
    import cvxdual.heads as heads

    X, y = regression
    seen = []
    solve = heads.NormBoundedHead.solve

    def spy(self, features, y, sample_weight=None, warm_start=None):
        seen.append(warm_start is not None)
        return solve(self, features, y, sample_weight=sample_weight, warm_start=warm_start)

    monkeypatch.setattr(heads.NormBoundedHead, "solve", spy)
    dual_path(NormBoundedLinearClassifier(), X, y > 0, "radius", [0.2, 0.4, 0.6])
    assert seen == [False, True, True]


def test_dual_path_reuses_the_compiled_convex_relu_program(regression, monkeypatch):
    import cvxdual.estimators._convex_relu as module

    X, y = regression
    built = []
    Program = module.ConvexReLUProgram

    class Counting(Program):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(module, "ConvexReLUProgram", Counting)
    estimator = ConvexReLURegressor(n_patterns=5, solver="cvxpy", random_state=0)
    path = dual_path(estimator, X[:20], y[:20], "alpha", [1e-3, 1e-2, 1e-1])
    assert len(built) == 1
    for alpha, objective in zip([1e-3, 1e-2, 1e-1], np.asarray(path["objective"]), strict=True):
        alone = ConvexReLURegressor(alpha, n_patterns=5, solver="cvxpy", random_state=0)
        assert objective == pytest.approx(alone.fit(X[:20], y[:20]).objective_, rel=1e-6)


def test_dual_path_of_a_network_parameter(regression, network):
    X, y = regression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        path = dual_path(network, X, y, "head_radius", [0.5, 1.0], n_jobs=2)
    columns = set(path.columns) if hasattr(path, "columns") else set(path)
    assert {"value", "objective", "head.norm", "layers.0.norm"} <= columns
    assert np.asarray(path["layers.0.norm"][0]).shape == (6,)


def test_dual_path_without_pandas_is_a_dict_of_arrays(regression, monkeypatch):
    X, y = regression
    monkeypatch.setattr(report, "_pandas", lambda: None)
    path = dual_path(NormBoundedLinearRegressor(), X, y, "radius", np.array([0.5, 1.0]))
    assert set(path) == {"value", "objective", "norm"}
    assert path["norm"].shape == (2,)


def test_dual_path_errors(regression):
    X, y = regression
    with pytest.raises(ValueError, match="Invalid parameter 'radiu' for estimator"):
        dual_path(NormBoundedLinearRegressor(), X, y, "radiu", [1.0])
    with pytest.raises(ValueError, match="at least one value"):
        dual_path(NormBoundedLinearRegressor(), X, y, "radius", [])
    with pytest.raises(ValueError, match="radius"):
        dual_path(NormBoundedLinearRegressor(), X, y, "radius", [1.0, -1.0])


def test_dual_path_on_a_dask_cluster(regression):
    distributed = pytest.importorskip("dask.distributed")
    X, y = regression
    radii = [0.25, 0.5, 0.75, 1.0]
    local = dual_path(NormBoundedLinearRegressor(), X, y, "radius", radii)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream:
            with joblib.parallel_config(backend="dask"):
                remote = dual_path(NormBoundedLinearRegressor(), X, y, "radius", radii)
    # the grid ran on the cluster: one task per stretch (one per worker thread)
    assert len(stream.data) == 2
    np.testing.assert_allclose(np.asarray(remote["objective"]), np.asarray(local["objective"]),
                               rtol=1e-9)
    np.testing.assert_allclose(np.asarray(remote["norm"]), np.asarray(local["norm"]),
                               rtol=1e-6)


def test_plot_active_constraints_and_shadow_prices(regression, network):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = plot_active_constraints(network)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["head: norm", "layer 0: norm"]
    image = ax.images[0].get_array()
    assert image.shape == (2, 4) and float(np.max(image)) <= 1.0
    ax = plot_active_constraints(network, per_entry=True)
    assert len(ax.get_yticklabels()) == 1 + 6
    X, y = regression
    path = dual_path(NormBoundedLinearRegressor(), X, y, "radius", [0.5, 1.0, 1.5])
    ax = plot_shadow_prices(path)
    assert [line.get_label() for line in ax.get_lines()] == ["norm", "−d objective / d radius"]
    with pytest.raises(ValueError, match="not a column"):
        plot_shadow_prices(path, keys=["nope"])


def test_plots_name_the_extra_when_matplotlib_is_missing(network, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "cvxdual\[notebooks\]"'):
        plot_active_constraints(network)
    with pytest.raises(ImportError, match="notebooks"):
        plot_dual_history(network)
