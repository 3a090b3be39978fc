"""Vectorised NumPy multilayer perceptron: dense layers, backpropagation, optimizers.

The hidden part ``Φ = h(X; θ)`` of a cvxdual network. Layer ``i`` maps
``A_i ↦ f(A_i W_i + b_i)`` with weights ``W_i`` of shape ``(n_in, n_out)`` (as
scikit-learn's ``MLPClassifier.coefs_``), intercepts ``b_i`` of shape
``(n_out,)`` and one activation ``f`` shared by all hidden layers. The linear
head on top is not part of this module: :func:`backward` takes the gradient of
the objective with respect to the last hidden features and returns the
gradients of all hidden parameters.

Optimizers (:class:`SGD`, :class:`Adam`) are small stateful objects with a
``step(params, grads)`` method that updates a list of arrays in place, with the
same update rules as scikit-learn's stochastic MLP solvers.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.special import expit
from sklearn.utils import check_random_state

__all__ = [
    "ACTIVATIONS",
    "SGD",
    "Adam",
    "activate",
    "activation_derivative",
    "backward",
    "forward",
    "init_params",
]

#: Names of the supported hidden-layer activations.
ACTIVATIONS: tuple[str, ...] = ("identity", "logistic", "tanh", "relu")

# Glorot-uniform scale numerators, as scikit-learn's MLP: the bound is
# sqrt(factor / (fan_in + fan_out)); the logistic activation uses 2 (Glorot &
# Bengio, 2010), every other activation 6.
_GLOROT_FACTOR = {"logistic": 2.0}
_GLOROT_FACTOR_DEFAULT = 6.0


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def activate(Z: np.ndarray, activation: str = "relu") -> np.ndarray:
    """Return ``f(Z)`` elementwise for the activation named ``activation``.

    Parameters
    ----------
    Z : ndarray
        Pre-activations.
    activation : {"identity", "logistic", "tanh", "relu"}
        ``identity`` f(z) = z; ``logistic`` f(z) = 1 / (1 + exp(-z));
        ``tanh`` f(z) = tanh(z); ``relu`` f(z) = max(z, 0).

    Returns
    -------
    A : ndarray
        A new array of the shape of ``Z``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.network import activate
    >>> activate(np.array([-1.0, 0.0, 2.0]), "relu")
    array([0., 0., 2.])
    >>> activate(np.array([0.0]), "logistic")
    array([0.5])
    """
    _check_activation(activation)
    if activation == "identity":
        return np.array(Z, dtype=float, copy=True)
    if activation == "logistic":
        return expit(Z)
    if activation == "tanh":
        return np.tanh(Z)
    return np.maximum(Z, 0.0)


def activation_derivative(A: np.ndarray, activation: str = "relu") -> np.ndarray:
    """Return ``f'(z)`` expressed through the activation's output ``A = f(z)``.

    Each supported activation's derivative is a function of its output, which
    is what the forward pass keeps: ``logistic`` A(1 − A), ``tanh`` 1 − A²,
    ``relu`` 1[A > 0] (0 at the kink), ``identity`` 1.

    Parameters
    ----------
    A : ndarray
        Outputs of the activation.
    activation : {"identity", "logistic", "tanh", "relu"}
        The activation that produced ``A``.

    Returns
    -------
    dA : ndarray
        Array of the shape of ``A``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.network import activation_derivative
    >>> activation_derivative(np.array([0.0, 3.0]), "relu")
    array([0., 1.])
    >>> activation_derivative(np.array([0.5]), "tanh")
    array([0.75])
    """
    _check_activation(activation)
    if activation == "identity":
        return np.ones_like(A, dtype=float)
    if activation == "logistic":
        return A * (1.0 - A)
    if activation == "tanh":
        return 1.0 - A**2
    return (A > 0).astype(float)


def init_params(
    layer_sizes: Sequence[int],
    activation: str = "relu",
    random_state: int | np.random.RandomState | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return Glorot-uniform initial weights and intercepts, as scikit-learn's MLP.

    For each pair of consecutive sizes ``(fan_in, fan_out)`` the weights and
    then the intercepts are drawn from ``U(-s, s)`` with
    ``s = sqrt(factor / (fan_in + fan_out))``, ``factor = 2`` for the logistic
    activation and 6 otherwise.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_features, n_hidden_1, ..., n_hidden_L)``; at least two entries.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Chooses the scale factor.
    random_state : int, RandomState instance or None, default=None
        Passed to :func:`sklearn.utils.check_random_state`.

    Returns
    -------
    coefs : list of ndarray
        ``coefs[i]`` has shape ``(layer_sizes[i], layer_sizes[i + 1])``.
    intercepts : list of ndarray
        ``intercepts[i]`` has shape ``(layer_sizes[i + 1],)``.

    Examples
    --------
    >>> from cvxdual.network import init_params
    >>> coefs, intercepts = init_params([4, 3, 2], random_state=0)
    >>> [c.shape for c in coefs], [b.shape for b in intercepts]
    ([(4, 3), (3, 2)], [(3,), (2,)])
    >>> bool(abs(coefs[0]).max() <= (6 / 7) ** 0.5)
    True
    """
    _check_activation(activation)
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            f"layer_sizes must hold at least two positive sizes, got {list(layer_sizes)!r}"
        )
    rng = check_random_state(random_state)
    factor = _GLOROT_FACTOR.get(activation, _GLOROT_FACTOR_DEFAULT)
    coefs, intercepts = [], []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rng.uniform(-bound, bound, fan_out))
    return coefs, intercepts


