"""Tests of cvxdual.convex_relu and the ConvexReLU estimators."""

from __future__ import annotations

import contextlib
import signal
import warnings

import cvxpy as cp
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from cvxdual.convex_relu import (
    ConvexReLUProgram,
    certify,
    dual_lower_bound,
    enumerate_patterns,
    network_objective,
    prune_network,
    recover_network,
    sample_patterns,
    solve_convex_relu,
)
from cvxdual.estimators._convex_relu import ConvexReLUClassifier, ConvexReLURegressor

ALPHA = 1e-2


def _augment(X):
    return np.hstack([X, np.ones((X.shape[0], 1))])


def _data(n=30, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.sin(2 * X[:, 0]) + 0.5 * np.abs(X[:, -1]) + 0.1 * rng.standard_normal(n)
    return X, y


def _gd(X, y, alpha, *, m=40, steps=3000, lr=0.05, seed=0):
    """Full-batch gradient descent on the nonconvex two-layer ReLU objective."""
    rng = np.random.default_rng(seed)
    Xt = _augment(X)
    n = X.shape[0]
    U = 0.5 * rng.standard_normal((Xt.shape[1], m))
    a = 0.5 * rng.standard_normal(m)
    for _ in range(steps):
        pre = Xt @ U
        H = np.maximum(pre, 0.0)
        r = (H @ a - y) / n
        ga = H.T @ r + alpha * a
        gU = Xt.T @ (r[:, None] * a[None, :] * (pre > 0)) + alpha * U
        U -= lr * gU
        a -= lr * ga
    return U, a


# ---------------------------------------------------------------------------
# patterns
# ---------------------------------------------------------------------------


def test_sample_patterns_unique_nonzero_and_seeded():
    X, _ = _data(25, 4)
    D = sample_patterns(X, 60, random_state=3)
    assert D.dtype == bool and D.shape[0] == 25 and 0 < D.shape[1] <= 60
    assert D.any(axis=0).all()
    assert np.unique(D.T, axis=0).shape[0] == D.shape[1]
    np.testing.assert_array_equal(D, sample_patterns(X, 60, random_state=3))


@pytest.mark.parametrize("d, fit_intercept",
                         [(2, True), (1, True), (3, False), (1, False), (3, True), (4, True)])
def test_enumerated_patterns_cover_every_neuron(d, fit_intercept):
    X, _ = _data(12, d, seed=d)
    D = enumerate_patterns(X, fit_intercept=fit_intercept)
    Xt = _augment(X) if fit_intercept else X
    # every direction u lies in the closed cone of some enumerated pattern
    U = np.random.default_rng(1).standard_normal((Xt.shape[1], 2000))
    slack = (2.0 * D[:, :, None] - 1.0) * (Xt @ U)[:, None, :]  # (n, P, 2000)
    covered = (slack >= -1e-12).all(axis=0).any(axis=0)
    on = (Xt @ U > 0).any(axis=0)  # neurons that are not dead everywhere
    assert covered[on].all()
    assert np.unique(D.T, axis=0).shape[0] == D.shape[1] and D.any(axis=0).all()


def test_enumerated_pattern_count_generic_rank3():
    X, _ = _data(10, 2, seed=4)
    D = enumerate_patterns(X)
    # n² − n + 2 cells of a generic central arrangement in R³, minus the all-off one
    assert D.shape[1] == 10 * 10 - 10 + 1


def test_enumerate_patterns_refuses_searches_that_are_too_large():
    X, _ = _data(60, 6)
    with pytest.raises(ValueError, match="sample_patterns"):
        enumerate_patterns(X)


@pytest.mark.parametrize("n, d", [(9, 3), (12, 4), (8, 5)])
def test_enumerated_pattern_count_generic_higher_rank(n, d):
    from math import comb

    X, _ = _data(n, d, seed=n)
    D = enumerate_patterns(X)
    # 2 Σ_{i<r} C(n−1, i) cells of a generic central arrangement of rank r = d + 1,
    # minus the all-off one
    r = d + 1
    assert D.shape[1] == 2 * sum(comb(n - 1, i) for i in range(r)) - 1


def _cells_by_linear_programs(Xt):
    """Every sign vector of {±1}ⁿ whose open cone is nonempty (brute force, small n)."""
    import itertools

    import scipy.optimize

    n, p = Xt.shape
    found = []
    for signs in itertools.product((1.0, -1.0), repeat=n):
        A = -np.asarray(signs)[:, None] * Xt  # s_k x̃_kᵀu ≥ t  ⇔  −s_k x̃_kᵀu + t ≤ 0
        res = scipy.optimize.linprog(
            np.r_[np.zeros(p), -1.0], A_ub=np.hstack([A, np.ones((n, 1))]), b_ub=np.zeros(n),
            bounds=[(-1, 1)] * p + [(None, 1)], method="highs")
        if res.status == 0 and -res.fun > 1e-9:
            found.append(np.asarray(signs) > 0)
    D = np.array(found).T
    return D[:, D.any(axis=0)]


@pytest.mark.parametrize("kind", ["generic", "degenerate"])
def test_enumeration_by_search_equals_brute_force(kind):
    # rank 4: the ray search, against a linear program for every one of the 2ⁿ
    # sign vectors; "degenerate": repeated samples and four samples on one plane
    # through a common line, so that more than r − 1 hyperplanes meet on rays
    rng = np.random.default_rng(5)
    X = rng.standard_normal((8, 3))
    if kind == "degenerate":
        X[5] = X[0]
        X[6] = 2.0 * X[1] - X[2]  # with the intercept: x̃₆ = 2x̃₁ − x̃₂, on their line
        X[7] = 0.5 * (X[1] + X[2])
    Xt = _augment(X)
    D = enumerate_patterns(X)
    ref = _cells_by_linear_programs(Xt)

    def as_set(P):
        return {tuple(col) for col in P.T}

    assert as_set(D) == as_set(ref)


# ---------------------------------------------------------------------------
# the program, recovery, solvers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_problem():
    X, y = _data(20, 2, seed=7)
    D = enumerate_patterns(X)
    prog = ConvexReLUProgram(X, D)
    sol = prog.solve(y, ALPHA)
    sol.value = prog.problem.value  # CVXPY's optimal value, kept before any re-solve
    return X, y, D, prog, sol


def test_program_is_dpp_and_reused(small_problem):
    _X, y, _D, prog, sol = small_problem
    assert prog.problem.is_dcp(dpp=True)
    sol2 = prog.solve(2 * y, ALPHA)  # same compiled problem, new parameter value
    assert sol2.objective > sol.objective
    assert prog.problem.status == cp.OPTIMAL
    sol3 = prog.solve(y, ALPHA)
    np.testing.assert_allclose(sol3.objective, sol.objective, rtol=1e-8)


def test_recovered_network_objective_equals_convex_optimum(small_problem):
    X, y, D, _prog, sol = small_problem
    U, a = recover_network(sol.v, sol.w)
    np.testing.assert_allclose(np.abs(a), np.linalg.norm(U, axis=0), rtol=1e-12)
    obj = network_objective(X, y, U, a, ALPHA)
    np.testing.assert_allclose(obj, sol.value, rtol=1e-7)
    np.testing.assert_allclose(obj, sol.objective, rtol=1e-7)
    # predictions of the network equal the convex model's Σ D_i X̃ (v_i − w_i)
    z = np.sum(D * (_augment(X) @ (sol.v - sol.w)), axis=1)
    np.testing.assert_allclose(np.maximum(_augment(X) @ U, 0) @ a, z, atol=1e-8)


def test_cvxpy_duals_satisfy_kkt(small_problem):
    X, y, D, prog, sol = small_problem
    Xt = _augment(X)
    S = 2.0 * D - 1.0
    mu_v, mu_w = sol.duals["cone_v"], sol.duals["cone_w"]
    np.testing.assert_array_equal(mu_v, prog.cone_v.dual_value)
    assert mu_v.min() >= -1e-9 and mu_w.min() >= -1e-9  # dual domain
    slack_v, slack_w = S * (Xt @ sol.v), S * (Xt @ sol.w)
    assert slack_v.min() >= -1e-8 and slack_w.min() >= -1e-8  # primal feasibility
    assert np.abs(mu_v * slack_v).max() < 1e-8  # complementarity
    # stationarity for each nonzero v_i: X̃ᵀ(S_i μ_i − D_i ν) = alpha v_i / ‖v_i‖
    nu = sol.duals["sample_duals"]
    np.testing.assert_allclose(nu, (np.sum(D * (Xt @ (sol.v - sol.w)), axis=1) - y) / len(y))
    G = Xt.T @ (S * mu_v - D * nu[:, None])
    nv = np.linalg.norm(sol.v, axis=0)
    on = nv > 1e-6 * nv.max()
    np.testing.assert_allclose(G[:, on], ALPHA * sol.v[:, on] / nv[on], atol=1e-6)
    assert np.linalg.norm(G, axis=0).max() <= ALPHA * (1 + 1e-5)


@pytest.mark.parametrize("loss", ["squared", "squared_hinge", "logistic"])
def test_fast_solver_matches_cvxpy_two_solvers(loss):
    X, y = _data(24, 3, seed=11)
    if loss != "squared":
        y = np.where(y > np.median(y), 1.0, -1.0)
    D = sample_patterns(X, 12, random_state=0)
    fast = solve_convex_relu(X, y, ALPHA, D, loss=loss, method="fista")
    ref = solve_convex_relu(X, y, ALPHA, D, loss=loss, method="cvxpy", solver="CLARABEL")
    scs = solve_convex_relu(X, y, ALPHA, D, loss=loss, method="cvxpy", solver="SCS")
    assert fast.converged
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-4)
    np.testing.assert_allclose(scs.objective, ref.objective, rtol=1e-4)
    # the fast solver's answer is certified: its bound is below CVXPY's optimum
    assert fast.lower_bound <= ref.objective * (1 + 1e-9)
    assert fast.relative_gap <= 1e-5  # the default tol
    # and its network has exactly that objective
    U, a = recover_network(fast.v, fast.w)
    np.testing.assert_allclose(network_objective(X, y, U, a, ALPHA, loss=loss),
                               fast.objective, rtol=1e-9)


