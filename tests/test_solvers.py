"""Solver retries: a status other than optimal is never used silently."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from cvxdual import _solvers
from cvxdual.exceptions import InfeasibleSetError, SolverError


def _problem():
    x = cp.Variable(3)
    return cp.Problem(cp.Minimize(cp.sum_squares(x - 1)), [cp.norm(x) <= 1]), x


def test_default_order_returns_the_first_optimal_solver():
    problem, x = _problem()
    assert _solvers.solve(problem) == "CLARABEL"
    np.testing.assert_allclose(x.value, np.full(3, 3**-0.5), atol=1e-8)


def test_an_inaccurate_status_falls_through_to_the_next_solver(monkeypatch):
    problem, x = _problem()
    calls = []
    original = cp.Problem.solve

    def flaky(self, *args, solver=None, **kwargs):
        calls.append(solver)
        result = original(self, *args, solver=solver, **kwargs)
        if solver == "CLARABEL":
            self._status = cp.OPTIMAL_INACCURATE
        return result

    monkeypatch.setattr(cp.Problem, "solve", flaky)
    assert _solvers.solve(problem) == "SCS"
    # Clarabel is re-run with each of its fallback settings before SCS is tried.
    attempts = len(_solvers.SOLVER_OPTIONS["CLARABEL"])
    assert attempts >= 2
    assert calls == ["CLARABEL"] * attempts + ["SCS"]
    np.testing.assert_allclose(x.value, np.full(3, 3**-0.5), atol=1e-6)


def test_no_optimal_solver_is_a_solver_error_listing_what_was_tried(monkeypatch):
    problem, _ = _problem()

    def failing(self, *args, solver=None, **kwargs):
        raise cp.error.SolverError(f"{solver} broke")

    monkeypatch.setattr(cp.Problem, "solve", failing)
    with pytest.raises(SolverError, match="Could not solve the test problem") as info:
        _solvers.solve(problem, what="test problem")
    assert "CLARABEL: CLARABEL broke" in str(info.value)
    assert "SCS: SCS broke" in str(info.value)
    assert isinstance(info.value, cp.error.SolverError)


def test_a_named_solver_is_used_alone():
    problem, _ = _problem()
    assert _solvers.solve(problem, "scs") == "SCS"
    with pytest.raises(SolverError, match="OSQP"):
        _solvers.solve(problem, "OSQP")  # a second-order cone is beyond OSQP


def test_infeasible_problem_is_an_infeasible_set_error():
    x = cp.Variable()
    problem = cp.Problem(cp.Minimize(x), [x >= 1, x <= 0])
    with pytest.raises(InfeasibleSetError, match="infeasible"):
        _solvers.solve(problem)


def test_an_inaccurate_infeasibility_certificate_is_a_failure_not_a_proof(monkeypatch):
    # SCS says "infeasible_inaccurate" on badly scaled feasible problems: only an
    # accurate certificate makes an InfeasibleSetError, otherwise SolverError.
    x = cp.Variable()
    problem = cp.Problem(cp.Minimize(x), [x >= 1])

    def fake_solve(self, *args, **kwargs):
        self._status = cp.INFEASIBLE_INACCURATE

    monkeypatch.setattr(cp.Problem, "solve", fake_solve)
    with pytest.raises(SolverError, match="infeasible_inaccurate"):
        _solvers.solve(problem, "SCS")


@pytest.mark.parametrize("bad", ["nosuch", 3])
def test_unknown_solver_name(bad):
    with pytest.raises(ValueError, match="solver must be"):
        _solvers.check_solver(bad)
