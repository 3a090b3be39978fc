"""cvxdual: constrained learning backed by convex optimization, with exact duals.

Every constrained subproblem is defined as a CVXPY problem; closed-form fast
paths return the same weights and the same Lagrange multipliers.
"""

from __future__ import annotations

from . import fairness, sets
from .estimators import (
    ConstrainedMLPClassifier,
    ConstrainedMLPRegressor,
    ConvexReLUClassifier,
    ConvexReLURegressor,
    FairLinearClassifier,
    FairLinearRegressor,
    NormBoundedLinearClassifier,
    NormBoundedLinearRegressor,
)
from .exceptions import DivergenceError, InfeasibleSetError, SolverError
from .heads import HeadSolution, NormBoundedHead
from .projection import ProjectionResult, project
from .sets import (
    Box,
    CvxpySet,
    Intersection,
    L1Ball,
    L2Ball,
    LinfBall,
    MaxNorm,
    NonNegative,
    NuclearBall,
    Polyhedron,
    Simplex,
    SpectralBall,
)

__version__ = "0.2.0"

__all__ = [
    "Box",
    "ConstrainedMLPClassifier",
    "ConstrainedMLPRegressor",
    "ConvexReLUClassifier",
    "ConvexReLURegressor",
    "CvxpySet",
    "DivergenceError",
    "FairLinearClassifier",
    "FairLinearRegressor",
    "HeadSolution",
    "InfeasibleSetError",
    "Intersection",
    "L1Ball",
    "L2Ball",
    "LinfBall",
    "MaxNorm",
    "NonNegative",
    "NormBoundedHead",
    "NormBoundedLinearClassifier",
    "NormBoundedLinearRegressor",
    "NuclearBall",
    "Polyhedron",
    "ProjectionResult",
    "Simplex",
    "SolverError",
    "SpectralBall",
    "__version__",
    "fairness",
    "project",
    "sets",
]