def forward(
    X: np.ndarray,
    coefs: Sequence[np.ndarray],
    intercepts: Sequence[np.ndarray],
    activation: str = "relu",
) -> list[np.ndarray]:
    """Return the activations ``[X, A_1, ..., A_L]`` of every layer.

    ``A_{i+1} = f(A_i W_i + b_i)``; the last entry is the feature matrix ``Φ``
    that the head sees. :func:`backward` needs the whole list.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Input rows.
    coefs, intercepts : sequences of ndarray
        As returned by :func:`init_params`.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        The hidden activation.

    Returns
    -------
    activations : list of ndarray
        ``len(coefs) + 1`` arrays; ``activations[0]`` is ``X`` itself.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.network import forward
    >>> W, b = np.array([[1.0, -1.0]]), np.array([0.0, 0.5])
    >>> forward(np.array([[2.0]]), [W], [b], "relu")[-1]
    array([[2., 0.]])
    """
    _check_activation(activation)
    if len(coefs) != len(intercepts):
        raise ValueError(
            f"coefs and intercepts must have the same length, got {len(coefs)} and "
            f"{len(intercepts)}"
        )
    activations = [X]
    for W, b in zip(coefs, intercepts, strict=True):
        Z = activations[-1] @ W
        Z += b
        activations.append(Z if activation == "identity" else activate(Z, activation))
    return activations


