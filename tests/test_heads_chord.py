"""Tests of cvxdual.heads._chord: warm-started L2 solves by the chord method."""

from __future__ import annotations

import numpy as np
import pytest
from heads_support import FAST_LOSSES, assert_same, kkt_residuals, problem, radius_scale

from cvxdual.heads import NormBoundedHead
from cvxdual.heads._chord import _ChordMatrix, _kkt_point, _solve_l2_chord
from cvxdual.heads._config import _HeadConfig
from cvxdual.heads._objective import _Smooth
from cvxdual.losses import get_loss
from cvxdual.sets import L2Ball


def _count_chord_matrices(monkeypatch):
    built = []
    original = _ChordMatrix.__init__

    def init(self, *args):
        built.append(1)
        original(self, *args)

    monkeypatch.setattr(_ChordMatrix, "__init__", init)
    return built


@pytest.mark.parametrize("loss", FAST_LOSSES)
def test_chord_warm_start_matches_cvxpy_and_reuses_curvature(monkeypatch, loss):
    # Warm-started binding L2 solves run chord steps with the previous solve's
    # Hessian factor: same numbers as CVXPY, KKT to 1e-7, fewer iterations than cold.
    built = _count_chord_matrices(monkeypatch)
    Phi, y = problem(loss, n=60, d=5, seed=30)
    r = 0.4 * radius_scale(loss, Phi, y, L2Ball)
    head = NormBoundedHead(loss, L2Ball(r))
    rng = np.random.default_rng(3)
    previous = head.solve(Phi, y)
    assert previous.method == "newton-l2" and not built
    for step in range(1, 4):
        Phi_t = Phi + 0.01 * step * rng.normal(size=Phi.shape)
        warm = head.solve(Phi_t, y, warm_start=previous)
        assert warm.method == "chord-l2"
        exact = NormBoundedHead(loss, L2Ball(r), solver="CLARABEL").solve(Phi_t, y)
        assert_same(warm, exact, loss=loss)
        residuals = kkt_residuals(warm, loss, Phi_t, y, L2Ball, r)
        scale = np.max(np.abs(Phi_t.T @ warm.sample_duals))
        for name, value in residuals.items():
            assert value <= 1e-7 * max(scale, 1.0), (name, value)
        cold = head.solve(Phi_t, y)
        assert warm.n_iter < cold.n_iter
        assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
        previous = warm
    # The first chord solve builds a chord matrix; later ones reuse the cached one
    # (the squared loss has a constant Hessian: its chord steps are Newton steps).
    assert len(built) < 3


def test_chord_gives_up_when_the_bound_stops_binding():
    Phi, y = problem("multinomial", n=60, d=5, seed=31)
    r = 0.4 * radius_scale("multinomial", Phi, y, L2Ball)
    binding = NormBoundedHead("multinomial", L2Ball(r)).solve(Phi, y)
    head = NormBoundedHead("multinomial", L2Ball(5.0 * r / 0.4))
    sol = head.solve(Phi, y, warm_start=binding)
    assert sol.method == "newton-l2" and sol.duals["norm"] == 0.0
    exact = NormBoundedHead("multinomial", L2Ball(5.0 * r / 0.4), solver="CLARABEL").solve(Phi, y)
    assert sol.objective == pytest.approx(exact.objective, rel=1e-6)


def test_chord_ignores_curvature_of_another_problem(monkeypatch):
    # A warm start from another loss (same shapes) brings a Hessian factor that
    # does not apply: a new chord matrix is built, and the answer is still exact.
    built = _count_chord_matrices(monkeypatch)
    Phi, y = problem("log_loss", n=60, d=5, seed=32)
    r = 0.4 * min(radius_scale(loss, Phi, y, L2Ball) for loss in ("squared", "log_loss"))
    squared = NormBoundedHead("squared", L2Ball(r))
    first = squared.solve(Phi, y)
    second = squared.solve(Phi + 0.01, y, warm_start=first)
    assert second.method == "chord-l2" and len(built) == 1
    logistic = NormBoundedHead("log_loss", L2Ball(r))
    sol = logistic.solve(Phi, y, warm_start=second)
    assert sol.method == "chord-l2" and len(built) == 2
    exact = NormBoundedHead("log_loss", L2Ball(r), solver="CLARABEL").solve(Phi, y)
    assert_same(sol, exact, loss="log_loss")


