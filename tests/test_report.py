"""Dual tables and plots."""

from __future__ import annotations

import numpy as np
import pytest

from cvxdual import Box, MaxNorm, project
from cvxdual.heads import NormBoundedHead
from cvxdual.network import init_params
from cvxdual.report import (
    binding_constraints,
    dual_history_table,
    dual_table,
    plot_dual_history,
    summarize_duals,
)
from cvxdual.sets import L2Ball
from cvxdual.training import train

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
