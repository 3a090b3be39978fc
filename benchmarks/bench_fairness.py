"""Benchmark: demographic parity by one exact convex model vs fairlearn's reductions.

Two offline data sets:

* Zafar et al. (2017), "Fairness Constraints: Mechanisms for Fair
  Classification", synthetic data: 1,000 points per class from
  N((2, 2), [[5, 1], [1, 5]]) (y = 1) and N((−2, −2), [[10, 1], [1, 3]]) (y = 0);
  the sensitive attribute of x is 1 with probability p1/(p1 + p2), the class
  densities evaluated at x rotated by π/4 (their ``disc_factor``);
* three groups and five classes: Gaussian classes whose priors and means
  depend on the group.

For a sweep of bounds, ``FairLinearClassifier(DemographicParity(δ))`` (logistic
loss, the fast exact solver; δ bounds the group gaps of the mean *score*) is
compared with fairlearn's ``ExponentiatedGradient(LogisticRegression(),
DemographicParity(difference_bound=ε))`` (ε bounds the gaps of *label* rates; a
randomized mixture of models, binary only). Both are scored by accuracy and the
demographic-parity difference of predicted labels (fairlearn's
``demographic_parity_difference``; for five classes the largest gap of any
class's prediction rate) on the training rows (where the constraint holds) and
on held-out rows. ``cvxdual accuracy at fairlearn's DPD`` interpolates the
cvxdual front (its upper envelope) at each fairlearn point's label gap.

For the two-feature Zafar data the script also enumerates *every* deterministic
linear classifier ``1[uᵀx > t]`` on the training rows (a rotating sweep over
the O(n²) orderings of the projections, every threshold of each: exact, no
grid) and reports the best accuracy any of them reaches at each label gap: the
ceiling of a single deterministic linear model, which fairlearn's randomized
mixture can exceed (a mixture's rates are averages of its models' rates, so its
(gap, accuracy) points fill the convex hull of theirs).

fairlearn is a benchmark-only dependency (``pip install fairlearn``). The
libraries run with their default threads; ``--threads 1`` limits every pool to
one thread. Run from the repository root::

    python benchmarks/bench_fairness.py [--out benchmarks/fairness_tradeoff.png] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _timing import add_threads_option, thread_limit
from scipy.stats import multivariate_normal
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from cvxdual import FairLinearClassifier
from cvxdual.fairness import DemographicParity

DELTAS_BINARY = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 5.0)
EPSILONS = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
DELTAS_MULTI = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 5.0)
# The multinomial fast path needs a binding L2 ball (else CVXPY: ~40 s a fit here).
MULTI_RADIUS = 3.0


def zafar_data(seed: int = 1122334455):
    """Zafar et al.'s synthetic data (their generator, 1,000 points per class)."""
    rng = np.random.default_rng(seed)
    mu1, sigma1 = np.array([2.0, 2.0]), np.array([[5.0, 1.0], [1.0, 5.0]])
    mu2, sigma2 = np.array([-2.0, -2.0]), np.array([[10.0, 1.0], [1.0, 3.0]])
    X = np.vstack([rng.multivariate_normal(mu1, sigma1, 1000),
                   rng.multivariate_normal(mu2, sigma2, 1000)])
    y = np.r_[np.ones(1000, dtype=int), np.zeros(1000, dtype=int)]
    phi = np.pi / 4.0
    rotated = X @ np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
    p1 = multivariate_normal(mu1, sigma1).pdf(rotated)
    p2 = multivariate_normal(mu2, sigma2).pdf(rotated)
    sensitive = (rng.uniform(size=2000) < p1 / (p1 + p2)).astype(int)
    order = rng.permutation(2000)
    return X[order], y[order], sensitive[order]


def three_groups_five_classes(n: int = 3000, seed: int = 0):
    """Groups with different class priors and shifted class means (5 features)."""
    rng = np.random.default_rng(seed)
    groups = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    priors = np.array([[0.35, 0.25, 0.2, 0.1, 0.1],
                       [0.1, 0.2, 0.2, 0.25, 0.25],
                       [0.2, 0.1, 0.2, 0.2, 0.3]])
    y = np.array([rng.choice(5, p=priors[g]) for g in groups])
    centres = rng.normal(scale=1.5, size=(5, 5))
    shift = rng.normal(scale=0.7, size=(3, 5))
    X = centres[y] + shift[groups] + rng.normal(size=(n, 5))
    return X, y, np.array(["g0", "g1", "g2"])[groups]


