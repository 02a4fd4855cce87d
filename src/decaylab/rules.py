r"""Update rules: eq. 93 and the rules beside it, built from a decay and a direction.

A rule is one kind of object (the :class:`Rule` protocol), whatever it does:
its state is a dict of plain arrays laid out like ``net.params`` (so a
checkpoint stores it without pickle), ``init(net)`` gives that state,
``step`` applies one step in place, ``settings()`` is a JSON-ready dict that
:func:`rule_from_settings` turns back into the rule, and the rule answers for
itself what the dynamics need of it:

* ``epoch_factor(n, batch_size, eta, coefficient)``: the exact factor one
  epoch of pure decay (no data gradient) multiplies a weight by, once any
  transient of the rule's memory has gone; ``epoch_factors(..., epochs=E)``
  the factor of each of the first E epochs from a fresh state;
* ``closed_form(...)``: its closed form e^{−rate·n/m};
* ``relaxation_epochs(...)``: the relaxation time τ in epochs;
* ``multiplies_weights``: whether its decay is the multiplication w → d·w,
  which the ‖w‖² budget's d·w form (:mod:`decaylab.dynamics.budget`) needs;
* ``decay_part(net, state, coefficient=, eta=)``: the split of each step
  w_before − w_after = D + R into the part D the decay made and the rest R.

The coefficient c is the convention's (λ/n in Nielsen's "sum",
:mod:`decaylab.conventions`); a = ηc is the per-step decay, d = 1 − a.

The rules of the package are chains of two parts, as optax chains
transforms: a **decay** — :class:`L2` (c·w enters the gradient) or
:class:`Decoupled` (w → (1 − ηc)·w before the direction) — and a
**direction** — :class:`Plain` (θ → θ − ηu), :class:`HeavyBall` (momentum,
optionally Nesterov's) or :class:`AdamDirection`. Writing g for the batch
mean of the data gradient and M for the mask that is 1 on weights, 0 on
biases (biases are never decayed):

==========  ================  =====================================  ==========================
rule        parts             one step                               PyTorch
==========  ================  =====================================  ==========================
eq. 93      L2 × Plain        θ ← θ − η(g + cM∘θ)                    ``SGD(weight_decay=c)``
momentum    L2 × HeavyBall    v ← βv + g + cM∘θ, θ ← θ − ηv          ``SGD(momentum=β, ...)``
Nesterov    L2 × HeavyBall    v as above, θ ← θ − η(g + cM∘θ + βv)   ``SGD(..., nesterov=True)``
Adam + L2   L2 × Adam         Adam's step on g + cM∘θ                ``Adam(weight_decay=c)``
AdamW       Decoupled × Adam  w ← (1 − ηc)w, then Adam's step on g   ``AdamW(weight_decay=c)``
==========  ================  =====================================  ==========================

Eq. 93 is :class:`SGD`, whose step is :func:`sgd_step`: one BLAS product per
layer, w → d·w − (η/m_B)·δᵀa, with d = 1 − ηc.

**Pure decay.** With the data gradient zero, a step of a rule whose
direction is linear maps (w, its memory) linearly: ``pure_decay(a)`` gives
that matrix (1×1 for eq. 93 and every decoupled rule: d = 1 − a; for heavy
ball on (w, ηv) [[1 − a, −β], [a, β]], whose characteristic recurrence is
r² − (1 + β − a)r + β = 0; for Nesterov [[1 − a(1 + β), −β²], [a, β]], r² −
(1 + β − a(1 + β))r + β(1 − a) = 0). The exact epoch factor is the
largest modulus of its eigenvalues to the power K = ⌈n/m⌉; the factors of
the first epochs come from the K-th power of the matrix applied to the
fresh state (w, 0). Adam + L2 divides the decay by √v̂, so it has no fixed
factor (NaN); its τ is AdamW's at the same c.

**The split.** Every direction is linear in its input once Adam's
denominator √v̂ + ε of the step is fixed, so the decay part D of a step is
what the direction makes of the L2 term c·w alone (eq. 93: ηc·w; heavy
ball: ηq with q ← βq + c·w, the L2 term's share of the velocity; Nesterov:
η(c·w + βq); Adam: η/(1 − β₁ᵗ)·q/(√v̂ + ε) with q ← β₁q + (1 − β₁)c·w), and
for a decoupled decay ηc·w.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from decaylab._blas import add_column_sums, column_sums_call, matmul_into, update_call
from decaylab._validation import check_real
from decaylab.network import Backprop, Network

__all__ = [
    "RULES",
    "SGD",
    "Adam",
    "AdamDirection",
    "AdamW",
    "ChainedRule",
    "Decoupled",
    "HeavyBall",
    "L2",
    "Momentum",
    "Plain",
    "Rule",
    "check_rule_state",
    "get_rule",
    "register_rule",
    "rule_from_settings",
    "rule_of",
    "sgd_step",
]


@runtime_checkable
class Rule(Protocol):
    """What :func:`decaylab.train` and :mod:`decaylab.dynamics` ask of an update rule.

    See the module docstring; :class:`ChainedRule` implements it from parts.
    ``n``, ``batch_size``, ``eta`` and ``coefficient`` are the run's n, m, η
    and c; ``grad`` of :meth:`step` is Σ_x ∂C_x/∂θ of the batch, laid out
    like ``net.params`` (overwritten), or the network's
    :class:`~decaylab.network.Backprop` that has just run on the batch.
    """

    name: str
    multiplies_weights: bool

    def init(self, net: Network) -> dict[str, np.ndarray]: ...

    def step(self, net, grad, state, *, coefficient: float, eta: float, batch_length: int): ...

    def decay_part(self, net, state, *, coefficient: float, eta: float) -> Callable: ...

    def settings(self) -> dict: ...

    def epoch_factor(self, n: int, batch_size: int, eta: float, coefficient: float) -> float: ...

    def epoch_factors(
        self, n: int, batch_size: int, eta: float, coefficient: float, *, epochs: int
    ) -> np.ndarray: ...

    def closed_form(self, n: int, batch_size: int, eta: float, coefficient: float) -> float: ...

    def relaxation_epochs(
        self, n: int, batch_size: int, eta: float, coefficient: float
    ) -> float: ...


def sgd_step(
    net: Network,
    grad: np.ndarray | Backprop,
    *,
    multiplier: float,
    eta: float,
    batch_length: int,
) -> None:
    r"""Apply one step of eq. 93 to ``net`` in place.

    Parameters
    ----------
    net : Network
        Updated in place.
    grad : ndarray, shape (n_weights + n_biases,), or Backprop
        Σ_x ∂C_x/∂θ over the batch: either laid out like ``net.params`` (it
        is then overwritten, scaled by η/m_B, to avoid a temporary), or the
        :class:`~decaylab.network.Backprop` of ``net`` that has just run on
        the batch, which holds it in factored form, Σ_x ∂C_x/∂w = δᵀa.
    multiplier : float
        The decay multiplier d, 1 − ηλ/n in Nielsen's convention.
    eta : float
        Learning rate η.
    batch_length : int
        m_B, the number of examples in this batch.

    Notes
    -----
    .. math:: w \to d\,w - (\eta/m_B)\sum_x \partial C_x/\partial w,
              \qquad b \to b - (\eta/m_B)\sum_x \partial C_x/\partial b.

    With the factored gradient each layer's weight update is one BLAS gemm,
    :math:`w \to d\,w - (\eta/m_B)\,\delta^\top a` (β = d, α = −η/m_B):
    no gradient buffer and none of the separate passes to decay, scale and
    subtract. Both forms agree to the rounding of a sum (about 1e-16
    relative per step).
    """
    if isinstance(grad, Backprop):
        if grad.net is not net:
            raise ValueError("grad is the Backprop of another network; expected that of net")
        scale = eta / batch_length
        for w, b, (delta, inputs) in zip(net.weights, net.biases, grad.factors()):
            matmul_into(w, delta.T, inputs, alpha=-scale, beta=multiplier)  # w ← d·w − (η/m_B)·δᵀa
            add_column_sums(b, delta, grad.ones[: len(delta)], alpha=-scale)  # b: no decay
        return
    weights, params = net.weights_flat, net.params
    if multiplier != 1.0:
        weights *= multiplier  # decay: weights only, biases are never decayed
    grad *= eta / batch_length
    params -= grad  # gradient step on weights and biases alike


def _check_rate(name: str, value: float) -> float:
    value = check_real(name, value, nonnegative=True)
    if value >= 1.0:
        raise ValueError(f"{name}={value} is too large; expected 0 <= {name} < 1")
    return value


def _flat(grad) -> np.ndarray:
    return grad.grad if isinstance(grad, Backprop) else grad


# -- directions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Plain:
    """θ → θ − η·u: the direction of eq. 93, memoryless and linear."""

    memoryless: ClassVar[bool] = True

    def init(self, net: Network) -> dict[str, np.ndarray]:
        return {}

    def apply(self, params: np.ndarray, u: np.ndarray, state: dict, eta: float) -> None:
        u *= eta
        params -= u

    def pure_decay(self, a: float) -> np.ndarray | None:
        """Per-step map of w under pure decay at rate a = ηc entering u."""
        return np.array([[1.0 - a]])

    def rate(self, a: float) -> float:
        """First-order per-step decay rate for a decay a entering u."""
        return a

    def share(self, n_weights: int, dtype, eta: float, state: dict) -> Callable:
        """f(u_w, state) → the part of the step the input u_w (weights only) made."""
        return lambda u, state: eta * u


@dataclass(frozen=True)
class HeavyBall:
    """v → βv + u, then θ → θ − ηv (or θ → θ − η(u + βv): Nesterov), as PyTorch's SGD."""

    beta: float = 0.9
    nesterov: bool = False
    memoryless: ClassVar[bool] = False

    def init(self, net: Network) -> dict[str, np.ndarray]:
        return {"velocity": np.zeros_like(net.params)}

    def apply(self, params, u, state, eta) -> None:
        velocity = state["velocity"]
        velocity *= self.beta
        velocity += u
        if self.nesterov:
            u += self.beta * velocity  # look ahead along the new velocity
            params -= eta * u
        else:
            params -= eta * velocity

    def pure_decay(self, a: float) -> np.ndarray:
        # On (w, ηv): the recurrences of the module docstring.
        b = self.beta
        if self.nesterov:
            return np.array([[1.0 - a * (1.0 + b), -b * b], [a, b]])
        return np.array([[1.0 - a, -b], [a, b]])

    def rate(self, a: float) -> float:
        return a / (1.0 - self.beta)  # slow root 1 − a/(1 − β) + O(a²), Nesterov's too

    def share(self, n_weights, dtype, eta, state) -> Callable:
        if np.any(state["velocity"]):
            raise _under_way("a velocity")
        q = np.zeros(n_weights, dtype=dtype)  # the decay's share of the velocity
        decay = np.empty(n_weights, dtype=dtype)
        beta, nesterov = self.beta, self.nesterov

        def part(u, state):
            np.multiply(q, beta, out=q)
            np.add(q, u, out=q)
            if nesterov:
                np.add(np.multiply(q, beta, out=decay), u, out=decay)  # c·w + βq
                return np.multiply(decay, eta, out=decay)
            return np.multiply(q, eta, out=decay)

        return part


