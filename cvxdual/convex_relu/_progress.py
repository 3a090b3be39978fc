"""Progress of the fast solver: printed with ``verbose`` (as scikit-learn does), logged always."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("cvxdual.convex_relu")


class _Progress:
    """One line per stage event or iteration block, with the time since the start.

    With ``verbose`` the lines go to stdout; they are also logged at DEBUG level
    on the ``cvxdual.convex_relu`` logger. Nothing is formatted when neither
    wants them (``enabled`` is false), so callers may skip computing the values.
    """

    def __init__(self, verbose: bool):
        self.verbose = bool(verbose)
        self.enabled = self.verbose or logger.isEnabledFor(logging.DEBUG)
        self._start = time.perf_counter()

    def note(self, stage: str, message: str) -> None:
        """Report ``message`` of ``stage``."""
        if not self.enabled:
            return
        line = f"[{stage}] {message} ({time.perf_counter() - self._start:.2f} s)"
        if self.verbose:
            print(line, flush=True)
        logger.debug(line)

    def iteration(self, stage: str, it: int, objective: float, lower_bound: float,
                  gap: float, extra: str = "") -> None:
        """Report iteration ``it`` of ``stage``: objective, certified bound, relative gap."""
        if self.enabled:
            self.note(stage, f"iter {it}: objective {objective:.10g}, lower bound "
                             f"{lower_bound:.10g}, gap {gap:.3g}{extra}")