def label_gap(y_pred, sensitive, classes) -> float:
    """Largest gap between groups of the rate of predicting a class (binary: class 1)."""
    groups = np.unique(sensitive)
    targets = [classes[1]] if len(classes) == 2 else classes
    gaps = []
    for k in targets:
        rates = [np.mean(y_pred[sensitive == g] == k) for g in groups]
        gaps.append(max(rates) - min(rates))
    return float(max(gaps))


def front_at(points, gap):
    """Upper envelope of (gap, accuracy) points, linearly interpolated at ``gap``."""
    pts = sorted(points)
    best, xs, ys = -np.inf, [], []
    for x, a in pts:
        if a > best:
            best = a
            xs.append(x)
            ys.append(a)
    if gap < xs[0]:
        return np.nan
    return float(np.interp(gap, xs, ys))


def deterministic_front(X, y, sensitive):
    """Best training accuracy of any linear classifier at each label gap (2 features, 2 groups).

    Every classifier ``1[uᵀx > t]`` is visited: as the direction ``u`` turns
    through a full circle, the order of the projections ``uᵀx_i`` changes only
    where two points swap, at the two angles where ``uᵀ(x_i − x_j) = 0``; each
    swap changes the set of the top ``k`` points for exactly one ``k``. So the
    (gap, accuracy) points of all top-``k`` sets over all directions are those
    of the starting order plus one per swap (2 n(n−1)/2 of them), assuming
    general position (no three points collinear; checked). Returns the upper
    envelope as arrays ``(gaps, accuracies)``, gaps ascending.
    """
    n = len(y)
    y = np.asarray(y, dtype=int)
    groups = np.unique(sensitive)
    if X.shape[1] != 2 or len(groups) != 2:
        raise ValueError("the exhaustive front needs 2 features and 2 groups")
    in0 = (sensitive == groups[0]).astype(int)
    n0 = int(in0.sum())
    n1 = n - n0
    i, j = np.triu_indices(n, 1)
    d = X[i] - X[j]
    base = np.arctan2(d[:, 1], d[:, 0])
    angles = np.concatenate([base + np.pi / 2, base - np.pi / 2]) % (2 * np.pi)
    first, second = np.concatenate([i, i]), np.concatenate([j, j])
    events = np.argsort(angles, kind="stable")
    order = np.argsort(-X[:, 0], kind="stable").tolist()  # the order at angle 0
    pos = np.empty(n, dtype=int)
    pos[order] = np.arange(n)
    pos = pos.tolist()
    yl, gl = y.tolist(), in0.tolist()
    tp, c0 = [0] * (n + 1), [0] * (n + 1)  # positives / group-0 rows among the top k
    for k, row in enumerate(order):
        tp[k + 1], c0[k + 1] = tp[k] + yl[row], c0[k] + gl[row]
    n_pos = sum(yl)
    ks = list(range(n + 1))
    tps, c0s = list(tp), list(c0)
    for a, b in zip(first[events].tolist(), second[events].tolist(), strict=True):
        k = min(pos[a], pos[b])
        if abs(pos[a] - pos[b]) != 1:
            raise RuntimeError("points not in general position")
        top, low = order[k], order[k + 1]
        order[k], order[k + 1], pos[top], pos[low] = low, top, k + 1, k
        tp[k + 1], c0[k + 1] = tp[k] + yl[low], c0[k] + gl[low]
        ks.append(k + 1)
        tps.append(tp[k + 1])
        c0s.append(c0[k + 1])
    ks, tps, c0s = np.array(ks), np.array(tps), np.array(c0s)
    accuracy = (2 * tps + (n - n_pos) - ks) / n
    gap = np.abs(c0s / n0 - (ks - c0s) / n1)
    by_gap = np.lexsort((-accuracy, gap))
    gap, accuracy = gap[by_gap], np.maximum.accumulate(accuracy[by_gap])
    keep = np.r_[True, np.diff(accuracy) > 0]
    return gap[keep], accuracy[keep]


def best_at(front, gap):
    """The exhaustive front's best accuracy at label gap <= ``gap``."""
    gaps, accuracies = front
    idx = np.searchsorted(gaps, gap + 1e-12, side="right") - 1
    return float(accuracies[idx]) if idx >= 0 else np.nan


