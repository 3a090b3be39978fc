r"""The outer training loop: hidden layers trained by the exact head's duals.

A network is hidden layers ``Φ = h(X; θ)`` (:mod:`cvxdual.network`) under an
exact convex head (:class:`cvxdual.heads.NormBoundedHead`) with optimal value
``p*(Φ)``. By the envelope theorem ``∇_Φ p*(Φ) = ν W*ᵀ``, the head's
:meth:`~cvxdual.heads.HeadSolution.feature_gradient`, so the hidden parameters
are trained by backpropagating the solver's duals:

1. solve the head on the features of all training rows (before epoch 1);
2. each epoch, for each minibatch ``B`` (rows shuffled per epoch): forward
   pass of ``X_B``, backward pass of ``(n / |B|) G_B`` with ``G_B = ν_B W*ᵀ``
   (row ``i`` carries the ``1/n`` of the mean, so the rescaled minibatch rows
   backpropagate to an unbiased estimate of ``∇_θ p*``), one optimizer step,
   then the projection (:func:`cvxdual.project`) of every constrained hidden
   weight matrix onto its set. The head ``(W*, b*)`` stays fixed between
   solves; the per-sample duals do not: ``ν_i = w_i ∂ℓ/∂z_i`` at the current
   scores ``z_B = Φ_B W* + b*`` of the minibatch (``w_i = 1/n``, or the
   normalised sample weights), the duals of the head problem at the current
   features with the current head (``minibatch_duals="current"``). Right
   after a solve they are the solver's duals (the first minibatch uses those
   exactly); ``minibatch_duals="last_solve"`` keeps the solver's ``ν`` until
   the next solve instead;
3. re-solve the head on the full training features at the end of every epoch
   (and, optionally, every ``head_solve_every`` optimizer steps), warm-started
   from the previous solution.

With one minibatch holding every row and plain gradient descent (no momentum)
a step therefore moves ``θ`` by exactly ``−η ∇_θ p*(Φ(θ))``.

Dual history
------------
:func:`train` returns one record per epoch in ``dual_history``; each record
is a dict::

    {
        "epoch": int,                      # 1-based
        "loss": float,                     # p*(Φ) after the end-of-epoch head solve
        "head": {
            "duals": {key: float | ndarray},   # the head constraint's duals ({} if none)
            "active": bool,                    # head bound binding (dual > ACTIVE_TOL)
            "sample_duals": {"mean_abs": float, "max_abs": float, "l2": float},
        },
        "layers": {                        # constrained hidden layers only
            i: {"duals": {key: float | ndarray}, "active": bool},
        },
        "validation_score": float,         # only with a validation scorer
    }

``layers[i]["duals"]`` are the duals of layer ``i``'s last projection in that
epoch, keyed as in the set's :meth:`~cvxdual.sets.ConvexSet.constraints`.
:func:`cvxdual.report.dual_history_table` turns the records into a long table.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, gen_batches

from ._threads import limit_competing_blas
from .exceptions import DivergenceError, SolverError
from .heads import NormBoundedHead
from .network import SGD, Adam, backward, forward
from .projection import project
from .sets import ConvexSet

__all__ = [
    "ACTIVE_TOL",
    "TrainingResult",
    "check_layer_constraints",
    "train",
]

logger = logging.getLogger(__name__)

#: A constraint counts as active (binding) when the largest magnitude of its
#: dual values exceeds this. Closed-form projections return exact zeros for
#: inactive constraints; interior-point solvers return values around 1e-10.
ACTIVE_TOL = 1e-8


@dataclass
class TrainingResult:
    """What :func:`train` returns.

    Attributes
    ----------
    coefs, intercepts : list of ndarray
        The hidden layers' weights ``(n_in, n_out)`` and intercepts.
    head_solution : HeadSolution
        The head solved on the final (or, with a validation scorer, the best)
        training features.
    loss_curve : list of float
        ``p*(Φ)`` after each epoch.
    dual_history : list of dict
        One record per epoch; format in the module docstring.
    n_iter : int
        Number of epochs run.
    t : int
        Number of optimizer steps taken.
    converged : bool
        Whether training stopped because of ``n_iter_no_change`` rather than
        ``max_iter``.
    best_epoch : int
        The epoch whose parameters are returned (``n_iter`` without a
        validation scorer).
    validation_scores : list of float or None
        The scorer's value after each epoch.
    projection_points : dict of int to ndarray
        For each constrained layer, the point ``V`` its returned weights are the
        projection of (the weights just before their last projection), so that
        :func:`cvxdual.verify.verify_estimator` can re-solve that projection.

    Examples
    --------
    >>> from cvxdual.training import TrainingResult
    >>> sorted(TrainingResult.__dataclass_fields__)[:3]
    ['best_epoch', 'coefs', 'converged']
    """

    coefs: list[np.ndarray]
    intercepts: list[np.ndarray]
    head_solution: Any
    loss_curve: list[float] = field(default_factory=list)
    dual_history: list[dict] = field(default_factory=list)
    n_iter: int = 0
    t: int = 0
    converged: bool = False
    best_epoch: int = 0
    validation_scores: list[float] | None = None
    projection_points: dict[int, np.ndarray] = field(default_factory=dict)


def _float_or_array(value):
    if isinstance(value, float):  # (most norm balls' dual: no array round trip)
        return float(value)
    value = np.asarray(value, dtype=float)
    return float(value) if value.ndim == 0 else value.copy()


def _copy_duals(duals: dict) -> dict:
    return {key: _float_or_array(value) for key, value in duals.items()}


def _is_active(duals: dict) -> bool:
    return any(
        abs(value) > ACTIVE_TOL if isinstance(value, float)
        else np.size(value) > 0 and float(np.max(np.abs(value))) > ACTIVE_TOL
        for value in duals.values()
    )


def _largest_dual(duals: dict) -> float:
    return max((float(np.max(np.abs(v))) for v in duals.values() if np.size(v)), default=0.0)


def _divergence_error(what: str, epoch: int, step: int, learning_rate: float | None):
    rate = "" if learning_rate is None else f" (currently {learning_rate:g})"
    return DivergenceError(
        f"Training diverged at epoch {epoch}, step {step}: the {what} became non-finite. "
        f"Lower the learning rate{rate}, e.g. by a factor of 10, or standardise the inputs."
    )


def check_layer_constraints(layer_constraints, shapes: Sequence[tuple[int, ...]]) -> list:
    """Return one set (or None) per hidden layer, checked against its weights' shape.

    Parameters
    ----------
    layer_constraints : ConvexSet, list of (ConvexSet or None), or None
        One set for every layer, or one set (or None) per layer. Not copied.
    shapes : sequence of tuple of int
        The shape ``(n_in, n_out)`` of each hidden layer's weights.

    Returns
    -------
    sets : list of (ConvexSet or None)
        ``len(shapes)`` entries.

    Raises
    ------
    ValueError
        If the list has the wrong length, an entry is not a
        :class:`~cvxdual.sets.ConvexSet` or None, or a set cannot hold its
        layer's shape.

    Examples
    --------
    >>> from cvxdual.sets import SpectralBall
    >>> from cvxdual.training import check_layer_constraints
    >>> check_layer_constraints(SpectralBall(1.0), [(3, 8), (8, 8)])
    [SpectralBall(radius=1.0), SpectralBall(radius=1.0)]
    >>> check_layer_constraints([None], [(3, 8), (8, 8)])
    Traceback (most recent call last):
    ...
    ValueError: layer_constraints must hold one set or None per hidden layer (2), got 1
    """
    n_layers = len(shapes)
    if layer_constraints is None:
        return [None] * n_layers
    if isinstance(layer_constraints, (list, tuple)):
        if len(layer_constraints) != n_layers:
            raise ValueError(
                f"layer_constraints must hold one set or None per hidden layer "
                f"({n_layers}), got {len(layer_constraints)}"
            )
        sets = list(layer_constraints)
    else:
        sets = [layer_constraints] * n_layers
    for i, (S, shape) in enumerate(zip(sets, shapes, strict=True)):
        if S is None:
            continue
        if not isinstance(S, ConvexSet):
            raise ValueError(
                f"layer_constraints[{i}] must be a cvxdual.sets.ConvexSet or None, got {S!r}"
            )
        try:
            S.check_shape(tuple(shape))
        except ValueError as exc:
            raise ValueError(
                f"layer_constraints[{i}] ({S!r}) cannot hold the weights of hidden layer {i} "
                f"of shape {tuple(shape)}: {exc}"
            ) from exc
    return sets


def _solve_head(head, features, y, sample_weight, warm_start, epoch):
    where = "before the first epoch (epoch 0)" if epoch == 0 else f"at epoch {epoch}"
    if not np.all(np.isfinite(features)):
        raise DivergenceError(
            f"Training diverged {where}: the hidden features became non-finite. Lower the "
            "learning rate, e.g. by a factor of 10, or standardise the inputs."
        )

    def advice():  # (only on failure: max |Φ| is a pass over all the features)
        scale = max(float(np.max(features)), -float(np.min(features)))
        return (
            f"largest |hidden feature| = {scale:.3g}; if that is huge, training diverged: lower "
            "the learning rate, e.g. by a factor of 10, or standardise the inputs"
        )

    try:
        # Exploding features can overflow inside the head: judge the head by its
        # output (checked below) instead of by floating-point warnings.
        with np.errstate(all="ignore"):
            solution = head.solve(
                features, y, sample_weight=sample_weight, warm_start=warm_start
            )
    except SolverError as exc:
        raise SolverError(f"The head solve failed {where} ({advice()}): {exc}") from exc
    status = getattr(solution, "status", "optimal")
    if status != "optimal":
        raise SolverError(f"The head solve failed {where}: status {status!r}.")
    if not (
        np.isfinite(solution.objective)
        and np.all(np.isfinite(solution.coef))
        and np.all(np.isfinite(solution.intercept))
        and np.all(np.isfinite(solution.sample_duals))
    ):
        raise DivergenceError(
            f"Training diverged {where}: the head solve returned non-finite values ({advice()})."
        )
    return solution


def _head_record(solution) -> dict:
    nu = np.asarray(solution.sample_duals, dtype=float)
    duals = _copy_duals(getattr(solution, "duals", None) or {})
    return {
        "duals": duals,
        "active": _is_active(duals),
        "sample_duals": {
            "mean_abs": float(np.mean(np.abs(nu))),
            "max_abs": float(np.max(np.abs(nu))),
            "l2": float(np.linalg.norm(nu)),
        },
    }


# L-BFGS's stop before chord steps in a cold binding head solve during training
# (see _HeadConfig.lbfgs_chord_rtol): the warm-started solves after it reuse the
# chord matrix those steps build.
_TRAINING_LBFGS_CHORD_RTOL = 1e-3


def _training_head(head):
    """``head`` as training solves it (a copy: the caller's head is not changed).

    A :class:`~cvxdual.heads.NormBoundedHead` with the default cold-solve
    strategy gets :data:`_TRAINING_LBFGS_CHORD_RTOL`; anything else is used as given.
    """
    if not isinstance(head, NormBoundedHead) or head._config.lbfgs_chord_rtol is not None:
        return head
    trained = copy.copy(head)
    trained._config = replace(head._config, lbfgs_chord_rtol=_TRAINING_LBFGS_CHORD_RTOL)
    return trained


class _CurrentDuals:
    """``ν_B = w_B ∂ℓ/∂z`` at ``z_B = Φ_B W* + b*``: the head's duals at the current features.

    ``w`` are the head's weights (``1/n``, or the sample weights normalised to
    sum to one), so at a solve these are the solver's ``sample_duals``.
    """

    def __init__(self, loss, y, sample_weight, n_samples):
        self.loss = loss
        self.Y = loss.encode_targets(y)
        if sample_weight is None:
            self.w = np.full(n_samples, 1.0 / n_samples)
        else:
            w = np.asarray(sample_weight, dtype=float).reshape(-1)
            w = w / w.max()  # as the head: first, the sum of huge weights may overflow
            self.w = w / w.sum()

    def __call__(self, features, rows, solution):
        z = features @ solution.coef + solution.intercept
        return self.w[rows, None] * self.loss.gradient(z, self.Y[rows])


def _project_layers(sets, coefs, records, finite=False):
    """Project each constrained layer in place; record its duals and the point projected.

    ``finite``: the weights are known finite (checked after every step), so a
    closed form runs without :func:`~cvxdual.projection.project`'s input checks
    (the shapes were checked once, by :func:`check_layer_constraints`).
    """
    for i, S in enumerate(sets):
        if S is None:
            continue
        point = coefs[i].copy()  # kept for verify_estimator; overwritten in place below
        if finite and S.has_closed_form:
            previous = records[i]["duals"] if i in records else None
            weights, duals = S._project_closed_form_after(point, previous)
        else:
            result = project(point, S)
            weights, duals = result.weights, result.duals
        coefs[i][...] = weights
        duals = _copy_duals(duals)
        records[i] = {"duals": duals, "active": _is_active(duals), "point": point}


def _prepare(X, coefs, intercepts, layer_constraints, optimizer, batch_size, head_solve_every,
             minibatch_duals):
    """Validate :func:`train`'s arguments; return copies of what it updates."""
    n_samples = X.shape[0]
    coefs = [np.array(W, dtype=float, copy=True) for W in coefs]
    intercepts = [np.array(b, dtype=float, copy=True) for b in intercepts]
    if len(coefs) == 0 or len(coefs) != len(intercepts):
        raise ValueError(
            f"coefs and intercepts must hold the same positive number of layers, got "
            f"{len(coefs)} and {len(intercepts)}"
        )
    sets = check_layer_constraints(layer_constraints, [W.shape for W in coefs])
    optimizer = Adam() if optimizer is None else copy.deepcopy(optimizer)
    if batch_size is None:
        batch_size = n_samples
    batch_size = int(np.clip(batch_size, 1, n_samples))
    if head_solve_every is not None and int(head_solve_every) < 1:
        raise ValueError(f"head_solve_every must be >= 1 or None, got {head_solve_every!r}")
    if minibatch_duals not in ("current", "last_solve"):
        raise ValueError(
            f"minibatch_duals must be 'current' or 'last_solve', got {minibatch_duals!r}"
        )
    return coefs, intercepts, sets, optimizer, batch_size