def test_fast_solver_warns_when_not_converged():
    X, y = _data(20, 3, seed=2)
    D = sample_patterns(X, 10, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        sol = solve_convex_relu(X, y, ALPHA, D, method="fista", max_iter=1, tol=1e-15)
    assert not sol.converged


# ---------------------------------------------------------------------------
# certificates
# ---------------------------------------------------------------------------


def test_certificate_tight_on_rank3_with_all_patterns(small_problem):
    X, y, _D, _prog, sol = small_problem
    assert sol.lower_bound <= sol.value * (1 + 1e-12)
    assert sol.relative_gap <= 1e-6
    U, a = recover_network(sol.v, sol.w)
    c = certify(X, y, U, a, ALPHA)
    assert c.is_global
    assert c.relative_gap <= 1e-6 and c.gap >= -1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_certificate_never_exceeds_objective_of_any_network(small_problem, seed):
    X, y, D, _prog, sol = small_problem
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((3, 8))
    a = rng.standard_normal(8)
    # with the residual of an arbitrary network as the dual point
    lb = dual_lower_bound(X, y, ALPHA, D, (np.maximum(_augment(X) @ U, 0) @ a - y) / len(y))
    assert lb <= sol.value * (1 + 1e-12)
    assert lb <= network_objective(X, y, U, a, ALPHA)
    c = certify(X, y, U, a, ALPHA, dual="residual")
    assert c.lower_bound <= sol.value * (1 + 1e-12) and c.gap >= 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_convex_solution_no_worse_than_gradient_descent(small_problem, seed):
    X, y, _D, _prog, sol = small_problem
    U, a = _gd(X, y, ALPHA, seed=seed)
    gd_obj = network_objective(X, y, U, a, ALPHA)
    assert sol.objective <= gd_obj + 1e-10
    # certify() on the GD network: global bound = the convex optimum
    c = certify(X, y, U, a, ALPHA)
    assert c.is_global
    np.testing.assert_allclose(c.objective, gd_obj)
    np.testing.assert_allclose(c.lower_bound, sol.objective, rtol=1e-5)
    assert c.gap >= 0
    # the residual-only bound is valid but no better than the solved one
    assert certify(X, y, U, a, ALPHA, dual="residual").lower_bound <= c.lower_bound + 1e-12


@pytest.mark.parametrize("seed", [0, 1])
def test_global_certificate_for_small_n_of_higher_rank(seed):
    # three features with an intercept (rank 4): every pattern by the ray search
    X, y = _data(10, 3, seed=8)
    reg = ConvexReLURegressor(alpha=ALPHA, n_patterns=300, random_state=0).fit(X, y)
    assert reg.patterns_complete_ and reg.patterns_.shape[1] == 2 * (1 + 9 + 36 + 84) - 1
    assert reg.objective_ - reg.lower_bound_ <= 1e-6 * reg.objective_
    U, a = _gd(X, y, ALPHA, seed=seed)
    gd_obj = network_objective(X, y, U, a, ALPHA)
    assert reg.objective_ <= gd_obj + 1e-10
    c = certify(X, y, U, a, ALPHA)
    assert c.is_global
    np.testing.assert_allclose(c.lower_bound, reg.objective_, rtol=1e-5)


def test_certify_sampled_patterns_is_not_global():
    X, y = _data(30, 5, seed=3)
    U, a = _gd(X, y, ALPHA, m=10, steps=500)
    c = certify(X, y, U, a, ALPHA, n_patterns=20, random_state=0)
    assert not c.is_global
    assert c.gap >= 0  # the network's own patterns are in the set


# ---------------------------------------------------------------------------
# pruning
# ---------------------------------------------------------------------------


def test_pruning_keeps_objective_and_predictions():
    X, y = _data(6, 2, seed=5)
    rng = np.random.default_rng(0)
    U = rng.standard_normal((3, 25))
    a = rng.standard_normal(25)
    # balance first: the pruned network is balanced
    c = np.linalg.norm(U, axis=0) * np.abs(a)
    Ub, ab = U / np.linalg.norm(U, axis=0) * np.sqrt(c), np.sign(a) * np.sqrt(c)
    U2, a2 = prune_network(X, U, a)
    assert U2.shape[1] <= X.shape[0] + 1 < U.shape[1]
    Xt = _augment(X)
    np.testing.assert_allclose(np.maximum(Xt @ U2, 0) @ a2, np.maximum(Xt @ U, 0) @ a,
                               atol=1e-10)
    np.testing.assert_allclose(network_objective(X, y, U2, a2, ALPHA),
                               network_objective(X, y, Ub, ab, ALPHA), rtol=1e-10)


def test_pruning_a_convex_solution():
    X, y = _data(8, 2, seed=6)
    sol = solve_convex_relu(X, y, 1e-4, enumerate_patterns(X), method="cvxpy")
    U, a = recover_network(sol.v, sol.w)
    U2, a2 = prune_network(X, U, a)
    assert U2.shape[1] <= X.shape[0] + 1
    np.testing.assert_allclose(network_objective(X, y, U2, a2, 1e-4), sol.objective, rtol=1e-7)


# ---------------------------------------------------------------------------
# estimators
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["cvxpy", "fista"])
def test_regressor_matches_its_network(solver):
    X, y = _data(30, 2, seed=8)
    reg = ConvexReLURegressor(alpha=ALPHA, solver=solver, n_patterns=2000).fit(X, y)
    assert reg.patterns_complete_  # rank 3 and few enough cells: all patterns
    assert reg.hidden_weights_.shape == (3, reg.n_neurons_)
    assert reg.output_weights_.shape == (reg.n_neurons_,)
    np.testing.assert_allclose(
        reg.predict(X), np.maximum(_augment(X) @ reg.hidden_weights_, 0) @ reg.output_weights_
    )
    np.testing.assert_allclose(
        reg.objective_, network_objective(X, y, reg.hidden_weights_, reg.output_weights_, ALPHA)
    )
    assert reg.lower_bound_ <= reg.objective_ * (1 + 1e-12)
    assert (reg.objective_ - reg.lower_bound_) / reg.objective_ <= reg.tol
    assert set(reg.duals_) == {"sample_duals", "cone_v", "cone_w", "dual_scale"}
    assert reg.duals_["cone_v"].shape == reg.patterns_.shape


