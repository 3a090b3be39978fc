"""Dual records as tables and plots, for notebooks and reports.

Anything cvxdual returns with duals can be turned into rows: a dict of duals
(``ProjectionResult.duals``, ``HeadSolution.duals``, an estimator's
``duals_``), or a network's per-epoch ``dual_history_``. Rows are plain dicts
(``as_frame=True`` gives a :class:`pandas.DataFrame` when pandas is
installed); :func:`plot_dual_history` draws them with matplotlib. Neither
pandas nor matplotlib is required by the rest of cvxdual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .training import ACTIVE_TOL

__all__ = [
    "binding_constraints",
    "dual_history_table",
    "dual_table",
    "plot_dual_history",
    "summarize_duals",
]


def _flatten(duals: Mapping, prefix: str = ""):
    """Yield ``(name, value)`` for every array-like leaf of a nested dict of duals."""
    for key, value in duals.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, prefix=f"{name}.")
        else:
            yield name, np.asarray(value, dtype=float)


def _entry_rows(name: str, value: np.ndarray):
    """Yield ``{"name", "index", "value"}`` per entry of ``value`` (index None for a scalar)."""
    if value.ndim == 0:
        yield {"name": name, "index": None, "value": float(value)}
        return
    for index in np.ndindex(value.shape):
        yield {"name": name, "index": tuple(int(i) for i in index), "value": float(value[index])}


def _as_table(rows: list[dict], columns: list[str], as_frame: bool, caller: str):
    if not as_frame:
        return rows
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is optional
        raise ImportError(f"{caller}(as_frame=True) requires pandas.") from exc
    return pd.DataFrame(rows, columns=columns)


def summarize_duals(duals: Mapping, *, tol: float = ACTIVE_TOL) -> list[dict]:
    """Return one summary row per dual: shape, largest magnitude, sum, entries active.

    Parameters
    ----------
    duals : dict
        Dual values by constraint name; nested dicts (as in a network's
        ``duals_``) are flattened to dotted names.
    tol : float
        An entry counts as active (its constraint binds) when ``|dual| > tol``.

    Returns
    -------
    rows : list of dict
        Keys ``name``, ``shape``, ``max_abs``, ``sum``, ``n_active``, ``size``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import MaxNorm, project
    >>> from cvxdual.report import summarize_duals
    >>> result = project(np.array([[3.0, 0.1], [4.0, 0.0]]), MaxNorm(1.0))
    >>> summarize_duals(result.duals)
    [{'name': 'norm', 'shape': (2,), 'max_abs': 4.0, 'sum': 4.0, 'n_active': 1, 'size': 2}]
    """
    rows = []
    for name, value in _flatten(duals):
        rows.append(
            {
                "name": name,
                "shape": value.shape,
                "max_abs": float(np.max(np.abs(value))) if value.size else 0.0,
                "sum": float(np.sum(value)),
                "n_active": int(np.sum(np.abs(value) > tol)),
                "size": int(value.size),
            }
        )
    return rows


def binding_constraints(duals: Mapping, *, tol: float = ACTIVE_TOL) -> dict[str, bool]:
    """Return, for each named constraint, whether it binds (some dual entry > ``tol``).

    A positive multiplier is the certificate that a constraint binds: relaxing
    it would lower the optimal value at rate equal to the multiplier.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import Box, project
    >>> from cvxdual.report import binding_constraints
    >>> binding_constraints(project(np.array([2.0, 0.0]), Box(-1.0, 1.0)).duals)
    {'lower': False, 'upper': True}
    """
    return {row["name"]: row["n_active"] > 0 for row in summarize_duals(duals, tol=tol)}


def _history_of(source) -> Sequence[dict] | None:
    if hasattr(source, "dual_history_"):
        return source.dual_history_
    if isinstance(source, Sequence) and not isinstance(source, str | bytes):
        return source
    return None


def dual_table(source, *, as_frame: bool = False):
    """Return duals as a long table: one row per (epoch, block, name, entry).

    Parameters
    ----------
    source : fitted network, list of records, or dict of duals
        A fitted :class:`~cvxdual.ConstrainedMLPClassifier` /
        :class:`~cvxdual.ConstrainedMLPRegressor` (its ``dual_history_``),
        such a history itself, or a (possibly nested) dict of duals such as
        ``ProjectionResult.duals`` or an estimator's ``duals_``.
    as_frame : bool, default=False
        Return a :class:`pandas.DataFrame` (requires pandas).

    Returns
    -------
    table : list of dict or pandas.DataFrame
        For a history, the columns of :func:`dual_history_table`; for a
        dict of duals,
        ``name``, ``index`` (None for scalars) and ``value``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import NonNegative, project
    >>> from cvxdual.report import dual_table
    >>> for row in dual_table(project(np.array([1.0, -2.0]), NonNegative()).duals):
    ...     print(row)
    {'name': 'nonneg', 'index': (0,), 'value': 0.0}
    {'name': 'nonneg', 'index': (1,), 'value': 2.0}
    """
    history = _history_of(source)
    if history is not None:
        return dual_history_table(history, as_frame=as_frame)
    if not isinstance(source, Mapping):
        raise ValueError(
            "source must be a fitted network, a dual history (list of records) or a dict "
            f"of duals, got {type(source).__name__}"
        )
    rows = [row for name, value in _flatten(source) for row in _entry_rows(name, value)]
    return _as_table(rows, ["name", "index", "value"], as_frame, "dual_table")


def dual_history_table(history: Sequence[dict], *, as_frame: bool = False):
    """Return ``history`` as a long table: one row per epoch, block and dual entry.

    Columns: ``epoch``, ``block`` (``"head"`` or ``"layer <i>"``), ``name``
    (a dual key such as ``"norm"``, ``"sample_duals.mean_abs"``, or
    ``"active"``), ``index`` (the position inside an array dual, else None)
    and ``value`` (float). A row ``block="loss"``, ``name="loss"`` carries
    each epoch's loss (and ``name="validation_score"`` its validation score).

    Parameters
    ----------
    history : sequence of dict
        Records as in :mod:`cvxdual.training` (``dual_history_`` of a fitted
        network).
    as_frame : bool, default=False
        Return a :class:`pandas.DataFrame` (pandas must be installed) instead
        of a list of dicts.

    Returns
    -------
    table : list of dict or pandas.DataFrame

    Examples
    --------
    >>> from cvxdual.report import dual_history_table
    >>> record = {"epoch": 1, "loss": 0.5,
    ...           "head": {"duals": {"norm": 0.2}, "active": True,
    ...                    "sample_duals": {"mean_abs": 0.1, "max_abs": 0.3, "l2": 0.4}},
    ...           "layers": {0: {"duals": {"norm": [0.0, 1.5]}, "active": True}}}
    >>> rows = dual_history_table([record])
    >>> len(rows)
    9
    >>> [r for r in rows if r["block"] == "layer 0" and r["name"] == "norm"][1]
    {'epoch': 1, 'block': 'layer 0', 'name': 'norm', 'index': (1,), 'value': 1.5}
    """
    rows: list[dict] = []
    for record in history:
        epoch = int(record["epoch"])
        head = record["head"]
        blocks = [
            ("loss", {key: record[key] for key in ("loss", "validation_score") if key in record}),
            ("head", {**head["duals"], "active": head["active"]}),
            ("head", {"sample_duals": head["sample_duals"]}),
        ]
        for i, layer in record["layers"].items():
            blocks.append((f"layer {i}", {**layer["duals"], "active": layer["active"]}))
        for block, values in blocks:
            rows.extend(
                {"epoch": epoch, "block": block, **row}
                for name, value in _flatten(values)
                for row in _entry_rows(name, value)
            )
    return _as_table(
        rows, ["epoch", "block", "name", "index", "value"], as_frame, "dual_history_table"
    )


def plot_dual_history(source, *, ax=None, include_loss: bool = True):
    """Plot, per epoch, the largest multiplier of every constraint block.

    One line per (block, dual key) — the head's bound and each constrained
    layer's set — showing ``max |dual|`` by epoch on a log scale; with
    ``include_loss`` the head objective is drawn on a twin axis.

    Parameters
    ----------
    source : fitted network or list of records
        A network with ``dual_history_`` or the history itself.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if None.
    include_loss : bool, default=True
        Also draw the loss curve (right axis).

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from cvxdual.report import plot_dual_history
    >>> record = {"epoch": 1, "loss": 0.5,
    ...           "head": {"duals": {"norm": 0.2}, "active": True,
    ...                    "sample_duals": {"mean_abs": 0.1, "max_abs": 0.3, "l2": 0.4}},
    ...           "layers": {0: {"duals": {"norm": 1.5}, "active": True}}}
    >>> ax = plot_dual_history([record, {**record, "epoch": 2}])
    >>> sorted(line.get_label() for line in ax.get_lines())
    ['head: norm', 'layer 0: norm']
    """
    history = _history_of(source)
    if history is None:
        raise ValueError(
            f"source must be a fitted network or a dual history, got {type(source).__name__}"
        )
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is optional
        raise ImportError("plot_dual_history requires matplotlib.") from exc
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    series: dict[str, list[tuple[int, float]]] = {}
    for record in history:
        blocks = {"head": record["head"]["duals"]}
        blocks.update({f"layer {i}": layer["duals"] for i, layer in record["layers"].items()})
        for block, duals in blocks.items():
            for name, value in _flatten(duals):
                largest = float(np.max(np.abs(value))) if value.size else 0.0
                series.setdefault(f"{block}: {name}", []).append((record["epoch"], largest))
    for label, points in series.items():
        epochs, values = zip(*points, strict=True)
        ax.plot(epochs, values, marker=".", label=label)
    if any(v > 0 for points in series.values() for _, v in points):
        ax.set_yscale("symlog", linthresh=ACTIVE_TOL * 1e3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("largest |dual|")
    ax.legend(loc="best", fontsize="small")
    if include_loss and history:
        twin = ax.twinx()
        twin.plot([r["epoch"] for r in history], [r["loss"] for r in history],
                  color="0.5", linestyle="--", label="loss")
        twin.set_ylabel("head objective p*(Φ)")
    return ax
