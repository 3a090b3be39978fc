"""Tests of the fast solver as a whole (cvxdual.convex_relu._fast) against CVXPY."""

from __future__ import annotations

import contextlib
import signal
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from cvxdual.convex_relu import (
    dual_lower_bound,
    enumerate_patterns,
    network_objective,
    recover_network,
    sample_patterns,
    solve_convex_relu,
)

from ._helpers import ALPHA, _augment, _data


@pytest.mark.parametrize("loss", ["squared", "squared_hinge", "log_loss"])
def test_fast_solver_matches_cvxpy_two_solvers(loss):
    X, y = _data(24, 3, seed=11)
    if loss != "squared":
        y = np.where(y > np.median(y), 1.0, -1.0)
    D = sample_patterns(X, 12, random_state=0)
    fast = solve_convex_relu(X, y, ALPHA, D, loss=loss, method="fast")
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
        sol = solve_convex_relu(X, y, ALPHA, D, method="fast", max_iter=1, tol=1e-15)
    assert not sol.converged


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
    fast = solve_convex_relu(X, y, ALPHA, D, method="fast")
    ref = solve_convex_relu(X, y, ALPHA, D, method="cvxpy", solver="CLARABEL")
    assert fast.converged
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-5)
    assert fast.lower_bound <= ref.objective * (1 + 1e-9)
    S = 2.0 * D - 1.0
    assert (S * (_augment(X) @ fast.v)).min() >= -1e-12
    assert (S * (_augment(X) @ fast.w)).min() >= -1e-12


def test_fast_solver_certifies_at_large_target_scale():
    # y ~ 1e6 with a small alpha: the fit is close, and the residual ν is
    # sensitive to dropping tiny neurons; the certificate still closes
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = 1e6 * np.sin(X[:, 0])
    D = sample_patterns(X, 30, random_state=0)
    fast = solve_convex_relu(X, y, 1e-3, D, method="fast")
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
    fast = solve_convex_relu(X, y, ALPHA, D, fit_intercept=False, method="fast")
    ref = solve_convex_relu(X, y, ALPHA, D, fit_intercept=False, method="cvxpy",
                            solver="CLARABEL")
    assert fast.converged and fast.solver == "interior-point"
    np.testing.assert_allclose(fast.objective, ref.objective, rtol=1e-5)
    # every sample zero: the zero network is optimal and certified at once
    zero = solve_convex_relu(np.zeros((5, 2)), np.arange(5.0), ALPHA, np.ones((5, 1), bool),
                             fit_intercept=False, method="fast")
    assert zero.converged and zero.objective == pytest.approx(3.0) and zero.n_iter == 0


@pytest.mark.parametrize("trial", range(6))
def test_fast_solver_matches_cvxpy_on_random_problems(trial):
    # sizes, feature scales (1e-2..1e2), target scales, alphas (1e-4..1e-1), losses
    # and intercepts drawn at random: the certified answer matches the definition
    rng = np.random.default_rng(1000 + trial)
    n, d, gates = int(rng.integers(10, 50)), int(rng.integers(1, 7)), int(rng.integers(5, 40))
    loss = ("squared", "squared_hinge", "log_loss")[trial % 3]
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
