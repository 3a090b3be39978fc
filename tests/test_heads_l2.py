"""Tests of cvxdual.heads._l2: the L2-ball paths (root find in μ, L-BFGS on the sphere, polish)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from heads_support import assert_same, problem, radius_scale

import cvxdual.heads._l2 as l2
from cvxdual.heads import NormBoundedHead
from cvxdual.heads._chord import _kkt_point, _solve_l2_chord
from cvxdual.heads._config import _HeadConfig
from cvxdual.heads._l2 import _lbfgs, _polish_l2
from cvxdual.heads._objective import _Smooth
from cvxdual.losses import get_loss
from cvxdual.sets import L2Ball


@pytest.mark.parametrize("polish", ["newton", "chord", None])
@pytest.mark.parametrize("loss", ["log_loss", "multinomial", "squared"])
def test_lbfgs_path_matches_cvxpy(loss, polish):
    # Large problems run L-BFGS on the sphere, then a Newton polish when cheap, or
    # chord steps from one Hessian when L-BFGS stopped short of the KKT residual of
    # the other fast solvers: force those paths on a small problem.
    config = replace(_HeadConfig(), newton_max_work=0)
    if polish != "newton":
        config = replace(config, polish_max_work=0)
    if polish == "chord":
        config = replace(config, kkt_rtol=1e-300)  # L-BFGS always "stops short"
    if polish is None:
        config = replace(config, chord_max_work=0)
    Phi, y = problem(loss, seed=11)
    r = 0.4 * radius_scale(loss, Phi, y, L2Ball)
    fast = NormBoundedHead(loss, L2Ball(r), _config=config).solve(Phi, y)
    assert fast.method == {"newton": "lbfgs-newton-l2", "chord": "lbfgs-chord-l2"}.get(
        polish, "lbfgs-l2"
    )
    exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi, y)
    assert_same(fast, exact, loss=loss)
    # the KKT conditions ∇f + μ P θ = 0 with λ = μ r, ‖W‖ = r: to 1e-9 after a
    # Newton polish, and to the residual every fast solve must reach (1e-7) after
    # chord steps (they stop there) or with L-BFGS alone
    smooth = _Smooth(get_loss(loss), Phi, get_loss(loss).encode_targets(y),
                     np.full(len(y), 1 / len(y)), True)
    theta = smooth.theta(fast.coef, fast.intercept)
    residual = _kkt_point(smooth, r, theta, fast.duals["norm"] / r)[-1]
    assert residual <= (1e-9 if polish == "newton" else 1e-7)
    # Not binding: L-BFGS finds λ <= 0 on the sphere and solves the free problem.
    inside = NormBoundedHead(loss, L2Ball(3.0 * r / 0.4), _config=config).solve(Phi, y)
    assert inside.duals["norm"] == 0.0
    assert inside.method == ("lbfgs-newton-l2" if polish == "newton" else "lbfgs-l2")


def test_separable_data_binding():
    # The unconstrained logistic optimum does not exist; the bounded one does.
    rng = np.random.default_rng(18)
    Phi = rng.normal(size=(30, 2))
    y = np.where(Phi[:, 0] > 0, 1.0, -1.0)
    fast = NormBoundedHead("log_loss", L2Ball(3.0)).solve(Phi, y)
    exact = NormBoundedHead("log_loss", L2Ball(3.0), solver="CLARABEL").solve(Phi, y)
    assert fast.method == "newton-l2"
    assert_same(fast, exact, loss="log_loss")


def test_kkt_iterations_give_up_without_a_step_in_mu():
    # From W = 0 the KKT step has no μ-direction (Pθ = 0): both KKT iterations
    # return None (the caller then solves from scratch) instead of dividing by 0.
    Phi, y = problem("squared", seed=20)
    loss = get_loss("squared")
    smooth = _Smooth(loss, Phi, loss.encode_targets(y), np.full(40, 1 / 40), True)
    theta = np.zeros(smooth.p1 * smooth.K)
    assert _solve_l2_chord(smooth, 0.3, theta, 1.0, None, 1e-9, _HeadConfig()) is None
    assert _polish_l2(smooth, 0.3, theta, 1.0, 10, _HeadConfig()) is None


def test_warm_start_reduces_lbfgs_iterations():
    config = replace(
        _HeadConfig(),
        newton_max_work=0,
        polish_max_work=0,
        chord_max_iter=0,  # the chord method gives up at once
    )
    Phi, y = problem("multinomial", n=80, d=6, seed=22)
    head = NormBoundedHead("multinomial", L2Ball(0.5), _config=config)
    previous = head.solve(Phi, y)
    Phi2 = Phi + 0.01 * np.random.default_rng(2).normal(size=Phi.shape)
    cold = head.solve(Phi2, y)
    warm = head.solve(Phi2, y, warm_start=previous)
    assert cold.method == warm.method == "lbfgs-l2"
    assert warm.n_iter < cold.n_iter
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)


@pytest.mark.parametrize("radius_factor", [0.4, 30.0])  # binding, and not binding
@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_lbfgs_stops_once_the_certificate_holds(monkeypatch, loss, radius_factor):
    # L-BFGS's gradient tolerance (tol of the start's gradient) is often out of
    # its reach: it then ends in line searches failing at the rounding level.
    # It now stops at the first iterate whose relative KKT residual passes
    # kkt_rtol: never more evaluations (at 10^5 rows: 9 instead of 42), the same
    # solution to that accuracy.
    config = replace(_HeadConfig(), newton_max_work=0, polish_max_work=0, chord_max_work=0)
    Phi, y = problem(loss, n=400, d=6, seed=12)
    r = radius_factor * radius_scale(loss, Phi, y, L2Ball)
    original = l2._lbfgs
    evaluations = {}

    def counting(label, use_done):
        def run(fun, x0, tol, config, done=None):
            def counted(x):
                evaluations[label] = evaluations.get(label, 0) + 1
                return fun(x)

            return original(counted, x0, tol, config, done=done if use_done else None)

        return run

    monkeypatch.setattr(l2, "_lbfgs", counting("to rounding", False))
    full = NormBoundedHead(loss, L2Ball(r), _config=config).solve(Phi, y)
    monkeypatch.setattr(l2, "_lbfgs", counting("certified", True))
    sol = NormBoundedHead(loss, L2Ball(r), _config=config).solve(Phi, y)
    assert sol.method == full.method == "lbfgs-l2"
    assert evaluations["certified"] <= evaluations["to rounding"]
    binding = radius_factor < 1
    assert (sol.duals["norm"] > 0) == binding
    smooth = _Smooth(get_loss(loss), Phi, get_loss(loss).encode_targets(y),
                     np.full(len(y), 1 / len(y)), True)
    theta = smooth.theta(sol.coef, sol.intercept)
    if binding:
        assert _kkt_point(smooth, r, theta, sol.duals["norm"] / r)[-1] <= 1e-7
    else:
        grad = smooth.value_grad(theta)[1]
        scale = np.max(np.abs(Phi).T @ np.abs(full.sample_duals))  # (without cancellation)
        assert np.max(np.abs(grad)) <= 1e-7 * scale
    np.testing.assert_allclose(sol.coef, full.coef, atol=1e-6 * np.abs(full.coef).max())
    exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi, y)
    assert_same(sol, exact, loss=loss)


def test_lbfgs_returns_the_first_iterate_that_is_done():
    # An ill-conditioned quadratic with an unreachable gradient tolerance: the
    # run stops at the first iterate ``done`` accepts, with no evaluation after it.
    scales = np.logspace(0, 3, 20)
    points, checked = [], []

    def fun(x):
        points.append(x.copy())
        return 0.5 * float(np.sum(scales * x * x)), scales * x

    def done(x):
        checked.append(x.copy())
        return float(np.max(np.abs(scales * x))) <= 1e-3

    x, n_iter = _lbfgs(fun, np.ones(20), 1e-300, _HeadConfig(), done=done)
    assert len(checked) == n_iter and n_iter > 3
    np.testing.assert_array_equal(x, checked[-1])
    assert np.max(np.abs(scales * x)) <= 1e-3
    assert all(np.max(np.abs(scales * c)) > 1e-3 for c in checked[:-1])
    np.testing.assert_array_equal(points[-1], x)  # (the last evaluation was x itself)
    more, _ = _lbfgs(fun, np.ones(20), 1e-300, _HeadConfig())  # without: to rounding
    assert np.max(np.abs(scales * more)) < 1e-6


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_lbfgs_goes_on_to_the_certificate_when_the_polish_fails(monkeypatch, loss):
    # Before a Newton polish L-BFGS stops at kkt_lbfgs_rtol (1e-5); if the polish
    # (and the root find after it) fail, L-BFGS goes on to kkt_rtol itself (and
    # chord steps finish if its line searches stall on rounding short of it).
    config = replace(_HeadConfig(), newton_max_work=0)
    Phi, y = problem(loss, n=300, d=6, seed=13)
    r = 0.4 * radius_scale(loss, Phi, y, L2Ball)
    monkeypatch.setattr(l2, "_polish_l2", lambda *args: None)
    monkeypatch.setattr(l2, "_solve_l2", lambda *args: None)
    sol = NormBoundedHead(loss, L2Ball(r), _config=config).solve(Phi, y)
    assert sol.method in ("lbfgs-l2", "lbfgs-chord-l2") and sol.duals["norm"] > 0
    smooth = _Smooth(get_loss(loss), Phi, get_loss(loss).encode_targets(y),
                     np.full(len(y), 1 / len(y)), True)
    theta = smooth.theta(sol.coef, sol.intercept)
    assert _kkt_point(smooth, r, theta, sol.duals["norm"] / r)[-1] <= 1e-7
    exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi, y)
    assert_same(sol, exact, loss=loss)


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_sphere_is_given_up_early_when_the_bound_does_not_bind(loss):
    # Not binding, the sphere's own minimiser has λ < 0 and is of no use: L-BFGS
    # gives the sphere up after sphere_inward_iter such iterates (it used to
    # converge there first: 10^5 x 50 logistic, 8 s against scikit-learn's 0.2).
    base = replace(_HeadConfig(), newton_max_work=0, polish_max_work=0, chord_max_work=0)
    Phi, y = problem(loss, n=400, d=6, seed=13)
    r = 30.0 * radius_scale(loss, Phi, y, L2Ball)
    solutions, evaluations = {}, {}
    for stop in (5, 10**9):  # (10**9: the sphere run to its end, as before)
        config = replace(base, sphere_inward_iter=stop)
        head = NormBoundedHead(loss, L2Ball(r), _config=config)
        smooth = _Smooth(get_loss(loss), Phi, get_loss(loss).encode_targets(y),
                         np.full(len(y), 1 / len(y)), True)
        theta = smooth.theta(np.zeros((Phi.shape[1], smooth.K)), np.zeros(smooth.K))
        result = l2._solve_l2_sphere(smooth, r, theta, head.tol, config)
        assert result is not None and result[1] == 0.0
        evaluations[stop] = smooth.n_eval
        solutions[stop] = head.solve(Phi, y)
    assert evaluations[5] < evaluations[10**9]
    exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi, y)
    for sol in solutions.values():
        assert sol.duals["norm"] == 0.0 and sol.method == "lbfgs-l2"
        assert_same(sol, exact, loss=loss)


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_sphere_resumes_when_the_free_run_leaves_the_ball(monkeypatch, loss):
    # A binding problem started on the sphere opposite its solution, where λ < 0:
    # the sphere is given up at once (sphere_inward_iter = 1), the unpenalised run
    # leaves the ball, and the sphere run resumes from its direction to the answer.
    config = replace(_HeadConfig(), sphere_inward_iter=1)
    Phi, y = problem(loss, n=300, d=5, seed=14)
    r = 0.3 * radius_scale(loss, Phi, y, L2Ball)
    exact = NormBoundedHead(loss, L2Ball(r)).solve(Phi, y)
    smooth = _Smooth(get_loss(loss), Phi, get_loss(loss).encode_targets(y),
                     np.full(len(y), 1 / len(y)), True)
    opposite = smooth.theta(-exact.coef, exact.intercept)
    runs = []
    original = l2._lbfgs

    def recording(fun, x0, tol, config, done=None):
        x, n_iter = original(fun, x0, tol, config, done=done)
        runs.append(x)
        return x, n_iter

    monkeypatch.setattr(l2, "_lbfgs", recording)
    theta, lam, _ = l2._solve_l2_sphere(smooth, r, opposite, 1e-10, config)
    assert len(runs) == 3  # sphere (given up), unpenalised (left the ball), sphere again
    assert np.linalg.norm(smooth.mask * runs[1]) > r
    assert lam == pytest.approx(exact.duals["norm"], rel=1e-5)
    coef, _ = smooth.split(theta)  # (the multinomial intercepts are free up to a constant)
    np.testing.assert_allclose(coef, exact.coef, rtol=1e-5, atol=1e-7)



def test_unpenalised_run_starts_from_a_warm_start_inside_the_ball():
    # Not binding, the unpenalised L-BFGS run starts from the warm start (inside the
    # ball) rather than from the sphere: a solve warm-started at the answer of a
    # nearby problem needs far fewer iterations than a cold one, to the same answer.
    config = replace(_HeadConfig(), newton_max_work=0, polish_max_work=0, chord_max_work=0)
    Phi, y = problem("log_loss", n=400, d=6, seed=16)
    r = 30.0 * radius_scale("log_loss", Phi, y, L2Ball)
    head = NormBoundedHead("log_loss", L2Ball(r), _config=config)
    previous = head.solve(Phi, y)
    moved = Phi + 1e-4 * np.random.default_rng(4).normal(size=Phi.shape)
    cold = head.solve(moved, y)
    warm = head.solve(moved, y, warm_start=previous)
    assert previous.duals["norm"] == cold.duals["norm"] == warm.duals["norm"] == 0.0
    assert warm.n_iter < cold.n_iter / 2
    np.testing.assert_allclose(warm.coef, cold.coef, rtol=1e-5, atol=1e-8)


def test_warm_start_that_did_not_bind_on_a_problem_that_binds(monkeypatch):
    # free_first: the unpenalised run goes first from the warm start (λ = 0, inside
    # the ball); here the new problem binds, that run leaves the ball, and the
    # sphere run takes over: the answer is the binding one all the same.
    config = replace(_HeadConfig(), newton_max_work=0, polish_max_work=0, chord_max_work=0)
    Phi, y = problem("log_loss", n=400, d=6, seed=17)
    previous = NormBoundedHead("log_loss", _config=config).solve(Phi, y)  # no bound
    r = 2.0 * np.linalg.norm(previous.coef)
    head = NormBoundedHead("log_loss", L2Ball(r), _config=config)
    first = head.solve(Phi, y, warm_start=previous)
    assert first.duals["norm"] == 0.0
    shrunk = Phi / 10.0  # the unbounded optimum grows tenfold: the bound binds
    runs = []
    original = l2._lbfgs

    def recording(fun, x0, tol, config, done=None):
        runs.append(fun.__name__)
        return original(fun, x0, tol, config, done=done)

    monkeypatch.setattr(l2, "_lbfgs", recording)
    warm = head.solve(shrunk, y, warm_start=first)
    assert runs == ["free", "fun"]  # unpenalised first, then the sphere
    cold = head.solve(shrunk, y)
    exact = NormBoundedHead("log_loss", L2Ball(r), solver="CLARABEL").solve(shrunk, y)
    assert warm.duals["norm"] > 0
    for sol in (warm, cold):
        assert_same(sol, exact, loss="log_loss")


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_chord_steps_finish_where_lbfgs_fails(loss):
    # L-BFGS cut short far from the certificate (as on nearly flat problems, where
    # it fails): with chord steps allowed they finish from its end point; without,
    # the μ root-find by Newton takes over. The same answer either way.
    Phi, y = problem(loss, n=300, d=5, seed=18)
    r = 0.4 * radius_scale(loss, Phi, y, L2Ball)
    short = replace(_HeadConfig(), newton_max_work=0, polish_max_work=0, lbfgs_max_iter=3)
    finished = NormBoundedHead(loss, L2Ball(r), _config=short).solve(Phi, y)
    assert finished.method == "lbfgs-chord-l2"
    fallback = NormBoundedHead(
        loss, L2Ball(r), _config=replace(short, chord_max_work=0)
    ).solve(Phi, y)
    assert fallback.method == "newton-l2"
    exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi, y)
    for sol in (finished, fallback):
        assert_same(sol, exact, loss=loss)
    smooth = _Smooth(get_loss(loss), Phi, get_loss(loss).encode_targets(y),
                     np.full(len(y), 1 / len(y)), True)
    theta = smooth.theta(finished.coef, finished.intercept)
    assert _kkt_point(smooth, r, theta, finished.duals["norm"] / r)[-1] <= 1e-7


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_cold_binding_solve_switches_to_chord_steps_early(monkeypatch, loss):
    # Where a full Hessian is affordable but a Newton polish is not, with
    # lbfgs_chord_rtol set (as training sets it) L-BFGS stops there and chord steps
    # finish (their matrix kept for the next warm start); if those fail, L-BFGS
    # goes on from its point to the certificate. By default it runs to the certificate.
    Phi, y = problem(loss, n=300, d=5, seed=19)
    r = 0.4 * radius_scale(loss, Phi, y, L2Ball)
    late_config = replace(_HeadConfig(), newton_max_work=0, polish_max_work=0)
    config = replace(late_config, lbfgs_chord_rtol=1e-3)
    exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi, y)
    smooth = _Smooth(get_loss(loss), Phi, get_loss(loss).encode_targets(y),
                     np.full(len(y), 1 / len(y)), True)
    early = NormBoundedHead(loss, L2Ball(r), _config=config).solve(Phi, y)
    late = NormBoundedHead(loss, L2Ball(r), _config=late_config).solve(Phi, y)
    assert early.method == "lbfgs-chord-l2" and early._curvature is not None
    assert late.method == "lbfgs-l2"
    calls = []
    original = l2._solve_l2_chord
    monkeypatch.setattr(l2, "_solve_l2_chord", lambda *a: calls.append(a) or None)
    failed = NormBoundedHead(loss, L2Ball(r), _config=config).solve(Phi, y)
    monkeypatch.setattr(l2, "_solve_l2_chord", original)
    assert len(calls) == 1 and failed.method == "lbfgs-l2"
    for sol in (early, late, failed):
        assert_same(sol, exact, loss=loss)
        theta = smooth.theta(sol.coef, sol.intercept)
        assert _kkt_point(smooth, r, theta, sol.duals["norm"] / r)[-1] <= 1e-7


def test_cold_solve_that_does_not_bind_goes_on_to_the_certificate(monkeypatch):
    # L-BFGS's early stop at lbfgs_chord_rtol is no answer when the bound does not
    # bind: the unpenalised problem then runs on to kkt_rtol, from the early point
    # (not through the sphere's own minimiser: 282 gradients instead of 44 once).
    Phi, y = problem("multinomial", n=300, d=5, seed=20)
    r = 50.0 * radius_scale("multinomial", Phi, y, L2Ball)
    evaluations = []
    original = _Smooth._evaluate
    monkeypatch.setattr(_Smooth, "_evaluate",
                        lambda self, *a, **k: evaluations.append(1) or original(self, *a, **k))
    late_config = replace(_HeadConfig(), newton_max_work=0, polish_max_work=0)
    NormBoundedHead("multinomial", L2Ball(r), _config=late_config).solve(Phi, y)
    late = len(evaluations)
    config = replace(late_config, lbfgs_chord_rtol=1e-3)
    sol = NormBoundedHead("multinomial", L2Ball(r), _config=config).solve(Phi, y)
    assert len(evaluations) - late <= 2 * late
    exact = NormBoundedHead("multinomial", L2Ball(r), solver="CLARABEL").solve(Phi, y)
    assert sol.duals["norm"] == 0.0
    assert_same(sol, exact, loss="multinomial")
    smooth = _Smooth(get_loss("multinomial"), Phi, get_loss("multinomial").encode_targets(y),
                     np.full(len(y), 1 / len(y)), True)
    grad = smooth.value_grad(smooth.theta(sol.coef, sol.intercept))[1]
    scale = np.max(np.abs(smooth.value_grad(np.zeros_like(grad))[2]).T @ np.abs(smooth.A))
    assert np.max(np.abs(grad)) <= 1e-7 * scale