def _epoch_record(epoch, loss, head_record, layer_records) -> dict:
    """One entry of ``dual_history``: the epoch's loss, head and layer duals."""
    return {
        "epoch": epoch,
        "loss": loss,
        "head": head_record,
        "layers": {
            i: {"duals": _copy_duals(r["duals"]), "active": r["active"]}
            for i, r in sorted(layer_records.items())
        },
    }


def _print_epoch(record, start, fit_start, max_iter) -> None:
    """``verbose`` line: loss, largest dual and its block, times."""
    epoch = record["epoch"]
    blocks = {"head": record["head"]["duals"]}
    blocks.update({f"layer {i}": r["duals"] for i, r in record["layers"].items()})
    name, largest = max(((k, _largest_dual(d)) for k, d in blocks.items()), key=lambda kv: kv[1])
    extra = (
        f", validation score = {record['validation_score']:.6f}"
        if "validation_score" in record
        else ""
    )
    now = time.perf_counter()
    elapsed = now - fit_start
    remaining = elapsed / epoch * (max_iter - epoch)
    print(
        f"Epoch {epoch}, loss = {record['loss']:.8f}, largest dual = {largest:.4g} ({name})"
        f"{extra}, time = {now - start:.3f}s, elapsed = {elapsed:.1f}s, "
        f"remaining ~ {remaining:.1f}s",
        flush=True,
    )


