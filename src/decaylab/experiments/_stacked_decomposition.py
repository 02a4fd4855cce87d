r"""The decay/gradient decomposition of every member of an ensemble, all members at once.

:class:`StackedDecomposition` is :class:`~decaylab.dynamics.decomposition.DecompositionMonitor`
for the members of :func:`decaylab.train_ensemble` (a step observer, see
:class:`decaylab.ensemble.EnsembleRun`): each member's History gets the
record ``monitors["decomposition"]`` its separate monitored run would have,
up to the rounding of the sums (about 1e-15 relative per step).

Each step of member k splits into w_before − w_after = u + v, the decay part
u = (1 − d_k)·w_before and the rest v = d_k·w_before − w_after. The record
needs five dot products of each layer per step (u·u, w·u, w·v, u·v, v·v);
with u a multiple of w three suffice — w·w, w·v and v·v, each one row-wise
dot product for all members, kept for the epoch and summed over its steps
when it ends — then u·u = (1 − d)²w·w, w·u = (1 − d)w·w, u·v = (1 − d)w·v.

Under eq. 93 (float64, every d ≠ 0) neither w_before nor v is formed by
the monitor: the stack's step leaves v in a buffer of its own
(:meth:`decaylab._stack.Stack.keep_rest`: the step's gradient term, or
x − w′ with x = d·w for a layer stepped by one fused product), and after
the step the monitor takes w′·w′, w′·v and v·v. w′·w′ is the next step's
w·w, and w·v = x·v/d = (w′·v + v·v)/d since x = w′ + v: three dot products
per layer and no pass over the weights. Other rules (SGDW, AdamW) copy
w_before and form v.

A member may be watched from a given epoch only (``watched_from``): its
record then has rows of NaN for epochs 2 … ``watched_from``, which its
analysis does not read, and the steps of an epoch that no member watches
form no product at all. The rows it does record are those of a member
watched throughout, bit for bit.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from decaylab._step_budget import dot_of
from decaylab.dynamics.decomposition import RECORD_KEYS

__all__ = ["StackedDecomposition"]


def _rowwise_dot(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out[k] = a[k]·b[k] for rows of shape (K, n): NumPy's vecdot (2.0 on), else einsum."""
    if _vecdot is not None:
        _vecdot(a, b, out=out)
    else:
        np.einsum("kn,kn->k", a, b, out=out)


_vecdot = getattr(np, "vecdot", None)

#: Up to this many members, the products of a step are one BLAS dot per member each.
_FEW_MEMBERS = 4

#: The record of the monitor without ``displacement``.
KEYS = RECORD_KEYS[:6]


