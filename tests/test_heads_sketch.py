"""Tests of the sketched chord matrices (cvxdual.heads._chord): exact heads at scale.

Above ``chord_max_work`` the chord matrix is the inverse Hessian of a row
sketch; gradients and the KKT test stay exact on all rows. The tests lower
``chord_max_work`` through a private ``_HeadConfig`` so that small problems take
the sketched paths, and compare with CVXPY and with the full-Hessian solvers.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest
from heads_support import FAST_LOSSES, assert_same, kkt_residuals, problem, radius_scale

from cvxdual.heads import NormBoundedHead
from cvxdual.heads._chord import _chord_rows, _sketch_rows
from cvxdual.heads._config import _HeadConfig
from cvxdual.heads._objective import _Smooth
from cvxdual.losses import get_loss
from cvxdual.sets import L2Ball


def _sketch_config(n, params, rows_per_param=4.0):
    """A config under which an n-row problem with ``params`` parameters is sketched."""
    return replace(
        _HeadConfig(),
        chord_max_work=0.5 * n * params**2,
        sketch_rows_per_param=rows_per_param,
        sketch_min_params=1,
    )


def _spy_hessians(monkeypatch):
    """Record the number of rows of every Hessian assembled."""
    rows = []
    original = _Smooth.hessian

    def hessian(self, z, *args, **kwargs):
        rows.append(self.A.shape[0])
        return original(self, z, *args, **kwargs)

    monkeypatch.setattr(_Smooth, "hessian", hessian)
    return rows


def _assert_kkt(sol, loss, Phi, y, r):
    scale = max(float(np.max(np.abs(Phi.T @ sol.sample_duals))), 1.0)
    for name, value in kkt_residuals(sol, loss, Phi, y, L2Ball, r).items():
        assert value <= 1e-7 * scale, (name, value)


def test_chord_rows_selects_all_rows_a_sketch_or_nothing():
    loss = get_loss("multinomial")
    Phi, y = problem("multinomial", n=400, d=5, seed=40)
    Y = loss.encode_targets(y)
    smooth = _Smooth(loss, Phi, Y, np.full(400, 1 / 400), True)
    params = smooth.p1 * smooth.K  # 18
    assert _chord_rows(smooth, _HeadConfig()) == 400
    assert _chord_rows(smooth, _sketch_config(400, params)) == 4 * params
    # too costly even as a sketch, or too many parameters for a dense inverse
    assert _chord_rows(smooth, replace(_HeadConfig(), chord_max_work=10.0)) is None
    assert _chord_rows(smooth, replace(_HeadConfig(), chord_max_params=10)) is None
    # too few parameters for the sketch to pay (its Newton-CG products cost more)
    assert _chord_rows(smooth, replace(_sketch_config(400, params), sketch_min_params=19)) is None
    # a sketch as large as the data is the full Hessian, which is unaffordable
    assert _chord_rows(smooth, _sketch_config(400, params, rows_per_param=100.0)) is None
    idx, weights = _sketch_rows(smooth, 72, 0)
    assert idx.size <= 72 and np.all(np.diff(idx) > 0) and np.all(weights > 0)
    again = _sketch_rows(smooth, 72, 0)
    assert np.array_equal(idx, again[0]) and np.array_equal(weights, again[1])  # deterministic
    assert not np.array_equal(idx, _sketch_rows(smooth, 72, 1)[0])  # a new draw per refresh
    assert _sketch_rows(smooth, 400, 0) is None


@pytest.mark.parametrize("loss", ["log_loss", "multinomial", "squared"])
def test_importance_sketch_is_an_unbiased_hessian_that_favours_curved_rows(loss):
    # E[sketched Hessian] = full Hessian (weights w_i c_i / (m q_i)); rows with more
    # curvature are drawn more often.
    lo = get_loss(loss)
    Phi, y = problem(loss, n=300, d=4, seed=43)
    smooth = _Smooth(lo, Phi, lo.encode_targets(y), np.full(300, 1 / 300), True)
    theta = np.random.default_rng(1).normal(size=smooth.p1 * smooth.K)
    z = smooth.scores(theta)
    full = smooth.hessian(z, gauge=False)
    draws = 600
    mean = np.zeros_like(full)
    hits = np.zeros(300)
    for draw in range(draws):
        idx, weights = _sketch_rows(smooth, 40, draw, z)
        mean += smooth.rows(idx, weights).hessian(z[idx], gauge=False) / draws
        hits[idx] += 1
    assert np.abs(mean - full).max() <= 0.05 * np.abs(full).max()
    share = smooth.curvature_weights(z)
    if np.ptp(share) > 0:
        top, bottom = share >= np.quantile(share, 0.9), share <= np.quantile(share, 0.1)
        assert hits[top].mean() > hits[bottom].mean()


def test_row_sketch_reweights_to_the_same_total():
    loss = get_loss("log_loss")
    Phi, y = problem("log_loss", n=200, d=4, seed=41)
    w = np.random.default_rng(0).uniform(0.5, 1.5, size=200)
    smooth = _Smooth(loss, Phi, loss.encode_targets(y), w / w.sum(), True)
    idx = np.arange(0, 200, 4)
    sub = smooth.rows(idx)
    assert sub.n == 50 and sub.A.shape == (50, 5)
    assert sub.w.sum() == pytest.approx(1.0)
    assert np.allclose(sub.w, smooth.w[idx] / smooth.w[idx].sum())
    assert smooth.A.shape == (200, 5)  # the full objective is untouched


@pytest.mark.parametrize("loss", FAST_LOSSES)
def test_sketched_chord_warm_start_matches_cvxpy(monkeypatch, loss):
    # Binding warm starts with the sketched chord matrix: same weights, objective,
    # λ and sample duals as CVXPY and as the full-Hessian solvers, KKT to 1e-7,
    # and no Hessian ever assembled from all rows.
    Phi, y = problem(loss, n=400, d=5, seed=42)
    K = 3 if loss == "multinomial" else 1
    params = 6 * K
    config = _sketch_config(400, params, rows_per_param=8.0)
    r = 0.4 * radius_scale(loss, Phi, y, L2Ball)
    full = NormBoundedHead(loss, L2Ball(r))
    head = NormBoundedHead(loss, L2Ball(r), _config=config)
    previous = full.solve(Phi, y)
    rng = np.random.default_rng(4)
    rows = _spy_hessians(monkeypatch)
    for step in range(1, 4):
        Phi_t = Phi + 0.02 * step * rng.normal(size=Phi.shape)
        rows.clear()
        sol = head.solve(Phi_t, y, warm_start=previous)
        assert sol.method == "chord-l2" and sol.duals["norm"] > 0
        assert all(m < 400 for m in rows)
        # a sketched chord matrix is not kept: the next solve draws its own
        assert sol._curvature is None
        exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi_t, y)
        assert_same(sol, exact, loss=loss)
        _assert_kkt(sol, loss, Phi_t, y, r)
        reference = full.solve(Phi_t, y)
        assert sol.objective == pytest.approx(reference.objective, rel=1e-9)
        assert sol.duals["norm"] == pytest.approx(reference.duals["norm"], rel=1e-6)
        assert np.allclose(sol.sample_duals, reference.sample_duals, rtol=1e-6, atol=1e-10)
        previous = sol


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_sketched_free_chord_when_the_bound_does_not_bind(monkeypatch, loss):
    # Cold and warm starts of a non-binding ball: sketched chord steps on f
    # (λ = 0), the same answer as CVXPY and Newton's method.
    Phi, y = problem(loss, n=400, d=5, seed=43)
    K = 3 if loss == "multinomial" else 1
    config = _sketch_config(400, 6 * K)
    r = 2.0 * radius_scale(loss, Phi, y, L2Ball)
    head = NormBoundedHead(loss, L2Ball(r), _config=config)
    rows = _spy_hessians(monkeypatch)
    previous = None
    for step in range(3):
        Phi_t = Phi + 0.02 * step
        rows.clear()
        sol = head.solve(Phi_t, y, warm_start=previous)
        assert sol.method == "chord-l2" and sol.duals["norm"] == 0.0
        assert all(m < 400 for m in rows)
        exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi_t, y)
        assert_same(sol, exact, loss=loss)
        _assert_kkt(sol, loss, Phi_t, y, r)
        newton = NormBoundedHead(loss, L2Ball(r)).solve(Phi_t, y)
        assert sol.objective == pytest.approx(newton.objective, rel=1e-12)
        previous = sol


def test_sketched_unconstrained_head_matches_newton():
    Phi, y = problem("multinomial", n=400, d=5, seed=44)
    config = _sketch_config(400, 18)
    sol = NormBoundedHead("multinomial", _config=config).solve(Phi, y)
    newton = NormBoundedHead("multinomial").solve(Phi, y)
    assert sol.method == "chord" and newton.method == "newton"
    assert sol.objective == pytest.approx(newton.objective, rel=1e-12)
    assert np.allclose(sol.sample_duals, newton.sample_duals, rtol=1e-6, atol=1e-10)
    assert np.allclose(sol.coef, newton.coef, rtol=1e-5, atol=1e-8)


def test_cold_binding_solve_goes_from_the_free_minimiser_to_the_sphere(monkeypatch):
    # Cold start of a binding ball above the Newton limits: sketched chord steps
    # find the unconstrained minimiser outside the ball, then chord steps on the
    # KKT system from its projection onto the sphere (same matrix) finish.
    loss = "multinomial"
    Phi, y = problem(loss, n=400, d=5, seed=45)
    config = replace(_sketch_config(400, 18), newton_max_work=1.0, polish_max_work=1.0)
    r = 0.3 * radius_scale(loss, Phi, y, L2Ball)
    rows = _spy_hessians(monkeypatch)
    sol = NormBoundedHead(loss, L2Ball(r), _config=config).solve(Phi, y)
    assert sol.method == "chord-l2" and sol.duals["norm"] > 0
    assert all(m < 400 for m in rows)
    exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi, y)
    assert_same(sol, exact, loss=loss)
    _assert_kkt(sol, loss, Phi, y, r)


def test_sketched_solves_use_memory_linear_in_n():
    # n (pK)² doubles would be 20000 × 155² × 8 B ≈ 3.8 GB; the sketched path
    # needs the data, a few n × K arrays and one (pK)² matrix.
    rng = np.random.default_rng(46)
    n, d, K = 20_000, 30, 5
    Phi = rng.normal(size=(n, d))
    y = np.argmax(Phi[:, :K] + 2.0 * rng.normal(size=(n, K)), axis=1)
    params = (d + 1) * K
    config = replace(_HeadConfig(), chord_max_work=0.5 * n * params**2, sketch_min_params=1)
    head = NormBoundedHead("multinomial", L2Ball(0.5), _config=config)
    first = head.solve(Phi, y)
    tracemalloc.start()
    try:
        sol = head.solve(Phi + 0.01, y, warm_start=first)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sol.method == "chord-l2" and sol._curvature is None  # (a sketch is not kept)
    data = Phi.nbytes
    assert peak <= 12 * data + 16 * params**2 * 8
    assert peak < 0.01 * n * params**2 * 8


def test_pcg_solves_the_newton_system_with_any_spd_preconditioner():
    from cvxdual.heads._chord import _pcg

    rng = np.random.default_rng(47)
    B = rng.normal(size=(12, 12))
    H = B @ B.T + 0.1 * np.eye(12)
    g = rng.normal(size=12)

    class Rough:  # a poor preconditioner: the inverse of the diagonal only
        def solve(self, R):
            return R / np.diag(H)[:, None]

    config = replace(_HeadConfig(), pcg_rtol=1e-12, pcg_max_iter=40)
    step, products = _pcg(lambda v: H @ v, g, Rough(), config)
    np.testing.assert_allclose(H @ step, -g, rtol=1e-8, atol=1e-10)
    assert products <= 40
    # a product budget stops it (then the caller refreshes its preconditioner)
    _, products = _pcg(lambda v: H @ v, g, Rough(), replace(config, pcg_max_iter=2))
    assert products == 2
    # several right-hand sides at once (their products shared): each column as alone
    G = np.column_stack([g, rng.normal(size=12), np.zeros(12)])
    calls = []

    def batched(V):
        calls.append(V.shape)
        return H @ V

    S, products = _pcg(batched, G, Rough(), config, rtol=1e-10)
    assert all(shape == (12, 3) for shape in calls) and products == len(calls)
    for j in range(2):
        alone, _ = _pcg(lambda v: H @ v, G[:, j], Rough(), config, rtol=1e-10)
        np.testing.assert_allclose(S[:, j], alone, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(H @ S[:, j], -G[:, j], rtol=1e-7, atol=1e-9)
    assert np.all(S[:, 2] == 0)  # a zero right-hand side stays put


def test_pcg_budget_scales_with_the_accuracy_asked():
    from cvxdual.heads._chord import _pcg_budget

    config = _HeadConfig()
    assert _pcg_budget(config.pcg_rtol, config) == config.pcg_max_iter
    assert _pcg_budget(0.5, config) == config.pcg_max_iter
    # the same rate per product: pcg_rtol ** (1 / pcg_max_iter)
    assert _pcg_budget(config.pcg_rtol**3, config) == 3 * config.pcg_max_iter
    # an accuracy of zero (or below rounding) still gets a finite budget
    assert _pcg_budget(0.0, config) == _pcg_budget(np.finfo(float).eps, config) < 200


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_penalised_newton_cg_matches_newton(loss):
    # The globalised start of a far binding warm start: the minimiser of
    # f + μ/2 ‖W‖² by sketched Newton-CG equals Newton's (full Hessians).
    from cvxdual.heads._chord import _solve_free_chord
    from cvxdual.heads._newton import _newton

    Phi, y = problem(loss, n=400, d=5, seed=48)
    lf = get_loss(loss)
    smooth = _Smooth(lf, Phi, lf.encode_targets(y), np.full(400, 1 / 400), True)
    config = _sketch_config(400, smooth.p1 * smooth.K)
    theta0 = np.zeros(smooth.p1 * smooth.K)
    mu = 0.05
    result = _solve_free_chord(smooth, None, theta0, None, 1e-9, config, mu=mu)
    assert result is not None and result[3].sketched
    reference, ok, _, _ = _newton(smooth, theta0, mu, 1e-9, 50, _HeadConfig())
    assert ok
    np.testing.assert_allclose(result[0], reference, rtol=1e-6, atol=1e-9)