def test_regressor_without_intercept_shapes():
    X, y = _data(20, 3, seed=9)
    reg = ConvexReLURegressor(alpha=ALPHA, fit_intercept=False, n_patterns=20,
                              random_state=0).fit(X, y)
    assert reg.hidden_weights_.shape == (3, reg.n_neurons_)
    np.testing.assert_allclose(
        reg.predict(X), np.maximum(X @ reg.hidden_weights_, 0) @ reg.output_weights_
    )


def test_classifier_binary_and_multiclass():
    X, y = _data(30, 2, seed=10)
    yb = (y > np.median(y)).astype(int)
    clf = ConvexReLUClassifier(alpha=ALPHA, loss="logistic", n_patterns=30,
                               random_state=0).fit(X, yb)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(proba[:, 1] > 0.5).astype(int)])
    assert clf.lower_bound_ <= clf.objective_ * (1 + 1e-12)
    y3 = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    clf3 = ConvexReLUClassifier(alpha=ALPHA, n_patterns=30, random_state=0).fit(X, y3)
    assert clf3.decision_function(X).shape == (30, 3)
    assert clf3.output_weights_.shape == (clf3.n_neurons_, 3)
    assert clf3.duals_["sample_duals"].shape == (30, 3)
    assert not hasattr(clf3, "predict_proba")  # squared hinge has no probabilities
    assert clf3.score(X, y3) > 0.8