class StackedDecomposition:
    """A step observer recording each member's decay/gradient decomposition (eq. 93, SGDW, AdamW).

    Parameters
    ----------
    members : int
        Number of networks of the ensemble.
    watched_from : sequence of int, optional
        Per network, the epoch after which its steps are recorded (0, the
        default, for all); epoch 1 always is. The rows of epochs 2 … that
        epoch are NaN.
    """

    name = "decomposition"

    def __init__(self, members: int, watched_from=None):
        self._rows: list[list[np.ndarray]] = [[] for _ in range(members)]
        self._from = [0] * members if watched_from is None else [int(e) for e in watched_from]
        self.epoch = 0  # epochs ended, over every stack bound

    def bind(self, stack, members: list[int], multipliers: list[float]) -> None:
        """Take the stack of the networks ``members`` and each one's decay multiplier d."""
        K, sizes = stack.K, [w[0].size for w in stack.weights]
        self.members, self.n_layers = members, len(sizes)
        self.weights = stack.params[: K * stack.n_weights]
        self.d = np.asarray(multipliers, dtype=np.float64)
        self.rate = 1.0 - self.d  # 1 − d_k: u = (1 − d)·w
        self.steps = 0
        ends = np.cumsum(sizes) * K
        self._bounds = list(zip([0, *ends[:-1]], ends))
        # Per step: w·w of the weights before it (one row more: the next step's), w·v
        # (or w′·v on the stack's path) and v·v, each (L, K).
        self.ww = np.empty((17, len(sizes), K))
        self.wv, self.vv = np.empty((2, 16, len(sizes), K))
        fast = (getattr(stack, "eq93", False) and self.weights.dtype == np.float64
                and bool(np.all(self.d != 0.0)))  # fmt: skip
        self.fast = fast
        self.after_layers = self._layers(self.weights)
        self._floats: list[float] | None = None
        if fast:
            self.rest_layers = self._layers(stack.keep_rest())
            # w′·w′ (the next step's w·w), w′·v and v·v from the stack's v
            self._steps = (_nothing, partial(self._take_dots, 1, self.after_layers))
            if K <= _FEW_MEMBERS:
                self._floats, self._dot = [], dot_of(np.float64)
                self._steps = (_nothing, self._after_stack_step_by_member)
        else:
            self.parts = np.empty((2, len(self.weights)), dtype=stack.params.dtype)  # w, v
            self.multiplier = stack.expand(multipliers, weights_only=True)
            self.before_layers, self.rest_layers = (self._layers(p) for p in self.parts)
            self._steps = (partial(np.copyto, self.parts[0], self.weights), self._after_any_step)
        self.watched: list[int] | None = None  # positions watched in the epoch before
        self._plan()

    def _plan(self) -> None:
        """Choose the members the next epoch records, and its step calls: none when no one
        is watched. On the stack's path w·w of the weights the epoch starts from is
        carried from the epoch before; for a member that was not watched then it is
        taken afresh, by the product the steps use, so that the bits are the same."""
        epoch, earlier = self.epoch + 1, self.watched
        self.watched = [j for j, k in enumerate(self.members)
                        if epoch == 1 or epoch > self._from[k]]  # fmt: skip
        self.before_step, self.after_step = self._steps if self.watched else (_nothing, _nothing)
        if not (self.fast and self.watched):
            return
        if self._floats is not None:
            self._pairs = [(w[j], v[j]) for w, v in zip(self.after_layers, self.rest_layers)
                           for j in self.watched]  # fmt: skip
        by_member = self._floats is not None
        if earlier is None:  # a new stack
            for l, w in enumerate(self.after_layers):
                _rowwise_dot(w, w, out=self.ww[0, l])
        elif not earlier or (by_member and not set(self.watched) <= set(earlier)):
            for l, w in enumerate(self.after_layers):
                if by_member:
                    self.ww[0, l] = [self._dot(row, row) for row in w]
                else:
                    _rowwise_dot(w, w, out=self.ww[0, l])

    # Before and after every step: :meth:`bind` sets each to its path's own call.
    def before_step(self) -> None:
        raise RuntimeError("StackedDecomposition.bind must be called before the first step")

    after_step = before_step

    def _layers(self, flat: np.ndarray) -> list[np.ndarray]:
        """Each layer's part of a buffer laid out like the stack's weights, as (K, size) rows."""
        return [flat[a:b].reshape(len(self.members), -1) for a, b in self._bounds]

    def _grow(self) -> None:
        """Room for twice as many steps of an epoch."""
        self.ww = np.concatenate([self.ww, np.empty_like(self.ww[1:])])
        self.wv, self.vv = (np.concatenate([a, np.empty_like(a)]) for a in (self.wv, self.vv))

    def _take_dots(self, ahead: int, weights: list[np.ndarray]) -> None:
        """w·w, w·v and v·v of every layer, one row-wise product each, for this step;
        w·w goes ``ahead`` rows on (1: w′·w′ is the next step's w·w)."""
        t = self.steps
        if t == len(self.vv):
            self._grow()
        ww, wv, vv = self.ww[t + ahead], self.wv[t], self.vv[t]
        for l, (w, v) in enumerate(zip(weights, self.rest_layers)):
            _rowwise_dot(w, w, out=ww[l])
            _rowwise_dot(w, v, out=wv[l])
            _rowwise_dot(v, v, out=vv[l])
        self.steps = t + 1

    def _after_stack_step_by_member(self) -> None:
        """As ``_take_dots`` on the stack's path, one BLAS dot product per member and product, as
        floats (for a few members the calls cost less than one row-wise product each)."""
        dot = self._dot
        self._floats += [x for w, v in self._pairs for x in (dot(w, w), dot(w, v), dot(v, v))]
        self.steps += 1

    def _gather_floats(self) -> None:
        """Move the epoch's products kept as floats into the per-step arrays (NaN for the
        members not watched)."""
        steps, watched = self.steps, self.watched
        while len(self.vv) < steps:
            self._grow()
        products = np.array(self._floats).reshape(steps, self.n_layers, len(watched), 3)
        ww, wv, vv = self.ww[1 : steps + 1], self.wv[:steps], self.vv[:steps]
        if len(watched) == len(self.members):
            ww[...], wv[...], vv[...] = np.moveaxis(products, 3, 0)
        else:
            for target in (ww, wv, vv):
                target.fill(np.nan)
            ww[:, :, watched], wv[:, :, watched], vv[:, :, watched] = np.moveaxis(products, 3, 0)
        self._floats.clear()

    def _after_any_step(self) -> None:
        """v = d·w_before − w_after, then w·w, w·v and v·v of the weights before the step."""
        before, rest = self.parts
        np.multiply(before, self.multiplier, out=rest)
        rest -= self.weights
        self._take_dots(0, self.before_layers)

    def end_epoch(self, members: list[int]) -> None:
        """Close the epoch's rows of the networks ``members`` (those whose epoch was recorded)."""
        self.epoch += 1
        if not self.watched:
            blank = np.full((len(KEYS), self.n_layers), np.nan)
            for k in members:
                self._rows[k].append(blank.copy())
            self._plan()
            return
        if self._floats is not None:
            self._gather_floats()
        steps, rate = self.steps, self.rate
        ww, wv, vv = self.ww[:steps], self.wv[:steps], self.vv[:steps]  # each (steps, L, K)
        if self.fast:
            wv = (wv + vv) / self.d  # w·v = x·v/d, x = d·w = w′ + v
        uu, wu, uv = rate * rate * ww, rate * ww, rate * wv  # u = (1 − d)·w
        if self.fast:
            self.ww[0] = self.ww[steps]  # the next epoch's first w·w (ww is a view of it)
        decay_norm, gradient_norm = np.sqrt(uu).sum(axis=0), np.sqrt(vv).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = decay_norm / gradient_norm
        sums = [decay_norm, gradient_norm, ratio, (uu - 2.0 * wu).sum(axis=0),
                (2.0 * (uv - wv)).sum(axis=0), vv.sum(axis=0)]  # fmt: skip
        table = np.stack(sums)  # (keys, layers, K)
        table[:, :, [j for j in range(len(self.members)) if j not in self.watched]] = np.nan
        for j, k in enumerate(self.members):
            if k in members:
                self._rows[k].append(table[:, :, j].copy())
        self.steps = 0
        self._plan()

    def monitors(self, k: int) -> tuple:
        """Member k's record, as the History of its separate monitored run holds it."""
        return (_Record(self._rows[k], self.n_layers),)


def _nothing() -> None:
    pass


class _Record:
    name = "decomposition"

    def __init__(self, rows: list[np.ndarray], n_layers: int):
        self.rows, self.n_layers = rows, n_layers

    def result(self) -> dict[str, np.ndarray]:
        rows = np.array(self.rows).reshape(len(self.rows), len(KEYS), self.n_layers)
        return {key: rows[:, i, :].copy() for i, key in enumerate(KEYS)}
