"""The exhaustive front of benchmarks/bench_fairness.py: the ceiling RESULTS.md relies on."""

import numpy as np
import pytest
from bench_support import load_benchmark


def _grid_points(X, y, s, n_angles):
    """(gap, accuracy) of every threshold along n_angles directions (a dense grid)."""
    n, n0 = len(y), int((s == 0).sum())
    points = []
    for a in np.linspace(0, 2 * np.pi, n_angles, endpoint=False):
        order = np.argsort(-(X @ np.array([np.cos(a), np.sin(a)])))
        tp = np.r_[0, np.cumsum(y[order])]
        c0 = np.r_[0, np.cumsum(s[order] == 0)]
        k = np.arange(n + 1)
        points.append(np.c_[np.abs(c0 / n0 - (k - c0) / (n - n0)),
                            (2 * tp + (n - y.sum()) - k) / n])
    return np.vstack(points)


@pytest.mark.parametrize("seed", [0, 1])
def test_exhaustive_front_is_the_upper_envelope_of_every_linear_classifier(seed):
    bench = load_benchmark("bench_fairness")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] + 0.7 * rng.normal(size=30) > 0).astype(int)
    s = (X[:, 1] + rng.normal(size=30) > 0).astype(int)
    gaps, accs = bench.deterministic_front(X, y, s)
    assert np.all(np.diff(gaps) > 0) and np.all(np.diff(accs) > 0)
    grid = _grid_points(X, y, s, 20_000)
    for gap in np.unique(grid[:, 0]):
        best_grid = grid[grid[:, 0] <= gap + 1e-12, 1].max()
        # never below any classifier the grid finds; with 30 points a 20,000-angle
        # grid visits every ordering, so equal
        assert bench.best_at((gaps, accs), gap) == pytest.approx(best_grid)
