"""scikit-learn estimators backed by exact convex solves, with their duals."""

from __future__ import annotations

from ._convex_relu import ConvexReLUClassifier, ConvexReLURegressor
from ._fair import FairLinearClassifier, FairLinearRegressor
from ._linear import NormBoundedLinearClassifier, NormBoundedLinearRegressor
from ._mlp import ConstrainedMLPClassifier, ConstrainedMLPRegressor

__all__ = [
    "ConstrainedMLPClassifier",
    "ConstrainedMLPRegressor",
    "ConvexReLUClassifier",
    "ConvexReLURegressor",
    "FairLinearClassifier",
    "FairLinearRegressor",
    "NormBoundedLinearClassifier",
    "NormBoundedLinearRegressor",
]