def backward(
    activations: Sequence[np.ndarray],
    coefs: Sequence[np.ndarray],
    grad_features: np.ndarray,
    activation: str = "relu",
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return ``(∂L/∂W_i, ∂L/∂b_i)`` for every layer, given ``G = ∂L/∂Φ``.

    Reverse-mode chain rule through the layers of :func:`forward`:
    ``Δ_L = G ⊙ f'(A_L)``, ``∂L/∂W_i = A_iᵀ Δ_{i+1}``, ``∂L/∂b_i = 1ᵀ Δ_{i+1}``,
    ``Δ_i = (Δ_{i+1} W_iᵀ) ⊙ f'(A_i)``. Rows are summed, not averaged: the
    scaling of the objective is carried by ``G``.

    Parameters
    ----------
    activations : sequence of ndarray
        The list returned by :func:`forward` for the same parameters.
    coefs : sequence of ndarray
        The weights used in that forward pass.
    grad_features : ndarray of shape (n_samples, n_hidden_L)
        Gradient of the objective with respect to the last activations.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        The hidden activation.

    Returns
    -------
    coef_grads : list of ndarray
        Shapes as ``coefs``.
    intercept_grads : list of ndarray
        Shapes as the intercepts.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.network import backward, forward
    >>> X, W, b = np.array([[2.0], [1.0]]), np.array([[1.0, -1.0]]), np.zeros(2)
    >>> acts = forward(X, [W], [b], "relu")
    >>> coef_grads, intercept_grads = backward(acts, [W], np.ones((2, 2)), "relu")
    >>> coef_grads[0], intercept_grads[0]
    (array([[3., 0.]]), array([2., 0.]))
    """
    _check_activation(activation)
    n_layers = len(coefs)
    if len(activations) != n_layers + 1:
        raise ValueError(
            f"activations must hold len(coefs) + 1 = {n_layers + 1} arrays, "
            f"got {len(activations)}"
        )
    if np.shape(grad_features) != np.shape(activations[-1]):
        raise ValueError(
            f"grad_features must have the shape of the last activations "
            f"{np.shape(activations[-1])}, got {np.shape(grad_features)}"
        )
    coef_grads: list[np.ndarray] = [None] * n_layers  # type: ignore[list-item]
    intercept_grads: list[np.ndarray] = [None] * n_layers  # type: ignore[list-item]
    delta = np.asarray(grad_features, dtype=float)
    if activation != "identity":
        delta = delta * activation_derivative(activations[-1], activation)
    for i in range(n_layers - 1, -1, -1):
        coef_grads[i] = activations[i].T @ delta
        intercept_grads[i] = delta.sum(axis=0)
        if i > 0:
            delta = delta @ coefs[i].T
            if activation != "identity":
                delta *= activation_derivative(activations[i], activation)
    return coef_grads, intercept_grads


def _check_pairs(params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
    if len(params) != len(grads):
        raise ValueError(
            f"params and grads must have the same length, got {len(params)} and {len(grads)}"
        )


class SGD:
    """Stochastic gradient descent with (optionally Nesterov) momentum.

    With velocity ``v`` (initially 0) and gradient ``g``, one step does
    ``v ← μ v − η g`` and then ``θ ← θ + v`` (classical momentum) or
    ``θ ← θ + μ v − η g`` (Nesterov), as scikit-learn's ``SGDOptimizer`` with a
    constant learning rate. With ``momentum=0`` a step is exactly ``θ ← θ − η g``.

    Parameters
    ----------
    learning_rate : float, default=0.001
        Step size ``η`` (> 0).
    momentum : float, default=0.9
        ``μ`` in [0, 1].
    nesterov : bool, default=True
        Use Nesterov's momentum.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.network import SGD
    >>> w = np.array([1.0, 2.0])
    >>> _ = SGD(learning_rate=0.5, momentum=0.0).step([w], [np.array([1.0, -2.0])])
    >>> w
    array([0.5, 3. ])
    """

    def __init__(
        self, learning_rate: float = 0.001, momentum: float = 0.9, nesterov: bool = True
    ) -> None:
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocities: list[np.ndarray] | None = None

    def step(self, params: list[np.ndarray], grads: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Update ``params`` in place with one step along ``grads``; return ``params``.

        Parameters
        ----------
        params : list of ndarray
            Float arrays, updated in place.
        grads : sequence of ndarray
            Gradients of the objective, shapes as ``params``.

        Returns
        -------
        params : list of ndarray
            The same list.

        Examples
        --------
        >>> import numpy as np
        >>> from cvxdual.network import SGD
        >>> opt, w = SGD(learning_rate=1.0, momentum=0.5, nesterov=False), np.zeros(1)
        >>> for _ in range(2):
        ...     _ = opt.step([w], [np.ones(1)])
        >>> w
        array([-2.5])
        """
        _check_pairs(params, grads)
        if self.velocities is None:
            self.velocities = [np.zeros_like(p, dtype=float) for p in params]
        for p, g, v in zip(params, grads, self.velocities, strict=True):
            v *= self.momentum
            v -= self.learning_rate * g
            if self.nesterov:
                p += self.momentum * v - self.learning_rate * g
            else:
                p += v
        return params


class Adam:
    """Adam (Kingma & Ba, 2014), with scikit-learn's ``AdamOptimizer`` update.

    At step ``t`` with gradient ``g``: ``m ← β₁ m + (1 − β₁) g``,
    ``v ← β₂ v + (1 − β₂) g²``, ``η_t = η √(1 − β₂ᵗ) / (1 − β₁ᵗ)`` and
    ``θ ← θ − η_t m / (√v + ε)``.

    Parameters
    ----------
    learning_rate : float, default=0.001
        Base step size ``η`` (> 0).
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Numerical stabiliser (> 0).

    Examples
    --------
    >>> import numpy as np
    >>> from cvxdual.network import Adam
    >>> w = np.zeros(2)
    >>> _ = Adam(learning_rate=0.1).step([w], [np.array([3.0, -0.5])])
    >>> np.round(w, 6)
    array([-0.1,  0.1])
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon!r}")
        self.learning_rate = float(learning_rate)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        self.ms: list[np.ndarray] | None = None
        self.vs: list[np.ndarray] | None = None

    def step(self, params: list[np.ndarray], grads: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Update ``params`` in place with one Adam step; return ``params``.

        Parameters
        ----------
        params : list of ndarray
            Float arrays, updated in place.
        grads : sequence of ndarray
            Gradients of the objective, shapes as ``params``.

        Returns
        -------
        params : list of ndarray
            The same list.

        Examples
        --------
        >>> import numpy as np
        >>> from cvxdual.network import Adam
        >>> opt, w = Adam(learning_rate=0.01), np.ones(1)
        >>> _ = opt.step([w], [np.ones(1)])
        >>> opt.t, np.round(w, 6)
        (1, array([0.99]))
        """
        _check_pairs(params, grads)
        if self.ms is None or self.vs is None:
            self.ms = [np.zeros_like(p, dtype=float) for p in params]
            self.vs = [np.zeros_like(p, dtype=float) for p in params]
        self.t += 1
        step_size = (
            self.learning_rate * np.sqrt(1.0 - self.beta_2**self.t) / (1.0 - self.beta_1**self.t)
        )
        for p, g, m, v in zip(params, grads, self.ms, self.vs, strict=True):
            m *= self.beta_1
            m += (1.0 - self.beta_1) * g
            v *= self.beta_2
            v += (1.0 - self.beta_2) * (g * g)
            p -= step_size * m / (np.sqrt(v) + self.epsilon)
        return params