@dataclass(frozen=True)
class AdamDirection:
    """Adam's step on u: moments m, v of u, θ → θ − η/(1 − β₁ᵗ)·m/(√v/√(1 − β₂ᵗ) + ε)."""

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    memoryless: ClassVar[bool] = False

    def init(self, net: Network) -> dict[str, np.ndarray]:
        return {
            "first_moment": np.zeros_like(net.params),
            "second_moment": np.zeros_like(net.params),
            "step": np.zeros((), dtype=np.int64),
        }

    def apply(self, params, u, state, eta) -> None:
        first, second, step = state["first_moment"], state["second_moment"], state["step"]
        step += 1
        t = int(step)
        first *= self.beta1
        first += (1.0 - self.beta1) * u
        second *= self.beta2
        second += (1.0 - self.beta2) * u * u
        # Bias corrections as PyTorch applies them: to the step size and to √v.
        denominator = np.sqrt(second) / np.sqrt(1.0 - self.beta2**t) + self.eps
        params -= (eta / (1.0 - self.beta1**t)) * first / denominator

    def pure_decay(self, a: float) -> None:
        return None  # the decay is divided by √v̂: not a fixed linear map

    def rate(self, a: float) -> float:
        return float("nan")

    def share(self, n_weights, dtype, eta, state) -> Callable:
        if int(state["step"]) != 0:
            raise _under_way("moments")
        q = np.zeros(n_weights, dtype=dtype)  # the decay's share of the first moment
        beta1, beta2, eps = self.beta1, self.beta2, self.eps

        def part(u, state):
            np.multiply(q, beta1, out=q)
            np.add(q, (1.0 - beta1) * u, out=q)
            t = int(state["step"])
            # The step's own denominator, as apply formed it.
            denominator = np.sqrt(state["second_moment"][:n_weights]) / np.sqrt(1.0 - beta2**t)
            return (eta / (1.0 - beta1**t)) * q / (denominator + eps)

        return part