def _finish(result: TrainingResult, best_state, layer_records, max_iter) -> TrainingResult:
    """Warn if not converged; return the best epoch's state (early stopping) or the last."""
    if not result.converged:
        warnings.warn(
            f"Maximum number of epochs ({max_iter}) reached and the optimization has not "
            "converged yet.",
            ConvergenceWarning,
            stacklevel=4,  # _finish <- train <- its thread-limit wrapper <- the caller
        )
    result.best_epoch = result.n_iter
    result.projection_points = {i: r["point"] for i, r in layer_records.items()}
    if best_state is not None:
        best_coefs, best_intercepts, solution, best_epoch, points = best_state
        result.coefs, result.intercepts = best_coefs, best_intercepts
        result.head_solution, result.best_epoch = solution, best_epoch
        result.projection_points = points
    return result


@limit_competing_blas
def train(
    X: np.ndarray,
    y: np.ndarray,
    coefs: Sequence[np.ndarray],
    intercepts: Sequence[np.ndarray],
    head,
    *,
    activation: str = "relu",
    optimizer: SGD | Adam | None = None,
    layer_constraints=None,
    batch_size: int | None = None,
    max_iter: int = 200,
    tol: float = 1e-4,
    n_iter_no_change: int = 10,
    shuffle: bool = True,
    random_state: int | np.random.RandomState | None = None,
    head_solve_every: int | None = None,
    sample_weight: np.ndarray | None = None,
    validation_score: Callable[[list, list, Any], float] | None = None,
    verbose: bool = False,
    minibatch_duals: str = "current",
) -> TrainingResult:
    """Train hidden layers under an exact convex head; return a :class:`TrainingResult`.

    See the module docstring for the algorithm. The inputs are not modified:
    ``coefs``, ``intercepts`` and ``optimizer`` are copied.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training inputs (float64).
    y : ndarray
        Training targets, encoded as ``head`` expects them.
    coefs, intercepts : sequences of ndarray
        Initial hidden weights ``(n_in, n_out)`` and intercepts, e.g. from
        :func:`cvxdual.network.init_params`.
    head : NormBoundedHead
        The head; anything with ``solve(features, y, sample_weight=None,
        warm_start=None)`` returning a ``HeadSolution``.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Hidden activation.
    optimizer : SGD or Adam, optional
        Optimizer (deep-copied); default ``Adam()``.
    layer_constraints : ConvexSet, list of (ConvexSet or None), or None
        One set for every hidden layer, or one set (or None) per layer. Each
        constrained weight matrix is projected onto its set at the start and
        after every optimizer step.
    batch_size : int, optional
        Minibatch size, clipped to ``[1, n_samples]``; default all rows.
    max_iter : int, default=200
        Maximum number of epochs.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement (of the loss,
        or of the validation score when ``validation_score`` is given).
    n_iter_no_change : int, default=10
        Stop after more than this many consecutive epochs without improvement.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Drives the shuffling.
    head_solve_every : int, optional
        Also re-solve the head every this many optimizer steps.
    sample_weight : ndarray of shape (n_samples,), optional
        Passed to the head's solve.
    validation_score : callable, optional
        ``validation_score(coefs, intercepts, head_solution) -> float``,
        higher is better, called after each epoch; used for stopping, and the
        parameters of the best epoch are returned.
    verbose : bool, default=False
        Print one line per epoch: loss, largest dual, the epoch's time, the time
        elapsed and an estimate of the time remaining (mean epoch time × the
        epochs left until ``max_iter``; early stopping may end sooner).
    minibatch_duals : {"current", "last_solve"}, default="current"
        The per-sample duals ``ν`` each minibatch backpropagates: ``"current"``
        recomputes ``ν_i = w_i ∂ℓ/∂z_i`` at the minibatch's current scores with
        the current head (for a :class:`~cvxdual.heads.NormBoundedHead`; other
        heads — fair and Lipschitz-margin heads, whose duals also carry
        constraint multipliers or depend on ``W`` — use ``"last_solve"``);
        ``"last_solve"`` keeps the
        duals of the latest head solve, computed on features the steps since
        have moved. Both are the solver's duals at a solve. On the digits
        and 20,000-row benchmarks ``"current"`` reached a lower head loss at
        the same cost (benchmarks/RESULTS.md).

    Returns
    -------
    TrainingResult

    Raises
    ------
    SolverError
        If a head solve fails after the solver's retries; the message names the
        epoch.
    DivergenceError
        If the parameters, features or loss become non-finite (divergence).

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` epochs pass without meeting the stopping criterion.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.heads import NormBoundedHead
    >>> from cvxdual.network import SGD, init_params
    >>> from cvxdual.sets import L2Ball, SpectralBall
    >>> from cvxdual.training import train
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5])
    >>> coefs, intercepts = init_params([3, 8], "tanh", random_state=0)
    >>> result = train(X, y, coefs, intercepts, NormBoundedHead("squared", L2Ball(5.0)),
    ...                activation="tanh", optimizer=SGD(0.1, momentum=0.0),
    ...                layer_constraints=SpectralBall(1.0), max_iter=5)
    >>> result.n_iter, len(result.dual_history)
    (5, 5)
    >>> bool(result.loss_curve[-1] < result.loss_curve[0])
    True
    >>> bool(np.linalg.norm(result.coefs[0], 2) <= 1.0 + 1e-8)
    True
    """
    X = np.asarray(X, dtype=float)
    n_samples = X.shape[0]
    coefs, intercepts, sets, optimizer, batch_size = _prepare(
        X, coefs, intercepts, layer_constraints, optimizer, batch_size, head_solve_every,
        minibatch_duals,
    )
    learning_rate = getattr(optimizer, "learning_rate", None)
    rng = check_random_state(random_state)
    head = _training_head(head)
    params = coefs + intercepts  # the optimizer updates these arrays in place

    layer_records: dict[int, dict] = {}
    _project_layers(sets, coefs, layer_records)
    with np.errstate(all="ignore"):
        features = forward(X, coefs, intercepts, activation)[-1]
    solution = _solve_head(head, features, y, sample_weight, None, epoch=0)
    current_duals = None  # (after the first solve has validated y and sample_weight)
    # ν = w ∂ℓ/∂z holds for a norm-bounded head only: a fair head's ν also
    # carries its fairness multipliers and a margin head's loss depends on W.
    if minibatch_duals == "current" and isinstance(head, NormBoundedHead):
        current_duals = _CurrentDuals(head.loss, y, sample_weight, n_samples)

    result = TrainingResult(coefs=coefs, intercepts=intercepts, head_solution=solution)
    result.validation_scores = [] if validation_score is not None else None
    best_loss, best_score = np.inf, -np.inf
    best_state = None
    no_improvement = 0
    sample_idx = np.arange(n_samples)
    step = 0
    fit_start = time.perf_counter()

    for epoch in range(1, max_iter + 1):
        start = time.perf_counter()
        if shuffle:
            sample_idx = rng.permutation(n_samples)
        # ∇_Φ p* of the latest solve: all its rows when every minibatch uses it;
        # with current duals only the first minibatch does (its rows, below).
        grad_features = solution.feature_gradient() if current_duals is None else None
        solved_here = True  # the parameters are those of the latest solve
        for batch in gen_batches(n_samples, batch_size):
            rows = sample_idx[batch]
            with np.errstate(all="ignore"):
                activations = forward(X[rows], coefs, intercepts, activation)
                if current_duals is None:
                    G = grad_features[rows]
                elif solved_here:  # the solver's own duals, on these rows
                    G = solution.sample_duals[rows] @ solution.coef.T
                else:
                    G = current_duals(activations[-1], rows, solution) @ solution.coef.T
                # Rows of ∇_Φ p* carry the 1/n of the mean: n/|B| makes the
                # minibatch sum an unbiased estimate of the full gradient.
                G *= n_samples / len(rows)
                coef_grads, intercept_grads = backward(activations, coefs, G, activation)
                optimizer.step(params, coef_grads + intercept_grads)
            step += 1
            solved_here = False
            if not all(np.all(np.isfinite(p)) for p in params):
                raise _divergence_error("network weights", epoch, step, learning_rate)
            _project_layers(sets, coefs, layer_records, finite=True)
            fresh = head_solve_every is not None and step % int(head_solve_every) == 0
            if fresh:
                with np.errstate(all="ignore"):
                    features = forward(X, coefs, intercepts, activation)[-1]
                solution = _solve_head(head, features, y, sample_weight, solution, epoch)
                grad_features = solution.feature_gradient() if current_duals is None else None
                solved_here = True

        if not fresh:  # else the head was just solved on these parameters
            with np.errstate(all="ignore"):
                features = forward(X, coefs, intercepts, activation)[-1]
            solution = _solve_head(head, features, y, sample_weight, solution, epoch)
        loss = float(solution.objective)
        result.loss_curve.append(loss)
        record = _epoch_record(epoch, loss, _head_record(solution), layer_records)
        result.n_iter, result.t, result.head_solution = epoch, step, solution

        if validation_score is not None:
            score = float(validation_score(coefs, intercepts, solution))
            record["validation_score"] = score
            result.validation_scores.append(score)
            no_improvement = no_improvement + 1 if score < best_score + tol else 0
            if score > best_score:
                best_score = score
                best_state = (
                    [W.copy() for W in coefs],
                    [b.copy() for b in intercepts],
                    solution,
                    epoch,
                    {i: r["point"] for i, r in layer_records.items()},
                )
        else:
            no_improvement = no_improvement + 1 if loss > best_loss - tol else 0
            best_loss = min(best_loss, loss)
        result.dual_history.append(record)

        if verbose:
            _print_epoch(record, start, fit_start, max_iter)

        if no_improvement > n_iter_no_change:
            result.converged = True
            what = "Validation score" if validation_score is not None else "Training loss"
            logger.info(
                "%s did not improve more than tol=%g for %d consecutive epochs; stopping.",
                what,
                tol,
                n_iter_no_change,
            )
            break

    return _finish(result, best_state, layer_records, max_iter)
