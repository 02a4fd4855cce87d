r"""Train K networks of the same shape together, on one shared sequence of mini-batches.

A sweep over λ or η trains many networks of the same sizes. Trained one by one,
each step of each network is a handful of small matrix products plus a fixed
cost of NumPy calls. Trained together, the K members' parameters live in one
stacked buffer, every elementwise operation is one call for all members, and
the first layer — by far the largest — is one wide product against the shared
batch,

.. math:: Z^1 = X_B \,[W^1_1; W^1_2; \dots; W^1_K]^\top, \qquad
          [\nabla W^1_1; \dots; \nabla W^1_K] = [\delta^1_1, \dots, \delta^1_K]^\top X_B,

with the deeper layers as batched products over the leading K axis: the
forward and backward pass of a single network (:class:`~decaylab.network.Backprop`)
with a member axis. Each member still follows eq. 93 with its own η, λ and
convention:

.. math:: w_k \to d_k\, w_k - \frac{\eta_k}{m_B} \sum_{x \in B} \frac{\partial C_x}{\partial w_k},

so each member's trajectory is its separate run's; only the grouping of some
floating-point operations differs: the ensemble scales each member's δ by
η_k/m_B before forming its products, where a separate run does it inside
one product, so members agree with their separate runs to about 1e-11 after
a few epochs, not bit for bit.

Sharing the mini-batches is the design of a sweep with common random numbers:
the members see the same examples in the same order, so differences between
them come from η and λ, not from the shuffling. Members that need different
shuffling orders gain nothing from being trained together; train them
separately with :func:`decaylab.train`.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from decaylab._blas import add_column_sums, check_threads, limit_threads, matmul_into
from decaylab._progress import progress_bar
from decaylab._safeguards import run_identity
from decaylab._validation import (
    as_generator,
    check_bool,
    check_choice,
    check_data,
    check_int,
    check_real,
)
from decaylab.conventions import (
    CONVENTIONS,
    DecayConvention,
    get_convention,
    steps_per_epoch,
)
from decaylab.errors import TrainingInterrupted
from decaylab.history import History
from decaylab.network import Backprop, Network
from decaylab.training import _Recorder

__all__ = ["train_ensemble"]


class _Stack:
    """The K members' parameters in one buffer, and their pass (:class:`Backprop`) over a batch.

    The buffer is layer-major: the weights of layer 0 of all members, shape
    (K, sizes[1], sizes[0]), then those of layer 1, ..., then the biases of
    each layer, shape (K, sizes[l+1]). Member k's layer-0 weights are rows
    k·sizes[1] .. (k+1)·sizes[1] of the (K·sizes[1], sizes[0]) matrix, which is
    what makes the first layer one wide product.
    """

    def __init__(self, nets: Sequence[Network], batch_size: int):
        first = nets[0]
        self.K = K = len(nets)
        sizes = first.sizes
        dt = first.dtype
        self._shapes = shapes = [(o, i) for i, o in zip(sizes[:-1], sizes[1:])]
        self.params = np.empty(K * (first.n_weights + first.n_biases), dtype=dt)
        self.weights, self.biases = self._layers(self.params, shapes)
        # The layers after the first as the pass sees them (one member: plain matrices),
        # with the gradient buffers of their update, which is not fused.
        self._deep_weights = [w if K > 1 else w[0] for w in self.weights[1:]]
        self._deep_grads = [np.empty_like(w) for w in self._deep_weights]
        # Every member's weights of a layer as one row, so that its decay multiplier
        # broadcasts along a contiguous row (about twice as fast as over a (K, o, i) block).
        self._rows = [w.reshape(K, -1) for w in self.weights]
        # Per-member scalars broadcast over (K, k, o) blocks, or over one member's matrices.
        self._member_shape = (K, 1, 1) if K > 1 else (1, 1)
        o0, i0 = shapes[0]
        self.wide_weights = self.weights[0].reshape(K * o0, i0)
        self.wide_weights_transposed = self.wide_weights.T
        self.wide_biases = [b.reshape(-1) for b in self.biases]
        self.backprop = Backprop.stacked(
            self.weights,
            self.biases,
            batch_size,
            activation=first.activation,
            cost_function=first.cost_function,
        )
        self.load(nets)

    def _layers(self, flat, shapes):
        weights, biases, start = [], [], 0
        for o, i in shapes:
            weights.append(flat[start : start + self.K * o * i].reshape(self.K, o, i))
            start += self.K * o * i
        for o, _ in shapes:
            biases.append(flat[start : start + self.K * o].reshape(self.K, o))
            start += self.K * o
        return weights, biases

    def set_hyperparameters(self, etas: Sequence[float], multipliers: Sequence[float]) -> None:
        """Store each member's η and decay multiplier d."""
        self._etas = np.array(etas, dtype=np.float64)
        self._scales: dict[int, np.ndarray] = {}
        # One d for all members (a sweep over seeds or η) decays inside the first layer's
        # product, as a separate run does, instead of in a pass of its own.
        same = len(set(multipliers)) == 1
        self._common_multiplier = float(multipliers[0]) if same else None
        # Different ones as arrays the size of each layer's weights: multiplying by one
        # is about three times faster than broadcasting a (K, 1) column along the rows.
        column = np.array(multipliers, dtype=self.params.dtype).reshape(self.K, 1)
        self._decay_rows = [np.repeat(column, rows.shape[1], axis=1) for rows in self._rows]

    def scales(self, batch_length: int) -> np.ndarray:
        """η_k/m_B of every member, shape (K, 1, 1), divided in float64 and rounded to the dtype."""
        if batch_length not in self._scales:
            scales = (self._etas / batch_length).astype(self.params.dtype)
            self._scales[batch_length] = scales.reshape(self._member_shape)
        return self._scales[batch_length]

    def sgd_step(self, batch_length: int) -> None:
        r"""Apply eq. 93 to every member, from the δ that :meth:`backward` left for this batch.

        .. math:: w_k \to d_k\,w_k - (\eta_k/m_B)\sum_x \partial C_x/\partial w_k,
                  \qquad b_k \to b_k - (\eta_k/m_B)\sum_x \partial C_x/\partial b_k.

        Each member's δ already carries its η_k/m_B, so (η_k/m_B)·Σ_x ∂C_x/∂w^l_k
        = δ^l_kᵀ a^{l−1}_k. The first layer, where nearly all the weights are,
        is updated by one wide gemm for all members, W ← d·W − [δ_1 … δ_K]ᵀ X,
        decayed inside it when all members share d, else member by member
        first. The small deeper layers go through their gradient buffer.
        """
        batch = self.backprop.batch
        delta = batch.delta
        factors = batch.factors
        ones = self.backprop.ones[:batch_length]
        for b, d in zip(self.wide_biases, delta):
            add_column_sums(b, d, ones, alpha=-1.0)
        common = self._common_multiplier
        if common is None:
            common = 1.0
            np.multiply(self._rows[0], self._decay_rows[0], out=self._rows[0])  # weights only
        matmul_into(self.wide_weights, delta[0].T, factors[0][1], alpha=-1.0, beta=common)
        for weights, rows, decay, grad, (delta_members, inputs) in zip(
            self._deep_weights, self._rows[1:], self._decay_rows[1:], self._deep_grads, factors[1:]
        ):
            np.matmul(delta_members.swapaxes(-1, -2), inputs, out=grad)
            rows *= decay
            weights -= grad

    def member(self, k: int, flat: np.ndarray | None = None) -> list[np.ndarray]:
        """Views of member k's weights then biases, layer by layer, in ``flat`` (or params)."""
        weights, biases = (
            (self.weights, self.biases) if flat is None else self._layers(flat, self._shapes)
        )
        return [block[k] for block in weights + biases]

    def set_member(self, k: int, arrays: Sequence[np.ndarray]) -> None:
        for block, array in zip(self.member(k), arrays):
            block[...] = array

    def load(self, nets: Sequence[Network]) -> None:
        for k, net in enumerate(nets):
            self.set_member(k, [*net.weights, *net.biases])

    def store(self, nets: Sequence[Network], members: Sequence[int] | None = None) -> None:
        """Copy the stacked parameters into the networks (all, or ``nets[k]`` for k in members)."""
        for k in range(self.K) if members is None else members:
            for own, block in zip([*nets[k].weights, *nets[k].biases], self.member(k)):
                own[...] = block

    def finite_members(self) -> np.ndarray:
        """Boolean (K,): whether all of member k's weights and biases are finite."""
        finite = np.ones(self.K, dtype=bool)
        for block in self.weights + self.biases:
            finite &= np.isfinite(block.reshape(self.K, -1)).all(axis=1)
        return finite

    def backward(self, X: np.ndarray, targets: np.ndarray) -> None:
        """Forward pass and every member's δ^l for the batch, each scaled by η_k/m_B, m_B = k.

        Parameters
        ----------
        X : ndarray, shape (k, sizes[0]), C-contiguous
        targets : ndarray, shape (k, sizes[-1]), one-hot

        Notes
        -----
        The factor η_k/m_B is applied once, to δ^L: every δ^l is linear in it,
        so the gradients formed from them in :meth:`sgd_step` carry it too.
        """
        self.backprop.run(X, targets, self.scales(len(X)))


