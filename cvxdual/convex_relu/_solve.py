"""The solve: input checks, the choice of method, :func:`solve_convex_relu` and
:func:`certify` (the certificate of any network, through a solve)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from .._solvers import check_solver
from .._validation import check_count, check_positive, check_sample_vector, check_samples
from ._certificate import Certificate, _Certifier, _relative_gap
from ._common import _augment, _check_labels, _get_loss, _renamed
from ._constants import (
    _MAX_ENUMERATED,
    AUTO_CVXPY_SIZE,
    CERTIFY_TOL,
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
)
from ._fast import _solve_fast
from ._network import _check_network, network_objective
from ._patterns import _check_patterns, _default_patterns, _unique_patterns
from ._program import ConvexReLUProgram, ConvexReLUSolution
from ._progress import _Progress

_METHODS = ("auto", "fast", "cvxpy")


def _check_method(method, *, name="method", stacklevel=2):
    """``method`` by its current name, one of ``_METHODS`` (``"fista"`` warns)."""
    method = _renamed(method, name, stacklevel=stacklevel + 1)
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"{name} must be one of {list(_METHODS)}, got {method!r}")
    return method


def _resolve_auto(method, n_samples, n_patterns):
    """The policy of ``"auto"``: ``"cvxpy"`` while ``n_samples * n_patterns`` is at most
    ``AUTO_CVXPY_SIZE`` (CVXPY + Clarabel is as fast there), else ``"fast"``; other
    methods are returned as they are."""
    if method != "auto":
        return method
    return "cvxpy" if n_samples * n_patterns <= AUTO_CVXPY_SIZE else "fast"


def solve_convex_relu(
    X,
    y,
    alpha: float,
    patterns,
    *,
    loss: str = "squared",
    fit_intercept: bool = True,
    method: str = "fast",
    solver: str | None = None,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    program: ConvexReLUProgram | None = None,
    verbose: bool = False,
) -> ConvexReLUSolution:
    """Solve the convex two-layer ReLU program over ``patterns``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Targets (``"squared"``) or labels in {−1, +1} (classification losses).
    alpha : float
        Weight decay, > 0.
    patterns : array-like of bool, shape (n_samples, P)
    loss : {"squared", "squared_hinge", "log_loss"}
        ``"logistic"`` is a deprecated alias of ``"log_loss"``.
    fit_intercept : bool
    method : {"fast", "cvxpy", "auto"}, default="fast"
        ``"cvxpy"`` solves :class:`ConvexReLUProgram` (the definition).
        ``"fast"`` is the fast solver (see Notes); it stops when the
        certified relative gap is ≤ ``tol`` and warns with a
        ``ConvergenceWarning`` when ``max_iter`` iterations do not get there.
        ``"auto"``: ``"cvxpy"`` when ``n_samples * n_patterns ≤ 1_000``
        (where it is as fast), else ``"fast"``. ``"fista"`` is a deprecated
        alias of ``"fast"``.
    solver : str, optional
        CVXPY solver (for ``"cvxpy"``, and for the working-set solves of
        ``"fast"``). With ``None`` or ``"CLARABEL"`` and the squared or squared
        hinge loss, ``"fast"`` builds its working-set problems in conic form and
        calls Clarabel directly (no CVXPY compilation); otherwise through CVXPY.
    max_iter : int
        Iteration budget of ``"fast"`` (interior-point iterations, at most
        100, then first-order iterations).
    tol : float
        Relative duality gap at which ``"fast"`` stops.
    program : ConvexReLUProgram, optional
        A program already built for these ``X`` and ``patterns`` (``"cvxpy"``).
    verbose : bool
        Print one line per iteration or stage event to stdout: the stage,
        objective, certified lower bound, relative gap and elapsed time. The
        same lines are logged at DEBUG level on the ``cvxdual.convex_relu``
        logger, with or without ``verbose``.

    Returns
    -------
    ConvexReLUSolution

    Notes
    -----
    The fast solver's first stage is a primal-dual interior-point method
    (Mehrotra predictor–corrector with Nesterov–Todd scaling) on the conic
    form: per neuron ``‖θ_c‖ ≤ τ_c`` (a second-order cone) and its ``n`` cone
    rows. It starts from a strictly feasible point (an interior point of
    every pattern's cone, found by a batched Newton method; neurons whose
    cone has no interior stay at zero), so the weights are always exactly
    cone-feasible. Each Newton system is block diagonal (one
    ``(d+1) × (d+1)`` block per neuron) plus the loss curvature, of rank at
    most ``n``; it is solved with the Woodbury identity (one ``n × n``
    Cholesky factorisation per iteration, ``O(n² P d)`` work) and a step of
    iterative refinement. Every iterate gets the cheap certificate (its
    multipliers ``z_L`` as μ); once that is within ``tol`` the exact one
    decides, on the sparsest version of the iterate (neurons below
    ``1e-3 … 1e-6`` of the largest set to zero) whose objective is no worse,
    since interior-point iterates have no exact zeros.

    If it does not (rounding trouble near the end, or cones without an
    interior that the optimum needs), the fallback stages run, counting on
    from the iterations used: a few hundred iterations of an augmented
    Lagrangian method on the cone constraints, each subproblem solved by
    FISTA with adaptive restart, backtracking and group soft-thresholding
    (the prox of ``alpha Σ ‖θ_i‖``). That iterate only says roughly which
    neurons and which cone rows matter: at the optimum most of the 2·P
    neurons are zero and most of the 2·P·n cone rows are slack. The program
    restricted to a *working set* of neurons and, for them, of cone rows is
    then solved exactly (Clarabel on the conic form, or CVXPY), and the
    working set is grown: cone rows the restricted solution violates are added
    (constraint generation: a relaxation whose solution is feasible is optimal
    for the restricted neurons), and so are the neurons whose dual constraint
    ``‖Π_K(−X̃ᵀ D_i ν)‖ ≤ alpha`` (exact cone projection, as in the
    certificate) is violated at its residual (column generation); neurons it
    leaves at zero are dropped. An answer is accepted only when the
    duality-gap certificate over *all* the patterns is ≤ ``tol``; otherwise
    the augmented Lagrangian iterations continue, and the working-set solve
    runs again at ``max_iter``. Since the gap bounds the suboptimality, the
    returned objective is within ``tol`` (relative) of the CVXPY optimum
    whenever ``converged``. The answer is never worse than the zero network
    (a candidate with a larger objective is replaced by ``θ = 0``, certified
    by the better of the two dual points), and when the first-order stage
    cannot find a step at any finite Lipschitz estimate (data whose products
    overflow) it stops at once, unconverged. The returned weights are exactly
    cone-feasible (each neuron projected onto its cone), so
    :func:`recover_network` gives a network with exactly ``objective``.
    ``duals["sample_duals"]`` is the ν of the certificate and
    ``duals["cone_v"]``/``["cone_w"]`` its multipliers: those of the
    interior-point iterate, or of the exact restricted solve on working-set
    rows (zero on the others, which are slack), replaced, for every neuron
    where that gives a tighter dual constraint, by the non-negative
    least-squares multipliers of the exact cone projection; so
    ``‖X̃ᵀ((2D_i − I) μ_i ∓ D_i ν)‖`` is at most ``alpha / dual_scale`` for
    every neuron.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import enumerate_patterns, solve_convex_relu
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0])
    >>> D = enumerate_patterns(X)
    >>> a = solve_convex_relu(X, y, 0.01, D, method="fast")
    >>> b = solve_convex_relu(X, y, 0.01, D, method="cvxpy")
    >>> round(a.objective, 6), round(b.objective, 6), a.converged
    (0.03288, 0.03288, True)
    >>> c = solve_convex_relu(X, y, 0.01, D, verbose=True)  # doctest: +ELLIPSIS
    [interior-point] iter 1: objective ...
    ...
    [done] fast (interior-point): objective 0.03288..., converged ...
    """
    X = check_samples(X)
    y = check_sample_vector(y, X.shape[0])
    alpha = check_positive(alpha, "alpha")
    loss_obj = _get_loss(loss)
    _check_labels(y, loss_obj)
    patterns = _check_patterns(patterns, X.shape[0])
    method = _check_method(method)
    max_iter = check_count(max_iter, "max_iter")
    tol = check_positive(tol, "tol")
    solver = check_solver(solver)
    if patterns.shape[1] == 0:
        raise ValueError("patterns must hold at least one (nonzero) pattern")
    method = _resolve_auto(method, X.shape[0], patterns.shape[1])
    progress = _Progress(verbose)
    if method == "cvxpy":
        if program is None:
            program = ConvexReLUProgram(X, patterns, loss=loss_obj, fit_intercept=fit_intercept)
        sol = program.solve(y, alpha, solver=solver)
    else:
        cert = _Certifier(_augment(X, fit_intercept), patterns, loss_obj, y, alpha)
        with threadpool_limits(limits=1, user_api="blas"):
            # small dense products: one BLAS thread is faster and does not oversubscribe
            sol = _solve_fast(cert, max_iter=max_iter, tol=tol, solver=solver,
                              progress=progress)
    if progress.enabled:
        progress.note("done", f"{sol.method} ({sol.solver}): objective {sol.objective:.10g}, "
                              f"lower bound {sol.lower_bound:.10g}, gap "
                              f"{sol.relative_gap:.3g}, converged {sol.converged}")
    if not sol.converged:
        warnings.warn(
            f"The fast convex ReLU solver stopped after {sol.n_iter} iterations "
            f"(max_iter={max_iter}) with relative duality gap {sol.relative_gap:.2e} > "
            f"tol={tol:.1e}; increase max_iter or use method='cvxpy'.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return sol


def certify(
    X,
    y,
    hidden_weights,
    output_weights,
    alpha: float,
    *,
    fit_intercept: bool = True,
    loss: str = "squared",
    patterns="auto",
    n_patterns: int = 100,
    dual: str = "solve",
    method: str = "auto",
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = CERTIFY_TOL,
    random_state=None,
) -> Certificate:
    """Certify a two-layer ReLU network: its objective, a lower bound and the gap.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    hidden_weights : array-like of shape (n_features + 1, m)
        ``U`` with the bias row last; shape ``(n_features, m)`` when
        ``fit_intercept=False``.
    output_weights : array-like of shape (m,)
        ``a`` (no output bias).
    alpha : float
        Weight decay of the objective (1/n) Σ ℓ + (alpha/2)(‖U‖²_F + ‖a‖²).
    fit_intercept : bool
    loss : {"squared", "squared_hinge", "log_loss"}
        ``"logistic"`` is a deprecated alias of ``"log_loss"``.
    patterns : "auto" or array-like of bool, shape (n_samples, P)
        ``"auto"``: every pattern when :func:`enumerate_patterns` can list them
        (``rank(X̃) ≤ 3``, or small n; the bound is then over all networks of any
        width), otherwise ``n_patterns`` sampled patterns;
        the network's own neurons' patterns are always added, so the bound holds
        for the given network.
    n_patterns : int
        Number of gates sampled when the patterns are not enumerated.
    dual : {"solve", "residual"}
        Where the dual point comes from: ``"solve"`` solves the convex program
        on the pattern set (fast solver) for the best bound; ``"residual"``
        uses the network's own residual ``ν = (1/n) ℓ'(ŷ)`` (cheap; tight only
        when the network is optimal).
    method : {"auto", "fast", "cvxpy"}
        Solver for ``dual="solve"`` (:func:`solve_convex_relu`); ``"auto"``
        uses ``"cvxpy"`` when ``n_samples * n_patterns ≤ 1_000``, else
        ``"fast"``. ``"fista"`` is a deprecated alias of ``"fast"``.
    max_iter, tol : int, float
        Passed to the fast solver. The default ``tol`` (1e-7) keeps the bound of
        an optimal network within 1e-7 (relative) of its objective.
    random_state : int, RandomState instance or None

    Returns
    -------
    Certificate

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.convex_relu import certify
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0])
    >>> U, a = np.array([[1.0], [0.0]]), np.array([0.1])
    >>> c = certify(X, y, U, a, 0.01)
    >>> c.is_global, round(c.lower_bound, 6), bool(c.gap >= 0)
    (True, 0.03288, True)
    """
    X = check_samples(X)
    y = check_sample_vector(y, X.shape[0])
    alpha = check_positive(alpha, "alpha")
    loss_obj = _get_loss(loss)
    _check_labels(y, loss_obj)
    U, a = _check_network(X, hidden_weights, output_weights, fit_intercept)
    if dual not in ("solve", "residual"):
        raise ValueError(f"dual must be 'solve' or 'residual', got {dual!r}")
    method = _check_method(method)
    n_patterns = check_count(n_patterns, "n_patterns")
    max_iter = check_count(max_iter, "max_iter")
    tol = check_positive(tol, "tol")
    Xt = _augment(X, fit_intercept)
    objective = network_objective(X, y, U, a, alpha, loss=loss_obj, fit_intercept=fit_intercept)
    if isinstance(patterns, str):
        if patterns != "auto":
            raise ValueError(f"patterns must be 'auto' or a boolean array, got {patterns!r}")
        D, complete = _default_patterns(X, n_patterns, fit_intercept, random_state,
                                        limit=_MAX_ENUMERATED)
    else:
        D, complete = _check_patterns(patterns, X.shape[0]), False
    used = (np.abs(a) > 0) & (np.linalg.norm(U, axis=0) > 0)
    D = _unique_patterns(np.hstack([D, Xt @ U[:, used] >= 0]))
    if D.shape[1] == 0:  # no neuron can be active on these data: only ν matters
        D = np.ones((X.shape[0], 1), dtype=bool)
    if dual == "solve":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sol = solve_convex_relu(X, y, alpha, D, loss=loss_obj, fit_intercept=fit_intercept,
                                    method=_resolve_auto(method, X.shape[0], D.shape[1]),
                                    max_iter=max_iter, tol=tol)
        lb = sol.lower_bound
    else:
        yhat = np.maximum(Xt @ U, 0.0) @ a
        cert = _Certifier(Xt, D, loss_obj, y, alpha)
        nu = cert.loss_derivative(yhat) / X.shape[0]
        lb = cert.lower_bound(None, np.zeros((X.shape[0], 2 * D.shape[1])), nu=nu)[0]
    gap = objective - lb
    return Certificate(objective, lb, gap, _relative_gap(objective, lb), complete,
                       D.shape[1])
