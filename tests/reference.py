r"""An independent, plain-NumPy reference implementation of Nielsen's eq. 93.

Written for the tests, deliberately the slow and obvious way: parameters are
plain lists of arrays, each example is propagated on its own (a per-example
loop, as in Nielsen's ``network2.py``), and nothing is shared with
:mod:`decaylab` except the conventions it must agree with:

* hidden layers use the chosen activation, the output layer is a sigmoid;
* per-example costs: cross-entropy −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)],
  quadratic ½‖a − y‖²;
* one step over a mini-batch B of m_B examples (eq. 93),

  .. math:: w \to \left(1 - \frac{\eta\lambda}{n}\right) w
                - \frac{\eta}{m_B}\sum_{x\in B}\frac{\partial C_x}{\partial w},
            \qquad b \to b - \frac{\eta}{m_B}\sum_{x\in B}\frac{\partial C_x}{\partial b};

* an epoch takes the examples in a given order in batches of m, the last
  batch possibly shorter.

Other test modules may import it: ``from reference import train_reference``.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _sigmoid_prime(z):
    s = _sigmoid(z)
    return s * (1.0 - s)


def _tanh_prime(z):
    return 1.0 - np.tanh(z) ** 2


def _relu(z):
    return np.where(z > 0.0, z, 0.0)


def _relu_prime(z):
    return np.where(z > 0.0, 1.0, 0.0)


#: name -> (f, f'), both written from z.
ACTIVATIONS = {
    "sigmoid": (_sigmoid, _sigmoid_prime),
    "tanh": (np.tanh, _tanh_prime),
    "relu": (_relu, _relu_prime),
}


def one_hot(labels, k: int) -> np.ndarray:
    """Targets of shape (n, k) with a single 1 per row."""
    targets = np.zeros((len(labels), k))
    for i, label in enumerate(labels):
        targets[i, int(label)] = 1.0
    return targets


def feedforward(weights, biases, x, activation="sigmoid"):
    """Weighted inputs and activations of every layer for one example x, shape (n_in,).

    Returns
    -------
    zs : list of ndarray
        z^l = w^l a^{l-1} + b^l for each weight layer.
    activations : list of ndarray
        a^0 = x, then a^l = f(z^l) (sigmoid for the last layer).
    """
    f = ACTIVATIONS[activation][0]
    a, zs, activations = np.asarray(x, dtype=float), [], [np.asarray(x, dtype=float)]
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = w @ a + b
        a = _sigmoid(z) if l == len(weights) - 1 else f(z)
        zs.append(z)
        activations.append(a)
    return zs, activations


def example_cost(weights, biases, x, target, activation="sigmoid", cost="cross_entropy") -> float:
    """C_x for one example, from the definition of the cost."""
    a = feedforward(weights, biases, x, activation)[1][-1]
    if cost == "cross_entropy":
        return float(-np.sum(target * np.log(a) + (1.0 - target) * np.log(1.0 - a)))
    if cost == "quadratic":
        return float(0.5 * np.sum((a - target) ** 2))
    raise ValueError(f"cost={cost!r} is not a reference cost")


def example_gradient(weights, biases, x, target, activation="sigmoid", cost="cross_entropy"):
    """(∂C_x/∂w^l, ∂C_x/∂b^l) for one example, by textbook backpropagation (BP1–BP4)."""
    fprime = ACTIVATIONS[activation][1]
    zs, activations = feedforward(weights, biases, x, activation)
    a_out = activations[-1]
    if cost == "cross_entropy":
        delta = a_out - target  # eq. 66: the sigmoid's σ' cancels
    elif cost == "quadratic":
        delta = (a_out - target) * _sigmoid_prime(zs[-1])
    else:
        raise ValueError(f"cost={cost!r} is not a reference cost")
    grad_w = [np.zeros_like(w) for w in weights]
    grad_b = [np.zeros_like(b) for b in biases]
    for l in range(len(weights) - 1, -1, -1):
        grad_w[l] = np.outer(delta, activations[l])
        grad_b[l] = delta.copy()
        if l > 0:
            delta = (weights[l].T @ delta) * fprime(zs[l - 1])
    return grad_w, grad_b


def sgd_step(
    weights,
    biases,
    X_batch,
    targets_batch,
    *,
    eta: float,
    multiplier: float,
    divisor: int | None = None,
    activation="sigmoid",
    cost="cross_entropy",
):
    """One step of eq. 93 over a batch; returns new (weights, biases).

    ``multiplier`` is the decay factor d (1 − ηλ/n for Nielsen's rule);
    ``divisor`` is the m in η/m, the batch's own length unless given.
    """
    sum_w = [np.zeros_like(w) for w in weights]
    sum_b = [np.zeros_like(b) for b in biases]
    for x, t in zip(X_batch, targets_batch):
        gw, gb = example_gradient(weights, biases, x, t, activation, cost)
        for l in range(len(weights)):
            sum_w[l] += gw[l]
            sum_b[l] += gb[l]
    m = len(X_batch) if divisor is None else divisor
    new_w = [multiplier * w - (eta / m) * g for w, g in zip(weights, sum_w)]
    new_b = [b - (eta / m) * g for b, g in zip(biases, sum_b)]  # biases are not decayed
    return new_w, new_b


def train_epoch(
    weights,
    biases,
    X,
    targets,
    order,
    *,
    batch_size: int,
    eta: float,
    lmbda: float,
    multiplier: float | None = None,
    last_batch_divisor: str = "own",
    activation="sigmoid",
    cost="cross_entropy",
):
    """One epoch over ``X[order]`` in batches of ``batch_size``; returns new (weights, biases).

    ``multiplier`` defaults to Nielsen's 1 − ηλ/n with n = len(X).
    ``last_batch_divisor="batch_size"`` divides the last, shorter batch by m
    instead of its own length: a deliberately wrong variant for the tests.
    """
    n = len(X)
    d = 1.0 - eta * lmbda / n if multiplier is None else multiplier
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        divisor = batch_size if last_batch_divisor == "batch_size" else None
        weights, biases = sgd_step(
            weights,
            biases,
            X[idx],
            targets[idx],
            eta=eta,
            multiplier=d,
            divisor=divisor,
            activation=activation,
            cost=cost,
        )
    return weights, biases


def train_reference(
    weights,
    biases,
    X,
    targets,
    *,
    epochs: int,
    batch_size: int,
    eta: float,
    lmbda: float,
    shuffle: bool = False,
    seed: int | None = None,
    multiplier: float | None = None,
    activation="sigmoid",
    cost="cross_entropy",
):
    """Several epochs; with ``shuffle``, epoch e takes the order of the e-th
    ``permutation(n)`` drawn from ``np.random.default_rng(seed)``."""
    weights = [np.array(w, dtype=float) for w in weights]
    biases = [np.array(b, dtype=float) for b in biases]
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        weights, biases = train_epoch(
            weights,
            biases,
            X,
            targets,
            order,
            batch_size=batch_size,
            eta=eta,
            lmbda=lmbda,
            multiplier=multiplier,
            activation=activation,
            cost=cost,
        )
    return weights, biases


class InterruptAt:
    """A step monitor that presses Ctrl-C before step ``step`` of epoch ``epoch`` (1-based)."""

    name = "interrupter"

    def __init__(self, epoch: int, step: int):
        self.target = (epoch, step)

    def start(self, net, *, eta, multiplier):
        self.epoch, self.steps = 1, 0

    def step_parts(self, weights_before, decay, rest):
        if (self.epoch, self.steps) == self.target:
            raise KeyboardInterrupt
        self.steps += 1

    def end_epoch(self, net):
        self.epoch, self.steps = self.epoch + 1, 0

    def result(self):
        return {}