def sweep_cvxdual(X, y, s, X_te, y_te, s_te, deltas, radius=None):
    rows, total = [], 0.0
    classes = np.unique(y)
    for delta in deltas:
        start = time.perf_counter()
        clf = FairLinearClassifier(DemographicParity(delta), radius=radius)
        clf.fit(X, y, sensitive_features=s)
        elapsed = time.perf_counter() - start
        total += elapsed
        duals = clf.duals_["upper"] + clf.duals_["lower"]
        rows.append({
            "bound": delta,
            "acc": float(np.mean(clf.predict(X) == y)),
            "gap": label_gap(clf.predict(X), s, classes),
            "acc_te": float(np.mean(clf.predict(X_te) == y_te)),
            "gap_te": label_gap(clf.predict(X_te), s_te, classes),
            "time": elapsed,
            "price": float(duals.sum()),
            "method": clf.solve_method_,
        })
    return rows, total


def sweep_fairlearn(X, y, s, X_te, y_te, s_te, epsilons):
    from fairlearn.metrics import demographic_parity_difference
    from fairlearn.reductions import DemographicParity as FLParity
    from fairlearn.reductions import ExponentiatedGradient

    rows, total = [], 0.0
    for eps in epsilons:
        start = time.perf_counter()
        eg = ExponentiatedGradient(LogisticRegression(), FLParity(difference_bound=eps))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eg.fit(X, y, sensitive_features=s)
        elapsed = time.perf_counter() - start
        total += elapsed
        pred, pred_te = eg.predict(X, random_state=0), eg.predict(X_te, random_state=0)
        rows.append({
            "bound": eps,
            "acc": float(np.mean(pred == y)),
            "gap": float(demographic_parity_difference(y, pred, sensitive_features=s)),
            "acc_te": float(np.mean(pred_te == y_te)),
            "gap_te": float(demographic_parity_difference(y_te, pred_te, sensitive_features=s_te)),
            "time": elapsed,
            "n_models": len(eg.predictors_),
        })
    return rows, total


def print_binary(ours, theirs, t_ours, t_theirs, exhaustive):
    print("\n### Zafar et al. synthetic data (2,000 points, 70 % train)\n")
    print("| method | bound | train acc | train DPD | test acc | test DPD | time (ms) |")
    print("|---|---|---|---|---|---|---|")
    for r in ours:
        print(f"| cvxdual δ | {r['bound']:g} | {r['acc']:.4f} | {r['gap']:.4f} | "
              f"{r['acc_te']:.4f} | {r['gap_te']:.4f} | {r['time'] * 1e3:.1f} |")
    for r in theirs:
        print(f"| fairlearn EG ε ({r['n_models']} models) | {r['bound']:g} | {r['acc']:.4f} | "
              f"{r['gap']:.4f} | {r['acc_te']:.4f} | {r['gap_te']:.4f} | "
              f"{r['time'] * 1e3:.1f} |")
    print("\nAt fairlearn's label gaps (cvxdual front interpolated; 'any linear': the best "
          "training accuracy of every deterministic linear classifier at DPD <= fairlearn's, "
          "exhaustive):\n")
    print("| ε | fairlearn DPD | fairlearn acc | cvxdual acc at that DPD | any linear | "
          "test: fairlearn DPD | fairlearn acc | cvxdual acc |")
    print("|---|---|---|---|---|---|---|---|")
    train_front = [(r["gap"], r["acc"]) for r in ours]
    test_front = [(r["gap_te"], r["acc_te"]) for r in ours]
    for r in theirs:
        print(f"| {r['bound']:g} | {r['gap']:.4f} | {r['acc']:.4f} | "
              f"{front_at(train_front, r['gap']):.4f} | {best_at(exhaustive, r['gap']):.4f} | "
              f"{r['gap_te']:.4f} | "
              f"{r['acc_te']:.4f} | {front_at(test_front, r['gap_te']):.4f} |")
    print(f"\nTotal fit time: cvxdual {t_ours:.3f} s for {len(ours)} models "
          f"({t_ours / len(ours) * 1e3:.1f} ms each); fairlearn {t_theirs:.3f} s for "
          f"{len(theirs)} models ({t_theirs / len(theirs) * 1e3:.1f} ms each); "
          f"per model fairlearn / cvxdual = "
          f"{(t_theirs / len(theirs)) / (t_ours / len(ours)):.1f}x")


