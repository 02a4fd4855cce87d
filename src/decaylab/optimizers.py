r"""Update rules beside eq. 93: heavy-ball momentum, Adam with L2, and AdamW.

Each rule is one small step function, like :func:`decaylab.training.sgd_step`,
that updates the network in place from the batch sum of the gradients and its
own state, plus a frozen record (:class:`Momentum`, :class:`Adam`,
:class:`AdamW`) holding its hyper-parameters, with ``init(net)`` giving the
state and ``step(...)`` applying the rule. State is a dict of plain NumPy
arrays laid out like ``net.params`` (weights first, then biases), so it can
be written to a checkpoint without pickle.

The strength of the decay is the same coefficient c as for eq. 93: the
convention turns λ into c (c = λ/n for Nielsen's "sum", see
:mod:`decaylab.conventions`), and eq. 93 multiplies every weight by
d = 1 − ηc. Writing g = (1/m_B)·Σ_x ∂C_x/∂θ for the batch-mean gradient and
M for the mask that is 1 on weights and 0 on biases (biases are never
decayed):

==========  ======================================  =========================================
rule        one step                                PyTorch
==========  ======================================  =========================================
eq. 93      θ ← θ − ηcM∘θ − ηg                      ``SGD(weight_decay=c)``
momentum    v ← βv + g + cM∘θ, then θ ← θ − ηv      ``SGD(momentum=β, weight_decay=c)``
Adam + L2   Adam's step on u = g + cM∘θ             ``Adam(weight_decay=c)``
AdamW       θ ← θ − ηcM∘θ, then Adam's step on g    ``AdamW(weight_decay=c)``
==========  ======================================  =========================================

where Adam's step on u at step t updates the moments m ← β₁m + (1 − β₁)u and
v ← β₂v + (1 − β₂)u² and moves θ ← θ − η·m̂/(√v̂ + ε), with m̂ = m/(1 − β₁ᵗ)
and v̂ = v/(1 − β₂ᵗ).
In the PyTorch column ``lr=η`` and the biases go in a parameter group with
``weight_decay=0``. The L2 term of momentum and Adam + L2 enters the
gradient, so it is accumulated by the velocity and, for Adam, divided by
√v̂; AdamW's decay is decoupled: it multiplies the weights by the same
d = 1 − ηc as eq. 93, outside the adaptive scaling (Loshchilov & Hutter 2019).

The step monitors (:class:`decaylab.DecompositionMonitor`,
:class:`decaylab.RotationMonitor`) split each step of a layer's weights,
w_before − w_after = D + R, into the part D the decay made and the rest R
(``Optimizer.decay_part``). Every rule's step is linear in the L2 term once
Adam's denominator √v̂ + ε of the step is fixed, so the split is exact:

==========  ==============================================================
rule        decay part D of step t
==========  ==============================================================
eq. 93      (1 − d)·w, d = 1 − ηc
momentum    η·q, with q ← βq + c·w: the L2 term's share of the velocity
Adam + L2   η/(1 − β₁ᵗ) · q/(√v̂ + ε), with q ← β₁q + (1 − β₁)c·w: the L2
            term's share of the first moment, divided by the step's own
            √v̂ + ε (which the L2 term helped make: only this denominator is
            not split)
AdamW       (1 − d)·w, the decoupled multiplication
==========  ==============================================================

with w the weights before the step. R is then the data gradient's part (for
Adam + L2, its share of the first moment over the same denominator), and
for AdamW Adam's whole step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np

from decaylab._validation import check_choice, check_real
from decaylab.network import Network

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
    grad /= batch_length
    if coefficient:
        grad[: net.n_weights] += coefficient * net.weights_flat  # L2 enters the gradient
    velocity *= beta
    velocity += grad
    net.params -= eta * velocity


def _adam_update(params, grad, first, second, step, *, eta, beta1, beta2, eps) -> None:
    """θ ← θ − η m̂/(√v̂ + ε) after updating Adam's moments of ``grad`` in place."""
    step += 1
    t = int(step)
    first *= beta1
    first += (1.0 - beta1) * grad
    second *= beta2
    second += (1.0 - beta2) * grad * grad
    # Bias corrections as PyTorch applies them: to the step size and to √v.
    denominator = np.sqrt(second) / np.sqrt(1.0 - beta2**t) + eps
    params -= (eta / (1.0 - beta1**t)) * first / denominator


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
    grad /= batch_length
    if coefficient:
        grad[: net.n_weights] += coefficient * net.weights_flat  # L2 enters the gradient
    _adam_update(
        net.params,
        grad,
        first_moment,
        second_moment,
        step,
        eta=eta,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
    )


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
    grad /= batch_length
    weights = net.weights_flat
    if multiplier != 1.0:
        weights *= multiplier  # decoupled decay: weights only, outside Adam's scaling
    _adam_update(
        net.params,
        grad,
        first_moment,
        second_moment,
        step,
        eta=eta,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
    )


