"""Input checks shared by the sets, the projection, the solvers and convex ReLU.

Messages follow scikit-learn's wording: they name the parameter and the value
that came, e.g. ``radius must be > 0, got -1.0``.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float after checking it is a finite number > 0.

    Examples
    --------
    >>> from cvxdual._validation import check_positive
    >>> check_positive(2, "radius")
    2.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond the float range
        raise ValueError(f"{name} must be finite, got {value!r}") from None
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value


def check_finite_array(
    value,
    name: str,
    *,
    ndim: tuple[int, ...] | None = None,
    copy: bool = True,
    check_finite: bool = True,
) -> np.ndarray:
    """Return ``value`` as a float64 array, rejecting NaN, inf and bad dimensions.

    The result never shares memory with ``value`` when ``copy`` is true, so the
    caller can never modify what a user passed in.

    Examples
    --------
    >>> from cvxdual._validation import check_finite_array
    >>> check_finite_array([[1, 2]], "V").dtype
    dtype('float64')
    """
    if np.iscomplexobj(value):
        # as scikit-learn's check_array: casting would silently drop the imaginary part
        raise ValueError(f"Complex data not supported: {name} must be an array of real numbers.")
    try:
        array = np.array(value, dtype=np.float64) if copy else np.asarray(value, np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from exc
    if ndim is not None and array.ndim not in ndim:
        allowed = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be a {allowed} array, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    # A finite sum of squares (one BLAS dot) proves every entry finite without
    # a boolean temporary; only when it is not (NaN, inf, or overflow of huge
    # finite values) look entry by entry.
    if not check_finite:
        return array
    flat = array.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        squares = flat @ flat
    if not np.isfinite(squares) and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return array


def check_count(value, name: str) -> int:
    """Return ``value`` as an int after checking it is an integer >= 1.

    An integral float such as ``5.0`` is accepted.

    Examples
    --------
    >>> from cvxdual._validation import check_count
    >>> check_count(5.0, "max_iter")
    5
    """
    if isinstance(value, numbers.Integral):
        ok = value >= 1
    else:
        ok = (isinstance(value, numbers.Real) and math.isfinite(value)
              and float(value).is_integer() and value >= 1)
    if not ok:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_samples(X, name: str = "X") -> np.ndarray:
    """Return ``X`` as a finite float array of shape (n_samples >= 1, n_features).

    Examples
    --------
    >>> from cvxdual._validation import check_samples
    >>> check_samples([[1, 2]]).shape
    (1, 2)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-d array (n_samples, n_features), got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} must have at least one sample, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must not contain NaN or infinity")
    return X


def check_sample_vector(y, n_samples: int, name: str = "y") -> np.ndarray:
    """Return ``y`` as a finite float array of shape (n_samples,).

    Examples
    --------
    >>> from cvxdual._validation import check_sample_vector
    >>> check_sample_vector([1, 2], 2)
    array([1., 2.])
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(
            f"{name} must be a 1-d array of length n_samples={n_samples}, got shape {y.shape}"
        )
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} must not contain NaN or infinity")
    return y


# Release in which the current names replaced the old ones, and the one that drops them.
_DEPRECATED_IN, _REMOVED_IN = "0.2", "0.4"


def resolve_alias(value, param: str, aliases: dict, *, stacklevel: int = 2):
    """Return the current name of ``value``, warning when it is a deprecated alias.

    ``aliases`` maps each deprecated value to its current one; any other value
    (including non-strings) is returned as it is. ``stacklevel`` counts from the
    caller of this function, as in :func:`warnings.warn`.

    Warns
    -----
    FutureWarning
        When ``value`` is a deprecated alias, in scikit-learn's wording.

    Examples
    --------
    >>> import warnings
    >>> from cvxdual._validation import resolve_alias
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     new = resolve_alias("logistic", "loss", {"logistic": "log_loss"})
    >>> new, caught[0].category.__name__
    ('log_loss', 'FutureWarning')
    >>> str(caught[0].message).startswith("loss='logistic' was deprecated in cvxdual 0.2")
    True
    """
    if not isinstance(value, str) or value not in aliases:
        return value
    new = aliases[value]
    warnings.warn(
        f"{param}={value!r} was deprecated in cvxdual {_DEPRECATED_IN} and will be removed "
        f"in {_REMOVED_IN}; use {param}={new!r}, which is equivalent.",
        FutureWarning,
        stacklevel=stacklevel + 1,
    )
    return new