def print_multi(ours, base):
    print("\n### Three groups, five classes (3,000 points, 70 % train; fairlearn: binary only;"
          f" cvxdual with radius={MULTI_RADIUS})\n")
    print("| method | δ | train acc | train max class-rate gap | test acc | test gap | "
          "Σ duals | solver | time (ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| LogisticRegression (unconstrained) | — | {base['acc']:.4f} | {base['gap']:.4f} | "
          f"{base['acc_te']:.4f} | {base['gap_te']:.4f} | — | lbfgs | {base['time'] * 1e3:.1f} |")
    for r in ours:
        print(f"| cvxdual | {r['bound']:g} | {r['acc']:.4f} | {r['gap']:.4f} | "
              f"{r['acc_te']:.4f} | {r['gap_te']:.4f} | {r['price']:.4f} | {r['method']} | "
              f"{r['time'] * 1e3:.1f} |")


def plot(out, binary, multi, base, exhaustive):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ours, theirs = binary
    for key, style in (("", "-"), ("_te", "--")):
        label = "train" if not key else "test"
        axes[0].plot([r["gap" + key] for r in ours], [r["acc" + key] for r in ours], "o" + style,
                     color="C0", label=f"cvxdual (one model per δ), {label}")
        axes[0].plot([r["gap" + key] for r in theirs], [r["acc" + key] for r in theirs],
                     "s" + style, color="C1", label=f"fairlearn EG (mixture), {label}")
    axes[0].step(*exhaustive, where="post", color="0.5", lw=1,
                 label="best deterministic linear classifier, train (exhaustive)")
    axes[0].set_xlim(-0.01, max(r["gap"] for r in ours) + 0.05)
    axes[0].set(xlabel="demographic-parity difference of predicted labels", ylabel="accuracy",
                title="Zafar et al. synthetic data")
    axes[0].legend(fontsize=8)
    for key, style in (("", "-"), ("_te", "--")):
        axes[1].plot([r["gap" + key] for r in multi], [r["acc" + key] for r in multi],
                     "o" + style, color="C0", label="cvxdual " + ("train" if not key else "test"))
        axes[1].plot([base["gap" + key]], [base["acc" + key]], "k" + ("x" if not key else "+"),
                     label="LogisticRegression " + ("train" if not key else "test"))
    axes[1].set(xlabel="largest gap of a class's prediction rate", ylabel="accuracy",
                title="three groups, five classes")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"\nFigure: {out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/fairness_tradeoff.png")
    add_threads_option(parser)
    args = parser.parse_args()
    with thread_limit(args.threads):
        X, y, s = zafar_data()
        split = train_test_split(X, y, s, test_size=0.3, random_state=0, stratify=y)
        X_tr, X_te, y_tr, y_te, s_tr, s_te = split
        FairLinearClassifier(DemographicParity(0.1)).fit(X_tr, y_tr, sensitive_features=s_tr)
        ours, t_ours = sweep_cvxdual(X_tr, y_tr, s_tr, X_te, y_te, s_te, DELTAS_BINARY)
        theirs, t_theirs = sweep_fairlearn(X_tr, y_tr, s_tr, X_te, y_te, s_te, EPSILONS)
        exhaustive = deterministic_front(X_tr, y_tr, s_tr)
        print_binary(ours, theirs, t_ours, t_theirs, exhaustive)

        X, y, s = three_groups_five_classes()
        split = train_test_split(X, y, s, test_size=0.3, random_state=0, stratify=y)
        X_tr, X_te, y_tr, y_te, s_tr, s_te = split
        start = time.perf_counter()
        lr = LogisticRegression(C=np.inf, max_iter=5000).fit(X_tr, y_tr)
        classes = np.unique(y)
        base = {"acc": lr.score(X_tr, y_tr), "acc_te": lr.score(X_te, y_te),
                "gap": label_gap(lr.predict(X_tr), s_tr, classes),
                "gap_te": label_gap(lr.predict(X_te), s_te, classes),
                "time": time.perf_counter() - start}
        multi, _ = sweep_cvxdual(X_tr, y_tr, s_tr, X_te, y_te, s_te, DELTAS_MULTI,
                                 radius=MULTI_RADIUS)
        print_multi(multi, base)
    plot(args.out, (ours, theirs), multi, base, exhaustive)


if __name__ == "__main__":
    main()