def _under_way(what: str) -> ValueError:
    return ValueError(
        f"optimizer_state holds {what} from earlier steps of a run, whose decay share is "
        "unknown, so the step monitors cannot split its steps; expected monitors from the "
        "run's first step (a fresh state)"
    )


# -- decays ----------------------------------------------------------------------------


@dataclass(frozen=True)
class L2:
    """The decay enters the gradient: u = g + c·M∘θ, which the direction then shapes."""

    def apply(self, net: Network, u: np.ndarray, *, coefficient: float, eta: float) -> None:
        if coefficient:
            u[: net.n_weights] += coefficient * net.weights_flat

    def pure_decay(self, direction, a: float) -> np.ndarray | None:
        return direction.pure_decay(a)

    def rate(self, direction, a: float) -> float:
        return direction.rate(a)

    def multiplies_weights(self, direction) -> bool:
        return direction.memoryless

    def part(self, direction, net, state, *, coefficient, eta) -> Callable:
        if direction.memoryless:  # the step multiplies w by d: D = w − d·w
            return _multiplied_part(1.0 - eta * coefficient, net)
        share = direction.share(net.n_weights, net.dtype, eta, state)
        u = np.empty(net.n_weights, dtype=net.dtype)

        def part(before, state):
            return share(np.multiply(before, coefficient, out=u), state)

        return part


