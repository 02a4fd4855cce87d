r"""The update rules beside eq. 93 as step functions: heavy-ball momentum, Adam + L2, AdamW.

The rules themselves (:class:`Momentum`, :class:`Adam`, :class:`AdamW`, and
eq. 93's :class:`~decaylab.rules.SGD`) live in :mod:`decaylab.rules`, built
from a decay and a direction, with the answers the dynamics need (pure-decay
factors, τ, the split of a step). This module keeps their steps as plain
functions, like :func:`decaylab.training.sgd_step`, and the names code
written before :mod:`decaylab.rules` imports from here.
"""

from __future__ import annotations

import numpy as np

from decaylab.network import Network
from decaylab.rules import RULES, Adam, AdamDirection, AdamW, Momentum, Optimizer, get_rule

__all__ = [
    "OPTIMIZERS",
    "Adam",
    "AdamW",
    "Momentum",
    "Optimizer",
    "adam_step",
    "adamw_step",
    "get_optimizer",
    "momentum_step",
]


def momentum_step(
    net: Network,
    grad: np.ndarray,
    velocity: np.ndarray,
    *,
    coefficient: float,
    eta: float,
    beta: float,
    batch_length: int,
) -> None:
    r"""Apply one step of SGD with heavy-ball momentum and L2 in the gradient, in place.

    Parameters
    ----------
    net : Network
        Updated in place.
    grad : ndarray, shape (n_weights + n_biases,)
        Σ_x ∂C_x/∂θ over the batch, laid out like ``net.params``; overwritten.
    velocity : ndarray, shape (n_weights + n_biases,)
        The velocity v, updated in place (zeros before the first step).
    coefficient : float
        The L2 coefficient c (λ/n in Nielsen's convention).
    eta : float
        Learning rate η.
    beta : float
        Momentum β, 0 <= β < 1.
    batch_length : int
        m_B, the number of examples in this batch.

    Notes
    -----
    .. math:: v \to \beta v + \frac{1}{m_B}\sum_x \frac{\partial C_x}{\partial\theta}
              + c\,M\circ\theta, \qquad \theta \to \theta - \eta v,

    with M = 1 on the weights and 0 on the biases (biases are not decayed).
    PyTorch's convention (``dampening=0``, no Nesterov). With v₀ = 0 the
    first step is eq. 93's.
    """
    Momentum(beta).step(net, grad, {"velocity": velocity}, coefficient=coefficient,
                        eta=eta, batch_length=batch_length)  # fmt: skip


def adam_step(
    net: Network,
    grad: np.ndarray,
    first_moment: np.ndarray,
    second_moment: np.ndarray,
    step: np.ndarray,
    *,
    coefficient: float,
    eta: float,
    beta1: float,
    beta2: float,
    eps: float,
    batch_length: int,
) -> None:
    r"""Apply one Adam step with the L2 term added to the gradient, in place.

    Parameters
    ----------
    net : Network
        Updated in place.
    grad : ndarray, shape (n_weights + n_biases,)
        Σ_x ∂C_x/∂θ over the batch, laid out like ``net.params``; overwritten.
    first_moment, second_moment : ndarray, shape (n_weights + n_biases,)
        Adam's m and v, updated in place (zeros before the first step).
    step : ndarray of int64, shape ()
        Steps taken so far, incremented in place.
    coefficient : float
        The L2 coefficient c (λ/n in Nielsen's convention).
    eta : float
        Learning rate η.
    beta1, beta2, eps : float
        Adam's decay rates of the two moments and its ε.
    batch_length : int
        m_B, the number of examples in this batch.

    Notes
    -----
    With u = (1/m_B)Σ_x ∂C_x/∂θ + c M∘θ and t the step number,

    .. math:: m \to \beta_1 m + (1-\beta_1)u, \quad v \to \beta_2 v + (1-\beta_2)u^2,
              \quad \theta \to \theta - \frac{\eta}{1-\beta_1^t}\,
              \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}.

    The decay c θ is divided by √v̂ like the data gradient, so weights whose
    gradients vary more are decayed less.
    """
    state = {"first_moment": first_moment, "second_moment": second_moment, "step": step}
    Adam(beta1, beta2, eps).step(net, grad, state, coefficient=coefficient, eta=eta,
                                 batch_length=batch_length)  # fmt: skip


def adamw_step(
    net: Network,
    grad: np.ndarray,
    first_moment: np.ndarray,
    second_moment: np.ndarray,
    step: np.ndarray,
    *,
    multiplier: float,
    eta: float,
    beta1: float,
    beta2: float,
    eps: float,
    batch_length: int,
) -> None:
    r"""Apply one AdamW step (decoupled weight decay), in place.

    Parameters
    ----------
    net : Network
        Updated in place.
    grad : ndarray, shape (n_weights + n_biases,)
        Σ_x ∂C_x/∂θ over the batch, laid out like ``net.params``; overwritten.
    first_moment, second_moment : ndarray, shape (n_weights + n_biases,)
        Adam's m and v, updated in place (zeros before the first step).
    step : ndarray of int64, shape ()
        Steps taken so far, incremented in place.
    multiplier : float
        The decay multiplier d = 1 − ηc applied to the weights (1 − ηλ/n in
        Nielsen's convention; PyTorch's 1 − lr·weight_decay).
    eta : float
        Learning rate η.
    beta1, beta2, eps : float
        Adam's decay rates of the two moments and its ε.
    batch_length : int
        m_B, the number of examples in this batch.

    Notes
    -----
    .. math:: w \to d\,w,

    then Adam's step (:func:`adam_step`) with the data gradient alone. The
    gradient was computed at the weights before the decay, as in PyTorch.
    """
    state = {"first_moment": first_moment, "second_moment": second_moment, "step": step}
    grad /= batch_length
    if multiplier != 1.0:
        weights = net.weights_flat
        weights *= multiplier  # decoupled decay: weights only, outside Adam's scaling
    AdamDirection(beta1, beta2, eps).apply(net.params, grad, state, eta)


#: The rules beside eq. 93 by name, with their default hyper-parameters.
OPTIMIZERS: dict[str, type[Optimizer]] = {k: v for k, v in RULES.items() if k != "sgd"}


def get_optimizer(optimizer) -> Optimizer | None:
    """The update rule ``optimizer`` names; None (or "sgd") for eq. 93 itself.

    Parameters
    ----------
    optimizer : None, "sgd", "momentum", "adam", "adamw", Rule or dict
        As for :func:`decaylab.rules.get_rule`, except that eq. 93 is None.
    """
    if optimizer is None or optimizer == "sgd":
        return None
    return get_rule(optimizer)
