r"""The ‖w‖² budget of one step, per layer: what the step monitors of the package read.

A step of a layer's weights w → w′ is split by the update rule as
w − w′ = D + R, D the part the decay made and R the rest
(:mod:`decaylab.rules`). Everything :class:`~decaylab.DecompositionMonitor`
and :class:`~decaylab.RotationMonitor` record of a step is a function of the
Gram matrix of (w, D, R), six numbers per layer:

.. math::  \|w'\|^2 - \|w\|^2 = \underbrace{D\cdot D - 2\,w\cdot D}_{\text{contraction}}
           + \underbrace{2\,(D\cdot R - w\cdot R)}_{\text{radial}}
           + \underbrace{R\cdot R}_{\text{noise}}.

:class:`StepBudget` holds them. The training loop fills one per step and
shows it to every monitor that reads it (``step_budget(budget)``), so that
monitors watching the same run share its dot products.

**A decay that multiplies the weights** (eq. 93, AdamW: D = (1 − d)·w, see
``multiplier``), in float64. D is then never formed: before the step the loop keeps
x = d·w, after it R = x − w′ (exactly 0 where the step was pure decay, as
the step itself forms d·w), and x·R, R·R and x·x give the rest in closed
form, with a = 1 − d (x·x is carried from the step before, d²‖x − R‖², and
taken afresh every ``EXACT_EVERY`` steps: two dot products per layer and step):

.. math::  w\cdot w = \frac{x\cdot x}{d^2},\quad w\cdot R = \frac{x\cdot R}{d},\quad
           w\cdot D = a\,w\cdot w,\quad D\cdot D = a^2\,w\cdot w,\quad D\cdot R = a\,w\cdot R.

**Eq. 93 with small batches** (float64): the step is one gemm,
w′ = d·w − s·G with s = η/m_B and G = δᵀa the batch's summed gradient in
the factored form backpropagation leaves it (:func:`decaylab.sgd_step`), so
R = s·G is never formed either: its products come from the batch
(k examples, k × k Gram matrices instead of passes over the weights),

.. math::  w\cdot G = \sum_{x,j} \delta_{xj}\,(z_{xj} - b_j),\qquad
           G\cdot G = \sum_{x,x'} (\delta\delta^\top)_{xx'}\,(a a^\top)_{xx'},

(z = a·wᵀ + b the layer's weighted input of the forward pass), and w·w is
carried as d²w·w − 2d·w·R + R·R, taken afresh every ``EXACT_EVERY`` steps:
no pass over the weights at all on the other steps (:meth:`StepBudget.fill_factored`).

Any other rule's D, and every D in float32 (where the rounding of d·w is of
the order of the decay itself), is formed as the step forms it and the six
products are taken directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from decaylab._blas import BlasRoutines

# SciPy's dot returns a Python float and costs a quarter of np.dot's call on small layers.
_DOT = BlasRoutines("dot")


#: How often fill_multiplied takes x·x afresh rather than carried from the step before.
EXACT_EVERY = 16


def _numpy_dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def dot_of(dtype) -> Callable[[np.ndarray, np.ndarray], float]:
    """``dot(a, b)`` → float for flat contiguous arrays of ``dtype``."""
    return _DOT.get(np.dtype(dtype), _numpy_dot)


class StepBudget:
    """The Gram matrix of (w, D, R) of one step, per weight layer.

    Attributes
    ----------
    ww, wd, wr, dd, dr, rr : list of float, length L
        w·w, w·D, w·R, D·D, D·R and R·R of each layer, w the weights before the step.
    multiplier : float or None
        d when the decay part is D = (1 − d)·w exactly (D is then parallel
        to w, and ``decay`` and ``before`` are None), else None.
    before, decay, rest, after : list of ndarray or None
        Per layer, flat views of w, D, R and w′ = w − D − R (the network's
        weights after the step), in buffers reused by the next step. In the
        batch form (:meth:`fill_factored`) only ``after`` is given.
    scaled : list of ndarray or None
        With ``multiplier``: per layer, x = d·w, the weights after the decay
        alone (None in the batch form).
    """

    def __init__(self, n_layers: int, multiplier: float | None = None) -> None:
        self.multiplier = multiplier
        self.ww = [0.0] * n_layers
        self.wd = [0.0] * n_layers
        self.wr = [0.0] * n_layers
        self.dd = [0.0] * n_layers
        self.dr = [0.0] * n_layers
        self.rr = [0.0] * n_layers
        self.before: list[np.ndarray] | None = None
        self.decay: list[np.ndarray] | None = None
        self.rest: list[np.ndarray] | None = None
        self.after: list[np.ndarray] | None = None
        self.scaled: list[np.ndarray] | None = None
        self._carried = [0.0] * n_layers  # x·x of the next step (fill_multiplied)
        self._steps = 0

    @classmethod
    def of_parts(
        cls,
        before: Sequence[np.ndarray],
        decay: Sequence[np.ndarray],
        rest: Sequence[np.ndarray],
        after: Sequence[np.ndarray] | None = None,
    ) -> StepBudget:
        """The budget of a step given as per-layer (w before, D, R), as ``step_parts`` sees it.

        ``after`` (the weights after the step) defaults to w − D − R.
        """
        before = [np.ascontiguousarray(w).reshape(-1) for w in before]
        decay = [np.ascontiguousarray(u).reshape(-1) for u in decay]
        rest = [np.ascontiguousarray(v).reshape(-1) for v in rest]
        budget = cls(len(before))
        budget.fill_parts(before, decay, rest, dot_of(before[0].dtype) if before else _numpy_dot)
        budget.before, budget.decay, budget.rest = before, decay, rest
        if after is None:
            after = [w - u - v for w, u, v in zip(before, decay, rest)]
        budget.after = [np.asarray(w).reshape(-1) for w in after]
        return budget

    def fill_parts(self, before, decay, rest, dot) -> None:
        """Take the six products of each layer directly from w, D and R."""
        for l, (w, u, v) in enumerate(zip(before, decay, rest)):
            self.ww[l], self.wd[l], self.wr[l] = dot(w, w), dot(w, u), dot(w, v)
            self.dd[l], self.dr[l], self.rr[l] = dot(u, u), dot(u, v), dot(v, v)

    def refresh(self, weights, dot) -> None:
        """Before a step of :meth:`fill_factored`: every ``EXACT_EVERY`` steps (the first
        included), take w·w afresh from ``weights`` (flat per layer) instead of carried."""
        if self._steps % EXACT_EVERY == 0:
            self._carried = [dot(w, w) for w in weights]
        self._steps += 1

    def fill_factored(self, weights_gradient, gradient_gradient, scale: float) -> None:
        """The products of each layer of a step w′ = d·w − s·G from w·G and G·G alone.

        Parameters
        ----------
        weights_gradient, gradient_gradient : sequence of float, length L
            w·G and G·G of each layer, G = Σ_x ∂C_x/∂w the batch's summed
            gradient, w the weights before the step.
        scale : float
            s = η/m_B, so that R = s·G.

        Notes
        -----
        w·w is carried (:meth:`refresh` takes it afresh before every
        ``EXACT_EVERY``-th step): w′·w′ = d²w·w − 2d·w·R + R·R.
        """
        d, carried = self.multiplier, self._carried
        a = 1.0 - d
        for l, (w_g, g_g) in enumerate(zip(weights_gradient, gradient_gradient)):
            w_w, w_r, r_r = carried[l], scale * w_g, scale * scale * g_g
            self.ww[l], self.wd[l], self.dd[l] = w_w, a * w_w, a * a * w_w
            self.wr[l], self.dr[l], self.rr[l] = w_r, a * w_r, r_r
            carried[l] = d * d * w_w - 2.0 * d * w_r + r_r

    def fill_multiplied(self, scaled, rest, dot) -> None:
        """The products of each layer from x = d·w (``scaled``) and R, D = (1 − d)·w unformed.

        x·x is carried from the step before (x·x of the next step is
        d²‖x − R‖² = d²(x·x − 2x·R + R·R), exact up to rounding) and taken
        afresh every ``EXACT_EVERY`` steps, so that its rounding cannot build up.
        """
        d, carried = self.multiplier, self._carried
        a, inverse_square, d_square = 1.0 - d, 1.0 / (d * d), d * d
        ww, wd, wr, dd, dr, rr = self.ww, self.wd, self.wr, self.dd, self.dr, self.rr
        fresh = self._steps % EXACT_EVERY == 0
        self._steps += 1
        for l, (x, v) in enumerate(zip(scaled, rest)):
            x_x = dot(x, x) if fresh else carried[l]
            x_r, r_r = dot(x, v), dot(v, v)
            carried[l] = d_square * (x_x - 2.0 * x_r + r_r)
            w_w, w_r = x_x * inverse_square, x_r / d
            ww[l], wd[l], dd[l] = w_w, a * w_w, a * a * w_w
            wr[l], dr[l], rr[l] = w_r, a * w_r, r_r