@dataclass(frozen=True)
class Decoupled:
    """The decay multiplies the weights, w → (1 − ηc)·w, outside the direction (SGDW, AdamW)."""

    def apply(self, net: Network, u: np.ndarray, *, coefficient: float, eta: float) -> None:
        if coefficient:
            weights = net.weights_flat
            weights *= 1.0 - eta * coefficient

    def pure_decay(self, direction, a: float) -> np.ndarray:
        return np.array([[1.0 - a]])

    def rate(self, direction, a: float) -> float:
        return a

    def multiplies_weights(self, direction) -> bool:
        return True

    def part(self, direction, net, state, *, coefficient, eta) -> Callable:
        return _multiplied_part(1.0 - eta * coefficient, net)  # no memory: any state will do


def _multiplied_part(multiplier: float, net: Network) -> Callable:
    """D = w − d·w, formed as the step forms d·w, so that R is exactly 0 when the gradient is.

    The part carries d as ``part.multiplier``: the step monitors' budget then
    follows from d·w and R without forming D (:mod:`decaylab._step_budget`).
    """
    decay = np.empty(net.n_weights, dtype=net.dtype)  # reused: no allocation per step

    def part(before, state):
        np.multiply(before, multiplier, out=decay)
        np.subtract(before, decay, out=decay)
        return decay

    part.multiplier = multiplier
    return part


