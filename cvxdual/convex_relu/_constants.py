"""Tuning constants of the convex ReLU solvers: one place, one comment each."""

from __future__ import annotations

# --- defaults of the public functions -----------------------------------------
# Default stopping tolerance: relative duality gap of the certificate (it bounds
# the suboptimality, so the fast solver is within 1e-5 of the CVXPY optimum).
DEFAULT_TOL = 1e-5
# certify()'s tolerance for the convex solve behind its bound: an optimal
# network's certificate closes to well below 1e-6.
CERTIFY_TOL = 1e-7
DEFAULT_MAX_ITER = 5000
# method "auto" uses CVXPY when n_samples * n_patterns is at most this, the fast
# solver beyond: the size where the two take about as long (the measurements
# are in benchmarks/RESULTS.md, from ``bench_convex_relu.py --scan``).
AUTO_CVXPY_SIZE = 1_000

# --- activation patterns -------------------------------------------------------
# Largest number of patterns enumerate_patterns will produce before refusing,
# and most candidate rays (subsets of rank − 1 samples) its search visits.
_MAX_ENUMERATED = 20_000
_MAX_RAY_SUBSETS = 100_000
# A sample's hyperplane passes through a candidate ray when |q̂·v| is below this
# (unit rows); r − 1 unit rows with a smallest singular value below it are
# treated as dependent.
_RAY_TOL = 1e-9

# --- recovery and the candidates of the fast solver -------------------------------
# Neurons whose convex weight norm is below this fraction of the largest are
# dropped at recovery: CVXPY's interior-point solutions leave ~1e-10 "zeros".
_ZERO_GROUP_RTOL = 1e-8
# Thresholds tried, sparsest first, when a fast-solver iterate is certified:
# interior-point iterates leave ~1e-5-relative neurons where the optimum has zeros.
# A sparser version is kept if its objective is at most _SPARSIFY_SLACK · tol
# (relative) above the dense one's.
_SPARSIFY_RTOLS = (1e-3, 1e-4, 1e-5, 1e-6)
_SPARSIFY_SLACK = 0.1

# --- interior-point stage --------------------------------------------------------
# Newton steps of the interior-point search of each cone, iterations at most,
# fraction of the step to the boundary, static regularisation of the scaling
# blocks (relative to their diagonal), steps of iterative refinement of each
# Newton solve, the dual starting value relative to max(alpha, max|ℓ'(0)|/n),
# and the primal one (each neuron's largest |x̃ᵀθ| relative to max|y|).
_INTERIOR_ITERS = 60
_IPM_MAX_ITER = 100
_IPM_STEP_FRACTION = 0.99
_IPM_REG = 1e-13
_IPM_REFINE = 1
_IPM_DUAL_START = 10.0
_IPM_PRIMAL_START = 1.0

# --- first-order stage (augmented Lagrangian, FISTA inner solves) -----------------
# Augmented-Lagrangian penalty relative to the loss curvature / ‖X̃‖²: 1 makes
# both parts of the inner smooth term equally stiff.
_AL_PENALTY_SCALE = 1.0
# First inner FISTA tolerance (relative to the first gradient mapping) and its
# decrease per outer iteration.
_AL_INNER_TOL0 = 0.1
_AL_INNER_DECAY = 0.3
# Cap on FISTA iterations per multiplier update, so that the certificate (and
# the working-set trigger) is checked regularly.
_AL_MAX_INNER = 400
# Most doublings of the FISTA Lipschitz estimate in one backtracking search: far
# more than a finite problem needs (2¹⁰⁰ ≈ 1e30); beyond it (or once the estimate
# or a trial value stops being finite) the first-order stage gives up.
_MAX_BACKTRACKS = 100
# Power iterations for the largest eigenvalue of the loss part's Gram matrix.
_POWER_ITERS = 20

# --- working-set stage -------------------------------------------------------------
# Relative gap of the cheap certificate (augmented-Lagrangian multipliers) at
# which the exact working-set solve is tried if _WARMUP_ITERS did not come first
# (and again at max_iter).
_POLISH_TRIGGER_GAP = 0.2
# First-order iterations before the working-set solve is tried (it needs only a
# rough idea of the active neurons and cone rows).
_WARMUP_ITERS = 300
# Neurons of the first-order iterate that may enter the first working set: norm
# above this fraction of the largest (column generation adds any that are missing).
_CANDIDATE_RTOL = 1e-3
# Cone rows of a working-set neuron that enter the restricted problem: slack at
# most this fraction of the column's largest |x̃_kᵀθ| (violated rows are added).
_ROW_MARGIN = 0.15
# The same for a neuron entering the working set, at its steepest direction.
_NEW_ROW_MARGIN = 0.05
# A cone row counts as violated below −this fraction of the column's scale
# (smaller violations are removed by the exact projection onto the cone).
_ROW_FEAS_TOL = 1e-9
# Share of the neurons in the first working set (the largest of the iterate:
# first-order iterates are not sparse) and most neurons added per round of
# column generation (the most violated first).
_WS_START = 1 / 3
_WS_ADD = 200
# Rounds of constraint / column generation before falling back to iterations.
_WS_MAX_ROUNDS = 12
# Clarabel settings for the directly built working-set problems.
_CLARABEL_SETTINGS = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9,
                      "tol_ktratio": 1e-8}
