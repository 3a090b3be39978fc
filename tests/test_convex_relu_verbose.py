"""verbose of the convex ReLU estimators: one line per convex program."""

from __future__ import annotations

import numpy as np
import pytest

from cvxdual import ConvexReLUClassifier, ConvexReLURegressor


@pytest.mark.parametrize("solver", ["cvxpy", "auto"])
def test_estimators_verbose_print_one_line_per_program(solver, capsys):
    X = np.linspace(-1, 1, 12)[:, None]
    ConvexReLURegressor(1e-2, solver=solver, verbose=True, random_state=0).fit(X, np.abs(X[:, 0]))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Program")]
    assert len(lines) == 1 and "objective = " in lines[0] and "remaining ~ 0.0s" in lines[0]
    y = np.digitize(X[:, 0], [-0.3, 0.3])
    ConvexReLUClassifier(1e-2, solver=solver, verbose=1, random_state=0).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Program")]
    assert [line.split(":")[0] for line in lines] == [
        "Program 1/3 (class 0 vs rest)", "Program 2/3 (class 1 vs rest)",
        "Program 3/3 (class 2 vs rest)"]
    ConvexReLURegressor(1e-2, solver=solver, random_state=0).fit(X, np.abs(X[:, 0]))
    assert capsys.readouterr().out == ""
