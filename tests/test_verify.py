"""The verification helpers themselves: they pass on exact answers and fail on wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from cvxdual import Intersection, L2Ball, NonNegative, Polyhedron, project
from cvxdual.projection import ProjectionResult
from cvxdual.verify import compare_with_cvxpy, finite_difference, projection_kkt


def test_finite_difference_of_known_functions():
    assert finite_difference(lambda x: x**3, 2.0) == pytest.approx(12.0, rel=1e-8)
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(finite_difference(lambda a: np.sum(a**2), x), 2 * x, rtol=1e-8)


def test_compare_with_cvxpy_reports_every_dual(rng):
    V = 2 * rng.normal(size=(4, 3))
    S = Intersection(NonNegative(), L2Ball(1.0))
    diff = compare_with_cvxpy(V, S)
    assert set(diff) == {"weights", "0.nonneg", "1.norm"}
    assert diff["weights"] == 0.0  # both sides run CVXPY for a set without a closed form


def test_kkt_residuals_flag_each_violated_condition(rng):
    V = 2 * rng.normal(size=(4, 3))
    A = rng.normal(size=(5, 12))
    S = Polyhedron(A, np.ones(5))
    good = project(V, S)
    assert projection_kkt(V, S, good).max() < 1e-8
    # Infeasible weights.
    outside = ProjectionResult(V, good.duals, "optimal", "x")
    assert projection_kkt(V, S, outside).primal_feasibility > 1e-3
    # Negative multipliers.
    negative = ProjectionResult(good.weights, {"ineq": -np.abs(good.duals["ineq"]) - 1},
                                "optimal", "x")
    assert projection_kkt(V, S, negative).dual_feasibility >= 1.0
    # Multipliers on slack constraints break complementary slackness.
    slack = ProjectionResult(good.weights, {"ineq": good.duals["ineq"] + 1.0}, "optimal", "x")
    assert projection_kkt(V, S, slack).complementary_slackness > 1e-3


def test_kkt_rejects_constraint_kinds_it_cannot_check():
    from cvxdual import CvxpySet

    S = CvxpySet(lambda W: {"psd": W >> 0})
    V = np.array([[1.0, 2.0], [2.0, -1.0]])
    result = project(V, S)
    with pytest.raises(ValueError, match="PSD constraint"):
        projection_kkt(V, S, result)


@pytest.mark.parametrize("step", [0.0, -1e-6, np.nan])
def test_finite_difference_rejects_a_non_positive_step(step):
    with pytest.raises(ValueError, match="step"):
        finite_difference(lambda x: x**2, 3.0, step=step)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
@pytest.mark.parametrize("ball", ["l2", "l1", "spectral"])
def test_norm_ball_kkt_check_at_extreme_scales_is_never_nan(scale, ball, rng):
    from cvxdual import L1Ball, SpectralBall

    S = {"l2": L2Ball, "l1": L1Ball, "spectral": SpectralBall}[ball](0.5 * scale)
    V = rng.normal(size=(4, 3)) * scale
    with np.errstate(over="ignore", under="ignore"):
        residuals = projection_kkt(V, S, project(V, S))
    assert not any(np.isnan(v) for v in vars(residuals).values())
    assert residuals.stationarity <= 1e-14 * scale