# -- rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainedRule:
    """A rule made of a decay (:attr:`decay`) and a direction (:attr:`direction`).

    Subclasses set :attr:`name`, their hyper-parameters as dataclass fields,
    and the two parts. Everything else, physics included, follows from them.
    """

    name: ClassVar[str] = ""

    @property
    def decay(self):
        raise NotImplementedError

    @property
    def direction(self):
        raise NotImplementedError

    def init(self, net: Network) -> dict[str, np.ndarray]:
        """The state before the first step: a dict of arrays, all zeros."""
        return self.direction.init(net)

    def step(self, net, grad, state, *, coefficient, eta, batch_length) -> None:
        """Apply one step to ``net`` and ``state`` in place (a flat ``grad`` is overwritten)."""
        u = _flat(grad)
        u /= batch_length
        self.decay.apply(net, u, coefficient=coefficient, eta=eta)
        self.direction.apply(net.params, u, state, eta)

    def stepper(self, net, state, *, coefficient, eta) -> Callable:
        """``step(grad, batch_length)``: :meth:`step` with the run's fixed arguments bound."""

        def step(grad, batch_length):
            self.step(net, grad, state, coefficient=coefficient, eta=eta, batch_length=batch_length)

        return step

    def decay_part(self, net, state, *, coefficient, eta) -> Callable:
        """``part(weights_before, state_after)`` → D of each step, shape (n_weights,).

        Call it from the run's first step on: rules with memory keep the
        decay's running share and refuse (ValueError) a state under way.
        """
        return self.decay.part(self.direction, net, state, coefficient=coefficient, eta=eta)

    @property
    def multiplies_weights(self) -> bool:
        """Whether the decay is the multiplication w → (1 − ηc)·w, alone in its step."""
        return self.decay.multiplies_weights(self.direction)

    def pure_decay(self, eta: float, coefficient: float) -> np.ndarray | None:
        """The per-step map of (w, memory) under pure decay; None if it is not linear."""
        return self.decay.pure_decay(self.direction, eta * coefficient)

    def epoch_factor(self, n, batch_size, eta, coefficient) -> float:
        """|largest eigenvalue|^K of :meth:`pure_decay`; NaN when there is none."""
        matrix = self.pure_decay(eta, coefficient)
        if matrix is None:
            return float("nan")
        return float(np.max(np.abs(np.linalg.eigvals(matrix))) ** _steps(n, batch_size))

    def epoch_factors(self, n, batch_size, eta, coefficient, *, epochs) -> np.ndarray:
        """w_e/w_{e−1} for e = 1..epochs from a fresh state (memory 0); signed."""
        matrix = self.pure_decay(eta, coefficient)
        if matrix is None:
            return np.full(epochs, np.nan)
        return _trajectory_factors(matrix, _steps(n, batch_size), epochs)

    def closed_form(self, n, batch_size, eta, coefficient) -> float:
        """e^{−rate·n/m}, rate the first-order per-step decay (ηc; ηc/(1 − β) with momentum)."""
        return float(np.exp(-self.decay.rate(self.direction, eta * coefficient) * n / batch_size))

    def relaxation_epochs(self, n, batch_size, eta, coefficient) -> float:
        """τ = −1/log(epoch factor); a rule without a factor (Adam + L2) takes (1 − ηc)^K."""
        factor = self.epoch_factor(n, batch_size, eta, coefficient)
        if math.isnan(factor):
            factor = (1.0 - eta * coefficient) ** _steps(n, batch_size)
        return float(-1.0 / math.log(factor)) if 0.0 < factor < 1.0 else _no_decay(factor)

    def settings(self) -> dict:
        """The rule's name and hyper-parameters, JSON-ready."""
        return {"name": self.name, **asdict(self)}

    def check_state(self, state: object, net: Network) -> dict[str, np.ndarray]:
        """Return ``state`` if it has this rule's arrays in the shapes and dtype ``net`` needs."""
        return check_rule_state(self, state, net)