def test_chord_is_skipped_when_hessians_are_too_expensive():
    Phi, y = problem("log_loss", n=60, d=5, seed=33)
    radius = 0.4 * radius_scale("log_loss", Phi, y, L2Ball)
    head = NormBoundedHead("log_loss", L2Ball(radius), _config=_HeadConfig(chord_max_work=0))
    previous = head.solve(Phi, y)
    warm = head.solve(Phi + 0.01, y, warm_start=previous)
    assert warm.method == "newton-l2" and warm.duals["norm"] > 0


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_chord_puts_a_stationary_point_off_the_sphere_onto_it(loss):
    # The chord iteration stops at the KKT residual every fast solve reaches
    # (1e-7), which lets ‖W‖ miss r by up to ~1e-7 relative: such a point is
    # scaled onto the sphere and accepted only if its residual still passes,
    # so ‖W‖ = r holds to the head's tol (1e-9) as before.
    Phi, y = problem(loss, n=80, d=5, seed=34)
    r = 0.4 * radius_scale(loss, Phi, y, L2Ball)
    exact = NormBoundedHead(loss, L2Ball(r)).solve(Phi, y)  # Newton, polished
    smooth = _Smooth(get_loss(loss), Phi, get_loss(loss).encode_targets(y),
                     np.full(len(y), 1 / len(y)), True)
    theta = smooth.theta(exact.coef, exact.intercept)
    mu = exact.duals["norm"] / r
    off = theta.copy()
    off[smooth.mask == 1] *= 1 + 2e-8  # stationary to ~1e-8, ‖W‖ off by 2e-8 r
    assert _kkt_point(smooth, r, off, mu)[-1] <= _HeadConfig().kkt_chord_rtol
    factor = _ChordMatrix(smooth, smooth.scores(off), mu)
    theta_out, lam, n_iter, _ = _solve_l2_chord(
        smooth, r, off, mu, factor, 1e-9, _HeadConfig()
    )
    norm = np.linalg.norm(smooth.mask * theta_out)
    assert n_iter == 0 and abs(norm - r) <= 1e-12 * r
    assert _kkt_point(smooth, r, theta_out, lam / r)[-1] <= _HeadConfig().kkt_chord_rtol
    assert lam == pytest.approx(exact.duals["norm"], rel=1e-7)
    # With a looser tol the point is answered as it is.
    kept, _, _, _ = _solve_l2_chord(smooth, r, off, mu, factor, 1e-6, _HeadConfig())
    np.testing.assert_array_equal(kept, off)


def _dense_bfgs(B, s, y):
    rho = 1.0 / (s @ y)
    V = np.eye(len(s)) - rho * np.outer(s, y)
    return V @ B @ V.T + rho * np.outer(s, s)


@pytest.mark.parametrize("n_updates", [3, 40])  # (40: past two folds into the dense matrix)
def test_chord_matrix_updates_kept_aside_are_bfgs(n_updates):
    # The updates kept aside, and folded into the float32 matrix by syr2k, give the
    # products of the dense BFGS formula; copies and the original do not interact.
    Phi, y = problem("multinomial", n=50, d=3, seed=35)
    loss = get_loss("multinomial")
    smooth = _Smooth(loss, Phi, loss.encode_targets(y), np.full(len(y), 1 / len(y)), True)
    theta = np.random.default_rng(0).normal(size=smooth.p1 * smooth.K) * 0.1
    factor = _ChordMatrix(smooth, smooth.scores(theta), 0.5)
    N = len(theta)
    upper = np.triu(factor.inverse.T.astype(float))
    B = upper + np.triu(upper, 1).T
    R = np.random.default_rng(1).normal(size=(N, 2))
    original = factor.products(R)
    copy = factor.copy()
    rng = np.random.default_rng(2)
    # pairs from a fixed positive definite H near B⁻¹ (B then tends to H⁻¹)
    E = rng.normal(size=(N, N)) / N
    H = np.linalg.inv(B + 1e-6 * np.eye(N)) + E @ E.T
    for _ in range(n_updates):
        s = rng.normal(size=N)
        y = H @ s
        B_y = copy.products(y[:, None])[:, 0]
        np.testing.assert_allclose(B_y, B @ y, rtol=1e-4, atol=1e-5 * np.abs(B @ y).max())
        assert copy.update(s, y, By=B_y if rng.random() < 0.5 else None)
        B = _dense_bfgs(B, s, y)
    assert copy._k == n_updates % 16 or (n_updates > 16 and copy._k <= 16)
    scale = np.abs(B @ R).max()
    np.testing.assert_allclose(copy.products(R), B @ R, atol=1e-4 * scale)
    # The original's products (and its dense matrix) are unchanged.
    np.testing.assert_array_equal(factor.products(R), original)
    # A rejected pair (sᵀy <= 0) changes nothing.
    before = copy.products(R)
    assert not copy.update(R[:, 0], -R[:, 0])
    np.testing.assert_array_equal(copy.products(R), before)


def test_chord_matrix_newest_term_is_the_last_update():
    Phi, y = problem("log_loss", n=40, d=4, seed=36)
    loss = get_loss("log_loss")
    smooth = _Smooth(loss, Phi, loss.encode_targets(y), np.full(len(y), 1 / len(y)), True)
    factor = _ChordMatrix(smooth, smooth.scores(np.zeros(smooth.p1)), 0.3)
    R = np.random.default_rng(3).normal(size=(smooth.p1, 2))
    before = factor.products(R)
    s, y = R[:, 0], R[:, 0] + 0.1 * R[:, 1]
    assert factor.update(s, y)
    np.testing.assert_allclose(before + factor.newest_term(R), factor.products(R), rtol=1e-12)


def test_chord_matrix_pickled_without_pending_updates_still_works():
    import pickle

    Phi, y = problem("multinomial", n=40, d=3, seed=37)
    loss = get_loss("multinomial")
    smooth = _Smooth(loss, Phi, loss.encode_targets(y), np.full(len(y), 1 / len(y)), True)
    factor = _ChordMatrix(smooth, smooth.scores(np.zeros(smooth.p1 * smooth.K)), 0.3)
    R = np.random.default_rng(4).normal(size=(smooth.p1 * smooth.K, 1))
    state = dict(factor.__dict__)
    for name in ("_terms", "_k", "_owned"):
        del state[name]  # (as pickled before updates were kept aside)
    old = object.__new__(_ChordMatrix)
    old.__setstate__(state)
    np.testing.assert_array_equal(old.solve(R), factor.solve(R))
    again = pickle.loads(pickle.dumps(factor))
    np.testing.assert_array_equal(again.solve(R), factor.solve(R))
