"""The BLAS thread handling of fit: SciPy's pool serial inside, the user's settings restored."""

from __future__ import annotations

import contextlib
import os
import threading

import numpy as np
import pytest
import scipy.linalg  # noqa: F401 - loads SciPy's BLAS, so there is a second pool
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info, threadpool_limits

import cvxdual._threads as threads
from cvxdual.estimators import (
    ConstrainedMLPClassifier,
    ConvexReLURegressor,
    NormBoundedLinearClassifier,
)
from cvxdual.exceptions import SolverError
from cvxdual.heads import NormBoundedHead
from cvxdual.network import init_params
from cvxdual.sets import L2Ball, SpectralBall
from cvxdual.training import train

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _threads():
    return {(p["filepath"], p["user_api"]): p["num_threads"] for p in threadpool_info()}


def _limited(numpy=True):
    """The pools a fit on small data limits (SciPy's, when it has its own library; NumPy's)."""
    scopes = [threads._foreign, threads._numpy] if numpy else [threads._foreign]
    return {c.filepath for s in scopes for c in s.controller().lib_controllers}


@pytest.fixture
def data():
    X, y = load_digits(n_class=3, return_X_y=True)
    return X[:120] / 16.0, y[:120]


class _RecordingHead:
    """A head that records the BLAS thread counts seen during its solves; can fail."""

    def __init__(self, fail=False):
        self.head, self.fail, self.seen = NormBoundedHead("multinomial", L2Ball(2.0)), fail, []

    def solve(self, features, y, sample_weight=None, warm_start=None):
        self.seen.append(_threads())
        if self.fail and len(self.seen) > 1:
            raise SolverError("test failure")
        return self.head.solve(features, y, sample_weight=sample_weight, warm_start=warm_start)


def test_only_the_foreign_pools_are_serial_inside_and_restored_after(data):
    X, y = data
    before = _threads()
    head = _RecordingHead()
    coefs, intercepts = init_params([64, 8], random_state=0)
    train(X, y, coefs, intercepts, head, max_iter=2)
    assert _threads() == before
    for seen in head.seen:
        for (path, api), n in seen.items():
            assert n == (1 if path in _limited() else before[path, api])
    # NumPy keeps its pool
    numpy_dir = os.path.dirname(os.path.realpath(np.__file__))
    assert _limited(numpy=False)
    assert not any(
        os.path.realpath(path).startswith(numpy_dir) for path in _limited(numpy=False)
    )


def test_numpy_keeps_its_threads_on_large_data(monkeypatch):
    monkeypatch.setattr(threads, "NUMPY_SERIAL_BELOW", 10)
    monkeypatch.setattr(threads, "_n_cores", lambda: threads.NUMPY_THREADS_MIN_CORES)
    X = np.zeros((4, 5))
    seen = []
    threads.limit_competing_blas(lambda X: seen.append(_threads()))(X)
    for (path, api), n in seen[0].items():
        assert n == (1 if path in _limited(numpy=False) else _threads()[path, api])
    # ... but not on a machine with few cores
    monkeypatch.setattr(threads, "_n_cores", lambda: 2)
    threads.limit_competing_blas(lambda X: seen.append(_threads()))(X)
    assert all(seen[1][k] == 1 for k in seen[1] if k[0] in _limited())


def test_settings_restored_when_fit_raises(data):
    X, y = data
    before = _threads()
    coefs, intercepts = init_params([64, 8], random_state=0)
    with pytest.raises(SolverError, match="test failure"):
        train(X, y, coefs, intercepts, _RecordingHead(fail=True), max_iter=2)
    assert _threads() == before
    with pytest.raises(ValueError):
        NormBoundedLinearClassifier(radius=1.0).fit(X, np.zeros(len(X)))  # one class
    assert _threads() == before


def test_user_limits_are_kept(data):
    X, y = data
    with threadpool_limits(limits=1):
        inside = _threads()
        NormBoundedLinearClassifier(radius=1.0).fit(X, y)
        assert _threads() == inside
    with threadpool_limits(limits=1, user_api="blas"):
        inside = _threads()
        ConvexReLURegressor(alpha=1e-2, n_patterns=10, random_state=0).fit(X[:40], y[:40])
        assert _threads() == inside


def test_estimators_limit_inside_fit(data, monkeypatch):
    X, y = data
    seen = []
    solve = NormBoundedHead.solve

    def recording(self, *args, **kwargs):
        seen.append(_threads())
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(NormBoundedHead, "solve", recording)
    NormBoundedLinearClassifier(radius=1.0).fit(X, y)
    ConstrainedMLPClassifier((8,), max_iter=1, random_state=0).fit(X, y)
    assert len(seen) == 1 + 2
    for record in seen:
        assert all(n == 1 for (path, _), n in record.items() if path in _limited())


def test_nested_contexts_restore_once_the_last_one_leaves_and_threads_leave_it_alone():
    before = _threads()
    seen = []

    def worker():
        with threads.serial_blas(numpy=True):
            seen.append(_threads())

    with threads.serial_blas():
        with threads.serial_blas(numpy=True):
            inner = _threads()
        limited = _threads()
        assert all(limited[k] == 1 for k in limited if k[0] in _limited(numpy=False))
    assert _threads() == before
    assert all(inner[k] == 1 for k in inner if k[0] in _limited())
    # OpenBLAS ignores raising thread counts from other threads: they change nothing
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before]
    assert _threads() == before


@pytest.mark.parametrize("fit", ["linear", "mlp"])
def test_results_do_not_depend_on_the_thread_limit(data, monkeypatch, fit):
    X, y = data

    def run():
        if fit == "linear":
            model = NormBoundedLinearClassifier(radius=1.0).fit(X, y)
            return [model.coef_, model.intercept_, model.sample_duals_, model.duals_["norm"]]
        model = ConstrainedMLPClassifier(
            (16,), layer_constraints=SpectralBall(1.0), head_radius=2.0, max_iter=3,
            random_state=0,
        ).fit(X, y)  # fmt: skip
        return [*model.coefs_, model.head_coef_, model.duals_["head"]["norm"]]

    limited = run()
    monkeypatch.setattr(threads, "serial_blas", lambda numpy=False: contextlib.nullcontext())
    unlimited = run()
    for a, b in zip(limited, unlimited, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("n", [64, 200])
def test_large_spectral_projections_run_lapack_serial_and_restore(n, monkeypatch):
    # Outside a fit, a spectral projection of a large matrix runs SciPy's LAPACK
    # calls on one thread (NumPy's pool, spinning from the Gram product, would fight
    # a threaded one); a small one leaves the settings alone (the switch would cost
    # more than it saves). The settings are restored either way.
    import cvxdual._linalg as linalg
    from cvxdual import project

    seen = []
    eigenpairs = linalg._eigenpairs_above
    monkeypatch.setattr(linalg, "_eigenpairs_above",
                        lambda *a: seen.append(_threads()) or eigenpairs(*a))
    before = _threads()
    V = np.random.default_rng(0).normal(size=(n + 5, n))
    result = project(V, SpectralBall(2.0))
    assert _threads() == before
    assert len(seen) == 1
    for (path, api), count in seen[0].items():
        serial = n >= linalg._SERIAL_LAPACK_MIN and path in _limited(numpy=False)
        assert count == (1 if serial else before[path, api])
    U, s, Vt = np.linalg.svd(V, full_matrices=False)
    np.testing.assert_allclose(result.weights, (U * np.minimum(s, 2.0)) @ Vt, atol=1e-11)
