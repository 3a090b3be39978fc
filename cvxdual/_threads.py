"""BLAS thread limits inside ``fit``: never two spinning pools, threads only where they pay.

NumPy and SciPy wheels each ship their own OpenBLAS, each with a pool of worker
threads that keep spinning for a while after every call. A fit alternates
between the two (NumPy products; SciPy's LAPACK/BLAS calls in the projections
and head solves), so with default settings both pools spin at once and fight
over the cores: the digits MLP fit took 20 s instead of 0.8 s on a 2-core
machine (issue 10). Limiting either pool to one thread removes the fight.

Inside every ``fit``, :func:`cvxdual.training.train` and the heads' ``solve``
(a head solve at 15,000 rows took 1.8 s with both pools spinning, 0.6 s
limited) the pools that are
*not* NumPy's run on one thread: SciPy's calls in the loops are LAPACK/BLAS on
small matrices (64 x 64 eigenproblems, (pK) x (pK) Cholesky factors and rank-2
updates) where threads do not pay. NumPy's pool keeps its threads where its
products are large (data of at least :data:`NUMPY_SERIAL_BELOW` entries: the
head's scores and gradients over 10^6 rows) on a machine with at least
:data:`NUMPY_THREADS_MIN_CORES` cores, which multithreads them well; otherwise it
is serial too, as its spinning workers only take cores from the main thread.
When NumPy and SciPy share one library (conda, MKL, a system OpenBLAS) there is
one pool, nothing to fight, and only the size and core rules apply.

The limits are process-wide (BLAS thread counts are global) and reference
counted: the first of nested calls sets them, the last one to leave restores
the user's setting, also when a fit raises.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable
from typing import TypeVar

import numpy as np

__all__ = ["NUMPY_SERIAL_BELOW", "limit_competing_blas", "serial_blas"]

_F = TypeVar("_F", bound=Callable)

#: NumPy's pool is made serial too when a fit's data has fewer entries than
#: this. Below it the products are small or memory-bound (the head's
#: matrix-vector products over 20,000 x 50 rows, minibatches of 200 rows),
#: threads buy little, and NumPy's spinning workers take the cores from the
#: main thread: on the loaded 2-core machine the 20,000 x 50 bounded logistic
#: fit took 5 s with two NumPy threads and 0.07 s with one. Above it (10^6 rows
#: x 50) the products over all rows are where a many-core machine pays.
NUMPY_SERIAL_BELOW = 10_000_000

#: ... and only on machines with at least this many cores: on 2 cores one
#: spinning worker already halves the main thread's share (10^6 x 50 bounded
#: logistic fit, same process: 6.8 s with NumPy's two threads, 2.6 s with one).
NUMPY_THREADS_MIN_CORES = 8


def _n_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _is_numpy_blas(controller, numpy_dir) -> bool:
    # Wheels vendor NumPy's library under numpy.libs/ or numpy/.dylibs/, which
    # both start with NumPy's package directory.
    return os.path.realpath(controller.filepath).startswith(numpy_dir)


class _SerialScope:
    """Reference-counted "these pools run on one thread" for the main thread.

    The first active scope sets the limit, the last one to leave restores
    the previous counts (also on an exception). OpenBLAS ignores raising its
    thread count from any thread but the main one, so scopes entered from
    other threads leave the settings alone (they could not restore them).
    """

    def __init__(self, numpy_pool: bool):
        self.numpy_pool = numpy_pool
        self.depth = 0
        self.limiter = None
        self._controller = None

    def controller(self):
        if self._controller is None:
            from threadpoolctl import ThreadpoolController

            numpy_dir = os.path.dirname(os.path.realpath(np.__file__))
            controller = ThreadpoolController()
            blas = [c for c in controller.lib_controllers if c.user_api == "blas"]
            numpy_blas = [c for c in blas if _is_numpy_blas(c, numpy_dir)]
            if self.numpy_pool:
                controller.lib_controllers = numpy_blas
            else:
                # NumPy's library not identified: one shared pool, or we cannot tell
                controller.lib_controllers = (
                    [c for c in blas if c not in numpy_blas] if numpy_blas else []
                )
            self._controller = controller
        return self._controller

    @contextlib.contextmanager
    def __call__(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        with _lock:
            if self.depth == 0:
                controller = self.controller()
                self.limiter = controller.limit(limits=1) if controller.lib_controllers else None
            self.depth += 1
        try:
            yield
        finally:
            with _lock:
                self.depth -= 1
                if self.depth == 0 and self.limiter is not None:
                    self.limiter.restore_original_limits()
                    self.limiter = None


_lock = threading.Lock()
_foreign = _SerialScope(numpy_pool=False)
_numpy = _SerialScope(numpy_pool=True)


def foreign_serial() -> bool:
    """Whether the pools other than NumPy's are already limited by an active scope (a fit).

    Examples
    --------
    >>> from cvxdual._threads import foreign_serial, serial_blas
    >>> with serial_blas():
    ...     inside = foreign_serial()
    >>> inside, foreign_serial()
    (True, False)
    """
    return _foreign.depth > 0


def _foreign_blas():
    """Controller of the BLAS pools other than NumPy's (empty if NumPy's is not found)."""
    return _foreign.controller()


@contextlib.contextmanager
def serial_blas(numpy: bool = False):
    """Context manager: BLAS pools other than NumPy's (and NumPy's if ``numpy``) on one thread.

    Re-entrant: the setting is made by the first active context and the
    previous thread counts are restored when the last one exits (also on an
    exception).

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> from cvxdual._threads import serial_blas
    >>> before = [p["num_threads"] for p in threadpool_info()]
    >>> with serial_blas(numpy=True):
    ...     pass
    >>> [p["num_threads"] for p in threadpool_info()] == before
    True
    """
    with _foreign(), (_numpy() if numpy else contextlib.nullcontext()):
        yield


def _n_entries(X) -> int:
    shape = getattr(X, "shape", None)
    if shape is None:
        return 0
    return int(np.prod(shape))


def limit_competing_blas(func: _F) -> _F:
    """Decorator of ``fit(self, X, ...)``, ``train(X, ...)``: run it inside :func:`serial_blas`.

    NumPy's pool is serial too when ``X`` has fewer than
    :data:`NUMPY_SERIAL_BELOW` entries or the machine fewer than
    :data:`NUMPY_THREADS_MIN_CORES` cores.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        X = kwargs.get("X", next((a for a in args if hasattr(a, "shape")), None))
        numpy = _n_entries(X) < NUMPY_SERIAL_BELOW or _n_cores() < NUMPY_THREADS_MIN_CORES
        with serial_blas(numpy=numpy):
            return func(*args, **kwargs)

    return wrapper