def test_classifier_fast_matches_cvxpy():
    X, y = _data(24, 2, seed=12)
    yb = (y > np.median(y)).astype(int)
    kw = dict(alpha=ALPHA, n_patterns=15, random_state=0)
    a = ConvexReLUClassifier(solver="fista", **kw).fit(X, yb)
    b = ConvexReLUClassifier(solver="cvxpy", **kw).fit(X, yb)
    np.testing.assert_allclose(a.objective_, b.objective_, rtol=1e-4)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_bad_values_raise(bad):
    X, y = _data(10, 2)
    Xb = X.copy()
    Xb[0, 0] = bad
    D = enumerate_patterns(X)
    with pytest.raises(ValueError, match="NaN or infinity"):
        solve_convex_relu(Xb, y, ALPHA, D)
    yb = y.copy()
    yb[1] = bad
    with pytest.raises(ValueError, match="y must not contain"):
        solve_convex_relu(X, yb, ALPHA, D)
    with pytest.raises(ValueError):
        ConvexReLURegressor().fit(Xb, y)
    with pytest.raises(ValueError, match="finite"):
        certify(X, y, np.full((3, 2), bad), np.ones(2), ALPHA)


@pytest.mark.parametrize("alpha", [0.0, -1.0, np.nan])
def test_alpha_must_be_positive(alpha):
    X, y = _data(10, 2)
    with pytest.raises(ValueError, match="alpha"):
        solve_convex_relu(X, y, alpha, enumerate_patterns(X))
    with pytest.raises(ValueError, match="alpha"):
        certify(X, y, np.ones((3, 1)), np.ones(1), alpha)
    with pytest.raises(ValueError, match="alpha"):
        ConvexReLURegressor(alpha=alpha).fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        ConvexReLUClassifier(alpha=alpha).fit(X, y > 0)