#: Kept for code written against the earlier name.
Optimizer = ChainedRule


def _steps(n: int, batch_size: int) -> int:
    return -(-int(n) // int(batch_size))


def _no_decay(factor: float) -> float:
    return float("inf") if factor >= 1.0 else 0.0


def _trajectory_factors(matrix: np.ndarray, steps: int, epochs: int) -> np.ndarray:
    """w_{eK}/w_{(e−1)K} for e = 1..epochs of x_{t+1} = M x_t from x_0 = (1, 0, …)."""
    values, vectors = np.linalg.eig(matrix)
    order = np.argsort(-np.abs(values))
    values, vectors = values[order], vectors[:, order]
    t = steps * np.arange(epochs + 1)
    if np.linalg.cond(vectors) < 1e8 and values[0] != 0:
        # w_t/λ₁ᵗ = Σ_i A_i (λ_i/λ₁)ᵗ stays of order one however long the run.
        amplitudes = vectors[0] * np.linalg.solve(vectors, np.eye(len(matrix))[:, 0])
        scaled = np.array([np.sum(amplitudes * (values / values[0]) ** k) for k in t])
        return (values[0] ** steps * scaled[1:] / scaled[:-1]).real
    # A double root (or nearly): powers of M, rescaled against under- and overflow.
    power, state, factors = np.linalg.matrix_power(matrix, steps), np.eye(len(matrix))[0], []
    for _ in range(epochs):
        new = power @ state
        factors.append(new[0] / state[0] if state[0] else np.nan)
        state = new / max(np.max(np.abs(new)), np.finfo(float).tiny)
    return np.array(factors)


@dataclass(frozen=True)
class SGD(ChainedRule):
    """Eq. 93: L2 × Plain, w → d·w − (η/m_B)Σ_x ∂C_x/∂w with d = 1 − ηc (:func:`sgd_step`)."""

    name: ClassVar[str] = "sgd"
    decay: ClassVar = L2()
    direction: ClassVar = Plain()

    def step(self, net, grad, state, *, coefficient, eta, batch_length) -> None:
        sgd_step(net, grad, multiplier=1.0 - eta * coefficient, eta=eta, batch_length=batch_length)

    def stepper(self, net, state, *, coefficient, eta) -> Callable:
        """``step(backprop, batch_length)``: :func:`sgd_step` with its look-ups made once.

        Bit for bit :func:`sgd_step` on the factored gradient, for the loop of
        :func:`decaylab.train`, whose network keeps its parameter buffer. The
        BLAS calls of a batch length (their operands are the Backprop's buffers
        for it, views made once) are prepared at its first step; only the
        first layer's inputs, the batch itself, are passed at every step.
        """
        multiplier = 1.0 - eta * coefficient
        layers = list(zip(net.weights, net.biases))
        plans: dict = {}

        def plan(backprop, batch_length: int) -> tuple:
            alpha, ones = -eta / batch_length, backprop.ones[:batch_length]
            calls = []
            for (w, b), (delta, inputs) in zip(layers, backprop.factors()):
                calls.append(update_call(w, delta.T, inputs, alpha=alpha, beta=multiplier))
                calls.append(column_sums_call(b, delta, ones, alpha=alpha))
            for call, arguments in calls:
                # With α = 0 and β = 1 BLAS leaves its output as it is; SciPy returns that
                # output itself when it would write in place (it does for these views).
                if call(0.0, *arguments[1:3], 1.0, *arguments[4:]) is not arguments[4]:
                    raise RuntimeError("a BLAS call of the step would write into a copy of the "
                                       "parameters")  # fmt: skip
            # w ← d·w − (η/m_B)·δᵀX: the batch X, passed as the Fortran (i, k) array.
            gemm, (_, _, delta_t, _, out, _, trans, _) = calls[0]
            first = (gemm, alpha, delta_t, multiplier, out, trans)
            plans[backprop.batch] = p = (first, calls[1:])
            return p

        def step(backprop, batch_length):
            batch = backprop.batch
            first, calls = plans.get(batch) or plan(backprop, batch_length)
            gemm, alpha, delta_t, beta, out, trans = first
            gemm(alpha, batch.factors[0][1].T, delta_t, beta, out, 0, trans, 1)
            for call, arguments in calls:
                call(*arguments)

        return step

    def decay_part(self, net, state, *, coefficient, eta) -> Callable:
        """D = (1 − d)·w, as every rule whose decay multiplies the weights; the part also
        carries η as ``factored_eta``: each step is one gemm, w′ = d·w − (η/m_B)·δᵀa of
        the Backprop it is given, so the step monitors may take the products of
        R = (η/m_B)·δᵀa from the batch without forming it (:mod:`decaylab._step_budget`)."""
        part = super().decay_part(net, state, coefficient=coefficient, eta=eta)
        part.factored_eta = eta
        return part

    def settings(self) -> dict:
        return {"name": self.name}


@dataclass(frozen=True)
class Momentum(ChainedRule):
    """L2 × HeavyBall: SGD with momentum β and L2 in the gradient, PyTorch's ``SGD(momentum)``.

    Attributes
    ----------
    beta : float
        Momentum, 0 <= β < 1 (PyTorch's ``momentum``); β = 0 is eq. 93.
    nesterov : bool
        Nesterov's momentum, θ → θ − η(u + βv) after v → βv + u (PyTorch's
        ``nesterov=True``, ``dampening=0``).
    """

    name: ClassVar[str] = "momentum"
    beta: float = 0.9
    nesterov: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", _check_rate("beta", self.beta))
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov={self.nesterov!r}; expected True or False")
        object.__setattr__(self, "nesterov", bool(self.nesterov))

    @property
    def decay(self):
        return L2()

    @property
    def direction(self):
        return HeavyBall(self.beta, self.nesterov)

    def settings(self) -> dict:
        # nesterov only when set, so the records of heavy-ball runs stay as they were.
        extra = {"nesterov": True} if self.nesterov else {}
        return {"name": self.name, "beta": self.beta, **extra}


@dataclass(frozen=True)
class _AdamFamily(ChainedRule):
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta1", _check_rate("beta1", self.beta1))
        object.__setattr__(self, "beta2", _check_rate("beta2", self.beta2))
        object.__setattr__(self, "eps", check_real("eps", self.eps, positive=True))

    @property
    def direction(self):
        return AdamDirection(self.beta1, self.beta2, self.eps)


@dataclass(frozen=True)
class Adam(_AdamFamily):
    """L2 × Adam: Adam with the L2 term in the gradient, PyTorch's ``Adam(weight_decay)``.

    Attributes
    ----------
    beta1, beta2 : float
        Decay rates of the first and second moments, in [0, 1).
    eps : float
        ε > 0, added to √v̂.
    """

    name: ClassVar[str] = "adam"

    @property
    def decay(self):
        return L2()


@dataclass(frozen=True)
class AdamW(_AdamFamily):
    """Decoupled × Adam: w → (1 − ηc)·w, then Adam's step on g; PyTorch's ``AdamW``.

    Attributes
    ----------
    beta1, beta2 : float
        Decay rates of the first and second moments, in [0, 1).
    eps : float
        ε > 0, added to √v̂.
    """

    name: ClassVar[str] = "adamw"

    @property
    def decay(self):
        return Decoupled()


#: The rules a recorded setting may name: the package's, and any :func:`register_rule` adds.
RULES: dict[str, type] = {c.name: c for c in (SGD, Momentum, Adam, AdamW)}


def register_rule(rule_class: type) -> type:
    """Let :func:`rule_from_settings` rebuild rules of ``rule_class`` from their settings.

    ``rule_class`` has a ``name`` and takes the rest of its ``settings()`` as
    keyword arguments. Returns it, so it can decorate the class.
    """
    name = getattr(rule_class, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"rule_class={rule_class!r} has no name; expected a class with a name")
    if name in RULES and RULES[name] is not rule_class:
        raise ValueError(f"a rule named {name!r} is registered already ({RULES[name]!r})")
    RULES[name] = rule_class
    return rule_class


def rule_from_settings(settings: dict | None) -> Rule:
    """The rule a ``settings()`` dict (as a History records it) describes; None is eq. 93.

    Raises
    ------
    ValueError
        For a name no rule has (never falls back to eq. 93), or settings the
        rule does not take.
    """
    if settings is None:
        return SGD()
    if not isinstance(settings, dict):
        raise TypeError(
            f"rule settings have type {type(settings).__name__}; expected a dict with a 'name'"
        )
    rest = dict(settings)
    name = rest.pop("name", None)
    if name not in RULES:
        raise ValueError(
            f"the recorded update rule {name!r} is not known; expected one of {sorted(RULES)} "
            "(a rule of your own: decaylab.register_rule(its class))"
        )
    try:
        return RULES[name](**rest)
    except TypeError:
        raise ValueError(
            f"optimizer={settings!r} has settings the {name} rule does not take"
        ) from None


def rule_of(history) -> Rule:
    """The update rule a History (or its settings dict) was trained with."""
    settings = history if isinstance(history, dict) else history.settings
    return rule_from_settings(settings.get("optimizer"))


def decay_inputs(settings: dict) -> dict:
    """The (n, batch_size, eta, coefficient) of a run's settings, for a rule's physics.

    c = (1 − d)/η from the recorded multiplier d. Settings with only
    ``steps_per_epoch`` give n = K, m = 1 (the exact factors need only K).
    """
    missing = [k for k in ("multiplier",) if k not in settings]
    if "steps_per_epoch" not in settings and not {"n", "batch_size"} <= set(settings):
        missing.append("steps_per_epoch")
    if missing:
        raise ValueError(
            f"history.settings lacks {missing}; expected the settings that decaylab.train records"
        )
    eta = float(settings.get("eta", 1.0))
    coefficient = (1.0 - float(settings["multiplier"])) / eta
    if "n" in settings and "batch_size" in settings:
        n, m = int(settings["n"]), int(settings["batch_size"])
    else:
        n, m = int(settings["steps_per_epoch"]), 1
    return {"n": n, "batch_size": m, "eta": eta, "coefficient": coefficient}


def get_rule(rule) -> Rule:
    """The rule ``rule`` names: None or "sgd" is eq. 93 (:class:`SGD`).

    Parameters
    ----------
    rule : None, str, dict or Rule
        A name gives the rule with its default hyper-parameters; a dict is
        what ``settings()`` returned; a :class:`Rule` is returned unchanged.
    """
    if rule is None:
        return SGD()
    if isinstance(rule, str):
        if rule not in RULES:
            raise ValueError(f"optimizer={rule!r} is not one of {sorted(RULES)}")
        return RULES[rule]()
    if isinstance(rule, dict):
        return rule_from_settings(rule)
    if isinstance(rule, Rule):
        return rule
    raise TypeError(
        f"optimizer={rule!r} has type {type(rule).__name__}; expected None, a name "
        f"({', '.join(repr(n) for n in RULES)}) or a decaylab Rule"
    )


def check_rule_state(rule, state: object, net: Network) -> dict[str, np.ndarray]:
    """Return ``state`` if it has ``rule``'s arrays in the shapes and dtype ``net`` needs."""
    expected = rule.init(net)
    if not isinstance(state, dict) or set(state) != set(expected):
        shown = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"optimizer_state has {shown}; expected the {rule.name} state {sorted(expected)}"
        )
    for key, array in expected.items():
        got = state[key]
        if not (
            isinstance(got, np.ndarray) and got.shape == array.shape and got.dtype == array.dtype
        ):
            raise ValueError(
                f"optimizer_state[{key!r}] is {getattr(got, 'dtype', type(got).__name__)} "
                f"of shape {getattr(got, 'shape', None)}; expected {array.dtype} of shape "
                f"{array.shape}"
            )
    return state
