"""Tests of solve_convex_relu's interface: input checks, names, the auto policy, verbose."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from cvxdual.convex_relu import (
    _solve,
    certify,
    enumerate_patterns,
    network_objective,
    recover_network,
    sample_patterns,
    solve_convex_relu,
)
from cvxdual.estimators._convex_relu import ConvexReLUClassifier, ConvexReLURegressor

from ._helpers import ALPHA, _data, _fast_stages, _gd


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
        solve_convex_relu(X, y, ALPHA, D, loss="log_loss")
    with pytest.raises(ValueError, match="method"):
        solve_convex_relu(X, y, ALPHA, D, method="newton")
    with pytest.raises(ValueError, match="loss"):
        solve_convex_relu(X, y, ALPHA, D, loss="hinge")
    reg = ConvexReLURegressor(n_patterns=10, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        reg.predict(X[:, :1])


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


# ---------------------------------------------------------------------------
# names: "fast" and "log_loss", with deprecated aliases
# ---------------------------------------------------------------------------


def test_fista_is_a_deprecated_alias_of_fast():
    X, y = _data(20, 2, seed=1)
    D = sample_patterns(X, 10, random_state=0)
    with pytest.warns(FutureWarning, match="method='fista' was deprecated.*method='fast'"):
        old = solve_convex_relu(X, y, ALPHA, D, method="fista")
    new = solve_convex_relu(X, y, ALPHA, D, method="fast")
    assert old.method == new.method == "fast"
    assert old.objective == new.objective and old.lower_bound == new.lower_bound
    U, a = recover_network(new.v, new.w)
    with pytest.warns(FutureWarning, match="method='fista' was deprecated"):
        c_old = certify(X, y, U, a, ALPHA, method="fista")
    assert c_old == certify(X, y, U, a, ALPHA, method="fast")


def test_logistic_is_a_deprecated_alias_of_log_loss():
    X, y = _data(20, 2, seed=2)
    s = np.where(y > np.median(y), 1.0, -1.0)
    D = sample_patterns(X, 10, random_state=0)
    with pytest.warns(FutureWarning, match="loss='logistic' was deprecated.*loss='log_loss'"):
        old = solve_convex_relu(X, s, ALPHA, D, loss="logistic")
    new = solve_convex_relu(X, s, ALPHA, D, loss="log_loss")
    assert old.objective == new.objective
    U, a = recover_network(new.v, new.w)
    with pytest.warns(FutureWarning, match="loss='logistic'"):
        value = network_objective(X, s, U, a, ALPHA, loss="logistic")
    assert value == network_objective(X, s, U, a, ALPHA, loss="log_loss")
    with pytest.warns(FutureWarning, match="loss='logistic'"):
        certify(X, s, U, a, ALPHA, loss="logistic", dual="residual")


def test_estimators_accept_the_deprecated_names_with_a_warning():
    X, y = _data(20, 2, seed=3)
    kw = dict(alpha=ALPHA, n_patterns=8, random_state=0)
    with pytest.warns(FutureWarning, match="solver='fista' was deprecated.*solver='fast'"):
        old = ConvexReLURegressor(solver="fista", **kw).fit(X, y)
    new = ConvexReLURegressor(solver="fast", **kw).fit(X, y)
    assert old.solver_ == new.solver_ == "fast" and old.objective_ == new.objective_
    yb = (y > np.median(y)).astype(int)
    with pytest.warns(FutureWarning, match="loss='logistic' was deprecated"):
        old = ConvexReLUClassifier(loss="logistic", **kw).fit(X, yb)
    new = ConvexReLUClassifier(loss="log_loss", **kw).fit(X, yb)
    assert old.objective_ == new.objective_
    np.testing.assert_array_equal(old.predict_proba(X), new.predict_proba(X))
    with pytest.raises(ValueError, match="solver"):
        ConvexReLURegressor(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="loss"):
        ConvexReLUClassifier(loss="hinge").fit(X, yb)


# ---------------------------------------------------------------------------
# the "auto" policy: one place
# ---------------------------------------------------------------------------


def test_auto_policy_threshold():
    size = _solve.AUTO_CVXPY_SIZE
    assert _solve._resolve_auto("auto", 10, size // 10) == "cvxpy"
    assert _solve._resolve_auto("auto", 10, size // 10 + 1) == "fast"
    assert _solve._resolve_auto("fast", 1, 1) == "fast"
    assert _solve._resolve_auto("cvxpy", 10, 10 * size) == "cvxpy"
    X, y = _data(10, 2)
    D = enumerate_patterns(X)
    assert X.shape[0] * D.shape[1] <= size
    assert solve_convex_relu(X, y, ALPHA, D, method="auto").method == "cvxpy"


def test_solve_certify_and_estimators_share_the_auto_policy(monkeypatch):
    # one threshold moved: every "auto" user follows
    X, y = _data(8, 2, seed=4)
    D = enumerate_patterns(X)  # 57 patterns: n · P = 456 ≤ AUTO_CVXPY_SIZE
    U, a = _gd(X, y, ALPHA, m=6, steps=200)
    assert solve_convex_relu(X, y, ALPHA, D, method="auto").method == "cvxpy"
    assert ConvexReLURegressor(alpha=ALPHA).fit(X, y).solver_ == "cvxpy"
    monkeypatch.setattr(_solve, "AUTO_CVXPY_SIZE", 0)
    assert solve_convex_relu(X, y, ALPHA, D, method="auto").method == "fast"
    assert ConvexReLURegressor(alpha=ALPHA).fit(X, y).solver_ == "fast"
    methods = []
    solve = _solve.solve_convex_relu

    def spy(*args, **kwargs):
        methods.append(kwargs["method"])
        return solve(*args, **kwargs)

    monkeypatch.setattr(_solve, "solve_convex_relu", spy)
    certify(X, y, U, a, ALPHA)
    assert methods == ["fast"]


# ---------------------------------------------------------------------------
# verbose
# ---------------------------------------------------------------------------


def test_verbose_prints_one_line_per_iteration_and_stage(capsys):
    X, y = _data(20, 2, seed=5)
    D = sample_patterns(X, 10, random_state=0)
    quiet = solve_convex_relu(X, y, ALPHA, D)
    assert capsys.readouterr().out == ""
    loud = solve_convex_relu(X, y, ALPHA, D, verbose=True)
    assert loud.objective == quiet.objective  # printing changes nothing
    lines = capsys.readouterr().out.splitlines()
    iters = [ln for ln in lines if ln.startswith("[interior-point] iter ")]
    assert len(iters) == loud.n_iter
    for ln in iters:
        assert "objective" in ln and "lower bound" in ln and "gap" in ln and ln.endswith(" s)")
    assert lines[-1].startswith("[done] fast (interior-point): objective")
    solve_convex_relu(X, y, ALPHA, D, method="cvxpy", verbose=True)
    assert capsys.readouterr().out.startswith("[done] cvxpy")


def test_verbose_reports_the_fallback_stages(capsys):
    # the first-order and working-set path (no interior-point stage)
    X, y = _data(30, 3, seed=6)
    D = sample_patterns(X, 15, random_state=0)
    sol = _fast_stages(X, y, ALPHA, D, verbose=True, ipm_max_iter=0)
    out = capsys.readouterr().out
    assert sol.converged
    for stage in ("[first-order] iter ", "[working-set] ", "[candidate] "):
        assert stage in out


def test_progress_is_logged_without_verbose(caplog, capsys):
    X, y = _data(20, 2, seed=5)
    D = sample_patterns(X, 10, random_state=0)
    with caplog.at_level(logging.DEBUG, logger="cvxdual.convex_relu"):
        solve_convex_relu(X, y, ALPHA, D)
    assert capsys.readouterr().out == ""
    assert any(r.getMessage().startswith("[interior-point] iter 1:") for r in caplog.records)
