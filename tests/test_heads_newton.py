"""Tests of cvxdual.heads._newton: the damped Newton methods and their line search."""

from __future__ import annotations

import numpy as np
import pytest
from heads_support import problem

from cvxdual.heads._config import _HeadConfig
from cvxdual.heads._newton import _backtrack, _newton
from cvxdual.heads._objective import _Smooth
from cvxdual.losses import get_loss


def test_backtrack_halves_until_armijo_holds():
    # f(t) = (t - 0.2)², f(0) = 0.04, decrement 0.08: t = 1 and t = 1/2 fail the
    # Armijo test, t = 1/4 passes and is returned.
    config = _HeadConfig()
    tried = []

    def objective(t):
        tried.append(t)
        return (t - 0.2) ** 2

    assert _backtrack(lambda t: t, objective, 0.04, 0.08, config) == 0.25
    assert tried == [1.0, 0.5, 0.25]


def test_backtrack_gives_up_after_max_halvings():
    config = _HeadConfig(max_halvings=4)
    assert _backtrack(lambda t: t, lambda t: 1.0, 0.0, 1.0, config) is None


def test_backtrack_takes_full_steps_at_rounding_level():
    # A decrement below 1e-10 |f| is under the rounding of f: no test at all.
    assert _backtrack(lambda t: t, lambda t: np.inf, 1.0, 1e-12, _HeadConfig()) == 1.0


@pytest.mark.parametrize("mu", [0.0, 0.5])
def test_penalised_newton_solves_least_squares_in_one_step(mu):
    Phi, y = problem("squared", seed=60)
    loss = get_loss("squared")
    n = Phi.shape[0]
    smooth = _Smooth(loss, Phi, loss.encode_targets(y), np.full(n, 1 / n), True)
    theta, converged, n_iter, _ = _newton(smooth, np.zeros(smooth.p1), mu, 1e-9, 20, _HeadConfig())
    assert converged and n_iter <= 2
    A = smooth.A
    P = np.diag(smooth.mask)
    expected = np.linalg.solve(A.T @ A / n + mu * P, A.T @ y / n)
    np.testing.assert_allclose(theta, expected, rtol=1e-10, atol=1e-12)
