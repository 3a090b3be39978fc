"""Projections: every closed form against its CVXPY definition, KKT, sensitivities.

Points are taken inside, on and outside each set. The CVXPY reference is solved
with two solvers (Clarabel, an interior-point method, and SCS, a first-order
one); dual values are checked against the KKT conditions and against finite
differences of the optimal value.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cvxdual import project
from cvxdual.exceptions import InfeasibleSetError, SolverError
from cvxdual.projection import ProjectionResult, compiled_projection
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
from cvxdual.verify import compare_with_cvxpy, finite_difference, projection_kkt

SHAPE = (5, 3)

CLOSED_FORM_SETS = {
    "l2": L2Ball(1.5),
    "l1": L1Ball(2.0),
    "linf": LinfBall(0.4),
    "spectral": SpectralBall(1.2),
    "nuclear": NuclearBall(1.5),
    "maxnorm": MaxNorm(0.8),
    "nonneg": NonNegative(),
    "box": Box(-0.3, np.linspace(0.1, 0.9, 3)),
    "simplex": Simplex(2.0),
}
# Degenerate problems: on semidefinite-cone sets with several singular values
# at the bound, and at points exactly on the boundary (active constraint, zero
# multiplier), an interior-point method recovers W only to about
# sqrt(tolerance); duals and objective stay accurate to 1e-8 even there.
SDP_SETS = {"spectral", "nuclear"}


def _inside(name: str, rng) -> np.ndarray:
    """A point strictly inside the set (no inequality active)."""
    S = CLOSED_FORM_SETS[name]
    if name == "nonneg":
        return rng.uniform(0.1, 1.0, SHAPE)
    if name == "box":
        return rng.uniform(-0.29, 0.09, SHAPE)
    if name == "simplex":
        W = rng.uniform(0.1, 1.0, SHAPE)
        return W * (S.total / W.sum())
    if name == "maxnorm":
        V = rng.normal(size=SHAPE)
        return V * (0.5 * S.radius / np.linalg.norm(V, axis=0))
    V = rng.normal(size=SHAPE)
    return V * (0.5 * S.radius / S.norm(V))


def _point(name: str, where: str, rng) -> np.ndarray:
    outside = 3.0 * rng.normal(size=SHAPE)
    if where == "outside":
        return outside
    if where == "on":
        return project(outside, CLOSED_FORM_SETS[name]).weights
    return _inside(name, rng)


def _assert_close(actual, expected, *, rtol, atol, what):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, what
    scale = max(1.0, float(np.max(np.abs(expected))))
    err = float(np.max(np.abs(actual - expected)))
    assert err <= atol + rtol * scale, f"{what}: max error {err:.2e}"


@pytest.mark.parametrize("where", ["inside", "on", "outside"])
@pytest.mark.parametrize("name", list(CLOSED_FORM_SETS))
def test_closed_form_matches_cvxpy(name, where, solver, rng):
    S = CLOSED_FORM_SETS[name]
    V = _point(name, where, rng)
    fast = project(V, S)
    exact = project(V, S, method="cvxpy", solver=solver)
    assert fast.method == "closed_form" and exact.method == "cvxpy"
    assert fast.status == exact.status == "optimal"
    weight_tol = 1e-5 if name in SDP_SETS or where == "on" else 1e-6
    _assert_close(fast.weights, exact.weights, rtol=weight_tol, atol=weight_tol, what="weights")
    assert set(fast.duals) == set(exact.duals)
    dual_tol = 3e-5 if where == "on" else 1e-6
    for key in exact.duals:
        assert type(fast.duals[key]) is type(exact.duals[key]), key
        _assert_close(fast.duals[key], exact.duals[key], rtol=dual_tol, atol=dual_tol, what=key)
    # Objective: ½‖W − V‖².
    assert 0.5 * np.sum((fast.weights - V) ** 2) == pytest.approx(
        0.5 * np.sum((exact.weights - V) ** 2), rel=1e-7, abs=1e-9
    )
    if where != "outside":
        # Inside or on the set, the projection is the point itself, duals zero.
        np.testing.assert_allclose(fast.weights, V, atol=1e-12)
        if name != "simplex":  # the simplex's "sum" dual is nonzero on the set
            # Up to rounding: a point "on" the boundary is itself a computed projection.
            assert all(np.all(np.abs(v) <= 1e-12) for v in fast.duals.values())


@pytest.mark.parametrize("where", ["inside", "on", "outside"])
@pytest.mark.parametrize("name", list(CLOSED_FORM_SETS))
def test_closed_form_satisfies_kkt(name, where, rng):
    S = CLOSED_FORM_SETS[name]
    V = _point(name, where, rng)
    kkt = projection_kkt(V, S, project(V, S))
    assert kkt.primal_feasibility <= 1e-12
    assert kkt.dual_feasibility == 0.0
    assert kkt.complementary_slackness <= 1e-12
    assert kkt.stationarity <= 1e-10
    assert kkt.duality_gap <= 1e-10


def test_kkt_check_detects_wrong_duals(rng):
    # The checks can fail: a dual off by 1% breaks stationarity and the gap.
    V = 3 * rng.normal(size=SHAPE)
    for S in (L2Ball(1.0), SpectralBall(1.0), Box(-0.5, 0.5), Simplex(1.0), MaxNorm(1.0)):
        good = project(V, S)
        bad_duals = {k: 1.01 * np.asarray(v) + 0.01 for k, v in good.duals.items()}
        bad = ProjectionResult(good.weights, bad_duals, "optimal", "closed_form")
        assert projection_kkt(V, S, bad).stationarity > 1e-4
    good = project(V, L2Ball(1.0))
    shifted = ProjectionResult(good.weights + 0.01, good.duals, "optimal", "closed_form")
    assert projection_kkt(V, L2Ball(1.0), shifted).max() > 1e-4


@pytest.mark.parametrize("name", ["l2", "l1", "linf", "spectral", "nuclear", "maxnorm"])
def test_norm_dual_is_the_sensitivity_of_the_optimal_value(name, rng):
    # p*(r) = ½‖P_r(V) − V‖² has dp*/dr = −λ (λ summed over columns for MaxNorm).
    S = CLOSED_FORM_SETS[name]
    V = 3 * rng.normal(size=SHAPE)

    def value(radius):
        return 0.5 * np.sum((project(V, type(S)(radius)).weights - V) ** 2)

    slope = finite_difference(value, S.radius)
    assert slope == pytest.approx(-np.sum(project(V, S).duals["norm"]), rel=1e-5)


def test_simplex_and_box_duals_are_sensitivities(rng):
    V = 3 * rng.normal(size=SHAPE)
    # Equality dual: dp*/dt = −ν for the constraint sum(W) − t == 0.
    slope = finite_difference(
        lambda t: 0.5 * np.sum((project(V, Simplex(t)).weights - V) ** 2), 2.0
    )
    assert slope == pytest.approx(-project(V, Simplex(2.0)).duals["sum"], rel=1e-6)
    # Box: dp*/d upper_ij = −μ_ij for W <= upper, entry by entry.
    upper = np.full(SHAPE, 0.5)
    grad = finite_difference(
        lambda u: 0.5 * np.sum((project(V, Box(-0.5, u)).weights - V) ** 2), upper
    )
    np.testing.assert_allclose(grad, -project(V, Box(-0.5, upper)).duals["upper"], atol=1e-6)


def _fresh_cvxpy_solve(V, S, solver="CLARABEL"):
    """The definition solved from scratch, without cvxdual's compiled cache."""
    W = cp.Variable(V.shape)
    constraints = S.constraints(W)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W - V)), list(constraints.values()))
    problem.solve(solver=solver, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == cp.OPTIMAL
    return W.value, {k: c.dual_value for k, c in constraints.items()}


def _compiled_sets(rng):
    A = rng.normal(size=(20, SHAPE[0] * SHAPE[1]))
    b = rng.uniform(0.1, 1.0, 20)
    increasing = CvxpySet(lambda W: {"increasing": W[1:, :] >= W[:-1, :]})
    return {
        "polyhedron": Polyhedron(A, b),
        "nonneg∩spectral": Intersection(NonNegative(), SpectralBall(1.0)),
        "box∩l1": Intersection(Box(-0.5, 0.5), L1Ball(2.0)),
        "monotone": increasing,
    }


@pytest.mark.parametrize("name", ["polyhedron", "nonneg∩spectral", "box∩l1", "monotone"])
def test_compiled_path_matches_a_fresh_tight_solve(name, solver, rng):
    S = _compiled_sets(rng)[name]
    for where in ("outside", "on", "inside"):
        V = 2 * rng.normal(size=SHAPE)
        if where != "outside":
            V = project(V, S).weights
            if where == "inside":
                # Move towards a strictly feasible point for the sets that have one.
                V = 0.5 * V if name in {"nonneg∩spectral", "box∩l1"} else V
        result = project(V, S, method="auto", solver=solver)
        assert result.method == "cvxpy"
        W_ref, duals_ref = _fresh_cvxpy_solve(V, S)
        # Clarabel (the default) matches the tight reference to 1e-6; SCS, a
        # first-order method, to 1e-5; degenerate SDPs limit W to ~1e-5 (above).
        tol = 1e-5 if "spectral" in name or solver == "SCS" else 1e-6
        _assert_close(result.weights, W_ref, rtol=tol, atol=tol, what="weights")
        for key, ref in duals_ref.items():
            if name == "nonneg∩spectral" and where == "outside":
                # Not unique: with several singular values at the bound, the
                # spectral subgradient and the sign duals trade off; KKT below.
                continue
            _assert_close(result.duals[key], ref, rtol=1e-5, atol=tol, what=key)
        kkt = projection_kkt(V, S, result)
        assert kkt.primal_feasibility <= 1e-7
        assert kkt.complementary_slackness <= 1e-6
        assert kkt.stationarity <= 1e-4


def test_compiled_problem_is_built_once_and_re_solved(rng):
    S = Polyhedron(rng.normal(size=(6, 15)), np.ones(6))
    first = compiled_projection(S, SHAPE)
    assert first.problem.is_dcp(dpp=True)
    results = [project(3 * rng.normal(size=SHAPE), S) for _ in range(3)]
    assert compiled_projection(S, SHAPE) is first
    # Re-solving with a new parameter value gives that value's projection.
    for result in results[1:]:
        assert not np.allclose(result.weights, results[0].weights)
    V = 3 * rng.normal(size=SHAPE)
    np.testing.assert_allclose(project(V, S).weights, _fresh_cvxpy_solve(V, S)[0], atol=1e-6)


def test_method_cvxpy_is_available_for_every_set(rng):
    V = 2 * rng.normal(size=SHAPE)
    for S in list(CLOSED_FORM_SETS.values()) + list(_compiled_sets(rng).values()):
        assert project(V, S, method="cvxpy").method == "cvxpy"


def test_one_dimensional_weights(rng):
    v = 3 * rng.normal(size=7)
    for S in (L2Ball(1.0), L1Ball(1.0), LinfBall(0.5), NonNegative(), Simplex(1.0)):
        diff = compare_with_cvxpy(v, S)
        assert max(diff.values()) < 1e-6, S


# --- bad input ----------------------------------------------------------------


def test_unknown_method_is_a_value_error():
    with pytest.raises(ValueError, match="method must be one of"):
        project(np.ones(3), L2Ball(1.0), method="newton")


@pytest.mark.parametrize("S", [L2Ball(1.0), SpectralBall(1.0), Box(-0.5, 0.5)], ids=repr)
def test_fast_and_closed_form_are_the_same_request(S, rng):
    V = 2.0 * rng.normal(size=(4, 3))
    fast = project(V, S, method="fast")
    closed = project(V, S, method="closed_form")
    assert fast.method == closed.method == "closed_form"
    np.testing.assert_array_equal(fast.weights, closed.weights)
    assert fast.duals.keys() == closed.duals.keys()
    for key in fast.duals:
        np.testing.assert_array_equal(fast.duals[key], closed.duals[key])


@pytest.mark.parametrize("method", ["auto", "cvxpy"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_v_is_a_value_error(bad, method):
    V = np.ones((5, 3))
    V[0, 1] = bad
    for S in [*CLOSED_FORM_SETS.values(), Polyhedron(np.ones((1, 15)), np.ones(1))]:
        with pytest.raises(ValueError, match="NaN or infinity"):
            project(V, S, method=method)


def test_bad_shapes_are_value_errors():
    with pytest.raises(ValueError, match="1-D or 2-D"):
        project(np.ones((2, 2, 2)), L2Ball(1.0))
    with pytest.raises(ValueError, match="empty"):
        project(np.ones((0, 3)), L2Ball(1.0))
    with pytest.raises(ValueError, match="2-D weight matrix"):
        project(np.ones(3), SpectralBall(1.0))
    with pytest.raises(ValueError, match="A has 4 columns"):
        project(np.ones((2, 3)), Polyhedron(np.ones((1, 4)), np.ones(1)))
    with pytest.raises(ValueError, match="ConvexSet"):
        project(np.ones(3), "l2")


@pytest.mark.parametrize("method", ["fast", "closed_form"])
def test_closed_form_on_a_set_without_one(method):
    with pytest.raises(ValueError, match=f"no closed-form projection, so no method='{method}'"):
        project(np.ones(4), Polyhedron(np.ones((1, 4)), np.ones(1)), method=method)


def test_empty_intersection_raises_infeasible():
    S = Intersection(Box(1.0, 2.0), Box(-2.0, -1.0))
    with pytest.raises(InfeasibleSetError, match="infeasible"):
        project(np.zeros(3), S)


def test_solver_failure_is_a_clear_error():
    # OSQP solves quadratic programs only: it cannot take the spectral norm's cone.
    with pytest.raises(SolverError, match="Could not solve the projection onto SpectralBall"):
        project(np.ones((2, 2)), SpectralBall(1.0), method="cvxpy", solver="OSQP")
    with pytest.raises(ValueError, match="installed CVXPY solvers"):
        project(np.ones(2), L2Ball(1.0), method="cvxpy", solver="NOSUCHSOLVER")


@pytest.mark.parametrize("method", ["closed_form", "cvxpy"])
def test_input_is_never_modified_nor_aliased(method, rng):
    V = 3 * rng.normal(size=SHAPE)
    V.setflags(write=False)  # any in-place write would raise
    copy = V.copy()
    for S in CLOSED_FORM_SETS.values():
        result = project(V, S, method=method)
        assert not np.shares_memory(result.weights, V)
        np.testing.assert_array_equal(V, copy)
    inside = _inside("l2", rng)
    result = project(inside, CLOSED_FORM_SETS["l2"])
    result.weights[0, 0] = 99.0
    assert inside[0, 0] != 99.0


def test_huge_finite_values_are_accepted():
    # Their sum of squares overflows; they are still finite input.
    result = project(np.full((2, 2), 1e200), L2Ball(1.0))
    np.testing.assert_allclose(result.weights, np.full((2, 2), 0.5))
    assert result.duals["norm"] == pytest.approx(2e200)
    result = project(np.full((2, 2), 1e200), MaxNorm(1.0))
    np.testing.assert_allclose(result.weights, np.full((2, 2), 2**-0.5))


def test_integer_and_list_input_accepted():
    result = project([[3, 4]], L2Ball(1.0))
    np.testing.assert_allclose(result.weights, [[0.6, 0.8]])
    assert result.weights.dtype == np.float64


# --- properties (hypothesis) ----------------------------------------------------

matrices = arrays(
    np.float64,
    st.tuples(st.integers(1, 5), st.integers(1, 4)),
    elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False, width=64),
)
NORM_BALL_NAMES = ["l2", "l1", "linf", "spectral", "nuclear"]


@settings(max_examples=40, deadline=None)
@given(V=matrices, name=st.sampled_from(list(CLOSED_FORM_SETS)))
def test_projection_is_feasible_and_idempotent(V, name):
    S = CLOSED_FORM_SETS[name]
    if name == "box":
        S = Box(-0.3, 0.7)
    W = project(V, S).weights
    scale = max(1.0, float(np.abs(V).max()))
    assert S.violation(W) <= 1e-12 * scale * V.size
    again = project(W, S)
    np.testing.assert_allclose(again.weights, W, atol=1e-9 * scale)


@settings(max_examples=40, deadline=None)
@given(A=matrices, data=st.data(), name=st.sampled_from(list(CLOSED_FORM_SETS)))
def test_projection_is_non_expansive(A, data, name):
    S = CLOSED_FORM_SETS[name]
    if name == "box":
        S = Box(-0.3, 0.7)
    B = data.draw(arrays(np.float64, A.shape, elements=st.floats(-50, 50, width=64)))
    PA, PB = project(A, S).weights, project(B, S).weights
    assert np.linalg.norm(PA - PB) <= np.linalg.norm(A - B) * (1 + 1e-9) + 1e-9


@settings(max_examples=40, deadline=None)
@given(V=matrices, name=st.sampled_from([*NORM_BALL_NAMES, "maxnorm"]))
def test_norm_dual_equals_dual_norm_of_residual(V, name):
    S = CLOSED_FORM_SETS[name]
    result = project(V, S)
    R = V - result.weights
    scale = max(1.0, float(np.abs(V).max()))
    if name == "maxnorm":
        np.testing.assert_allclose(result.duals["norm"], np.linalg.norm(R, axis=0),
                                   atol=1e-9 * scale)
    else:
        assert result.duals["norm"] == pytest.approx(S.dual_norm(R), abs=1e-9 * scale)
    assert np.all(np.asarray(result.duals["norm"]) >= 0)


def _sort_based_simplex_threshold(v, total):
    """Reference: the sort-based formula (Held et al. 1974; Duchi et al. 2008)."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - total
    j = np.arange(1, u.size + 1)
    rho = np.flatnonzero(u * j > css)[-1]
    return css[rho] / (rho + 1)


@settings(max_examples=60, deadline=None)
@given(
    v=arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e3, 1e3, width=64)),
    total=st.floats(1e-3, 1e3),
)
def test_simplex_threshold_matches_the_sort_based_formula(v, total):
    from cvxdual._linalg import _simplex_threshold

    tau = _simplex_threshold(v, total)
    scale = (1 + np.abs(v).max()) * v.size  # rounding in sums of v's entries
    reference = _sort_based_simplex_threshold(v, total)
    assert tau == pytest.approx(reference, rel=1e-9, abs=1e-12 * scale)
    assert np.maximum(v - tau, 0).sum() == pytest.approx(total, rel=1e-9, abs=1e-12 * scale)


def _svd_clip(V, radius):
    U, s, Vt = np.linalg.svd(V, full_matrices=False)
    return (U * np.minimum(s, radius)) @ Vt, float(np.maximum(s - radius, 0).sum())


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (30, 30)])
@pytest.mark.parametrize("spread", [1.0, 1e4])
def test_spectral_projection_matches_an_svd_clip(shape, spread, rng):
    # Singular values spread over several orders of magnitude around the bound.
    U, _ = np.linalg.qr(rng.normal(size=(shape[0], shape[0])))
    Vt, _ = np.linalg.qr(rng.normal(size=(shape[1], shape[1])))
    k = min(shape)
    s = np.geomspace(spread, 1 / spread, k) if spread > 1 else rng.uniform(0.5, 3.0, k)
    V = (U[:, :k] * s) @ Vt[:k]
    radius = float(np.median(s))
    W_ref, dual_ref = _svd_clip(V, radius)
    result = project(V, SpectralBall(radius))
    np.testing.assert_allclose(result.weights, W_ref, atol=1e-11 * s.max())
    assert result.duals["norm"] == pytest.approx(dual_ref, rel=1e-11)


@pytest.mark.parametrize("n", [3, 17, 64])
def test_selected_eigenpairs_match_a_full_eigh(n, rng):
    from cvxdual._linalg import _eigenpairs_above

    # a tight cluster just above the threshold (as after an optimizer step from
    # a projected matrix), one exactly at it, and the rest below
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = np.concatenate([4.0 + 1e-4 * np.arange(1, min(5, n - 1)), [4.0]])
    lam = np.concatenate([lam, rng.uniform(0.01, 3.9, n - lam.size)])
    G = (Q * lam) @ Q.T
    G = 0.5 * (G + G.T)
    values, vectors = _eigenpairs_above(G, 4.0 + 1e-12)
    ref_values, ref_vectors = np.linalg.eigh(G)
    keep = ref_values > 4.0 + 1e-12
    np.testing.assert_allclose(values, ref_values[keep], rtol=1e-13)
    # vectors up to sign, through the projector onto their span
    np.testing.assert_allclose(vectors @ vectors.T, ref_vectors[:, keep] @ ref_vectors[:, keep].T,
                               atol=1e-10)
    # nothing above: an empty selection
    v0, q0 = _eigenpairs_above(G, 10.0)
    assert v0.size == 0 and q0.shape == (n, 0)


@pytest.mark.parametrize("n", [8, 64, 200])
@pytest.mark.parametrize("share", [0.1, 0.3, 0.6, 1.0])
def test_many_eigenpairs_above_come_from_all_tridiagonal_pairs(n, share, rng, monkeypatch):
    # More than a quarter above the threshold: divide and conquer on the
    # tridiagonal matrix (stevd) instead of bisection and inverse iteration; the
    # same pairs either way, clusters included.
    import cvxdual._linalg as linalg

    calls = []
    stevd = linalg.lapack.dstevd
    monkeypatch.setattr(linalg.lapack, "dstevd", lambda *a: calls.append(1) or stevd(*a))
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    m = max(1, int(share * n))
    cluster = min(m, 4)  # a tight cluster just above the threshold, the rest spread
    lam = np.concatenate([4.0 + 1e-4 * np.arange(1, cluster + 1),
                          rng.uniform(4.5, 40.0, m - cluster), rng.uniform(0.01, 3.9, n - m)])
    G = (Q * lam) @ Q.T
    G = 0.5 * (G + G.T)
    values, vectors = linalg._eigenpairs_above(G, 4.0)
    assert len(calls) == (m > n / 4)
    ref_values = np.linalg.eigvalsh(G)
    keep = ref_values > 4.0
    assert values.size == keep.sum() == m
    np.testing.assert_allclose(values, ref_values[keep], rtol=1e-13)
    np.testing.assert_allclose(G @ vectors, vectors * values, atol=1e-13 * lam.max())
    np.testing.assert_allclose(vectors.T @ vectors, np.eye(m), atol=1e-13)
    # and the clip they give is the SVD's
    V = rng.normal(size=(n + 3, n)) @ (Q * np.sqrt(lam)) @ Q.T / np.sqrt(n + 3)
    radius = float(np.quantile(np.linalg.svd(V, compute_uv=False), 1.0 - share))
    W_ref, dual_ref = _svd_clip(V, radius)
    W, duals = linalg._spectral_clip(V, radius)
    np.testing.assert_allclose(W, W_ref, atol=1e-12 * np.abs(V).max() * n)
    assert duals["norm"] == pytest.approx(dual_ref, rel=1e-12)


def test_selected_eigenpairs_defer_to_eigh_when_the_matrix_splits():
    from cvxdual._linalg import _eigenpairs_above

    # diagonal and block-diagonal matrices have a split tridiagonal form
    assert _eigenpairs_above(np.diag([3.0, 1.0, 2.0, 0.5]), 1.5) is None
    assert _eigenpairs_above(np.eye(2), 0.5) is None  # too small for the fast path
    # the projection is exact either way
    V = np.diag([3.0, 1.0, 2.0, 0.5])
    np.testing.assert_allclose(project(V, SpectralBall(1.5)).weights,
                               np.diag([1.5, 1.0, 1.5, 0.5]), atol=1e-15)


@pytest.mark.parametrize("scale", [1e-200, 1e-120, 1e-72, 1e72, 1e78, 1e120, 1e200])
def test_spectral_projection_at_extreme_scales(scale, rng):
    # through the Gram matrix, entries ~1e±200 would over/underflow: the
    # projection is homogeneous and is computed on V / max|V|
    V = rng.normal(size=(6, 5))
    W_ref, dual_ref = _svd_clip(V, 0.5)
    result = project(V * scale, SpectralBall(0.5 * scale))
    np.testing.assert_allclose(result.weights / scale, W_ref, atol=1e-12)
    assert result.duals["norm"] / scale == pytest.approx(dual_ref, rel=1e-12)


@pytest.mark.parametrize("ratio", [1e-2, 1e-4, 1e-9, 1e-20])
def test_spectral_projection_with_radius_far_below_the_norm(ratio, rng):
    # W = V - ... would cancel to rounding noise larger than r: the projection
    # stays feasible and equal to the SVD clip relative to r.
    V = rng.normal(size=(12, 9))
    V[:, :3] = 0.0  # rank deficient: zero singular values
    r = ratio * np.linalg.norm(V, 2)
    W_ref, dual_ref = _svd_clip(V, r)
    result = project(V, SpectralBall(r))
    assert np.linalg.norm(result.weights, 2) <= r * (1 + 1e-9)
    np.testing.assert_allclose(result.weights / r, W_ref / r, atol=1e-8)
    assert result.duals["norm"] == pytest.approx(dual_ref, rel=1e-12)


@pytest.mark.parametrize(
    "V, S",
    [
        (np.full((2, 2), 1e300), SpectralBall(1e-300)),
        (np.full((3, 3), 1e300) + np.diag([1e300, 0, 0]), SpectralBall(1e-300)),
        (np.eye(3) * 1e-120, SpectralBall(1e40)),
        (np.eye(2), SpectralBall(1e155)),
        (np.full(4, 1e-300), L2Ball(1e-300)),
        (np.full((4, 1), 1e-300), MaxNorm(1e-300)),
        (np.array([1.0, 0.5]), L1Ball(1e-17)),
        (np.array([1e308, 1e308]), L1Ball(1.0)),
        (np.diag([1.0, 0.5]), NuclearBall(1e-17)),
        (np.array([1e17, 0.0]), Simplex(1.0)),
    ],
)
def test_projections_at_the_limits_of_floating_point_stay_finite_and_feasible(V, S):
    # Once NaN / inf (0/0 in the simplex threshold), OverflowError (r² of a Python
    # float), V returned unchanged (underflowing squares) or infeasible output.
    result = project(V, S)
    assert np.all(np.isfinite(result.weights))
    assert all(np.all(np.isfinite(v)) for v in result.duals.values())
    scale = float(np.max(np.abs(V)))
    assert S.violation(result.weights) <= 1e-12 * scale
    if isinstance(S, (L2Ball, MaxNorm, SpectralBall)) and S.norm(V) > S.radius:
        # the bound binds, to rounding relative to the radius
        assert S.norm(result.weights) == pytest.approx(S.radius, rel=1e-12)


def test_weights_never_alias_array_like_input():
    import array

    buffer = array.array("d", [0.1, 0.2])
    for S in (L2Ball(1.0), L1Ball(1.0), LinfBall(1.0)):
        result = project(buffer, S)
        result.weights[0] = 99.0
        assert buffer[0] == 0.1
    V = np.array([[0.1, 0.2], [0.0, 0.1]])
    V.setflags(write=False)
    assert project(V, SpectralBall(1.0)).weights.flags.writeable


@pytest.mark.parametrize(
    "V, match",
    [
        (np.array([1 + 5j, 0.0]), "Complex data not supported"),
        ([10**400], "array of real numbers"),
    ],
)
def test_complex_and_overflowing_input_are_rejected(V, match):
    with pytest.raises(ValueError, match=match):
        project(V, L2Ball(10.0))


@pytest.mark.parametrize("S", [Box(-1.0, 1.0), NonNegative(), Simplex(1.0)])
@pytest.mark.parametrize("shape", [(1,), (1, 1)])
def test_kkt_check_of_single_entry_affine_sets(S, shape):
    V = np.full(shape, 2.0 if not isinstance(S, NonNegative) else -2.0)
    residuals = projection_kkt(V, S, project(V, S))
    assert max(vars(residuals).values()) <= 1e-12


def test_cvxpy_set_whose_function_fails_on_a_shape_gives_a_value_error():
    S = CvxpySet(lambda W: {"first": W[5] <= 1})
    with pytest.raises(ValueError, match="cannot constrain weights of shape"):
        project(np.zeros(3), S)


@pytest.mark.parametrize("n", [3, 50, 128])
def test_cholesky_certificate_is_never_wrong_and_decides_clear_cases(n, rng):
    from cvxdual._linalg import _below_certified

    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    for top, expected in [(0.5, True), (1 - 1e-6, True), (1 - 1e-14, None), (1.0, False),
                          (1 + 1e-14, False), (1 + 1e-6, False), (3.0, False)]:
        lam = np.concatenate([[top], rng.uniform(0.0, 0.4, n - 1)])
        G = (Q * lam) @ Q.T
        G = 0.5 * (G + G.T)
        certified = _below_certified(G, 1.0)
        if expected is None:  # within the certificate's margin: either answer is sound
            continue
        assert certified is expected, (top, certified)
    # a singular Gram matrix (rank-deficient V) well inside, and NaN
    V = rng.normal(size=(2, n))
    V *= 0.5 / np.linalg.norm(V, 2)
    assert _below_certified(V.T @ V, 1.0)
    assert not _below_certified(np.full((n, n), np.nan), 1.0)


@pytest.mark.parametrize("shape", [(50, 128), (128, 128), (64, 20)])
def test_spectral_projection_with_and_without_the_certificate(shape, rng, monkeypatch):
    # inside, on (to rounding) and outside the ball: the certificate only skips work
    import cvxdual._linalg as linalg

    U, _ = np.linalg.qr(rng.normal(size=(shape[0], shape[0])))
    Vt, _ = np.linalg.qr(rng.normal(size=(shape[1], shape[1])))
    k = min(shape)
    s = rng.uniform(0.5, 2.0, k)
    for top in (1.5, 2.0, 2.0 * (1 + 1e-15), 2.5):
        s[0] = top
        V = (U[:, :k] * s) @ Vt[:k]
        with_cert = project(V, SpectralBall(2.0))
        monkeypatch.setattr(linalg, "_below_certified", lambda gram, threshold: False)
        without = project(V, SpectralBall(2.0))
        monkeypatch.undo()
        np.testing.assert_allclose(with_cert.weights, without.weights, atol=1e-13)
        assert with_cert.duals["norm"] == pytest.approx(without.duals["norm"], abs=1e-13)
        W_ref, dual_ref = _svd_clip(V, 2.0)
        np.testing.assert_allclose(with_cert.weights, W_ref, atol=1e-12)
        assert with_cert.duals["norm"] == pytest.approx(dual_ref, abs=1e-12)
        # after a projection that bound (training's hint): the certificate is not tried
        for previous in (None, {"norm": 0.0}, {"norm": 0.3}):
            W, duals = SpectralBall(2.0)._project_closed_form_after(V.copy(), previous)
            np.testing.assert_allclose(W, with_cert.weights, atol=1e-13)
            assert duals["norm"] == pytest.approx(with_cert.duals["norm"], abs=1e-13)


def test_spectral_ball_hint_skips_only_the_certificate(monkeypatch, rng):
    import cvxdual._linalg as linalg

    calls = []
    original = linalg._below_certified
    monkeypatch.setattr(linalg, "_below_certified", lambda *a: calls.append(1) or original(*a))
    V = rng.normal(size=(20, 10))
    V *= 0.5 / np.linalg.norm(V, 2)  # inside the ball of radius 1
    W, duals = SpectralBall(1.0)._project_closed_form_after(V, {"norm": 0.0})
    assert len(calls) == 1 and duals["norm"] == 0.0 and W is V
    W, duals = SpectralBall(1.0)._project_closed_form_after(V, {"norm": 0.2})
    assert len(calls) == 1 and duals["norm"] == 0.0
    np.testing.assert_array_equal(W, V)

    class Custom(SpectralBall):  # a subclass's own closed form is what it gets
        def project_closed_form(self, V):
            return V * 0.0, {"norm": -1.0}

    assert Custom(1.0)._project_closed_form_after(V, {"norm": 0.2})[1] == {"norm": -1.0}


@pytest.mark.parametrize("gaps", [1e-3, 1e-7, 1e-10, 1e-14])
def test_selected_eigenpairs_are_exact_with_clusters_at_the_threshold(gaps, rng):
    # Bisection stops at 1e-8 (relative); the values are the vectors' Rayleigh
    # quotients and the vectors are checked: clusters tighter than that still give
    # exact pairs, or None (the caller's full eigendecomposition).
    from cvxdual._linalg import _eigenpairs_above

    n = 64
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = np.concatenate([1.0 + gaps * np.arange(1, 5), 1.0 - gaps * np.arange(1, 4),
                          rng.uniform(0.0, 0.9, n - 7)])
    G = (Q * lam) @ Q.T
    G = 0.5 * (G + G.T)
    found = _eigenpairs_above(G, 1.0)
    w, V = np.linalg.eigh(G)
    above = w > 1.0
    if found is None:
        return
    values, vectors = found
    assert np.all(np.diff(values) >= 0) and np.all(values > 1.0)
    if gaps >= 1e-10:  # (closer, eigh's own rounding decides which are above)
        assert values.size == above.sum() == 4
        np.testing.assert_allclose(values, w[above], rtol=1e-14, atol=0)
    np.testing.assert_allclose(G @ vectors, vectors * values, atol=1e-13)
    # the clip these pairs give equals the one from eigh
    P_ours = (vectors * (values - 1.0)) @ vectors.T
    P_ref = (V[:, above] * (w[above] - 1.0)) @ V[:, above].T
    np.testing.assert_allclose(P_ours, P_ref, atol=1e-13)
