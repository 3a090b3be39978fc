"""What the estimators share: the norm balls, solver names, predictions.

* :data:`BALLS` maps the ``norm`` (or ``head_norm``) parameter to its set.
* :class:`SolverOptions` validates a solver parameter the same way everywhere:
  ``"auto"``, ``"fast"``, ``"cvxpy"`` or an installed CVXPY solver's name, in
  any case (as :class:`cvxdual.heads.NormBoundedHead` reads it).
* :class:`ScoresClassifierMixin` gives ``predict``, ``predict_proba`` and
  ``predict_log_proba`` from decision scores, the log-probabilities computed
  from the scores directly so that they stay finite however large the scores.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from .. import _solvers
from ..fairness import encode_groups
from ..sets import ConvexSet, L1Ball, L2Ball, LinfBall

__all__ = [
    "BALLS",
    "SOLVER_WORDS",
    "ScoresClassifierMixin",
    "SolverOptions",
    "make_ball",
]

#: The norm-ball of each ``norm`` value; the norm of a matrix is taken over all
#: its entries (Frobenius for "l2", sum of magnitudes for "l1", largest
#: magnitude for "linf").
BALLS: dict[str, type[ConvexSet]] = {"l2": L2Ball, "l1": L1Ball, "linf": LinfBall}

#: Solver words every estimator accepts besides a CVXPY solver's name: the fast
#: exact solver with a CVXPY fallback, the fast solver alone, CVXPY alone.
SOLVER_WORDS: tuple[str, ...] = ("auto", "fast", "cvxpy")


def group_labels(sensitive_features, X) -> tuple[np.ndarray, np.ndarray]:
    """Return the group label of every row of ``X`` and the distinct groups.

    Raises a ValueError when ``sensitive_features`` does not have a row per
    sample of ``X``.
    """
    codes, groups = encode_groups(sensitive_features)
    if codes.shape[0] != X.shape[0]:
        raise ValueError(
            f"sensitive_features has {codes.shape[0]} entries but X has {X.shape[0]} samples"
        )
    return groups[codes], groups


def make_ball(norm: str, radius: float | None) -> ConvexSet | None:
    """Return ``BALLS[norm](radius)``, or None (no bound) when ``radius`` is None.

    Examples
    --------
    >>> from cvxdual.estimators._base import make_ball
    >>> make_ball("l1", 2.0), make_ball("l2", None)
    (L1Ball(radius=2.0), None)
    """
    return None if radius is None else BALLS[norm](radius)


class SolverOptions(StrOptions):
    """Constraint of a solver parameter: a word of ``words`` or a CVXPY solver, any case.

    The CVXPY solvers are those installed here (:func:`cvxpy.installed_solvers`),
    looked up when a value is checked.

    Examples
    --------
    >>> from cvxdual.estimators._base import SolverOptions
    >>> names = SolverOptions()
    >>> names.is_satisfied_by("fast"), names.is_satisfied_by("clarabel")
    (True, True)
    >>> names.is_satisfied_by("newton")
    False
    """

    def __init__(self, words=SOLVER_WORDS, *, deprecated=None):
        super().__init__(set(words), deprecated=deprecated)

    def is_satisfied_by(self, val) -> bool:
        if not isinstance(val, str):
            return False
        if val.lower() in self.options:
            return True
        try:
            _solvers.check_solver(val)
        except ValueError:
            return False
        return True

    def __str__(self) -> str:
        words = ", ".join(self._mark_if_deprecated(w) for w in sorted(self.options))
        installed = ", ".join(repr(s) for s in sorted(_solvers.installed_solvers()))
        return f"a str among {{{words}}} or an installed CVXPY solver such as {installed}"


def _proba_available(estimator) -> bool:
    return estimator._has_proba()


class ScoresClassifierMixin(ClassifierMixin):
    """``predict``, ``predict_proba`` and ``predict_log_proba`` from decision scores.

    A subclass provides ``_decision_scores(X)`` (by default its
    ``decision_function``): shape ``(n_samples,)`` with two classes, the score
    of ``classes_[1]``, else ``(n_samples, n_classes)``; ``_has_proba()``, whether
    the scores are log-odds; and ``_multiclass_proba``, how several classes'
    scores become probabilities: ``"softmax"`` (multinomial log loss) or
    ``"ovr"`` (one-vs-rest: ``σ(z_k) / Σ_j σ(z_j)``, as scikit-learn's OvR).
    With two classes the probability of ``classes_[1]`` is ``σ(z)``.
    """

    _multiclass_proba = "softmax"

    def _decision_scores(self, X) -> np.ndarray:
        return self.decision_function(X)

    def _has_proba(self) -> bool:
        return True

    def predict(self, X):
        """Return the class with the largest score (two classes: ``classes_[1]`` if z > 0).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples to classify.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels, from ``classes_``.
        """
        scores = self._decision_scores(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    @available_if(_proba_available)
    def predict_proba(self, X):
        """Return class probabilities (log-loss models only).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples whose class probabilities are wanted.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``: ``σ(z)`` for
            ``classes_[1]`` with two classes; the softmax of the scores, or the
            normalised one-vs-rest ``σ(z_k)``, with more.
        """
        scores = self._decision_scores(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        if self._multiclass_proba == "softmax":
            return softmax(scores, axis=1)
        p = expit(scores)
        total = p.sum(axis=1, keepdims=True)
        return np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=total > 0)

    @available_if(_proba_available)
    def predict_log_proba(self, X):
        """Return the logarithm of :meth:`predict_proba`, computed from the scores.

        ``log σ(z) = −log(1 + e^{−z})`` and ``z − logsumexp(z)`` are evaluated
        without forming the probabilities, so the result is finite even where
        a probability underflows to 0.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples whose log-probabilities are wanted.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        scores = self._decision_scores(X)
        if scores.ndim == 1:
            return np.column_stack([-np.logaddexp(0.0, scores), -np.logaddexp(0.0, -scores)])
        if self._multiclass_proba == "ovr":
            scores = -np.logaddexp(0.0, -scores)  # log σ(z_k), then normalised below
        return scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)