def test_wrong_shapes_raise():
    X, y = _data(10, 2)
    D = enumerate_patterns(X)
    with pytest.raises(ValueError, match="y must be a 1-d array"):
        solve_convex_relu(X, y[:5], ALPHA, D)
    with pytest.raises(ValueError, match="patterns must"):
        solve_convex_relu(X, y, ALPHA, D[:5])
    with pytest.raises(ValueError, match="X must be a 2-d"):
        solve_convex_relu(X[:, 0], y, ALPHA, D)
    with pytest.raises(ValueError, match="hidden_weights must have shape"):
        certify(X, y, np.ones((2, 4)), np.ones(4), ALPHA)  # bias row missing
    with pytest.raises(ValueError, match="output_weights must have shape"):
        certify(X, y, np.ones((3, 4)), np.ones(3), ALPHA)
    with pytest.raises(ValueError, match="labels"):
        solve_convex_relu(X, y, ALPHA, D, loss="logistic")
    with pytest.raises(ValueError, match="method"):
        solve_convex_relu(X, y, ALPHA, D, method="newton")
    with pytest.raises(ValueError, match="loss"):
        solve_convex_relu(X, y, ALPHA, D, loss="hinge")
    reg = ConvexReLURegressor(n_patterns=10, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        reg.predict(X[:, :1])


def test_fit_does_not_mutate_inputs():
    X, y = _data(12, 2)
    X0, y0 = X.copy(), y.copy()
    ConvexReLURegressor(n_patterns=10, random_state=0).fit(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


# ---------------------------------------------------------------------------
# scikit-learn conformance
# ---------------------------------------------------------------------------


@parametrize_with_checks(
    [
        ConvexReLURegressor(n_patterns=10, random_state=0),
        ConvexReLUClassifier(n_patterns=10, random_state=0),
        # the fast path on the same degenerate data sets
        ConvexReLURegressor(n_patterns=5, solver="fista", random_state=0),
        ConvexReLUClassifier(n_patterns=5, solver="fista", random_state=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ---------------------------------------------------------------------------
# the fast solver's working-set path (constraint and column generation)
# ---------------------------------------------------------------------------


def _dual_feasibility(X, D, sol, alpha):
    """max_i ‖X̃ᵀ((2D_i − I) μ_i ∓ D_i ν)‖ · t / alpha over both neuron families."""
    Xt, S, nu, t = _augment(X), 2.0 * D - 1.0, sol.duals["sample_duals"], sol.duals["dual_scale"]
    cv = Xt.T @ (S * sol.duals["cone_v"] - D * nu[:, None])
    cw = Xt.T @ (S * sol.duals["cone_w"] + D * nu[:, None])
    return t * max(np.linalg.norm(cv, axis=0).max(), np.linalg.norm(cw, axis=0).max()) / alpha


@pytest.mark.parametrize("stage", ["interior-point", "working-set"])
@pytest.mark.parametrize("n, d, n_gates, alpha", [(40, 4, 30, 1e-2), (80, 6, 60, 2e-3)])
def test_fast_stages_match_cvxpy_two_sizes(n, d, n_gates, alpha, stage, monkeypatch):
    from cvxdual import convex_relu as cr

    if stage == "working-set":  # skip the interior-point stage
        monkeypatch.setattr(cr, "_IPM_MAX_ITER", 0)
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, d))
    y = np.sin(X @ rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)
    D = sample_patterns(X, n_gates, random_state=1)
    fast = solve_convex_relu(X, y, alpha, D, method="fista")
    ref = solve_convex_relu(X, y, alpha, D, method="cvxpy", solver="CLARABEL")
    assert fast.converged and fast.relative_gap <= 1e-5
    # the stage that produced the answer: the interior-point method, or the
    # exact working-set solve
    assert fast.solver == ("interior-point" if stage == "interior-point" else "CLARABEL")
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-5)
    assert fast.lower_bound <= ref.objective * (1 + 1e-9)
    assert ref.lower_bound <= fast.objective * (1 + 1e-9)
    # the certificate's multipliers are a dual-feasible point: every neuron's
    # dual constraint holds at the scaled ν, and μ ≥ 0
    assert min(fast.duals["cone_v"].min(), fast.duals["cone_w"].min()) >= 0
    assert _dual_feasibility(X, D, fast, alpha) <= 1 + 1e-9
    # exactly cone-feasible weights, whose network has exactly the objective
    S = 2.0 * D - 1.0
    assert (S * (_augment(X) @ fast.v)).min() >= -1e-12
    assert (S * (_augment(X) @ fast.w)).min() >= -1e-12
    U, a = recover_network(fast.v, fast.w)
    np.testing.assert_allclose(network_objective(X, y, U, a, alpha), fast.objective, rtol=1e-10)
    # the same predictions as the CVXPY optimum (the fitted values are unique)
    Xt = _augment(X)
    np.testing.assert_allclose(np.sum(D * (Xt @ (fast.v - fast.w)), axis=1),
                               np.sum(D * (Xt @ (ref.v - ref.w)), axis=1), atol=1e-3)


@pytest.mark.parametrize("loss", ["squared", "squared_hinge"])
def test_direct_clarabel_restricted_problem_matches_cvxpy(loss):
    from cvxdual import convex_relu as cr

    X, y = _data(30, 3, seed=13)
    if loss != "squared":
        y = np.where(y > np.median(y), 1.0, -1.0)
    D = sample_patterns(X, 20, random_state=0)
    cert = cr._Certifier(_augment(X), D, cr._get_loss(loss), y, ALPHA)
    groups = np.array([0, 3, 5, 8, 21, 30])
    rows = np.random.default_rng(0).random((30, groups.size)) < 0.5  # a cone-row subset
    th_a, mu_a, name = cr._restricted_clarabel(cert, groups, rows)
    th_b, _, _ = cr._restricted_cvxpy(cert, groups, rows, "CLARABEL")
    assert name == "CLARABEL"
    full_a, full_b = np.zeros((4, 40)), np.zeros((4, 40))
    full_a[:, groups], full_b[:, groups] = th_a, th_b
    np.testing.assert_allclose(cert.primal(full_a), cert.primal(full_b), rtol=1e-7)
    np.testing.assert_allclose(th_a, th_b, atol=1e-5)
    # the multipliers need not be unique: check the KKT conditions they certify
    assert np.all(mu_a[~rows] == 0) and mu_a.min() >= 0
    Xt = _augment(X)
    S, MS = cert.S[:, groups], cert.MS[:, groups]
    slack = S * (Xt @ th_a)
    assert slack[rows].min() >= -1e-7 and np.abs(mu_a * slack).max() < 1e-7
    nu = cert.loss.derivative(np.sum(MS * (Xt @ th_a), axis=1), y) / len(y)
    G = Xt.T @ (S * mu_a - MS * nu[:, None])
    nrm = np.linalg.norm(th_a, axis=0)
    on = nrm > 1e-6 * nrm.max()
    assert on.any()
    np.testing.assert_allclose(G[:, on], ALPHA * th_a[:, on] / nrm[on], atol=1e-5)
    assert np.linalg.norm(G, axis=0).max() <= ALPHA * (1 + 1e-4)


def test_working_set_from_cold_and_warm_iterates_agree(monkeypatch):
    from cvxdual import convex_relu as cr

    monkeypatch.setattr(cr, "_IPM_MAX_ITER", 0)  # the working-set path only
    X, y = _data(50, 4, seed=14)
    D = sample_patterns(X, 40, random_state=2)
    warm = solve_convex_relu(X, y, 5e-3, D)
    # cold: the working set starts from a one-iteration iterate
    monkeypatch.setattr(cr, "_WARMUP_ITERS", 1)
    cold = solve_convex_relu(X, y, 5e-3, D)
    assert cold.converged and warm.converged
    assert cold.n_iter < warm.n_iter
    np.testing.assert_allclose(cold.objective, warm.objective, rtol=1e-5)
    assert max(cold.lower_bound, warm.lower_bound) <= min(cold.objective, warm.objective) * (
        1 + 1e-9)
    # deterministic
    again = solve_convex_relu(X, y, 5e-3, D)
    assert again.objective == cold.objective


# ---------------------------------------------------------------------------
# the interior-point stage of the fast solver
# ---------------------------------------------------------------------------


def _soc_points(rng, k, m):
    x = rng.standard_normal((k, m))
    x[0] = np.linalg.norm(x[1:], axis=0) * rng.uniform(1.01, 3.0, m)
    return x


def test_soc_scaling_and_jordan_algebra():
    from cvxdual import convex_relu as cr

    rng = np.random.default_rng(0)
    s, z = _soc_points(rng, 5, 7), _soc_points(rng, 5, 7)
    W, Winv, lam = cr._soc_scaling(s, z)
    # Nesterov–Todd: W z = W⁻¹ s = λ, W symmetric, W W⁻¹ = I
    np.testing.assert_allclose(cr._bmv(W, z), lam, atol=1e-12)
    np.testing.assert_allclose(cr._bmv(Winv, s), lam, atol=1e-12)
    np.testing.assert_allclose(W, W.transpose(0, 2, 1), atol=1e-14)
    np.testing.assert_allclose(np.matmul(W, Winv), np.broadcast_to(np.eye(5), W.shape),
                               atol=1e-12)
    r = rng.standard_normal((5, 7))
    np.testing.assert_allclose(cr._soc_product(lam, cr._soc_divide(lam, r)), r, atol=1e-12)
    # the largest step stays in the cone and ends on its boundary
    ds = rng.standard_normal((5, 7)) * 3
    a = cr._soc_max_step(s, ds)
    for frac, inside in ((0.999, True), (1.001, False)):
        u = s + frac * np.where(np.isfinite(a), a, 1.0) * ds
        t_minus_norm = u[0] - np.linalg.norm(u[1:], axis=0)
        assert np.all((t_minus_norm > 0)[np.isfinite(a)] == inside)


def test_cone_interior_points_found_or_reported():
    from cvxdual import convex_relu as cr

    X, _ = _data(30, 3, seed=3)
    Xt = _augment(X)
    D = sample_patterns(X, 25, random_state=0)
    S = 2.0 * D - 1.0
    U, found = cr._cone_interior_points(Xt, S)
    assert found.all() and (S * (Xt @ U)).min() > 0
    # a duplicated row with opposite signs: the cone {u : x̃ᵀu ≥ 0, −x̃ᵀu ≥ 0} has no interior
    Xd = np.vstack([Xt, Xt[:1]])
    Sd = np.vstack([S, -S[:1]])
    _, found_d = cr._cone_interior_points(Xd, Sd)
    assert not found_d.any()


def test_fast_solver_with_cones_without_interior_matches_cvxpy():
    # a duplicated sample makes patterns that split it have flat cones: the
    # interior-point stage leaves those neurons at zero and the certificate over
    # every pattern still decides (falling back to the working-set path if needed)
    X, y = _data(25, 2, seed=4)
    X = np.vstack([X, X[:1]])
    y = np.append(y, y[0] + 0.5)
    D = sample_patterns(X, 15, random_state=0)
    D = np.hstack([D, D[:, :3]])
    D[-1, -3:] = ~D[0, -3:]  # the copy of sample 0 on the other side: flat cones
    fast = solve_convex_relu(X, y, ALPHA, D, method="fista")
    ref = solve_convex_relu(X, y, ALPHA, D, method="cvxpy", solver="CLARABEL")
    assert fast.converged
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-5)
    assert fast.lower_bound <= ref.objective * (1 + 1e-9)
    S = 2.0 * D - 1.0
    assert (S * (_augment(X) @ fast.v)).min() >= -1e-12
    assert (S * (_augment(X) @ fast.w)).min() >= -1e-12


@pytest.mark.parametrize("loss", ["squared", "squared_hinge", "logistic"])
def test_interior_point_stage_alone_certifies(loss, monkeypatch):
    from cvxdual import convex_relu as cr

    # no fallback: the answer must come from the interior-point method
    monkeypatch.setattr(cr, "_WARMUP_ITERS", 0)
    X, y = _data(60, 4, seed=21)
    if loss != "squared":
        y = np.where(y > np.median(y), 1.0, -1.0)
    D = sample_patterns(X, 40, random_state=3)
    fast = solve_convex_relu(X, y, 2e-3, D, loss=loss, method="fista", max_iter=cr._IPM_MAX_ITER)
    ref = solve_convex_relu(X, y, 2e-3, D, loss=loss, method="cvxpy", solver="CLARABEL")
    assert fast.converged and fast.solver == "interior-point"
    assert fast.n_iter <= cr._IPM_MAX_ITER
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-5)
    assert fast.lower_bound <= ref.objective * (1 + 1e-9)
    # interior-point iterates have no exact zeros; the answer is sparsified to no
    # more neurons than the optimum's support
    support = recover_network(ref.v, ref.w, rtol=1e-5)[0].shape[1]
    assert recover_network(fast.v, fast.w)[0].shape[1] <= support


