"""Activation functions, written in place on preallocated arrays.

Each activation is a pair of functions: ``forward(z, out)`` writes a = f(z)
into ``out``, and ``derivative(z, a, out)`` writes f'(z) into ``out``, using
whichever of z or a is cheaper (σ' = a(1 − a), tanh' = 1 − a²). The
training pass takes them prepared for its buffers, once per batch length
(:meth:`Activation.forward_for`, :meth:`Activation.derivative_calls`): the
same operations, without a Python call around them at every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from decaylab._validation import check_choice

# Below this many elements scipy's expit, one ufunc call, is faster than four NumPy
# calls; above it NumPy's vectorised exp wins (measured on [784, 30, 10] batches).
_EXPIT_MAX_SIZE = 4096


def _first_expit(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """scipy's expit, imported at the first small sigmoid, which it then serves from on.

    ``import decaylab`` does not import scipy.special; replacing this function
    by expit itself keeps later calls free of any check.
    """
    global _expit
    from scipy.special import expit as _expit

    return _expit(z, out=out)


_expit = _first_expit


def _sigmoid(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    if z.size <= _EXPIT_MAX_SIZE:
        return _expit(z, out=out)
    # 1/(1 + e^{-z}) overflows harmlessly to 0 for z ≪ 0; silence that one warning.
    with np.errstate(over="ignore"):
        np.negative(z, out=out)
        np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


# 1 as a 0-d array of each float type: a Python 1.0 would be converted at every call.
_ONE = {np.dtype(t): np.ones((), dtype=t) for t in (np.float64, np.float32)}


def _sigmoid_for(size: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """:func:`_sigmoid` for arrays of ``size`` elements, its choice made once: expit
    itself (a ufunc, called ``expit(z, out)``) for small arrays, else NumPy's four calls."""
    if size <= _EXPIT_MAX_SIZE:
        from scipy.special import expit

        return expit
    return _sigmoid


def _sigmoid_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.subtract(_ONE.get(a.dtype, 1.0), a, out=out)
    out *= a
    return out


def _sigmoid_derivative_calls(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> list:
    """:func:`_sigmoid_derivative` on these arrays as ``(ufunc, arguments)`` calls."""
    return [(np.subtract, (_ONE.get(a.dtype, 1.0), a, out)), (np.multiply, (out, a, out))]


def _tanh(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.tanh(z, out=out)


def _tanh_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.multiply(a, a, out=out)
    np.subtract(_ONE.get(a.dtype, 1.0), out, out=out)
    return out


def _tanh_derivative_calls(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> list:
    """:func:`_tanh_derivative` on these arrays as ``(ufunc, arguments)`` calls."""
    return [(np.multiply, (a, a, out)), (np.subtract, (_ONE.get(a.dtype, 1.0), out, out))]


def _relu(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0, out=out)


def _relu_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.greater(z, 0.0, out=out, casting="unsafe")


@dataclass(frozen=True)
class Activation:
    """An elementwise activation f with its derivative f'.

    A training step calls both on arrays of one size thousands of times, so
    either may come prepared: ``sized(size)``, if given, returns the ``forward``
    of arrays of ``size`` elements with its choices made once, and
    ``derivative_parts(z, a, out)`` the ``derivative`` on these arrays as a list
    of ``(function, arguments)`` calls. Both must compute what ``forward`` and
    ``derivative`` compute, bit for bit.
    """

    name: str
    forward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    sized: Callable[[int], Callable[[np.ndarray, np.ndarray], np.ndarray]] | None = None
    derivative_parts: Callable[[np.ndarray, np.ndarray, np.ndarray], list] | None = None

    def forward_for(self, size: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """``forward(z, out)`` for arrays z of ``size`` elements."""
        return self.forward if self.sized is None else self.sized(size)

    def derivative_calls(self, z: np.ndarray, a: np.ndarray, out: np.ndarray) -> list:
        """``derivative(z, a, out)`` on these arrays, as ``(function, arguments)`` calls."""
        if self.derivative_parts is None:
            return [(self.derivative, (z, a, out))]
        return self.derivative_parts(z, a, out)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Return f(z) as a new array."""
        return self.forward(z, np.empty_like(z))


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(
        "sigmoid", _sigmoid, _sigmoid_derivative, _sigmoid_for, _sigmoid_derivative_calls
    ),
    "tanh": Activation(
        "tanh", _tanh, _tanh_derivative, lambda size: np.tanh, _tanh_derivative_calls
    ),
    "relu": Activation("relu", _relu, _relu_derivative),
}


def get_activation(name: str) -> Activation:
    """Return the activation called ``name`` ("sigmoid", "tanh" or "relu")."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]