def _per_member(name: str, value, K: int, check) -> list:
    """A scalar repeated K times, or a sequence of K values, each passed through ``check``."""
    if isinstance(value, (str, DecayConvention, numbers.Number)) or np.ndim(value) == 0:
        return [check(name, value)] * K
    values = list(value)
    if len(values) != K:
        raise ValueError(
            f"{name} has {len(values)} value(s); expected one value for all members or one "
            f"per member ({K})"
        )
    return [check(f"{name}[{k}]", v) for k, v in enumerate(values)]


def _check_convention(name: str, value) -> DecayConvention:
    if isinstance(value, DecayConvention):
        return value
    return get_convention(check_choice(name, value, CONVENTIONS))


def _check_nets(nets) -> list[Network]:
    if isinstance(nets, Network) or not isinstance(nets, Sequence):
        raise TypeError(
            f"nets has type {type(nets).__name__}; expected a sequence of decaylab.Network"
        )
    nets = list(nets)
    if not nets:
        raise ValueError("nets is empty; expected at least one decaylab.Network")
    for k, net in enumerate(nets):
        if not isinstance(net, Network):
            raise TypeError(f"nets[{k}] has type {type(net).__name__}; expected a decaylab.Network")
    shape = {key: v for key, v in nets[0].settings().items() if key != "init"}
    seen: dict[int, int] = {}
    for k, net in enumerate(nets):
        other = {key: v for key, v in net.settings().items() if key != "init"}
        if other != shape:
            raise ValueError(
                f"nets[{k}] is {net!r} but nets[0] is {nets[0]!r}; expected members of the same "
                "sizes, activation, cost and dtype (train other shapes separately)"
            )
        if id(net) in seen:
            raise ValueError(
                f"nets[{k}] is the same object as nets[{seen[id(net)]}]; expected distinct "
                "networks (use net.copy() for a second member that starts from the same weights)"
            )
        seen[id(net)] = k
    return nets