def test_fast_solver_certifies_at_large_target_scale():
    # y ~ 1e6 with a small alpha: the fit is close, and the residual ν is
    # sensitive to dropping tiny neurons; the certificate still closes
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = 1e6 * np.sin(X[:, 0])
    D = sample_patterns(X, 30, random_state=0)
    fast = solve_convex_relu(X, y, 1e-3, D, method="fista")
    ref = solve_convex_relu(X, y, 1e-3, D, method="cvxpy", solver="CLARABEL")
    assert fast.converged and fast.relative_gap <= 1e-5
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-5)
    assert fast.lower_bound <= ref.objective * (1 + 1e-9)


def test_fast_solver_with_zero_samples():
    # x̃_k = 0 (no intercept) constrains nothing: the interior-point stage leaves
    # those cone rows out instead of giving up
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    X[[0, 5]] = 0.0
    y = np.sin(X[:, 0])
    D = sample_patterns(X, 20, fit_intercept=False, random_state=0)
    fast = solve_convex_relu(X, y, ALPHA, D, fit_intercept=False, method="fista")
    ref = solve_convex_relu(X, y, ALPHA, D, fit_intercept=False, method="cvxpy",
                            solver="CLARABEL")
    assert fast.converged and fast.solver == "interior-point"
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-5)
    # every sample zero: the zero network is optimal and certified at once
    zero = solve_convex_relu(np.zeros((5, 2)), np.arange(5.0), ALPHA, np.ones((5, 1), bool),
                             fit_intercept=False, method="fista")
    assert zero.converged and zero.objective == pytest.approx(3.0) and zero.n_iter == 0


