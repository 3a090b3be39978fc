"""Tests of cvxdual.convex_relu._patterns: sampled and enumerated activation patterns."""

from __future__ import annotations

import numpy as np
import pytest

from cvxdual.convex_relu import (
    enumerate_patterns,
    sample_patterns,
)

from ._helpers import _augment, _cells_by_linear_programs, _data


def test_sample_patterns_unique_nonzero_and_seeded():
    X, _ = _data(25, 4)
    D = sample_patterns(X, 60, random_state=3)
    assert D.dtype == bool and D.shape[0] == 25 and 0 < D.shape[1] <= 60
    assert D.any(axis=0).all()
    assert np.unique(D.T, axis=0).shape[0] == D.shape[1]
    np.testing.assert_array_equal(D, sample_patterns(X, 60, random_state=3))


@pytest.mark.parametrize("d, fit_intercept",
                         [(2, True), (1, True), (3, False), (1, False), (3, True), (4, True)])
def test_enumerated_patterns_cover_every_neuron(d, fit_intercept):
    X, _ = _data(12, d, seed=d)
    D = enumerate_patterns(X, fit_intercept=fit_intercept)
    Xt = _augment(X) if fit_intercept else X
    # every direction u lies in the closed cone of some enumerated pattern
    U = np.random.default_rng(1).standard_normal((Xt.shape[1], 2000))
    slack = (2.0 * D[:, :, None] - 1.0) * (Xt @ U)[:, None, :]  # (n, P, 2000)
    covered = (slack >= -1e-12).all(axis=0).any(axis=0)
    on = (Xt @ U > 0).any(axis=0)  # neurons that are not dead everywhere
    assert covered[on].all()
    assert np.unique(D.T, axis=0).shape[0] == D.shape[1] and D.any(axis=0).all()


def test_enumerated_pattern_count_generic_rank3():
    X, _ = _data(10, 2, seed=4)
    D = enumerate_patterns(X)
    # n² − n + 2 cells of a generic central arrangement in R³, minus the all-off one
    assert D.shape[1] == 10 * 10 - 10 + 1


def test_enumerate_patterns_refuses_searches_that_are_too_large():
    X, _ = _data(60, 6)
    with pytest.raises(ValueError, match="sample_patterns"):
        enumerate_patterns(X)


@pytest.mark.parametrize("n, d", [(9, 3), (12, 4), (8, 5)])
def test_enumerated_pattern_count_generic_higher_rank(n, d):
    from math import comb

    X, _ = _data(n, d, seed=n)
    D = enumerate_patterns(X)
    # 2 Σ_{i<r} C(n−1, i) cells of a generic central arrangement of rank r = d + 1,
    # minus the all-off one
    r = d + 1
    assert D.shape[1] == 2 * sum(comb(n - 1, i) for i in range(r)) - 1


@pytest.mark.parametrize("kind", ["generic", "degenerate"])
def test_enumeration_by_search_equals_brute_force(kind):
    # rank 4: the ray search, against a linear program for every one of the 2ⁿ
    # sign vectors; "degenerate": repeated samples and four samples on one plane
    # through a common line, so that more than r − 1 hyperplanes meet on rays
    rng = np.random.default_rng(5)
    X = rng.standard_normal((8, 3))
    if kind == "degenerate":
        X[5] = X[0]
        X[6] = 2.0 * X[1] - X[2]  # with the intercept: x̃₆ = 2x̃₁ − x̃₂, on their line
        X[7] = 0.5 * (X[1] + X[2])
    Xt = _augment(X)
    D = enumerate_patterns(X)
    ref = _cells_by_linear_programs(Xt)

    def as_set(P):
        return {tuple(col) for col in P.T}

    assert as_set(D) == as_set(ref)


@pytest.mark.parametrize("d, fit_intercept", [(2, True), (2, False), (3, True)])
def test_enumerated_patterns_do_not_depend_on_feature_scale(d, fit_intercept):
    # the arrangement {x̃_kᵀu = 0} is that of c·X for every c > 0; the search used
    # to lose cells (X·1e10: 27 of 57) or collapse to one while still "complete"
    X = np.random.default_rng(0).normal(size=(8, d))
    Xt = _augment(X) if fit_intercept else X

    def as_set(P):
        return {tuple(col) for col in P.T}

    ref = as_set(enumerate_patterns(X, fit_intercept=fit_intercept))
    assert ref == as_set(_cells_by_linear_programs(Xt))
    for c in [1e-300, 1e-150, 1e-20, *10.0 ** np.arange(-12, 13, 2), 1e20, 1e155, 1e300]:
        D = enumerate_patterns(c * X, fit_intercept=fit_intercept)
        assert as_set(D) == ref, c