def train_ensemble(
    nets: Sequence[Network],
    data,
    *,
    epochs: int,
    batch_size: int,
    eta: float | Sequence[float],
    lmbda: float | Sequence[float] = 0.0,
    decay: str | DecayConvention | Sequence[str | DecayConvention] = "sum",
    evaluation=None,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
    training_metrics: bool = True,
    progress: bool | None = None,
    blas_threads: int | None = 1,
) -> list[History]:
    r"""Train K networks of the same shape in place, together, on shared mini-batches.

    Each member does exactly what :func:`decaylab.train` would do with the same
    arguments and seed (eq. 93 with its own η, λ and convention), and gets the
    same History (up to the order of floating-point sums, about 1e-10 after a
    few epochs), but the K members are stepped together: see the module notes.
    Only eq. 93 is supported: there is no ``optimizer`` argument, and runs
    with momentum, Adam + L2 or AdamW (:mod:`decaylab.optimizers`) go through
    :func:`decaylab.train` one network at a time.

    Parameters
    ----------
    nets : sequence of K Network
        Distinct networks with the same sizes, activation, cost and dtype (they
        may differ in initialisation and seed). Trained in place.
    data : pair (X, y)
        Training data shared by all members: X of shape (n, sizes[0]); y labels
        (n,) or one-hot (n, k).
    epochs : int
        Number of passes over the data (>= 0).
    batch_size : int
        Mini-batch size m, 1 <= m <= n, shared by all members.
    eta : float or sequence of K floats
        Learning rate η > 0, one for all members or one per member.
    lmbda : float or sequence of K floats, optional
        Regularisation strength λ >= 0, one for all or one per member.
    decay : str or DecayConvention, or a sequence of K of them, optional
        The decay convention, one for all or one per member.
    evaluation : pair (X, y), optional
        Data on which every member's cost and accuracy are recorded each epoch.
    shuffle : bool, optional
        Reshuffle the examples every epoch (one order shared by all members),
        or take them in the given order.
    seed : int, numpy.random.Generator or None
        Source of the shared shuffling order; the same seed as a separate
        :func:`decaylab.train` run gives every member that run's batches.
    training_metrics : bool, optional
        Record each member's training cost and accuracy each epoch.
    progress : bool or None
        Show a progress bar; by default only when standard error is a terminal.
    blas_threads : int or None, optional
        As for :func:`decaylab.train`: BLAS held to one thread by default.

    Returns
    -------
    list of K History
        ``histories[k]`` is member k's record, equal to that of
        ``train(nets[k], data, ..., eta=eta[k], lmbda=lmbda[k], decay=decay[k], seed=seed)``.
        A member whose weights, biases or cost become non-finite stops: its
        network is left at the end of its last finite epoch, its History ends
        there (``histories[k].n_epochs < epochs``), a ``RuntimeWarning`` names
        it, and the other members carry on.

    Raises
    ------
    ValueError, TypeError
        For bad arguments or data; no network has been changed then.
    TrainingInterrupted
        On Ctrl-C. Every network is left at the end of the last completed
        epoch; ``.history`` is the list of the members' Histories so far and
        ``.generator`` the shuffling generator, rewound so that
        ``train_ensemble(nets, ..., epochs=remaining, seed=exc.generator)``
        continues the run bit for bit (each member's record then continues in
        the History it returns, numbered from epoch 0).

    Notes
    -----
    Every member needs the same training set and batch sequence: sharing the
    batches is what makes one wide first-layer product possible. Members that
    should see different shuffling orders are the same as separate runs, so
    train them with :func:`decaylab.train` (or :func:`decaylab.sweep`).

    Step monitors (:func:`decaylab.train`'s ``monitors``) are not available
    here; train a member alone to monitor its steps.

    Examples
    --------
    >>> import decaylab as dl
    >>> data = dl.load_digits()
    >>> nets = [dl.Network([64, 30, 10], seed=0).copy() for _ in range(3)]
    >>> histories = dl.train_ensemble(nets, data.train, epochs=2, batch_size=10, eta=0.5,
    ...                               lmbda=[0.0, 5.0, 50.0], seed=0)
    >>> [round(float(h.weights.total.norm[-1]), 1) for h in histories]
    [48.8, 31.1, 3.1]
    """
    nets = _check_nets(nets)
    K = len(nets)
    first = nets[0]
    X, labels, targets = check_data(
        data, n_inputs=first.sizes[0], n_outputs=first.sizes[-1], name="data", dtype=first.dtype
    )
    n = len(X)
    epochs = check_int("epochs", epochs, minimum=0)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=n)
    etas = _per_member("eta", eta, K, lambda name, v: check_real(name, v, positive=True))
    lmbdas = _per_member("lmbda", lmbda, K, lambda name, v: check_real(name, v, nonnegative=True))
    conventions = _per_member("decay", decay, K, _check_convention)
    multipliers = []
    for k, (convention, lm, e) in enumerate(zip(conventions, lmbdas, etas)):
        try:
            multipliers.append(convention.multiplier(lm, eta=e, n=n, n_weights=first.n_weights))
        except ValueError as exc:
            raise ValueError(f"member {k}: {exc}") from None
    if evaluation is not None:
        evaluation = check_data(
            evaluation,
            n_inputs=first.sizes[0],
            n_outputs=first.sizes[-1],
            name="evaluation",
            dtype=first.dtype,
        )
    check_bool("shuffle", shuffle)
    check_bool("training_metrics", training_metrics)
    rng = as_generator("seed", seed)

    recorders = []
    for net, e, lm, convention, d in zip(nets, etas, lmbdas, conventions, multipliers):
        settings = {
            **net.settings(),
            "n_weights": net.n_weights,
            "epochs": epochs,
            "batch_size": batch_size,
            "eta": e,
            "lmbda": lm,
            "decay": convention.name,
            "multiplier": d,
            "n": n,
            "steps_per_epoch": steps_per_epoch(n, batch_size),
            "shuffle": shuffle,
            "seed": seed if isinstance(seed, int) else None,
            **run_identity(net, d, X, labels, evaluation),
        }

        def penalty(sum_of_squares, convention=convention, lm=lm, e=e, n_w=net.n_weights):
            return convention.penalty(sum_of_squares, lm, eta=e, n=n, n_weights=n_w)

        recorders.append(
            _Recorder(net, settings, (X, labels, targets), evaluation, training_metrics, penalty)
        )
    with np.errstate(over="ignore", invalid="ignore"):
        for k, recorder in enumerate(recorders):
            if not recorder.record(0):
                raise ValueError(
                    f"nets[{k}] is not finite before training; expected finite weights, "
                    "biases and cost"
                )

    threads = check_threads(blas_threads)
    stack = _Stack(nets, batch_size)
    stack.set_hyperparameters(etas, multipliers)
    frozen: dict[int, list[np.ndarray]] = {}  # diverged members, at their last finite state
    stopped: list[str] = []
    completed = 0
    if progress is None:
        progress = sys.stderr.isatty()
    bar = progress_bar(
        range(1, epochs + 1), desc="epochs", unit="epoch", disable=not progress, leave=False
    )
    try:
        with np.errstate(over="ignore", invalid="ignore"), limit_threads(threads):
            for epoch in bar:
                rng_state = rng.bit_generator.state
                start = stack.params.copy()
                try:
                    order = rng.permutation(n) if shuffle else None
                    _run_epoch(stack, X, targets, order, batch_size)
                    # A stopped member is still stepped (its columns cannot leave the
                    # wide products) but is put back after every epoch.
                    for k, saved in frozen.items():
                        stack.set_member(k, saved)
                    finite = stack.finite_members()
                    stack.store(nets)
                    for k in range(K):
                        if k in frozen or (finite[k] and recorders[k].record(epoch)):
                            continue
                        frozen[k] = [block.copy() for block in stack.member(k, start)]
                        stack.set_member(k, frozen[k])
                        stack.store(nets, members=[k])
                        stopped.append(
                            f"nets[{k}] (eta={etas[k]}, lmbda={lmbdas[k]}) in epoch {epoch}"
                        )
                except KeyboardInterrupt:
                    # Undo the unfinished epoch so that what is kept is the completed ones.
                    stack.params[...] = start
                    stack.store(nets)
                    rng.bit_generator.state = rng_state
                    for recorder in recorders:
                        recorder.truncate(sum(1 for e in recorder.epochs if e < epoch))
                    raise
                completed = epoch
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            f"training of the ensemble interrupted after epoch {completed}; the members' epochs "
            f"up to {completed} are kept in .history (a list, one History per member) and every "
            f"network is at the end of epoch {completed}. To resume, call train_ensemble(nets, "
            f"data, epochs={epochs - completed}, seed=exc.generator) with the same other "
            "settings; it continues the run bit for bit, recording from epoch 0 again.",
            history=[r.history(()) for r in recorders],
            generator=rng,
        ) from None
    finally:
        bar.close()
    if stopped:
        warnings.warn(
            "training diverged for "
            + "; ".join(stopped)
            + ": each is left at the end of its last finite epoch, where its History ends; "
            "the other members were trained to the end",
            RuntimeWarning,
            stacklevel=2,
        )
    return [r.history(()) for r in recorders]


def _run_epoch(stack: _Stack, X, targets, order, batch_size: int) -> None:
    """One pass over the shared batches, stepping every member by eq. 93."""
    n = len(X)
    if order is not None:
        xbuf = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
        ybuf = np.empty((batch_size, targets.shape[1]), dtype=targets.dtype)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        k = stop - start
        if order is not None:
            # order is a permutation of range(n): no index is out of range, and
            # mode="clip" gathers without an intermediate copy.
            idx = order[start:stop]
            xb = np.take(X, idx, axis=0, out=xbuf[:k], mode="clip")
            yb = np.take(targets, idx, axis=0, out=ybuf[:k], mode="clip")
        else:
            xb, yb = X[start:stop], targets[start:stop]
        stack.backward(xb, yb)
        stack.sgd_step(k)