@pytest.mark.parametrize("trial", range(6))
def test_fast_solver_matches_cvxpy_on_random_problems(trial):
    # sizes, feature scales (1e-2..1e2), target scales, alphas (1e-4..1e-1), losses
    # and intercepts drawn at random: the certified answer matches the definition
    rng = np.random.default_rng(1000 + trial)
    n, d, gates = int(rng.integers(10, 50)), int(rng.integers(1, 7)), int(rng.integers(5, 40))
    loss = ("squared", "squared_hinge", "logistic")[trial % 3]
    alpha = float(10 ** rng.uniform(-4, -1))
    fit_intercept = trial % 4 != 0
    X = rng.standard_normal((n, d)) * 10 ** rng.uniform(-2, 2)
    y = np.sin(X @ rng.standard_normal(d)) * 10 ** rng.uniform(-1, 2)
    if loss != "squared":
        y = np.where(y > np.median(y), 1.0, -1.0)
    D = sample_patterns(X, gates, fit_intercept=fit_intercept, random_state=trial)
    fast = solve_convex_relu(X, y, alpha, D, loss=loss, fit_intercept=fit_intercept)
    ref = solve_convex_relu(X, y, alpha, D, loss=loss, fit_intercept=fit_intercept,
                            method="cvxpy", solver="CLARABEL")
    assert fast.converged and fast.relative_gap <= 1e-5
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-4)
    assert fast.lower_bound <= ref.objective * (1 + 1e-9)
    U, a = recover_network(fast.v, fast.w)
    np.testing.assert_allclose(
        network_objective(X, y, U, a, alpha, loss=loss, fit_intercept=fit_intercept),
        fast.objective, rtol=1e-9)


