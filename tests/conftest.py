"""Shared fixtures: deterministic random generators and the reference solvers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

# Deterministic property tests: the same examples on every run and machine
# (to hunt for new counterexamples, run with --hypothesis-profile=default).
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")

# The two CVXPY solvers every fast path is compared against: an interior-point
# method (the reference) and a first-order conic solver (an independent one).
REFERENCE_SOLVERS = ("CLARABEL", "SCS")


@pytest.fixture
def rng():
    return np.random.default_rng(20261127)


@pytest.fixture(params=REFERENCE_SOLVERS)
def solver(request):
    return request.param
