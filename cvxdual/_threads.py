"""One BLAS thread pool in the hot loops: SciPy's own OpenBLAS runs serially inside them.

NumPy and SciPy wheels each ship their own OpenBLAS, each with a pool of worker
threads that keep spinning for a while after every call. A fit alternates
between the two (NumPy products; SciPy's LAPACK/BLAS calls in the projections
and head solves), so with default settings both pools spin at once and fight
over the cores: the digits MLP fit took 20 s instead of 0.8 s on a 2-core
machine (issue 10). Limiting either pool to one thread removes the fight.

We limit the pool that is *not* NumPy's: the large products (minibatch
forward/backward, the head's scores and gradients over all rows, multinomial
Hessian blocks) are NumPy's and keep all its threads, which matter on a
many-core machine at 10^5-10^6 rows; SciPy's calls inside the loops are
LAPACK/BLAS on small matrices (64 x 64 eigenproblems, (pK) x (pK) Cholesky and
rank-2 updates) where threads do not pay. When NumPy and SciPy share one
library (conda, MKL, a system OpenBLAS) there is one pool, nothing to fight
and nothing is limited.

The limit is process-wide (BLAS thread counts are global) and reference
counted: the first of nested or concurrent ``fit`` calls sets it, the last one
to leave restores the user's setting, also when a fit raises.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable
from typing import TypeVar

import numpy as np

__all__ = ["limit_competing_blas", "serial_foreign_blas"]

_F = TypeVar("_F", bound=Callable)

_lock = threading.Lock()
_depth = 0
_limiter = None
_controller = None  # ThreadpoolController of the pools to limit (found once)


def _foreign_blas():
    """Controller of the BLAS pools loaded by neither NumPy nor its own library."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        numpy_dir = os.path.dirname(os.path.realpath(np.__file__))
        controller = ThreadpoolController()
        blas = [c for c in controller.lib_controllers if c.user_api == "blas"]
        # Wheels vendor NumPy's library under numpy.libs/ or numpy/.dylibs/, which
        # both start with NumPy's package directory; everything else is another pool.
        ours = [c for c in blas if os.path.realpath(c.filepath).startswith(numpy_dir)]
        controller.lib_controllers = [c for c in blas if c not in ours] if ours else []
        _controller = controller
    return _controller


@contextlib.contextmanager
def serial_foreign_blas():
    """Context manager: BLAS pools other than NumPy's run on one thread inside it.

    Re-entrant and safe across threads: the setting is made by the first
    active context and the previous thread counts are restored when the last
    one exits (also on an exception).

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> from cvxdual._threads import serial_foreign_blas
    >>> before = [p["num_threads"] for p in threadpool_info()]
    >>> with serial_foreign_blas():
    ...     pass
    >>> [p["num_threads"] for p in threadpool_info()] == before
    True
    """
    global _depth, _limiter
    with _lock:
        if _depth == 0:
            controller = _foreign_blas()
            _limiter = controller.limit(limits=1) if controller.lib_controllers else None
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None


def limit_competing_blas(func: _F) -> _F:
    """Decorator: run ``func`` inside :class:`serial_foreign_blas`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with serial_foreign_blas():
            return func(*args, **kwargs)

    return wrapper
