"""What every part of convex ReLU shares: ``X̃``, the loss names, deprecated names."""

from __future__ import annotations

import warnings

import numpy as np

from .. import losses
from ..losses import Loss

# The losses of the convex program by name; "log_loss" is the logistic loss
# log(1 + exp(−y z)) of cvxdual.losses.
_LOSSES = {
    "squared": losses.squared,
    "squared_hinge": losses.squared_hinge,
    "log_loss": losses.logistic,
}
# Old names still accepted, with a FutureWarning: old -> new.
_RENAMED = {"fista": "fast", "logistic": "log_loss"}


def _renamed(value, name: str, *, stacklevel: int = 2):
    """Return the current name of ``value``, warning if it is a deprecated alias."""
    if isinstance(value, str) and value in _RENAMED:
        new = _RENAMED[value]
        warnings.warn(
            f"{name}={value!r} was deprecated in version 0.2 and will be removed in 0.4; "
            f"use {name}={new!r} (the same {'solver' if new == 'fast' else 'loss'}).",
            FutureWarning,
            stacklevel=stacklevel + 1,
        )
        return new
    return value


def _get_loss(loss, *, stacklevel: int = 2) -> Loss:
    """The :class:`~cvxdual.losses.Loss` of a convex ReLU loss name (or a Loss)."""
    if isinstance(loss, Loss):
        return loss
    loss = _renamed(loss, "loss", stacklevel=stacklevel + 1)
    if not isinstance(loss, str) or loss not in _LOSSES:
        raise ValueError(f"loss must be one of {sorted(_LOSSES)}, got {loss!r}")
    return _LOSSES[loss]


def _check_labels(y, loss: Loss) -> None:
    if loss.name != "squared" and not np.all(np.abs(y) == 1):
        raise ValueError(f"y must hold labels in {{-1, +1}} for loss {loss.name!r}")


def _augment(X, fit_intercept):
    """``X̃``: ``X`` with a column of ones appended when ``fit_intercept``."""
    if fit_intercept:
        return np.hstack([X, np.ones((X.shape[0], 1))])
    return X
