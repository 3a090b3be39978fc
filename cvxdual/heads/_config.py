"""Tuning constants of the fast head solvers, in one frozen object (private)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class _HeadConfig:
    """Tuning constants of the fast head solvers and of the CVXPY route.

    None of them changes the problem solved: a fast solution is returned only
    when it certifies the KKT conditions of the CVXPY definition, so these only
    decide which path runs and when a path gives up (then the next one, or
    CVXPY, takes over). :class:`~cvxdual.heads.NormBoundedHead` takes one as
    its private ``_config`` keyword; tests pass modified copies
    (:func:`dataclasses.replace`) to steer a solve down a given path.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from cvxdual.heads._config import _HeadConfig
    >>> replace(_HeadConfig(), chord_max_iter=0).chord_max_iter
    0
    """

    # Line searches (penalised, face and free Newton).
    # Sufficient-decrease fraction of the Armijo test: small, so that Newton
    # steps are almost never cut.
    armijo: float = 1e-4
    # Backtracking halvings before a line search gives up (2⁻⁵⁰ is below any
    # useful step).
    max_halvings: int = 50

    # Root find in the penalty μ of the L2 ball.
    # Outer (safeguarded Newton / bisection) steps in μ: each costs a penalised
    # Newton solve, and the root find converges quadratically near the root.
    max_mu_steps: int = 100
    # Newton iterations allowed for an unpenalised (μ = 0) trial: an unbounded
    # unpenalised problem (separable data) must fail fast.
    mu_zero_newton: int = 50

    # First-order face identification of the L1 and L∞ balls.
    # Projected-gradient (FISTA) iterations before the face solvers give up
    # and CVXPY takes over.
    fista_max_iter: int = 3_000
    # FISTA iterations between attempts at a face Newton solve: the face must
    # stay unchanged over that many iterations to be tried.
    fista_check: int = 10

    # Certificates (relative KKT residuals).
    # What any fast solution must reach to be returned: its certificate of
    # optimality for the CVXPY definition.
    kkt_rtol: float = 1e-7
    # Where the Newton polish of the binding L2 problem stops: rounding level.
    kkt_polish_rtol: float = 1e-12
    # The largest residual the polish accepts when rounding stalls it.
    kkt_polish_stall: float = 1e-9
    # What an L-BFGS solution on the sphere must reach before its Newton polish
    # (looser: the polish, or chord steps, then bring it below kkt_rtol).
    kkt_lbfgs_rtol: float = 1e-5
    # Where a full Hessian is affordable but a Newton polish is not, L-BFGS of a cold
    # binding solve stops at this residual and chord steps finish from a Hessian at
    # its point (None: L-BFGS runs to kkt_rtol, chord steps only where it fails).
    # That Hessian costs more than the L-BFGS iterations it saves (a digits head on
    # its own: 49 -> 61 ms), unless a warm-started solve reuses it: training sets
    # 1e-3 (the digits MLP's first three head solves: 148 -> 103 ms).
    lbfgs_chord_rtol: float | None = None
    # Newton steps of the polish on the KKT system (it starts accurate and
    # converges quadratically, or gives up).
    polish_max_iter: int = 10

    # Chord method for warm-started L2 solves: iterations on the KKT system in
    # (θ, μ) with the inverse of an earlier Hessian, BFGS-updated, refreshed at
    # the current iterate when the residual stops contracting.
    # Residual at which the chord iterations stop: the certificate every fast
    # solve reaches (kkt_rtol). They converge only linearly, so each further
    # decade costs two or three more gradients (a quarter of a warm solve's
    # from 1e-7 to 1e-9); ``‖W‖ = r`` is still met to ``tol`` (the iterate is
    # put on the sphere and its residual checked again).
    kkt_chord_rtol: float = 1e-7
    # Chord iterations before giving up (then the standard solvers run).
    chord_max_iter: int = 60
    # Refresh the matrix when a step shrinks the residual by less than this.
    chord_rate: float = 0.7
    # ... but not within this many steps of the last refresh (BFGS updates
    # need a few steps to improve a matrix).
    chord_refresh_gap: int = 3
    # Hessian refreshes per solve before giving up (each costs a Newton step).
    chord_max_refresh: int = 6
    # Largest (n_features + 1) K for the chord method: its matrix is a dense
    # inverse of that size, kept between solves.
    chord_max_params: int = 2_500
    # The chord method assembles a Hessian (n (p1 K)² flops) at least once per
    # solve without a cached one and on each refresh; above this it is not tried.
    chord_max_work: float = 2e9
    # ... above which its Hessian comes from a sample of this many rows per
    # parameter (a Newton sketch, Pilanci & Wainwright 2017; drawn by curvature,
    # weighted to be unbiased, afresh in each solve): the gradients and the KKT
    # test stay exact on all rows, so the sketch only sets the contraction rate
    # of the iteration (BFGS updates then correct the matrix).
    sketch_rows_per_param: float = 4.0
    # ... but only with at least this many parameters (p1 K): the sketch's
    # Newton-CG pays ~2 n p1 K per Hessian-vector product (over a hundred per
    # solve), which beats assembling n (p1 K)² only for large p1 K. At 10^6 x 50
    # binary (51 parameters) the sketch took 6.8 s, L-BFGS 3.2 s; on the
    # 20,000-row multinomial MLP head (645 parameters) it took 1 s, Newton 35 s.
    sketch_min_params: int = 200
    # Newton-CG steps of the sketched chord paths: conjugate gradients with
    # exact Hessian-vector products, preconditioned by the chord matrix, to this
    # relative (preconditioned) residual (the binding path: at most this, finer
    # as the KKT residual falls)...
    pcg_rtol: float = 0.05
    # ... or this many products per factor pcg_rtol of accuracy asked (then the
    # preconditioner is refreshed).
    pcg_max_iter: int = 10

    # L-BFGS on the sphere (large L2 problems).
    # Correction pairs (scipy's default is 10; a pair costs only 2 (p1 K)
    # numbers).
    lbfgs_memory: int = 20
    # L-BFGS on the sphere gives up the sphere after this many consecutive
    # iterates with λ < 0 (the bound seems not to bind) and tries the
    # unpenalised problem (see heads._l2._solve_l2_sphere).
    sphere_inward_iter: int = 5
    # No relative-decrease test: L-BFGS stops on the gradient (gtol) or when
    # its line search stalls (scikit-learn's 64 eps left the KKT residual at
    # ~3e-7 on digits).
    lbfgs_ftol: float = 0.0
    # L-BFGS iterations (per run; a non-binding ball runs it twice).
    lbfgs_max_iter: int = 15_000

    # Newton's method forms the (p1 K)² Hessian at a cost of n (p1 K)² flops:
    # above newton_max_work the L2 solver runs L-BFGS on the sphere first, and
    # above polish_max_work it skips the final Newton polish.
    newton_max_work: float = 2e7
    polish_max_work: float = 1.5e8

    # Largest n_samples * n_features for which the CVXPY problem keeps Phi as a
    # parameter: DPP compilation grows much faster than n d (about 20 s at
    # 1000 x 50, out of memory with exponential cones at 20,000 x 50), so larger
    # problems are built for their data, with constants.
    dpp_max_entries: int = 20_000


_DEFAULT_CONFIG = _HeadConfig()
