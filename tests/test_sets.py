"""The sets' definitions: constraint names, shapes, violations and parameter checks."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from cvxdual.exceptions import InfeasibleSetError
from cvxdual.sets import (
    Box,
    CvxpySet,
    Intersection,
    L1Ball,
    L2Ball,
    LinfBall,
    MaxNorm,
    NonNegative,
    NuclearBall,
    Polyhedron,
    Simplex,
    SpectralBall,
)

SHAPE = (4, 3)

DOCUMENTED_KEYS = [
    (L2Ball(1.0), {"norm"}),
    (L1Ball(1.0), {"norm"}),
    (LinfBall(1.0), {"norm"}),
    (SpectralBall(1.0), {"norm"}),
    (NuclearBall(1.0), {"norm"}),
    (MaxNorm(1.0), {"norm"}),
    (NonNegative(), {"nonneg"}),
    (Box(-1.0, 1.0), {"lower", "upper"}),
    (Simplex(1.0), {"nonneg", "sum"}),
    (Polyhedron(np.ones((2, 12)), np.ones(2)), {"ineq"}),
    (Intersection(NonNegative(), L2Ball(1.0)), {"0.nonneg", "1.norm"}),
    (CvxpySet(lambda W: {"cap": cp.sum(W) <= 1}), {"cap"}),
]


@pytest.mark.parametrize("S, keys", DOCUMENTED_KEYS, ids=lambda p: repr(p)[:30])
def test_constraint_names_are_the_documented_keys(S, keys):
    W = cp.Variable(SHAPE)
    constraints = S.constraints(W)
    assert set(constraints) == keys
    assert all(isinstance(c, cp.constraints.constraint.Constraint) for c in constraints.values())


@pytest.mark.parametrize(
    "S, expression",
    [
        (L2Ball(2.0), lambda W: cp.norm(W, "fro")),
        (L1Ball(2.0), lambda W: cp.sum(cp.abs(W))),
        (LinfBall(2.0), lambda W: cp.max(cp.abs(W))),
        (SpectralBall(2.0), lambda W: cp.sigma_max(W)),
        (NuclearBall(2.0), lambda W: cp.normNuc(W)),
    ],
    ids=lambda p: type(p).__name__,
)
def test_norm_balls_constrain_the_designed_norm(S, expression, rng):
    # The numeric norm agrees with the CVXPY expression the definition uses.
    W = rng.normal(size=SHAPE)
    assert S.norm(W) == pytest.approx(float(expression(cp.Constant(W)).value), rel=1e-12)
    assert S.violation(W) == pytest.approx(max(S.norm(W) - 2.0, 0.0), abs=1e-12)


@pytest.mark.parametrize("S", [L2Ball(1.0), L1Ball(1.0), LinfBall(1.0), SpectralBall(1.0),
                               NuclearBall(1.0)], ids=repr)
def test_dual_norm_satisfies_hoelder_with_equality_attainable(S, rng):
    A, B = rng.normal(size=SHAPE), rng.normal(size=SHAPE)
    assert float(np.sum(A * B)) <= S.norm(A) * S.dual_norm(B) + 1e-12
    # The dual norm is the support function of the unit ball: the maximiser of
    # <B, W> over the ball is found by CVXPY and attains it.
    W = cp.Variable(SHAPE)
    problem = cp.Problem(cp.Maximize(cp.sum(cp.multiply(B, W))), list(S.constraints(W).values()))
    problem.solve(solver="CLARABEL")
    assert problem.value == pytest.approx(S.dual_norm(B), rel=1e-6)


@pytest.mark.parametrize("S", [s for s, _ in DOCUMENTED_KEYS], ids=lambda s: repr(s)[:30])
def test_violation_agrees_with_cvxpy_and_contains(S, rng):
    W = 3 * rng.normal(size=SHAPE)
    generic = max(
        float(np.max(c.violation())) for c in S.constraints(cp.Constant(W)).values()
    )
    assert S.violation(W) == pytest.approx(generic, rel=1e-9, abs=1e-12)
    assert S.contains(W) == (generic <= 1e-8)


@pytest.mark.parametrize("factory", [L2Ball, L1Ball, LinfBall, SpectralBall, NuclearBall, MaxNorm])
@pytest.mark.parametrize("radius", [0, -1.0, np.nan, np.inf, True, "1"])
def test_bad_radius_is_a_value_error_naming_it(factory, radius):
    with pytest.raises(ValueError, match="radius"):
        factory(radius)


def test_radius_message_says_what_came():
    with pytest.raises(ValueError, match=r"radius must be > 0, got -1.0"):
        L2Ball(-1.0)


def test_box_bounds_are_checked():
    with pytest.raises(ValueError, match="lower must be <= upper"):
        Box(1.0, 0.0)
    with pytest.raises(ValueError, match="lower must be finite"):
        Box(np.nan, 1.0)
    with pytest.raises(ValueError, match="broadcast"):
        Box(np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match="does not broadcast"):
        Box(np.zeros(5), 1.0).check_shape((4, 3))


@pytest.mark.parametrize("total", [-1.0, 0.0, np.nan])
def test_simplex_total_must_be_positive(total):
    with pytest.raises(ValueError, match="total"):
        Simplex(total)


def test_polyhedron_checks():
    with pytest.raises(ValueError, match="same number of rows"):
        Polyhedron(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match="NaN or infinity"):
        Polyhedron(np.full((1, 3), np.nan), np.ones(1))
    # x <= -1 and -x <= -1 (x >= 1): empty.
    with pytest.raises(InfeasibleSetError, match="empty"):
        Polyhedron(np.array([[1.0], [-1.0]]), np.array([-1.0, -1.0]))
    assert issubclass(InfeasibleSetError, ValueError)
    with pytest.raises(ValueError, match="A has 3 columns but the weights"):
        Polyhedron(np.ones((1, 3)), np.ones(1)).check_shape((2, 2))


def test_matrix_sets_need_two_dimensions():
    for S in (SpectralBall(1.0), NuclearBall(1.0), MaxNorm(1.0)):
        with pytest.raises(ValueError, match="2-D"):
            S.check_shape((5,))


def test_intersection_and_cvxpy_set_validate_members():
    with pytest.raises(ValueError, match="at least one"):
        Intersection()
    with pytest.raises(ValueError, match="ConvexSet"):
        Intersection(L2Ball(1.0), "not a set")
    with pytest.raises(ValueError, match="callable"):
        CvxpySet(3)
    with pytest.raises(ValueError, match="dict of named CVXPY constraints"):
        CvxpySet(lambda W: [W >= 0]).constraints(cp.Variable(2))


def test_array_parameters_are_copied_and_read_only():
    A = np.ones((1, 4))
    b = np.ones(1)
    S = Polyhedron(A, b)
    A[0, 0] = 100.0
    assert S.A[0, 0] == 1.0
    with pytest.raises(ValueError):
        S.A[0, 0] = 5.0
    lower = np.zeros(4)
    box = Box(lower, 1.0)
    lower[0] = 0.5
    assert box.lower[0] == 0.0


def test_repr_shows_parameters():
    assert repr(L2Ball(2)) == "L2Ball(radius=2.0)"
    assert repr(Box(-1, 1)) == "Box(lower=-1.0, upper=1.0)"
    assert repr(Intersection(NonNegative(), Simplex(2))) == (
        "Intersection(NonNegative(), Simplex(total=2.0))"
    )
