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
"""

from __future__ import annotations

import numpy as np

from decaylab.dynamics.decomposition import RECORD_KEYS

__all__ = ["StackedDecomposition"]


def _rowwise_dot(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out[k] = a[k]·b[k] for rows of shape (K, n): NumPy's vecdot (2.0 on), else einsum."""
    if _vecdot is not None:
        _vecdot(a, b, out=out)
    else:
        np.einsum("kn,kn->k", a, b, out=out)


_vecdot = getattr(np, "vecdot", None)

#: The record of the monitor without ``displacement``.
KEYS = RECORD_KEYS[:6]


class StackedDecomposition:
    """A step observer recording each member's decay/gradient decomposition (eq. 93, SGDW, AdamW).

    Parameters
    ----------
    members : int
        Number of networks of the ensemble.
    """

    name = "decomposition"

    def __init__(self, members: int):
        self._rows: list[list[np.ndarray]] = [[] for _ in range(members)]

    def bind(self, stack, members: list[int], multipliers: list[float]) -> None:
        """Take the stack of the networks ``members`` and each one's decay multiplier d."""
        K, sizes = stack.K, [w[0].size for w in stack.weights]
        self.members, self.n_layers = members, len(sizes)
        self.weights = stack.params[: K * stack.n_weights]
        self.parts = np.empty((2, len(self.weights)), dtype=stack.params.dtype)  # w, v
        self.multiplier = stack.expand(multipliers, weights_only=True)
        self.rate = 1.0 - np.asarray(multipliers, dtype=np.float64)  # 1 − d_k: u = (1 − d)·w
        bounds = np.cumsum([0] + [K * s for s in sizes])
        # Each layer's w and v of every member as (K, size) rows.
        self.layers = [
            [part[a:b].reshape(K, -1) for part in self.parts]
            for a, b in zip(bounds[:-1], bounds[1:])
        ]
        self.dots = np.empty((16, 3, len(sizes), K))  # per step: w·w, w·v, v·v
        self.steps = 0

    def before_step(self) -> None:
        np.copyto(self.parts[0], self.weights)

    def after_step(self) -> None:
        before, rest = self.parts
        np.multiply(before, self.multiplier, out=rest)
        rest -= self.weights  # v = w_before − w_after − u = d·w_before − w_after
        if self.steps == len(self.dots):
            self.dots = np.concatenate([self.dots, np.empty_like(self.dots)])
        dots = self.dots[self.steps]
        for l, (w, v) in enumerate(self.layers):
            for q, (a, b) in enumerate(((w, w), (w, v), (v, v))):
                _rowwise_dot(a, b, out=dots[q, l])
        self.steps += 1

    def end_epoch(self, members: list[int]) -> None:
        """Close the epoch's rows of the networks ``members`` (those whose epoch was recorded)."""
        ww, wv, vv = np.moveaxis(self.dots[: self.steps], 1, 0)  # each (steps, L, K)
        rate = self.rate
        uu, wu, uv = rate * rate * ww, rate * ww, rate * wv  # u = (1 − d)·w
        decay_norm, gradient_norm = np.sqrt(uu).sum(axis=0), np.sqrt(vv).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = decay_norm / gradient_norm
        sums = [decay_norm, gradient_norm, ratio, (uu - 2.0 * wu).sum(axis=0),
                (2.0 * (uv - wv)).sum(axis=0), vv.sum(axis=0)]  # fmt: skip
        table = np.stack(sums)  # (keys, layers, K)
        for j, k in enumerate(self.members):
            if k in members:
                self._rows[k].append(table[:, :, j].copy())
        self.steps = 0

    def monitors(self, k: int) -> tuple:
        """Member k's record, as the History of its separate monitored run holds it."""
        return (_Record(self._rows[k], self.n_layers),)


class _Record:
    name = "decomposition"

    def __init__(self, rows: list[np.ndarray], n_layers: int):
        self.rows, self.n_layers = rows, n_layers

    def result(self) -> dict[str, np.ndarray]:
        rows = np.array(self.rows).reshape(len(self.rows), len(KEYS), self.n_layers)
        return {key: rows[:, i, :].copy() for i, key in enumerate(KEYS)}
