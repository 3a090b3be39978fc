"""The Lipschitz-margin head against its CVXPY definition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from cvxdual.exceptions import SolverError
from cvxdual.heads import HeadSolution, NormBoundedHead
from cvxdual.heads._margin import LipschitzMarginHead
from cvxdual.sets import L1Ball, L2Ball
from cvxdual.verify import finite_difference


def _data(loss, n=60, d=5, K=3, seed=0):
    rng = np.random.default_rng(seed)
    Phi = rng.normal(size=(n, d))
    if loss == "multinomial":
        y = np.argmax(Phi[:, :K] + 0.7 * rng.normal(size=(n, K)), axis=1)
    else:
        y = np.where(Phi[:, 0] - Phi[:, 1] + 0.7 * rng.normal(size=n) > 0, 1.0, -1.0)
    return Phi, y


def _objective(loss, margin, Phi, y, W, b, weights=None):
    """The margin log-loss written out directly (not through the head's code)."""
    n = len(Phi)
    weights = np.full(n, 1 / n) if weights is None else weights / weights.sum()
    z = Phi @ W + b
    if loss in ("logistic", "log_loss"):
        return float(weights @ np.logaddexp(0, -y * z[:, 0] + margin * np.linalg.norm(W)))
    labels = y.astype(int)
    gaps = np.linalg.norm(W[:, labels][:, :, None] - W[:, None, :], axis=0)  # (n, K)
    return float(weights @ (logsumexp(z + margin * gaps, axis=1) - z[np.arange(n), labels]))


def _centred(W):
    # The multinomial margin loss is invariant to adding one vector to every
    # column; only a binding norm bound fixes that component.
    return W - W.mean(axis=1, keepdims=True)


CASES = [
    ("multinomial", 0.3, 1.0),  # binding bound
    ("multinomial", 0.3, 50.0),  # bound not binding
    ("multinomial", 0.0, 1.0),
    ("log_loss", 0.3, 1.0),
    ("log_loss", 0.5, 50.0),
]


@pytest.mark.parametrize(("loss", "margin", "radius"), CASES)
def test_fast_solver_matches_cvxpy(loss, margin, radius, solver):
    Phi, y = _data(loss)
    fast = LipschitzMarginHead(loss, margin, L2Ball(radius), solver="fast").solve(Phi, y)
    exact = LipschitzMarginHead(loss, margin, L2Ball(radius), solver=solver).solve(Phi, y)
    assert fast.method == "lbfgs-margin-l2" and exact.method == "cvxpy"
    assert exact.solver == solver
    # the objective is the definition's, at the returned weights
    assert fast.objective == pytest.approx(
        _objective(loss, margin, Phi, y, fast.coef, fast.intercept), abs=1e-12
    )
    assert fast.objective == pytest.approx(exact.objective, abs=1e-7)
    np.testing.assert_allclose(fast.sample_duals, exact.sample_duals, atol=1e-6)
    assert fast.duals["norm"] == pytest.approx(exact.duals["norm"], abs=1e-6)
    coef, ref = fast.coef, exact.coef
    if loss == "multinomial" and exact.duals["norm"] < 1e-6:
        coef, ref = _centred(coef), _centred(ref)
    np.testing.assert_allclose(coef, ref, atol=2e-5)
    # KKT: stationarity in z gives the sample duals, and the norm dual is >= 0
    assert exact.duals["norm"] >= -1e-8
    if exact.duals["norm"] > 1e-6:
        assert np.linalg.norm(fast.coef) == pytest.approx(radius, rel=1e-9)


def test_sample_weights_and_no_constraint(solver):
    Phi, y = _data("multinomial", seed=1)
    weights = np.random.default_rng(1).uniform(0.2, 2.0, size=len(y))
    fast = LipschitzMarginHead("multinomial", 0.4, L2Ball(2.0)).solve(Phi, y, weights)
    exact = LipschitzMarginHead("multinomial", 0.4, L2Ball(2.0), solver=solver).solve(
        Phi, y, weights
    )
    assert fast.objective == pytest.approx(exact.objective, abs=1e-7)
    assert fast.objective == pytest.approx(
        _objective("multinomial", 0.4, Phi, y, fast.coef, fast.intercept, weights), abs=1e-12
    )
    np.testing.assert_allclose(fast.sample_duals, exact.sample_duals, atol=1e-6)
    # Unbounded head on non-separable data: the margin alone keeps W finite.
    free = LipschitzMarginHead("log_loss", 0.3).solve(*_data("log_loss", seed=2))
    ref = LipschitzMarginHead("log_loss", 0.3, solver=solver).solve(*_data("log_loss", seed=2))
    assert free.method == "lbfgs-margin" and free.duals == {} == ref.duals
    assert free.objective == pytest.approx(ref.objective, abs=1e-7)
    np.testing.assert_allclose(free.coef, ref.coef, atol=5e-5)


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_zero_margin_is_the_plain_head(loss):
    Phi, y = _data(loss, seed=3)
    margin = LipschitzMarginHead(loss, 0.0, L2Ball(1.0)).solve(Phi, y)
    plain = NormBoundedHead(loss, L2Ball(1.0)).solve(Phi, y)
    assert margin.objective == pytest.approx(plain.objective, abs=1e-10)
    np.testing.assert_allclose(margin.coef, plain.coef, atol=1e-6)
    np.testing.assert_allclose(margin.sample_duals, plain.sample_duals, atol=1e-8)


@pytest.mark.parametrize("loss", ["log_loss", "multinomial"])
def test_feature_gradient_is_the_envelope_gradient(loss):
    Phi, y = _data(loss, n=12, d=3, seed=4)
    head = LipschitzMarginHead(loss, 0.3, L2Ball(1.0))
    solution = head.solve(Phi, y)
    assert solution.method == "lbfgs-margin-l2"

    def value(P):
        return head.solve(P, y, warm_start=solution).objective

    numeric = finite_difference(value, Phi, step=1e-5)
    np.testing.assert_allclose(solution.feature_gradient(), numeric, atol=1e-7)


def test_warm_start_and_compiled_once(solver):
    Phi, y = _data("multinomial", seed=5)
    head = LipschitzMarginHead("multinomial", 0.3, L2Ball(1.0), solver=solver)
    first = head.solve(Phi, y)
    problem = head.compiled(*Phi.shape, 3)
    moved = Phi + 0.05 * np.random.default_rng(5).normal(size=Phi.shape)
    again = head.solve(moved, y)
    assert head.compiled(*Phi.shape, 3) is problem  # re-solved, not rebuilt
    fresh = LipschitzMarginHead("multinomial", 0.3, L2Ball(1.0), solver=solver).solve(moved, y)
    assert again.objective == pytest.approx(fresh.objective, abs=1e-8)
    warm = LipschitzMarginHead("multinomial", 0.3, L2Ball(1.0)).solve(moved, y, warm_start=first)
    assert warm.objective == pytest.approx(fresh.objective, abs=1e-7)


@pytest.mark.parametrize(("margin", "radius"), [(0.3, 1.0), (0.3, 50.0), (0.0, 1.0)])
def test_warm_multiclass_solves_are_preconditioned_and_exact(margin, radius, solver):
    # A training loop's solves: features drift, each solve warm-starts from the last
    # (preconditioned L-BFGS, its factor reused while it stays good); each answer is
    # the CVXPY definition's, binding or not.
    Phi, y = _data("multinomial", n=80, d=6, K=4, seed=11)
    rng = np.random.default_rng(11)
    head = LipschitzMarginHead("multinomial", margin, L2Ball(radius))
    reference = LipschitzMarginHead("multinomial", margin, L2Ball(radius), solver=solver)
    warm = head.solve(Phi, y)
    assert warm._curvature is None  # (a cold solve runs plain L-BFGS)
    for _ in range(3):
        Phi = Phi + 0.03 * rng.normal(size=Phi.shape)
        fast = head.solve(Phi, y, warm_start=warm)
        exact = reference.solve(Phi, y)
        assert fast.method == "lbfgs-margin-l2" and fast._curvature is not None
        assert fast.objective == pytest.approx(exact.objective, abs=1e-7)
        assert fast.objective == pytest.approx(
            _objective("multinomial", margin, Phi, y, fast.coef, fast.intercept), abs=1e-12
        )
        np.testing.assert_allclose(fast.sample_duals, exact.sample_duals, atol=1e-6)
        assert fast.duals["norm"] == pytest.approx(exact.duals["norm"], abs=1e-6)
        if exact.duals["norm"] > 1e-6:
            np.testing.assert_allclose(fast.coef, exact.coef, atol=2e-5)
            assert np.linalg.norm(fast.coef) == pytest.approx(radius, rel=1e-9)
        else:
            np.testing.assert_allclose(_centred(fast.coef), _centred(exact.coef), atol=2e-5)
        warm = fast


def test_without_a_preconditioner_the_plain_runs_certify(monkeypatch):
    import cvxdual.heads._margin as margin_module

    Phi, y = _data("multinomial", seed=12)
    head = LipschitzMarginHead("multinomial", 0.3, L2Ball(1.0))
    first = head.solve(Phi, y)
    moved = Phi + 0.05 * np.random.default_rng(12).normal(size=Phi.shape)
    preconditioned = head.solve(moved, y, warm_start=first)
    monkeypatch.setattr(margin_module, "_preconditioner", lambda *args: None)
    plain = head.solve(moved, y, warm_start=first)
    assert plain._curvature is None and preconditioned._curvature is not None
    assert plain.objective == pytest.approx(preconditioned.objective, abs=1e-9)
    np.testing.assert_allclose(plain.coef, preconditioned.coef, atol=1e-6)


@pytest.mark.parametrize("size", [1.0, 1000.0])
def test_the_objective_with_scores_inside_and_beyond_the_unshifted_range(size):
    from scipy.special import softmax

    from cvxdual.heads._margin import _MarginObjective

    Phi, y = _data("multinomial", n=30, d=4, K=3, seed=14)
    rng = np.random.default_rng(14)
    W, b = size * rng.normal(size=(4, 3)), rng.normal(size=3)
    w = np.full(30, 1 / 30)
    f = _MarginObjective("multinomial", 0.4, Phi, np.eye(3)[y], w, True)
    value, _, gb, nu, smooth = f.evaluate(W, b)
    assert smooth and value == pytest.approx(_objective("multinomial", 0.4, Phi, y, W, b),
                                             rel=1e-12)
    gaps = np.linalg.norm(W[:, y][:, :, None] - W[:, None, :], axis=0)
    u = Phi @ W + b + 0.4 * gaps
    assert (np.abs(u).max() > 300) == (size > 1)
    np.testing.assert_allclose(nu, w[:, None] * (softmax(u, axis=1) - np.eye(3)[y]),
                               rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(gb, nu.sum(axis=0), atol=1e-15)


@pytest.mark.parametrize("radius", [None, 2.0])
def test_the_preconditioner_is_the_hessian_in_the_solver_coordinates(radius):
    # Without a margin, L Lᵀ is the multinomial Hessian (+ μ on W, + the gauge term,
    # which vanishes on directions centred over the classes), in the solver's order
    # of coordinates and, with a radius, scaled to the sphere W = r V.
    from cvxdual.heads._margin import _MarginObjective, _preconditioner

    Phi, y = _data("multinomial", n=40, d=4, K=3, seed=13)
    K, d, mu = 3, 4, 0.7
    f = _MarginObjective("multinomial", 0.0, Phi, np.eye(K)[y], np.full(40, 1 / 40), True)
    rng = np.random.default_rng(13)
    W, b = rng.normal(size=(d, K)), rng.normal(size=K)
    L, Linv, order = _preconditioner(f, W, b, radius, mu)
    np.testing.assert_allclose(Linv @ L, np.eye(L.shape[0]), atol=1e-4)
    x0 = np.concatenate([W.ravel(), b])

    def gradient(x):
        _, gW, gb, _, _ = f.evaluate(x[: d * K].reshape(d, K), x[d * K :])
        return np.concatenate([gW.ravel(), gb])

    scale = np.ones(x0.size)
    if radius is not None:
        scale[: d * K] = radius  # (derivatives in V, W = r V)
    for _ in range(4):
        v = rng.normal(size=(d + 1, K))
        v -= v.mean(axis=1, keepdims=True)  # (centred over the classes: no gauge part)
        v = np.concatenate([v[:d].ravel(), v[d]])
        eps = 1e-6
        Hv = (gradient(x0 + eps * scale * v) - gradient(x0 - eps * scale * v)) / (2 * eps)
        expected = float((scale * v) @ Hv) + mu * float(np.sum((scale * v)[: d * K] ** 2))
        u = L.T @ v[order]  # (v in the preconditioner's class-major rows)
        assert float(u @ u) == pytest.approx(expected, rel=1e-4)


def _critical_margin(Phi, y, weights, fit_intercept):
    """The smallest margin at which W = 0 is optimal, by its own CVXPY problem.

    At W = 0 (b optimal) the objective's directional derivative is
    ⟨G, D⟩ + c Σ_{k<j} κ_kj ‖D_k − D_j‖ (κ for c = 1): W = 0 is optimal iff
    c >= t*, the least congestion of a flow with divergence −G.
    """
    import cvxpy as cp

    K = int(y.max()) + 1
    Y = np.eye(K)[y.astype(int)]
    pi = weights @ Y
    p = pi if fit_intercept else np.full(K, 1.0 / K)
    G = Phi.T @ (weights[:, None] * (p - Y))
    kappa = np.outer(pi, p) + np.outer(p, pi)
    pairs = [(k, j) for k in range(K) for j in range(k + 1, K)]
    F, t = cp.Variable((Phi.shape[1], len(pairs))), cp.Variable()
    divergence = [sum((F[:, e] if a == k else -F[:, e]) for e, (a, b) in enumerate(pairs)
                      if k in (a, b)) for k in range(K)]
    cp.Problem(cp.Minimize(t), [*(divergence[k] == -G[:, k] for k in range(K)),
                                *(cp.norm(F[:, e]) <= t * kappa[a, b]
                                  for e, (a, b) in enumerate(pairs))]).solve()
    return float(t.value)


@pytest.mark.parametrize("loss", ["multinomial", "log_loss"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("radius", [1.0, None])
def test_a_margin_that_merges_every_class_gives_the_certified_trivial_head(
    loss, fit_intercept, radius, solver
):
    # A margin this large makes every column equal at the optimum (W = 0, b the
    # log class shares), where the objective is not differentiable: the merged
    # answer is certified (a flow within the pair capacities) instead of
    # solving the CVXPY problem, and equals it.
    Phi, y = _data(loss, seed=6)
    weights = np.random.default_rng(6).uniform(0.2, 2.0, size=len(y))
    constraint = None if radius is None else L2Ball(radius)
    kwargs = dict(fit_intercept=fit_intercept)
    fast = LipschitzMarginHead(loss, 20.0, constraint, solver="fast", **kwargs).solve(
        Phi, y, weights)
    exact = LipschitzMarginHead(loss, 20.0, constraint, solver=solver, **kwargs).solve(
        Phi, y, weights)
    assert fast.method == "merged-margin" + ("" if radius is None else "-l2")
    assert exact.method == "cvxpy"
    assert not np.any(fast.coef)
    assert fast.objective == pytest.approx(
        _objective(loss, 20.0, Phi, y, fast.coef, fast.intercept, weights), abs=1e-12)
    assert fast.objective == pytest.approx(exact.objective, abs=1e-7)
    np.testing.assert_allclose(fast.sample_duals, exact.sample_duals, atol=1e-6)
    assert fast.duals == ({} if radius is None else {"norm": 0.0})
    if radius is not None:
        assert exact.duals["norm"] == pytest.approx(0.0, abs=1e-6)
    coef, ref = fast.coef, exact.coef
    intercept, ref_intercept = fast.intercept, exact.intercept
    if loss == "multinomial":
        coef, ref = _centred(coef), _centred(ref)
        intercept = intercept - intercept.mean()
        ref_intercept = ref_intercept - ref_intercept.mean()
    np.testing.assert_allclose(coef, ref, atol=1e-5)
    np.testing.assert_allclose(intercept, ref_intercept, atol=1e-5)
    assert not np.any(fast.feature_gradient())  # ν Wᵀ with W = 0


@pytest.mark.parametrize("loss", ["multinomial", "log_loss"])
def test_the_merged_answer_starts_at_the_critical_margin(loss):
    # Just above the smallest margin that merges the classes the certificate
    # holds; just below it W = 0 is not optimal, and the answer (fast or CVXPY)
    # has distinct columns with a lower objective than the merged point's.
    Phi, y = _data(loss, seed=8)
    weights = np.full(len(y), 1.0 / len(y))
    if loss == "multinomial":
        critical = _critical_margin(Phi, y, weights, fit_intercept=True)
    else:  # closed form: ‖Φᵀν‖ / Σ w_i σ_i at w = 0, b = log(π₊ / π₋)
        share = float(np.mean(y > 0))
        sigma = weights * np.where(y > 0, 1.0 - share, share)
        critical = float(np.linalg.norm(Phi.T @ (y * sigma)) / sigma.sum())
    above = LipschitzMarginHead(loss, 1.001 * critical, L2Ball(10.0)).solve(Phi, y)
    assert above.method == "merged-margin-l2"
    exact = LipschitzMarginHead(loss, 1.001 * critical, L2Ball(10.0), solver="cvxpy").solve(
        Phi, y)
    assert above.objective == pytest.approx(exact.objective, abs=1e-7)
    below = LipschitzMarginHead(loss, 0.99 * critical, L2Ball(10.0)).solve(Phi, y)
    assert not below.method.startswith("merged")
    spread = _centred(below.coef) if loss == "multinomial" else below.coef
    assert np.linalg.norm(spread) > 1e-3
    merged = _objective(loss, 0.99 * critical, Phi, y, np.zeros_like(below.coef),
                        above.intercept, weights)
    assert below.objective < merged - 1e-9


def _shared_rows():
    # Classes 0 and 1 share their rows: their columns coincide at the optimum
    # (a kink of the margin) while class 2's does not.
    rng = np.random.default_rng(10)
    shared, other = rng.normal(size=(20, 4)), rng.normal(size=(20, 4)) + np.array([2.5, 0, 0, 0])
    return np.vstack([shared, shared, other]), np.repeat([0, 1, 2], 20)


@pytest.mark.parametrize(("margin", "radius"), [(0.3, 3.0), (1.0, 3.0), (0.3, None)])
def test_a_partial_merge_is_solved_on_its_clusters_and_certified(margin, radius, solver):
    # The smooth solver stops at the kink; the clusters it shows are solved as
    # shared columns and each cluster's split certificate is checked.
    Phi, y = _shared_rows()
    constraint = None if radius is None else L2Ball(radius)
    fast = LipschitzMarginHead("multinomial", margin, constraint, solver="fast").solve(Phi, y)
    exact = LipschitzMarginHead("multinomial", margin, constraint, solver=solver).solve(Phi, y)
    assert fast.method == "clustered-margin" + ("" if radius is None else "-l2")
    assert np.array_equal(fast.coef[:, 0], fast.coef[:, 1])
    assert np.linalg.norm(fast.coef[:, 0] - fast.coef[:, 2]) > 0.1
    assert fast.objective == pytest.approx(
        _objective("multinomial", margin, Phi, y, fast.coef, fast.intercept), abs=1e-12)
    assert fast.objective == pytest.approx(exact.objective, abs=1e-7)
    np.testing.assert_allclose(fast.sample_duals, exact.sample_duals, atol=1e-6)
    np.testing.assert_allclose(_centred(fast.coef), _centred(exact.coef), atol=5e-5)
    if radius is not None:
        assert fast.duals["norm"] == pytest.approx(exact.duals["norm"], abs=1e-6)
        assert fast.duals["norm"] >= 0


def test_an_uncertified_kink_falls_back_to_cvxpy(monkeypatch):
    # Without the kink solvers the smooth solver cannot certify a partial
    # merge: "fast" raises, "auto" solves the CVXPY problem.
    import cvxdual.heads._margin as margin_module

    monkeypatch.setattr(margin_module, "_clustered_solution", lambda *args: None)
    Phi, y = _shared_rows()
    solution = LipschitzMarginHead("multinomial", 0.3, L2Ball(3.0)).solve(Phi, y)
    assert solution.method == "cvxpy"
    assert np.linalg.norm(solution.coef[:, 0] - solution.coef[:, 1]) < 1e-6
    with pytest.raises(SolverError, match="could not certify"):
        LipschitzMarginHead("multinomial", 0.3, L2Ball(3.0), solver="fast").solve(Phi, y)


def test_a_wrong_cluster_is_not_certified():
    # Columns that the optimum keeps apart, handed over as one cluster: the
    # reduced problem solves, but the split certificate must fail.
    from cvxdual.heads._margin import _LBFGS_CONFIG, _MarginObjective
    from cvxdual.heads._margin_kinks import _clustered_solution

    Phi, y = _data("multinomial", seed=11)
    right = LipschitzMarginHead("multinomial", 0.3, L2Ball(1.0)).solve(Phi, y)
    assert right.method == "lbfgs-margin-l2"
    W0 = right.coef.copy()
    W0[:, 1] = W0[:, 0]  # classes 0 and 1 forced together
    Y = np.eye(3)[y]
    w = np.full(len(y), 1.0 / len(y))
    f = _MarginObjective("multinomial", 0.3, Phi, Y, w, True)
    assert _clustered_solution(f, f, np.zeros(Phi.shape[1]), W0, right.intercept, 1.0, True,
                               _LBFGS_CONFIG) is None


def test_no_merged_answer_for_an_absent_class():
    # b_j = log 0 for a class no sample has: the merged point is not attained.
    from cvxdual.heads._margin import _merged_solution

    Phi, y = _data("multinomial", seed=9)
    Y = np.eye(4)[y]  # a fourth class, never seen
    w = np.full(len(y), 1.0 / len(y))
    assert _merged_solution(True, 20.0, Phi, Y, w, True, True) is None
    assert _merged_solution(True, 20.0, Phi, Y[:, :3], w, True, True) is not None


def test_other_constraints_use_cvxpy():
    Phi, y = _data("multinomial", seed=7)
    head = LipschitzMarginHead("multinomial", 0.2, L1Ball(1.0))
    assert not head.has_fast_solver
    solution = head.solve(Phi, y)
    assert solution.method == "cvxpy" and set(solution.duals) == {"norm"}
    assert isinstance(solution, HeadSolution)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": "squared", "margin": 0.1}, "loss must be one of"),
        ({"loss": "multinomial", "margin": -1.0}, "margin must be a finite number >= 0"),
        ({"loss": "multinomial", "margin": np.inf}, "margin must be a finite number >= 0"),
        ({"loss": "multinomial", "margin": 0.1, "constraint": "ball"}, "ConvexSet"),
        (
            {"loss": "multinomial", "margin": 0.1, "constraint": L1Ball(1.0), "solver": "fast"},
            "solver='fast' needs",
        ),
    ],
)
def test_invalid_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LipschitzMarginHead(**kwargs)


def test_invalid_data():
    head = LipschitzMarginHead("multinomial", 0.1)
    with pytest.raises(ValueError, match="features must be"):
        head.solve(np.array([1.0, 2.0]), [0, 1])
    with pytest.raises(ValueError, match="sample_weight"):
        head.solve(np.eye(2), [0, 1], sample_weight=[-1.0, 1.0])
    with pytest.raises(ValueError, match="samples"):
        head.solve(np.eye(2), [0, 1, 1])


@pytest.mark.parametrize(("demand", "feasible"), [(1.0, True), (1.005, True), (1.02, False)])
def test_the_flow_certificate_finds_a_flow_or_proves_there_is_none(demand, feasible):
    # Three classes, pair capacities 1 (0-1, 1-2) and 0.01 (0-2): a demand from
    # 0 to 2 is feasible up to 1.01. The electric flow alone sends 2 % of it
    # over the thin pair (twice its capacity); the reweighting moves it off.
    from cvxdual.heads._margin_kinks import _flow_within

    kappa = np.array([[0.0, 1.0, 0.01], [1.0, 0.0, 1.0], [0.01, 1.0, 0.0]])
    direction = np.array([0.6, 0.8])
    G = np.outer(direction, [demand, 0.0, -demand])  # (d, K): −G is the divergence
    assert _flow_within(G, kappa) is feasible
    assert _flow_within(-G, kappa) is feasible  # (the other way round)


@pytest.mark.parametrize("seed", [*range(10), 16, 28, 52, 54])
def test_random_margins_agree_with_cvxpy_at_and_away_from_kinks(seed):
    # Margins from small to merging, classes with shared centres: whatever the
    # fast path answers (smooth, merged, clustered: seeds 6, 16, 28, 52, 54; at
    # seed 6 the smooth solver stops where two of the three merging columns meet,
    # and the clusters are read again) is the CVXPY solution.
    rng = np.random.default_rng(seed)
    n, d, K = int(rng.integers(30, 60)), int(rng.integers(2, 5)), int(rng.integers(3, 5))
    centres = rng.normal(size=(K, d)) * rng.uniform(0.2, 2.0)
    centres[1] = centres[0] if seed % 2 == 0 else centres[1]
    y = rng.integers(0, K, size=n)
    y[:K] = np.arange(K)
    Phi = rng.normal(size=(n, d)) + centres[y]
    margin = float(10 ** rng.uniform(-1.5, 1.0))
    constraint = L2Ball([1.0, 5.0][seed % 2])
    fast = LipschitzMarginHead("multinomial", margin, constraint).solve(Phi, y)
    exact = LipschitzMarginHead("multinomial", margin, constraint, solver="cvxpy").solve(Phi, y)
    assert fast.method != "cvxpy"
    assert fast.objective == pytest.approx(exact.objective, abs=1e-6)
    np.testing.assert_allclose(fast.sample_duals, exact.sample_duals, atol=1e-5)
    assert fast.duals["norm"] == pytest.approx(exact.duals["norm"], abs=1e-5)
