r"""The ‖w‖² budget of a block of steps, per layer: what the step monitors of the package read.

A step of a layer's weights w → w′ is split by the update rule as
w − w′ = D + R, D the part the decay made and R the rest
(:mod:`decaylab.rules`). Everything :class:`~decaylab.DecompositionMonitor`
and :class:`~decaylab.RotationMonitor` record of a step is a function of the
Gram matrix of (w, D, R), six numbers per layer:

.. math::  \|w'\|^2 - \|w\|^2 = \underbrace{D\cdot D - 2\,w\cdot D}_{\text{contraction}}
           + \underbrace{2\,(D\cdot R - w\cdot R)}_{\text{radial}}
           + \underbrace{R\cdot R}_{\text{noise}}.

:class:`StepBudget` holds them for a block of consecutive steps, as arrays of
shape (steps, L). The training loop shows each block to every monitor that
reads it (``step_budgets(budget)``), so that monitors watching the same run
share its dot products, and a monitor's bookkeeping is a few array
operations a block rather than Python work at every step. What must happen
at a step happens there; everything else is done once a block.

**A decay that multiplies the weights** (eq. 93, AdamW: D = (1 − d)·w, see
``multiplier``), in float64. D is then never formed: before the step the loop keeps
x = d·w, after it R = x − w′ in the same buffer (exactly 0 where the step was
pure decay, as the step itself forms d·w), and takes w′·R and R·R: two dot
products per layer and step, kept as floats (w·w is taken before every
``EXACT_EVERY``-th step and carried between). With a = 1 − d and x = w′ + R,

.. math::  w\cdot R = \frac{w'\cdot R + R\cdot R}{d},\quad
           w'\cdot w' = d^2\,w\cdot w - 2d\,w\cdot R + R\cdot R,\quad
           w\cdot D = a\,w\cdot w,\quad D\cdot D = a^2\,w\cdot w,\quad D\cdot R = a\,w\cdot R,

all linear in the floats kept: one matrix product forms a block's budget
(:func:`kept_block_matrix`, :func:`kept_budget`; :meth:`StepBudget.of_multiplied`
from w·w, w·R and R·R).

**Eq. 93 with small batches** (float64): the step is one gemm,
w′ = d·w − s·G with s = η/m_B and G = δᵀa the batch's summed gradient in
the factored form backpropagation leaves it (:func:`decaylab.sgd_step`), so
R = s·G is never formed either: its products come from the batch
(k examples, k × k Gram matrices instead of passes over the weights),

.. math::  w\cdot G = \sum_{x,j} \delta_{xj}\,(z_{xj} - b_j),\qquad
           G\cdot G = \sum_{x,x'} (\delta\delta^\top)_{xx'}\,(a a^\top)_{xx'}
                     = \delta\cdot\big((a a^\top)\,\delta\big),

(z = a·wᵀ + b the layer's weighted input of the forward pass), and w·w is
carried as d²w·w − 2d·w·R + R·R from a value taken afresh every
``EXACT_EVERY`` steps (:func:`carried_squares`): no pass over the weights at
all on the other steps.

Any other rule's D, and every D in float32 (where the rounding of d·w is of
the order of the decay itself), is formed as the step forms it and the six
products are taken directly, a step at a time (:meth:`StepBudget.of_parts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from decaylab._blas import BlasRoutines

# SciPy's dot returns a Python float and costs a quarter of np.dot's call on small layers.
_DOT = BlasRoutines("dot")


#: How often the batch form takes w·w afresh rather than carried from the step before.
EXACT_EVERY = 16

#: The six products of a step, in the order of :attr:`StepBudget.products`.
PRODUCTS = ("ww", "wd", "wr", "dd", "dr", "rr")


def _numpy_dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def dot_of(dtype) -> Callable[[np.ndarray, np.ndarray], float]:
    """``dot(a, b)`` → float for flat contiguous arrays of ``dtype``."""
    return _DOT.get(np.dtype(dtype), _numpy_dot)


class StepBudget:
    """The Gram matrices of (w, D, R) of a block of consecutive steps, per weight layer.

    Attributes
    ----------
    products : ndarray, shape (6, steps, L)
        w·w, w·D, w·R, D·D, D·R and R·R (:data:`PRODUCTS`) of each step and
        layer, w the weights before the step; ``ww`` … ``rr`` are its rows.
    steps : int
        The number of steps of the block.
    multiplier : float or None
        d when the decay part is D = (1 − d)·w exactly (D parallel to w), else None.
    before, decay, rest, after : list of ndarray or None
        For a block of one step whose parts were formed (:meth:`of_parts`):
        per layer, flat views of w, D, R and w′ = w − D − R, in buffers
        reused by the next step. None otherwise.
    decay_sum : list of ndarray or None
        Per layer, Σ D over the block's steps (flat), when the loop was asked
        for it (a monitor that ``reads_step_arrays``) or the parts were formed.
    """

    def __init__(self, products: np.ndarray, multiplier: float | None = None) -> None:
        self.products = products
        self.steps = products.shape[1]
        self.multiplier = multiplier
        self.before: list[np.ndarray] | None = None
        self.decay: list[np.ndarray] | None = None
        self.rest: list[np.ndarray] | None = None
        self.after: list[np.ndarray] | None = None
        self.decay_sum: list[np.ndarray] | None = None

    ww = property(lambda self: self.products[0])
    wd = property(lambda self: self.products[1])
    wr = property(lambda self: self.products[2])
    dd = property(lambda self: self.products[3])
    dr = property(lambda self: self.products[4])
    rr = property(lambda self: self.products[5])

    @classmethod
    def of_multiplied(cls, multiplier: float, ww, wr, rr) -> StepBudget:
        """The budget of steps whose decay part is D = (1 − d)·w, from w·w, w·R and R·R.

        ``ww``, ``wr``, ``rr``: arrays of shape (steps, L); d = ``multiplier``.
        """
        a = 1.0 - multiplier
        products = np.empty((6,) + np.shape(ww))
        products[0], products[2], products[5] = ww, wr, rr
        np.multiply(products[0], a, out=products[1])
        np.multiply(products[1], a, out=products[3])
        np.multiply(products[2], a, out=products[4])
        return cls(products, multiplier)

    @classmethod
    def of_parts(
        cls,
        before: Sequence[np.ndarray],
        decay: Sequence[np.ndarray],
        rest: Sequence[np.ndarray],
        after: Sequence[np.ndarray] | None = None,
        dot: Callable | None = None,
    ) -> StepBudget:
        """The budget of one step given as per-layer (w before, D, R), as ``step_parts``
        sees it; ``after`` (the weights after the step) defaults to w − D − R."""
        before = [np.ascontiguousarray(w).reshape(-1) for w in before]
        decay = [np.ascontiguousarray(u).reshape(-1) for u in decay]
        rest = [np.ascontiguousarray(v).reshape(-1) for v in rest]
        if dot is None:
            dot = dot_of(before[0].dtype) if before else _numpy_dot
        if after is None:
            after = [w - u - v for w, u, v in zip(before, decay, rest)]
        after = [np.asarray(w).reshape(-1) for w in after]
        return cls.of_step(six_products(before, decay, rest, dot), before, decay, rest, after)

    @classmethod
    def of_step(cls, products: list[float], before, decay, rest, after) -> StepBudget:
        """The budget of one step from its :func:`six_products` and its parts, flat per layer."""
        budget = cls(np.array(products, dtype=float).reshape(-1, 6).T[:, None, :])
        budget.before, budget.decay, budget.rest, budget.after = before, decay, rest, after
        budget.decay_sum = decay
        return budget


def six_products(before, decay, rest, dot) -> list[float]:
    """w·w, w·D, w·R, D·D, D·R and R·R of each layer, layer after layer (6·L floats)."""
    return [
        product
        for w, u, v in zip(before, decay, rest)
        for product in (dot(w, w), dot(w, u), dot(w, v), dot(u, u), dot(u, v), dot(v, v))
    ]


def carry_matrix(multiplier: float) -> np.ndarray:
    """P, shape (E, E + 1), E = ``EXACT_EVERY``: w·w before each of E steps is
    P·(w·w before the first, x₀, …, x_{E−1}), with x = R·R − 2d·w·R (:func:`carried_squares`)."""
    steps = np.arange(EXACT_EVERY)
    square = multiplier * multiplier
    lag = steps[:, None] - 1 - steps[None, :]  # i − 1 − s: the steps from x_s to step i
    carry = np.where(lag >= 0, square ** np.maximum(lag, 0), 0.0)
    return np.hstack([(square**steps)[:, None], carry])


def carried_squares(fresh: np.ndarray, wr: np.ndarray, rr: np.ndarray, multiplier: float,
                    carry: np.ndarray) -> np.ndarray:  # fmt: skip
    """w·w before each step of a block, from the values taken afresh every ``EXACT_EVERY``
    steps and carried between them: w′·w′ = d²·w·w − 2d·w·R + R·R.

    Parameters
    ----------
    fresh : ndarray, shape (⌈steps/E⌉, L)
        w·w taken before steps 0, E, 2E, … of the block.
    wr, rr : ndarray, shape (steps, L)
        w·R and R·R of each step.
    multiplier : float
        d.
    carry : ndarray, shape (E, E + 1)
        :func:`carry_matrix` of d.

    Returns
    -------
    ndarray, shape (steps, L)
    """
    steps, n_layers = wr.shape
    chunks = len(fresh)
    increments = np.zeros((chunks * EXACT_EVERY, n_layers))  # 0 past the block's last step
    np.multiply(wr, -2.0 * multiplier, out=increments[:steps])
    increments[:steps] += rr
    terms = np.empty((chunks, EXACT_EVERY + 1, n_layers))
    terms[:, 0] = fresh
    terms[:, 1:] = increments.reshape(chunks, EXACT_EVERY, n_layers)
    return np.matmul(carry, terms).reshape(chunks * EXACT_EVERY, n_layers)[:steps]


def kept_block_matrix(multiplier: float) -> np.ndarray:
    r"""A, shape (6E, 2E + 1), E = ``EXACT_EVERY``: the six products of E steps whose decay
    is D = (1 − d)·w, each a linear function of what the d·w form keeps of them.

    Kept per E steps: f = w·w before the first, then p = w′·R and q = R·R of
    each step s (w′ the weights after it, R = d·w − w′), as
    u = (f, p₀, q₀, …, p_{E−1}, q_{E−1}); A·u stacks ww, wd, wr, dd, dr and rr
    of the E steps, E rows each, with a = 1 − d and x·R = p + q:

    .. math::  w\cdot R = \frac{p + q}{d},\quad
               w_{i+1}\cdot w_{i+1} = d^2\,w_i\cdot w_i - 2p_i - q_i,
               \quad w\cdot D = a\,w\cdot w,\ D\cdot D = a^2\,w\cdot w,\ D\cdot R = a\,w\cdot R.

    One product A·u then forms a block's whole budget (:func:`kept_budget`).
    """
    steps = np.arange(EXACT_EVERY)
    square, a = multiplier * multiplier, 1.0 - multiplier
    lag = steps[:, None] - 1 - steps[None, :]  # i − 1 − s: the steps from s to step i
    carry = np.where(lag >= 0, square ** np.maximum(lag, 0), 0.0)
    ww = np.zeros((EXACT_EVERY, 2 * EXACT_EVERY + 1))
    ww[:, 0] = square**steps
    ww[:, 1::2], ww[:, 2::2] = -2.0 * carry, -carry
    wr = np.zeros_like(ww)
    wr[steps, 1 + 2 * steps] = wr[steps, 2 + 2 * steps] = 1.0 / multiplier
    rr = np.zeros_like(ww)
    rr[steps, 2 + 2 * steps] = 1.0
    return np.vstack([ww, a * ww, wr, a * a * ww, a * wr, rr])


def kept_budget(kept: list, steps: int, n_layers: int, matrix: np.ndarray,
                multiplier: float) -> StepBudget:  # fmt: skip
    """The budget of ``steps`` steps from the floats the d·w form kept of them, in order:
    every ``EXACT_EVERY`` steps w·w of each layer, then for each step w′·R and R·R of each
    layer; ``matrix`` is :func:`kept_block_matrix` of d. ``kept`` is padded with zeros
    to whole chunks of ``EXACT_EVERY`` steps (their rows are dropped)."""
    chunks = -(-steps // EXACT_EVERY)
    size = chunks * (2 * EXACT_EVERY + 1) * n_layers
    kept.extend([0.0] * (size - len(kept)))
    # fromiter: half the time of np.array on a list of floats
    values = np.fromiter(kept, float, size).reshape(chunks, 2 * EXACT_EVERY + 1, n_layers)
    products = np.matmul(matrix, values).reshape(chunks, 6, EXACT_EVERY, n_layers)
    products = products.transpose(1, 0, 2, 3).reshape(6, chunks * EXACT_EVERY, n_layers)
    return StepBudget(products[:, :steps], multiplier)