# ---------------------------------------------------------------------------
# extreme scales and parameter validation (fuzzer findings)
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _time_limit(seconds):
    """Fail with TimeoutError instead of hanging (POSIX; a no-op elsewhere)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def handler(signum, frame):
        raise TimeoutError(f"did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _fuzz_data(scale):
    X = np.random.default_rng(3).normal(size=(12, 2)) * scale
    return X, np.random.default_rng(5).normal(size=12)


def _zero_objective(X, y, fit_intercept=True):
    d = X.shape[1] + int(fit_intercept)
    return network_objective(X, y, np.zeros((d, 1)), np.zeros(1), ALPHA,
                             fit_intercept=fit_intercept)


def test_fast_solver_gives_up_instead_of_hanging_on_overflowing_features():
    # features ~1e100: the backtracking's Lipschitz estimate used to double to
    # inf, where 0.5·inf·0 = NaN failed the sufficient-decrease test forever
    # (after a few hundred first-order iterations; Clarabel keeps it fast)
    X, y = _fuzz_data(1e100)
    D = enumerate_patterns(X)
    with _time_limit(30), pytest.warns(ConvergenceWarning, match="max_iter"):
        sol = solve_convex_relu(X, y, ALPHA, D, solver="CLARABEL")
    assert not sol.converged
    assert np.isfinite(sol.objective) and sol.objective <= _zero_objective(X, y)
    assert sol.lower_bound <= sol.objective
    # ~1e200: products overflow from the start (a power of 1e200 raised
    # OverflowError); the stage gives up at once and returns the zero network
    X, y = _fuzz_data(1e200)
    D = enumerate_patterns(X)
    with _time_limit(30), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow notices
        warnings.simplefilter("ignore", ConvergenceWarning)
        sol = solve_convex_relu(X, y, ALPHA, D, solver="CLARABEL", max_iter=150)
    assert not sol.converged and sol.objective == _zero_objective(X, y)
    assert 0.0 <= sol.lower_bound <= sol.objective


def test_fast_solver_never_returns_worse_than_the_zero_network():
    # features ~1e12 and an iteration budget the interior-point stage uses up:
    # its last iterate had objective ~3e16, the zero network ~0.40
    X, y = _fuzz_data(1e12)
    D = enumerate_patterns(X)
    with pytest.warns(ConvergenceWarning):
        sol = solve_convex_relu(X, y, ALPHA, D, max_iter=100)
    zero = _zero_objective(X, y)
    assert sol.objective <= zero
    # the reported objective, bound and duals are those of the returned point
    U, a = recover_network(sol.v, sol.w)
    d = X.shape[1] + 1
    if U.shape[1] == 0:
        U, a = np.zeros((d, 1)), np.zeros(1)
    np.testing.assert_allclose(network_objective(X, y, U, a, ALPHA), sol.objective, rtol=1e-9)
    mu = np.hstack([sol.duals["cone_v"], sol.duals["cone_w"]])
    lb = dual_lower_bound(X, y, ALPHA, D, sol.duals["sample_duals"], mu)
    np.testing.assert_allclose(lb, sol.lower_bound, rtol=1e-9, atol=1e-300)
    assert sol.lower_bound <= sol.objective and 0 < sol.relative_gap < np.inf


@pytest.mark.parametrize("d, fit_intercept", [(2, True), (2, False), (3, True)])
def test_enumerated_patterns_do_not_depend_on_feature_scale(d, fit_intercept):
    # the arrangement {x̃_kᵀu = 0} is that of c·X for every c > 0; the search used
    # to lose cells (X·1e10: 27 of 57) or collapse to one while still "complete"
    X = np.random.default_rng(0).normal(size=(8, d))
    Xt = _augment(X) if fit_intercept else X

    def as_set(P):
        return {tuple(col) for col in P.T}

    ref = as_set(enumerate_patterns(X, fit_intercept=fit_intercept))
    assert ref == as_set(_cells_by_linear_programs(Xt))
    for c in [1e-300, 1e-150, 1e-20, *10.0 ** np.arange(-12, 13, 2), 1e20, 1e155, 1e300]:
        D = enumerate_patterns(c * X, fit_intercept=fit_intercept)
        assert as_set(D) == ref, c


@pytest.mark.parametrize("call, name", [
    (lambda X, y, D: solve_convex_relu(X, y, "1", D), "alpha"),
    (lambda X, y, D: solve_convex_relu(X, y, None, D), "alpha"),
    (lambda X, y, D: solve_convex_relu(X, y, 1j, D), "alpha"),
    (lambda X, y, D: solve_convex_relu(X, y, ALPHA, D, tol=None), "tol"),
    (lambda X, y, D: solve_convex_relu(X, y, ALPHA, D, tol="1e-5"), "tol"),
    (lambda X, y, D: solve_convex_relu(X, y, ALPHA, D, max_iter=None), "max_iter"),
    (lambda X, y, D: solve_convex_relu(X, y, ALPHA, D, max_iter=np.inf), "max_iter"),
    (lambda X, y, D: solve_convex_relu(X, y, ALPHA, D, max_iter="abc"), "max_iter"),
    (lambda X, y, D: sample_patterns(X, None), "n_patterns"),
    (lambda X, y, D: sample_patterns(X, np.nan), "n_patterns"),
    (lambda X, y, D: certify(X, y, np.ones((3, 1)), np.ones(1), ALPHA, tol=None), "tol"),
    (lambda X, y, D: certify(X, y, np.ones((3, 1)), np.ones(1), ALPHA, max_iter=None),
     "max_iter"),
    (lambda X, y, D: network_objective(X, y, np.ones((3, 1)), np.ones(1), "0.1"), "alpha"),
])
def test_parameters_of_the_wrong_type_raise_value_error(call, name):
    X, y = _data(10, 2)
    D = enumerate_patterns(X)
    with pytest.raises(ValueError, match=f"{name} must be"):
        call(X, y, D)


def test_dual_bounds_and_gaps_are_never_nan():
    X, y = _data(10, 2)
    D = enumerate_patterns(X)
    # the bound depends on ν only through its direction
    base = dual_lower_bound(X, y, ALPHA, D, -y)
    assert base > 0
    np.testing.assert_allclose(dual_lower_bound(X, y, ALPHA, D, -y * 1e300), base, rtol=1e-12)
    # (below the scale where t = 1 is infeasible no cone projection tightens c(ν):
    # a weaker bound, the same for every such scale)
    tiny = dual_lower_bound(X, y, ALPHA, D, -y * 1e-300)
    np.testing.assert_allclose(tiny, dual_lower_bound(X, y, ALPHA, D, -y * 1e-150), rtol=1e-12)
    assert 0 < tiny <= base
    assert dual_lower_bound(X, y, ALPHA, D, np.full(10, 1e300)) == 0.0
    for loss, labels in [("squared_hinge", np.sign(y)), ("logistic", np.sign(y))]:
        lb = dual_lower_bound(X, labels, ALPHA, D, -labels * 1e300, loss=loss)
        assert lb == dual_lower_bound(X, labels, ALPHA, D, -labels, loss=loss) and lb > 0
    with pytest.raises(ValueError, match="cone_duals must not contain"):
        dual_lower_bound(X, y, ALPHA, D, -y, np.full((10, 2 * D.shape[1]), np.nan))
    # a network whose objective overflows: a finite bound, an infinite gap
    U = np.random.default_rng(0).normal(size=(3, 4)) * 1e200
    a = np.random.default_rng(1).normal(size=4)
    for dual in ("solve", "residual"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow notices
            c = certify(X, y, U, a, ALPHA, dual=dual)
        assert c.objective == np.inf and np.isfinite(c.lower_bound) and c.lower_bound >= 0
        assert c.gap == np.inf and c.relative_gap == np.inf
    # predictions inf − inf leave the objective undefined: a clear error, not NaN
    Xbig = X * 1e300
    with pytest.raises(ValueError, match="overflow"):
        network_objective(Xbig, y, np.ones((3, 2)) * 1e10, np.array([1.0, -1.0]), ALPHA)
