"""Dual records as tables and plots, for notebooks and reports.

Anything cvxdual returns with duals can be turned into rows: a dict of duals
(``ProjectionResult.duals``, ``HeadSolution.duals``, an estimator's
``duals_``), or a network's per-epoch ``dual_history_``. Rows are plain dicts
(``as_frame=True`` gives a :class:`pandas.DataFrame` when pandas is
installed); :func:`plot_dual_history` draws them with matplotlib. Neither
pandas nor matplotlib is required by the rest of cvxdual.

For a fitted estimator, :func:`dual_frame` is the one long table of its
duals (every epoch for the networks), :func:`dual_path` refits along a grid
of one bound and returns the shadow-price curve, and
:func:`plot_active_constraints` / :func:`plot_shadow_prices` draw them.
The plots need matplotlib, from the ``notebooks`` extra
(``pip install "cvxdual[notebooks]"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from .training import ACTIVE_TOL

__all__ = [
    "DUAL_FRAME_COLUMNS",
    "binding_constraints",
    "dual_frame",
    "dual_history_table",
    "dual_path",
    "dual_table",
    "plot_active_constraints",
    "plot_dual_history",
    "plot_shadow_prices",
    "summarize_duals",
]

#: Columns of :func:`dual_frame`, in order.
DUAL_FRAME_COLUMNS = ("epoch", "block", "constraint", "index", "value", "active")

# The optional dependency group that holds matplotlib and pandas (pyproject.toml).
_EXTRA_HINT = 'pip install "cvxdual[notebooks]"'


def _pyplot(what: str):
    """Import ``matplotlib.pyplot``, or raise an ImportError naming the extra."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{what} requires matplotlib, which is not installed; install it with "
            f"{_EXTRA_HINT} (or pip install matplotlib)."
        ) from exc
    return plt


