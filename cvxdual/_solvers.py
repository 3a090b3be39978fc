"""Solving compiled CVXPY problems: solver order, tight tolerances, retries.

Every CVXPY solve in cvxdual goes through :func:`solve`, so that a status other
than optimal is never used silently: the next installed solver is tried, and
when none succeeds a :class:`~cvxdual.exceptions.SolverError` (or, for an
infeasible problem, :class:`~cvxdual.exceptions.InfeasibleSetError`) is raised.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections import Counter
from collections.abc import Sequence

import cvxpy as cp
import numpy as np

from .exceptions import InfeasibleSetError, SolverError

logger = logging.getLogger(__name__)

def _osqp_polish_option() -> str:
    # OSQP 1.0 renamed "polish" to "polishing" (the old name is deprecated).
    try:
        from importlib.metadata import version

        return "polishing" if int(version("osqp").split(".")[0]) >= 1 else "polish"
    except Exception:  # osqp not installed: the option is never used
        return "polish"


_OSQP_POLISH = _osqp_polish_option()

# Tolerances tight enough that weights and duals agree with a reference
# Clarabel solve to about 1e-7 relative on well-posed problems; looser settings
# leave dual values visibly off in the 5th digit on SDP-based sets. Each solver
# gets a list of attempts: on degenerate problems (a point exactly on the
# boundary, repeated singular values at a spectral bound) an interior-point
# method may stall short of 1e-10 and report "optimal_inaccurate"; it is then
# re-run at a tolerance it can certify as optimal before the next solver.
_CLARABEL_TIGHT = {
    "tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "tol_ktratio": 1e-9,
    "max_iter": 400,
}

SOLVER_OPTIONS: dict[str, list[dict]] = {
    "CLARABEL": [
        _CLARABEL_TIGHT,
        # On equality-heavy problems (the heads' "scores") Clarabel often stops one
        # step short of 1e-10 feasibility, depending on rounding: 1e-9 is still far
        # inside the accuracy promised (1e-6 on objectives), and so is turning off
        # equilibration, which sometimes rescues such a stall.
        {**_CLARABEL_TIGHT, "tol_feas": 1e-9},
        {**_CLARABEL_TIGHT, "tol_feas": 1e-9, "equilibrate_enable": False},
        {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8, "tol_ktratio": 1e-7,
         "max_iter": 400},
    ],
    "ECOS": [{"abstol": 1e-10, "reltol": 1e-10, "feastol": 1e-10, "max_iters": 400}],
    # SCS is first-order: it needs many iterations for 1e-9 accuracy.
    "SCS": [{"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 100_000}],
    "OSQP": [{"eps_abs": 1e-10, "eps_rel": 1e-10, "max_iter": 200_000, _OSQP_POLISH: True}],
    "HIGHS": [{}],
}

# Fallback order when the caller names no solver: interior point first (most
# accurate duals), then the first-order conic solver that handles every cone.
DEFAULT_ORDER: tuple[str, ...] = ("CLARABEL", "ECOS", "SCS", "OSQP", "HIGHS")

# Only an accurate certificate proves infeasibility: an inaccurate one (SCS on a
# badly scaled but feasible problem) is a failure, and the next solver is tried.
_INFEASIBLE = {cp.INFEASIBLE}


@functools.lru_cache(maxsize=1)
def _cvxpy_installed() -> frozenset[str]:
    # cp.installed_solvers() imports every solver module: milliseconds per call.
    return frozenset(cp.installed_solvers())


def installed_solvers() -> list[str]:
    """Return the solvers of :data:`DEFAULT_ORDER` that CVXPY can use here.

    Examples
    --------
    >>> from cvxdual._solvers import installed_solvers
    >>> "CLARABEL" in installed_solvers()
    True
    """
    available = _cvxpy_installed()
    return [s for s in DEFAULT_ORDER if s in available]


def check_solver(solver: str | None) -> str | None:
    """Validate a user-given solver name; return it upper-cased (or None)."""
    if solver is None:
        return None
    if not isinstance(solver, str):
        raise ValueError(f"solver must be a string naming a CVXPY solver or None, got {solver!r}")
    name = solver.upper()
    if name not in _cvxpy_installed():
        raise ValueError(
            f"solver must be one of the installed CVXPY solvers {sorted(_cvxpy_installed())}, "
            f"got {solver!r}"
        )
    return name


def solve(
    problem: cp.Problem,
    solver: str | None = None,
    *,
    what: str = "problem",
    solver_options: dict | None = None,
    fallbacks: Sequence[str] | None = None,
    warm_start: bool = False,
) -> str:
    """Solve ``problem`` to optimality and return the name of the solver used.

    Parameters
    ----------
    problem : cvxpy.Problem
        The (usually DPP-compiled) problem; its parameters must hold values.
    solver : str or None
        A solver name. When given, only that solver is tried, so a user who
        asks for a solver gets that solver's answer. When None, the installed
        solvers of :data:`DEFAULT_ORDER` are tried in turn.
    what : str
        Words naming the problem, used in error messages.
    solver_options : dict, optional
        Extra keyword arguments for every solver tried (override the defaults).
    fallbacks : sequence of str, optional
        Order of solvers to try when ``solver`` is None.
    warm_start : bool
        Passed to :meth:`cvxpy.Problem.solve`.

    Returns
    -------
    solver : str
        The solver that returned an optimal solution.

    Raises
    ------
    InfeasibleSetError
        If a solver proves the problem infeasible.
    SolverError
        If no solver returns the status ``optimal``.

    Examples
    --------
    >>> import cvxpy as cp
    >>> from cvxdual._solvers import solve
    >>> x = cp.Variable()
    >>> solve(cp.Problem(cp.Minimize(cp.square(x - 1))))
    'CLARABEL'
    """
    if solver is not None:
        order = [check_solver(solver)]
    else:
        available = _cvxpy_installed()
        order = [s for s in (fallbacks or DEFAULT_ORDER) if s in available]
    failures = []
    for name in order:
        for attempt in SOLVER_OPTIONS.get(name, [{}]):
            options = {**attempt, **(solver_options or {})}
            try:
                with warnings.catch_warnings():
                    # CVXPY warns on inaccurate solutions; we act on the status instead.
                    warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                    problem.solve(solver=name, warm_start=warm_start, **options)
            except cp.error.SolverError as exc:
                # A numerical failure: the solver's next settings may get through.
                failures.append(f"{name}: {exc}".strip())
                logger.debug("%s failed on %s: %s", name, what, exc)
                continue
            except (ValueError, TypeError) as exc:
                # Raised by CVXPY when a solver does not support the problem's cones.
                failures.append(f"{name}: {exc}")
                break
            status = problem.status
            if status == cp.OPTIMAL:
                return name
            if status in _INFEASIBLE:
                raise InfeasibleSetError(
                    f"The {what} is infeasible ({name} status {status!r}): "
                    "the constraint set has no feasible point."
                )
            failures.append(f"{name}: status {status!r}")
            logger.debug("%s returned status %r on %s", name, status, what)
            if status != cp.OPTIMAL_INACCURATE:
                break
    # The same failure under several settings of one solver is said once.
    counts = Counter(failures)
    tried = "; ".join(
        f"{text} ({counts[text]} settings)" if counts[text] > 1 else text for text in counts
    )
    tried = tried or "no installed solver supports it"
    raise SolverError(f"Could not solve the {what} to optimality ({tried}).")


def dual_value(constraint: cp.Constraint) -> float | np.ndarray:
    """Return a solved constraint's ``dual_value``: a float for scalars, else a copy.

    Examples
    --------
    >>> import cvxpy as cp
    >>> from cvxdual._solvers import dual_value, solve
    >>> x = cp.Variable()
    >>> bound = x >= 1
    >>> _ = solve(cp.Problem(cp.Minimize(cp.square(x)), [bound]))
    >>> round(dual_value(bound), 6)
    2.0
    """
    value = np.asarray(constraint.dual_value, dtype=float)
    return float(value) if value.ndim == 0 else value.copy()