def _check_rate(name: str, value: float) -> float:
    value = check_real(name, value, nonnegative=True)
    if value >= 1.0:
        raise ValueError(f"{name}={value} is too large; expected 0 <= {name} < 1")
    return value


@dataclass(frozen=True)
class Optimizer:
    """Base of the update rules beside eq. 93: hyper-parameters, state and one step.

    Subclasses set :attr:`name` and implement :meth:`init` and :meth:`step`.
    """

    name: ClassVar[str] = ""

    def init(self, net: Network) -> dict[str, np.ndarray]:
        """The state before the first step: a dict of arrays, all zeros."""
        raise NotImplementedError

    def step(
        self,
        net: Network,
        grad: np.ndarray,
        state: dict[str, np.ndarray],
        *,
        coefficient: float,
        eta: float,
        batch_length: int,
    ) -> None:
        """Apply one step to ``net`` and ``state`` in place (``grad`` is overwritten)."""
        raise NotImplementedError

    def decay_part(
        self, net: Network, state: dict[str, np.ndarray], *, coefficient: float, eta: float
    ) -> Callable:
        """A function giving, after each step, the part of the step the decay made.

        ``state`` is the rule's state the run starts from. The returned
        ``part(weights_before, state)`` is called after every step with the
        weights before it (shape (n_weights,)) and the rule's state after it,
        and returns D, shape (n_weights,): w_before − w_after = D + R, R the
        rest of the step (the module docstring defines D for each rule). It
        keeps its own running share of the decay in the rule's memory, so
        momentum and Adam + L2 need a fresh ``state`` (a ValueError
        otherwise: the share a state under way carries is not known).
        """
        raise NotImplementedError

    def _refuse_state_under_way(self, under_way: bool, what: str) -> None:
        if under_way:
            raise ValueError(
                f"optimizer_state holds {what} from earlier steps of a {self.name} run, whose "
                "decay share is unknown, so the step monitors cannot split its steps; "
                "expected monitors from the run's first step (a fresh state)"
            )

    def settings(self) -> dict:
        """The rule's name and hyper-parameters, JSON-ready."""
        return {"name": self.name, **asdict(self)}

    def check_state(self, state: object, net: Network) -> dict[str, np.ndarray]:
        """Return ``state`` if it has this rule's arrays in the shapes and dtype ``net`` needs."""
        expected = self.init(net)
        if not isinstance(state, dict) or set(state) != set(expected):
            shown = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"optimizer_state has {shown}; expected the {self.name} state {sorted(expected)}"
            )
        for key, array in expected.items():
            got = state[key]
            if not (
                isinstance(got, np.ndarray)
                and got.shape == array.shape
                and got.dtype == array.dtype
            ):
                raise ValueError(
                    f"optimizer_state[{key!r}] is {getattr(got, 'dtype', type(got).__name__)} "
                    f"of shape {getattr(got, 'shape', None)}; expected {array.dtype} of shape "
                    f"{array.shape}"
                )
        return state


@dataclass(frozen=True)
class Momentum(Optimizer):
    """SGD with heavy-ball momentum β and L2 added to the gradient (:func:`momentum_step`).

    Attributes
    ----------
    beta : float
        Momentum, 0 <= β < 1 (PyTorch's ``momentum``); β = 0 is eq. 93.
    """

    name: ClassVar[str] = "momentum"
    beta: float = 0.9

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", _check_rate("beta", self.beta))

    def init(self, net: Network) -> dict[str, np.ndarray]:
        return {"velocity": np.zeros_like(net.params)}

    def step(self, net, grad, state, *, coefficient, eta, batch_length) -> None:
        momentum_step(
            net,
            grad,
            state["velocity"],
            coefficient=coefficient,
            eta=eta,
            beta=self.beta,
            batch_length=batch_length,
        )

    def decay_part(self, net, state, *, coefficient, eta) -> Callable:
        self._refuse_state_under_way(bool(np.any(state["velocity"])), "a velocity")
        share = np.zeros(net.n_weights, dtype=net.dtype)  # q, the L2 term's share of v

        def part(weights_before, state):
            np.multiply(share, self.beta, out=share)  # in place: the closure keeps it
            np.add(share, coefficient * weights_before, out=share)
            return eta * share

        return part