def _pandas():
    """Return the pandas module, or None when it is not installed."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _entries(value):
    """Yield ``(index, float)`` for each entry of a dual: index None for a scalar."""
    value = np.asarray(value, dtype=float)
    if value.ndim == 0:
        yield None, float(value)
        return
    for index in np.ndindex(value.shape):
        yield tuple(int(i) for i in index), float(value[index])


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
    for index, entry in _entries(value):
        yield {"name": name, "index": index, "value": entry}


def _as_table(rows: list[dict], columns: list[str], as_frame: bool, caller: str):
    if not as_frame:
        return rows
    pd = _pandas()
    if pd is None:  # pragma: no cover - pandas is optional
        raise ImportError(f"{caller}(as_frame=True) requires pandas: {_EXTRA_HINT}.")
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
    plt = _pyplot("plot_dual_history")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    series: dict[str, list[tuple[int, float]]] = {}
    for epoch, block, duals in _dual_blocks(history):
        for name, value in _flatten(duals):
            largest = float(np.max(np.abs(value))) if value.size else 0.0
            series.setdefault(f"{block}: {name}", []).append((epoch, largest))
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


# ---------------------------------------------------------------------------
# One estimator's duals as one long table


def _dual_blocks(source):
    """Yield ``(epoch, block, duals)`` for a fitted estimator or a dual history."""
    history = _history_of(source)
    if history is not None:
        for record in history:
            epoch = int(record["epoch"])
            yield epoch, "head", record["head"]["duals"]
            for i, layer in record["layers"].items():
                yield epoch, f"layer {i}", layer["duals"]
        return
    if not hasattr(source, "fit"):
        raise TypeError(
            "dual_frame expects a fitted cvxdual estimator or a dual history (list of "
            f"records), got {type(source).__name__}"
        )
    check_is_fitted(source, "duals_")
    duals = source.duals_
    if set(duals) == {"head", "layers"}:  # a network without a history
        epoch = getattr(source, "best_epoch_", None)
        yield epoch, "head", duals["head"]
        for i, layer in duals["layers"].items():
            yield epoch, f"layer {i}", layer
    elif hasattr(source, "patterns_"):  # convex ReLU: the duals of its convex program
        yield None, "program", duals
    else:
        yield None, "head", duals


def dual_frame(estimator, *, tol: float = ACTIVE_TOL):
    """Return every dual of a fitted estimator as one long table.

    One row per (epoch, block, constraint, entry): a network's whole
    ``dual_history_`` (the head's bound and each constrained layer's last
    projection, every epoch), or the final ``duals_`` of any other estimator.

    Parameters
    ----------
    estimator : fitted cvxdual estimator, or a dual history
        A :class:`~cvxdual.ConstrainedMLPClassifier` /
        :class:`~cvxdual.ConstrainedMLPRegressor` (its ``dual_history_``), a
        norm-bounded linear model (block ``"head"``), a convex ReLU estimator
        (block ``"program"``), or a history (list of records) itself.
    tol : float, default=ACTIVE_TOL
        An entry is ``active`` (its constraint binds) when ``|value| > tol``.

    Returns
    -------
    table : pandas.DataFrame or list of dict
        Columns :data:`DUAL_FRAME_COLUMNS`: ``epoch`` (int; None for
        estimators without epochs), ``block`` (``"head"``, ``"layer <i>"`` or
        ``"program"``), ``constraint`` (the dual key, e.g. ``"norm"``; nested
        keys dotted), ``index`` (position in an array dual, None for a
        scalar), ``value`` (float) and ``active`` (bool). A DataFrame when
        pandas is installed, else a list of dicts.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    See Also
    --------
    dual_table : the same for a bare dict of duals.
    plot_active_constraints : draws the ``active`` column over the epochs.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import NormBoundedLinearRegressor
    >>> from cvxdual.report import dual_frame
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = NormBoundedLinearRegressor(radius=0.5).fit(X, 2 * X[:, 0])
    >>> frame = dual_frame(model)
    >>> list(frame.columns)
    ['epoch', 'block', 'constraint', 'index', 'value', 'active']
    >>> row = frame.iloc[0]
    >>> row["block"], row["constraint"], float(row["value"]), bool(row["active"])
    ('head', 'norm', 1.875, True)
    """
    rows = [
        {
            "epoch": epoch,
            "block": block,
            "constraint": constraint,
            "index": index,
            "value": value,
            "active": abs(value) > tol,
        }
        for epoch, block, duals in _dual_blocks(estimator)
        for constraint, array in _flatten(duals)
        for index, value in _entries(array)
    ]
    pd = _pandas()
    if pd is None:
        return rows
    return pd.DataFrame(rows, columns=list(DUAL_FRAME_COLUMNS))


def _as_rows(table) -> list[dict]:
    if hasattr(table, "to_dict"):
        return table.to_dict("records")
    return list(table)


def plot_active_constraints(source, *, ax=None, per_entry: bool = False,
                            tol: float = ACTIVE_TOL):
    """Draw which constraints bind over training: an image of active flags by epoch.

    One image row per (block, constraint) — or per entry with
    ``per_entry=True`` — and one column per epoch; the colour is the fraction
    of that dual's entries that are active (0 or 1 for a scalar dual).

    Parameters
    ----------
    source : fitted network, dual history, or a :func:`dual_frame` table
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if None.
    per_entry : bool, default=False
        One row per entry of array duals (e.g. each unit of a
        :class:`~cvxdual.sets.MaxNorm`) instead of the fraction active.
    tol : float, default=ACTIVE_TOL
        Activity threshold (when ``source`` is not already a table).

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from cvxdual.report import plot_active_constraints
    >>> rows = [{"epoch": epoch, "block": "layer 0", "constraint": "norm", "index": (j,),
    ...          "value": value, "active": value > 0}
    ...         for epoch, values in [(1, [0.0, 0.0]), (2, [0.0, 1.5]), (3, [0.2, 1.1])]
    ...         for j, value in enumerate(values)]
    >>> ax = plot_active_constraints(rows)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['layer 0: norm']
    >>> ax.images[0].get_array().tolist()
    [[0.0, 0.5, 1.0]]
    """
    plt = _pyplot("plot_active_constraints")
    if isinstance(source, Sequence) and source and "constraint" in source[0]:
        rows = list(source)
    elif hasattr(source, "columns"):
        rows = _as_rows(source)
    else:
        rows = _as_rows(dual_frame(source, tol=tol))
    if not rows:
        raise ValueError("There are no duals to draw (no constrained block).")
    epochs = sorted({r["epoch"] if r["epoch"] is not None else 0 for r in rows})
    column = {e: j for j, e in enumerate(epochs)}
    cells: dict[str, dict[int, list[bool]]] = {}
    for r in rows:
        label = f"{r['block']}: {r['constraint']}"
        if per_entry and r["index"] is not None:
            label += "[" + ",".join(str(i) for i in r["index"]) + "]"
        epoch = r["epoch"] if r["epoch"] is not None else 0
        cells.setdefault(label, {}).setdefault(column[epoch], []).append(bool(r["active"]))
    image = np.full((len(cells), len(epochs)), np.nan)
    for i, by_epoch in enumerate(cells.values()):
        for j, flags in by_epoch.items():
            image[i, j] = np.mean(flags)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.8 + 0.3 * len(cells)))
    ax.imshow(image, aspect="auto", interpolation="nearest", cmap="Greys", vmin=0.0,
              vmax=1.0, extent=(epochs[0] - 0.5, epochs[-1] + 0.5, len(cells) - 0.5, -0.5))
    ax.set_yticks(range(len(cells)), list(cells))
    ax.set_xlabel("epoch")
    ax.set_title("active constraints (black: binding)")
    return ax


# ---------------------------------------------------------------------------
# Shadow-price curves: refit along a grid of one bound


def _reuses_state(estimator) -> bool:
    """Whether fits of ``estimator`` accept the warm-start hook of :func:`dual_path`."""
    from .estimators._convex_relu import _BaseConvexReLU
    from .estimators._linear import _NormBoundedLinearModel

    return isinstance(estimator, _NormBoundedLinearModel | _BaseConvexReLU)


def _path_point(estimator) -> dict:
    """The numbers one fit contributes to a path: objective, duals, extras."""
    point = {"objective": float(estimator.objective_)}
    if hasattr(estimator, "lower_bound_"):
        point["lower_bound"] = float(estimator.lower_bound_)
    for name, value in _flatten(estimator.duals_):
        point[name] = float(value) if value.ndim == 0 else value
    return point


def _fit_stretch(estimator, X, y, param, values) -> list[dict]:
    """Fit ``estimator`` at each of ``values`` in turn, carrying the solver state."""
    state: dict = {}  # the previous head solution or compiled program (see dual_path)
    points = []
    for value in values:
        model = clone(estimator).set_params(**{param: value})
        if _reuses_state(model):
            model._path_state = state
        model.fit(X, y)
        model.__dict__.pop("_path_state", None)
        points.append(_path_point(model))
    return points


def dual_path(estimator, X, y, param: str, values, *, n_jobs: int | None = None):
    """Fit ``estimator`` along a grid of one parameter; return objectives and duals.

    For each value ``v`` of ``values`` fits ``clone(estimator).set_params(param=v)``
    on ``(X, y)`` and records the optimal value ``objective_`` and every dual
    of ``duals_``: along a bound such as ``radius`` or ``head_radius`` this is
    the shadow-price curve (``λ(r) = −d objective / d r``).

    The fits run through :class:`joblib.Parallel`, so any joblib backend
    applies: ``with joblib.parallel_config(backend="dask"):`` spreads them
    over a Dask cluster (Ray's ``"ray"`` backend works the same way). The grid
    is cut into one contiguous stretch per worker (``joblib.effective_n_jobs``)
    and each stretch is fitted in order, re-using solver state from one value
    to the next:

    * norm-bounded linear models: each head solve is warm-started from the
      previous solution (coefficients, multiplier and, for the ℓ2 ball, the
      Hessian factor of the fast solver), so neighbouring radii cost a few
      Newton or chord steps;
    * convex ReLU estimators: the patterns do not depend on ``alpha``, so the
      compiled CVXPY program (``alpha`` is a :class:`cvxpy.Parameter`) is
      built once per stretch and re-solved;
    * networks are refitted from their initial weights at every value (the
      same ``random_state`` gives the same start), so each point is the
      estimator's own fit, independent of the grid.

    Parameters
    ----------
    estimator : cvxdual estimator
        Unfitted (it is cloned, never modified).
    X : array-like of shape (n_samples, n_features)
        Training inputs.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    param : str
        Name of a parameter of ``estimator`` (``get_params()``), e.g.
        ``"radius"``, ``"head_radius"`` or ``"alpha"``.
    values : array-like of shape (n_values,)
        The grid, in the order to fit it (sorted grids warm-start best).
    n_jobs : int, optional
        Number of joblib workers; None means 1 unless in a
        :func:`joblib.parallel_config` context.

    Returns
    -------
    path : pandas.DataFrame or dict of ndarray
        One row (entry) per value: ``value``, ``objective``, ``lower_bound``
        (convex ReLU only) and one column per dual key, dotted for nested
        duals (``"norm"``, ``"head.norm"``, ``"layers.0.norm"``, ...). Scalar
        duals are floats; array duals are kept as arrays (an object column of
        the DataFrame, or an array with a leading ``n_values`` axis). A
        DataFrame when pandas is installed (``path.attrs["param"]`` holds
        ``param``), else a dict of arrays.

    Raises
    ------
    ValueError
        If ``param`` is not a parameter of ``estimator`` or ``values`` is empty.

    See Also
    --------
    plot_shadow_prices : draws the path.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual import NormBoundedLinearRegressor
    >>> from cvxdual.report import dual_path
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> path = dual_path(NormBoundedLinearRegressor(), X, 2 * X[:, 0], "radius",
    ...                  [0.5, 1.0, 1.5])
    >>> path["norm"].round(4).tolist()
    [1.875, 1.25, 0.625]
    >>> bool(np.all(np.diff(path["objective"]) < 0))
    True
    """
    from joblib import Parallel, delayed, effective_n_jobs

    valid = estimator.get_params()
    if param not in valid:
        raise ValueError(
            f"Invalid parameter {param!r} for estimator {type(estimator).__name__}. "
            f"Valid parameters are: {sorted(valid)!r}."
        )
    values = list(np.asarray(values, dtype=object).reshape(-1))
    if not values:
        raise ValueError(f"values must hold at least one value of {param!r}, got none")
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    n_stretches = max(1, min(len(values), effective_n_jobs(n_jobs)))
    stretches = [list(s) for s in np.array_split(np.arange(len(values)), n_stretches)]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_stretch)(estimator, X, y, param, [values[i] for i in stretch])
        for stretch in stretches
    )
    points = [point for stretch in results for point in stretch]
    columns = ["value", *points[0]]
    pd = _pandas()
    if pd is None:
        path = {"value": np.asarray(values)}
        for key in columns[1:]:
            path[key] = np.stack([np.asarray(p[key], dtype=float) for p in points])
        return path
    frame = pd.DataFrame([{"value": v, **p} for v, p in zip(values, points, strict=True)],
                         columns=columns)
    frame.attrs["param"] = param
    return frame


def _path_columns(path):
    if hasattr(path, "columns"):
        return {key: path[key].to_numpy() for key in path.columns}
    return {key: np.asarray(value) for key, value in path.items()}


def plot_shadow_prices(path, *, keys: Sequence[str] | None = None, ax=None,
                       include_sensitivity: bool = True):
    """Draw a shadow-price curve: duals against the parameter of a :func:`dual_path`.

    Each dual key is drawn as its value (the sum of its entries for an array
    dual, which is the price of a bound shared by all entries, e.g. a
    :class:`~cvxdual.sets.MaxNorm` radius). With ``include_sensitivity`` the
    numerical slope ``−d objective / d param`` of the path is drawn dashed:
    along a bound's radius it lies on that bound's multiplier.

    Parameters
    ----------
    path : pandas.DataFrame or dict of arrays
        What :func:`dual_path` returned.
    keys : sequence of str, optional
        Dual columns to draw; default all except ``value``, ``objective`` and
        ``lower_bound``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if None.
    include_sensitivity : bool, default=True
        Also draw ``−d objective / d value`` (central differences).

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from cvxdual.report import plot_shadow_prices
    >>> path = {"value": np.array([1.0, 2.0, 3.0]), "objective": np.array([3.0, 1.0, 0.0]),
    ...         "norm": np.array([2.5, 1.5, 0.5])}
    >>> ax = plot_shadow_prices(path)
    >>> [line.get_label() for line in ax.get_lines()]
    ['norm', '−d objective / d value']
    """
    plt = _pyplot("plot_shadow_prices")
    columns = _path_columns(path)
    x = np.asarray(columns["value"], dtype=float)
    if keys is None:
        keys = [k for k in columns if k not in ("value", "objective", "lower_bound")]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for key in keys:
        if key not in columns:
            raise ValueError(f"{key!r} is not a column of the path; columns: {list(columns)}")
        y = np.array([np.sum(np.asarray(v, dtype=float)) for v in columns[key]])
        is_array = any(np.ndim(v) > 0 for v in columns[key])
        ax.plot(x, y, marker="o", label=f"Σ {key}" if is_array else key)
    param = getattr(path, "attrs", {}).get("param", "value")
    if include_sensitivity and x.size >= 2:
        slope = -np.gradient(np.asarray(columns["objective"], dtype=float), x)
        ax.plot(x, slope, linestyle="--", color="k", label=f"−d objective / d {param}")
    ax.set_xlabel(param)
    ax.set_ylabel("dual (shadow price)")
    ax.legend(loc="best", fontsize="small")
    return ax