@dataclass(frozen=True)
class _AdamFamily(Optimizer):
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta1", _check_rate("beta1", self.beta1))
        object.__setattr__(self, "beta2", _check_rate("beta2", self.beta2))
        object.__setattr__(self, "eps", check_real("eps", self.eps, positive=True))

    def init(self, net: Network) -> dict[str, np.ndarray]:
        return {
            "first_moment": np.zeros_like(net.params),
            "second_moment": np.zeros_like(net.params),
            "step": np.zeros((), dtype=np.int64),
        }


@dataclass(frozen=True)
class Adam(_AdamFamily):
    """Adam with the L2 term added to the gradient (:func:`adam_step`).

    Attributes
    ----------
    beta1, beta2 : float
        Decay rates of the first and second moments, in [0, 1).
    eps : float
        ε > 0, added to √v̂.
    """

    name: ClassVar[str] = "adam"

    def step(self, net, grad, state, *, coefficient, eta, batch_length) -> None:
        adam_step(
            net,
            grad,
            state["first_moment"],
            state["second_moment"],
            state["step"],
            coefficient=coefficient,
            eta=eta,
            beta1=self.beta1,
            beta2=self.beta2,
            eps=self.eps,
            batch_length=batch_length,
        )

    def decay_part(self, net, state, *, coefficient, eta) -> Callable:
        self._refuse_state_under_way(int(state["step"]) != 0, "moments")
        share = np.zeros(net.n_weights, dtype=net.dtype)  # q, the L2 term's share of m

        def part(weights_before, state):
            np.multiply(share, self.beta1, out=share)  # in place: the closure keeps it
            np.add(share, (1.0 - self.beta1) * coefficient * weights_before, out=share)
            t = int(state["step"])
            # The step's own denominator, as _adam_update formed it.
            second = state["second_moment"][: net.n_weights]
            denominator = np.sqrt(second) / np.sqrt(1.0 - self.beta2**t) + self.eps
            return (eta / (1.0 - self.beta1**t)) * share / denominator

        return part


@dataclass(frozen=True)
class AdamW(_AdamFamily):
    """Adam with decoupled weight decay, w → (1 − ηc)·w each step (:func:`adamw_step`).

    Attributes
    ----------
    beta1, beta2 : float
        Decay rates of the first and second moments, in [0, 1).
    eps : float
        ε > 0, added to √v̂.
    """

    name: ClassVar[str] = "adamw"

    def step(self, net, grad, state, *, coefficient, eta, batch_length) -> None:
        adamw_step(
            net,
            grad,
            state["first_moment"],
            state["second_moment"],
            state["step"],
            multiplier=1.0 - eta * coefficient,
            eta=eta,
            beta1=self.beta1,
            beta2=self.beta2,
            eps=self.eps,
            batch_length=batch_length,
        )

    def decay_part(self, net, state, *, coefficient, eta) -> Callable:
        decay = eta * coefficient  # 1 − d: no memory, so any state will do

        def part(weights_before, state):
            return decay * weights_before

        return part


#: The update rules by name, with their default hyper-parameters.
OPTIMIZERS: dict[str, type[Optimizer]] = {c.name: c for c in (Momentum, Adam, AdamW)}


def get_optimizer(optimizer: str | Optimizer | dict | None) -> Optimizer | None:
    """The update rule ``optimizer`` names; None (or "sgd") for eq. 93 itself.

    Parameters
    ----------
    optimizer : None, "sgd", "momentum", "adam", "adamw", Optimizer or dict
        A name gives the rule with its default hyper-parameters; an
        :class:`Optimizer` is returned unchanged; a dict is what
        :meth:`Optimizer.settings` returned.
    """
    if optimizer is None or optimizer == "sgd":
        return None
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, dict):
        settings = dict(optimizer)
        name = check_choice("optimizer name", settings.pop("name", None), OPTIMIZERS)
        try:
            return OPTIMIZERS[name](**settings)
        except TypeError:
            raise ValueError(
                f"optimizer={optimizer!r} has settings the {name} rule does not take"
            ) from None
    if isinstance(optimizer, str):
        return OPTIMIZERS[check_choice("optimizer", optimizer, ("sgd", *OPTIMIZERS))]()
    raise TypeError(
        f"optimizer={optimizer!r} has type {type(optimizer).__name__}; expected None, a name "
        f"({', '.join(repr(n) for n in ('sgd', *OPTIMIZERS))}) or a decaylab Optimizer"
    )
