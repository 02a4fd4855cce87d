r"""Mini-batch SGD with L2 weight decay: Nielsen's update rule, eq. 93.

For every weight w, at each step over a mini-batch B of m_B examples,

.. math::  w \to \left(1 - \frac{\eta\lambda}{n}\right) w
               - \frac{\eta}{m_B} \sum_{x \in B} \frac{\partial C_x}{\partial w},

and for every bias b, :math:`b \to b - (\eta/m_B)\sum_x \partial C_x/\partial b`
(biases are not decayed). n is the training-set size and m_B the actual
length of the batch: an epoch has ⌈n/m⌉ steps and its last batch may be
shorter. The decay multiplier 1 − ηλ/n is the "sum" convention; other
conventions (:mod:`decaylab.conventions`) change only that number.
"""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from decaylab._blas import add_column_sums, check_threads, limit_threads, matmul_into
from decaylab._continuation import (
    check_continuation,
    check_continuation_seed,
    check_monitor_records,
    check_network_state,
)
from decaylab._epochs import CheckpointSchedule, Run, train_epochs
from decaylab._safeguards import check_optimizer_progress, run_identity
from decaylab._validation import as_generator, check_bool, check_data, check_int, check_real
from decaylab.conventions import DecayConvention, get_convention, steps_per_epoch
from decaylab.history import STATISTICS, History, ParameterStats, layer_statistics
from decaylab.network import Backprop, Network
from decaylab.optimizers import Optimizer, get_optimizer


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


class StepMonitor(Protocol):
    """An opt-in observer of every SGD step (see :func:`train`'s ``monitors``).

    ``step`` is called before the update, with the network still holding w
    and ``grad_weights[l]`` the batch sum Σ_x ∂C_x/∂w for layer l.

    Under another update rule (``train(..., optimizer=...)``) a monitor needs
    a method ``step_parts(weights_before, decay, rest)``, called after each
    step instead of ``step``, with three lists holding for each layer l a flat
    array: the weights before the step, and the two parts of the step,
    w_before − w_after = decay + rest (see :mod:`decaylab.optimizers`).
    """

    name: str

    def start(self, net: Network, *, eta: float, multiplier: float) -> None: ...

    def step(self, net: Network, grad_weights: Sequence[np.ndarray], batch_length: int) -> None: ...

    def end_epoch(self, net: Network) -> None: ...

    def result(self) -> dict[str, np.ndarray]: ...


class CheckpointWriter(Protocol):
    """Writes the checkpoint of an epoch for :func:`train`; returns the file it wrote.

    :class:`decaylab.checkpoint.CheckpointFiles` is the one ``checkpoint_path``
    gives. It is called with the epoch, the network in the state that epoch
    ends in, the shuffling generator in the state the next epoch starts from,
    the training settings (those of the History, with ``epochs`` the planned
    last epoch and ``training_metrics``) and the History up to the epoch.
    """

    def __call__(
        self,
        epoch: int,
        *,
        net: Network,
        generator: np.random.Generator,
        training: dict,
        history: History,
    ) -> str: ...


#: How ``checkpoint_path`` becomes a CheckpointWriter. decaylab.checkpoint sits above
#: this module (its resume trains), so rather than being imported here it sets this
#: when it is imported.
checkpoint_files: Callable[[str | os.PathLike], CheckpointWriter] | None = None


class _Recorder:
    """Collects one row of statistics per epoch and builds the History."""

    def __init__(self, net, settings, train_set, evaluation, training_metrics, penalty):
        self.net = net
        self.settings = settings
        self.train_set = train_set if training_metrics else None
        self.evaluation = evaluation
        self.penalty = penalty
        self.epochs: list[int] = []
        # One (statistics, layers) array per kind and epoch: dicts of seven small
        # arrays would keep kilobytes per epoch alive over a long run.
        self.weight_rows: list[np.ndarray] = []
        self.bias_rows: list[np.ndarray] = []
        self.metrics: dict[str, list[float]] = {}
        self.problem: tuple[str, int | None] | None = None

    def record(self, epoch: int) -> bool:
        """Add the network's current state; return False if anything is not finite.

        Then :attr:`problem` says what was not finite, and in which layer.
        """
        net = self.net
        weights = layer_statistics(net.weights)
        biases = layer_statistics(net.biases)
        row: dict[str, float] = {}
        penalty = self.penalty(net.weight_sum_of_squares())
        for prefix, data in (("training", self.train_set), ("evaluation", self.evaluation)):
            if data is not None:
                row[f"{prefix}_cost"], row[f"{prefix}_accuracy"] = net._evaluate(
                    *data, penalty=penalty
                )
        finite = (
            all(np.isfinite(v).all() for v in weights.values())
            and all(np.isfinite(v).all() for v in biases.values())
            and np.isfinite(list(row.values())).all()
        )
        if not finite:
            self.problem = _first_non_finite(weights, biases, row)
        if finite:
            self.epochs.append(epoch)
            self.weight_rows.append(np.array([weights[name] for name in STATISTICS]))
            self.bias_rows.append(np.array([biases[name] for name in STATISTICS]))
            for key, value in row.items():
                self.metrics.setdefault(key, []).append(value)
        return finite

    def truncate(self, rows: int) -> None:
        """Keep only the first ``rows`` rows (an interrupted record may be half-appended)."""
        del self.epochs[rows:], self.weight_rows[rows:], self.bias_rows[rows:]
        for values in self.metrics.values():
            del values[rows:]

    @staticmethod
    def _stats(counts: list[int], rows: list[np.ndarray]) -> ParameterStats:
        table = np.array(rows, dtype=np.float64).reshape(len(rows), len(STATISTICS), len(counts))
        return ParameterStats(
            counts=np.asarray(counts, dtype=np.int64),
            **{name: table[:, i].copy() for i, name in enumerate(STATISTICS)},
        )

    def history(self, monitors) -> History:
        net = self.net
        return History(
            epoch=np.array(self.epochs, dtype=np.int64),
            weights=self._stats([w.size for w in net.weights], self.weight_rows),
            biases=self._stats([b.size for b in net.biases], self.bias_rows),
            **{key: np.array(values) for key, values in self.metrics.items()},
            settings=dict(self.settings),
            monitors={m.name: m.result() for m in monitors},
        )


def _first_non_finite(weights, biases, row) -> tuple[str, int | None]:
    """Describe the first non-finite statistic or metric, and its layer."""
    for kind, stats in (("weights", weights), ("biases", biases)):
        for name, values in stats.items():
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                layer = int(bad[0])
                if np.isnan(values[layer]):
                    return f"the {kind} of layer {layer} hold NaN or infinite values", layer
                # Finite parameters whose statistic is infinite: it overflowed.
                return (
                    f"the {kind} of layer {layer} are too large to measure (their {name} is "
                    f"{values[layer]})",
                    layer,
                )
    for name, value in row.items():
        if not np.isfinite(value):
            return f"the {name.replace('_', ' ')} is {value}", None
    return "a statistic is not finite", None


def _check_monitors(monitors) -> tuple:
    """Return ``monitors`` as a tuple of objects that have the StepMonitor methods."""
    if isinstance(monitors, (str, bytes)) or not hasattr(monitors, "__iter__"):
        raise TypeError(
            f"monitors has type {type(monitors).__name__}; expected a sequence of StepMonitors"
        )
    monitors = tuple(monitors)
    for i, monitor in enumerate(monitors):
        missing = [
            a for a in ("name", "start", "step", "end_epoch", "result") if not hasattr(monitor, a)
        ]
        if missing:
            raise TypeError(
                f"monitors[{i}] has type {type(monitor).__name__}, which lacks {missing}; "
                "expected a StepMonitor"
            )
    names = [m.name for m in monitors]
    if len(set(names)) != len(names):
        raise ValueError(f"monitors have the names {names}; expected each name once")
    return monitors


def _check_checkpoints(every, path) -> tuple[CheckpointWriter | None, int | None]:
    """Check ``checkpoint_every`` and ``checkpoint_path``; return the writer and the period."""
    if every is not None:
        every = check_int("checkpoint_every", every, minimum=1)
        if path is None:
            raise ValueError(
                f"checkpoint_every={every} but checkpoint_path is None; expected a "
                "file to write the checkpoints to"
            )
    return (None if path is None else checkpoint_files(path)), every


def _optimizer_update(optimizer: Optimizer, state: dict, coefficient: float) -> Callable:
    """The update of :func:`train` for ``optimizer``, with sgd_step's signature."""

    def update(net, grad, *, multiplier, eta, batch_length):
        optimizer.step(
            net, grad.grad, state, coefficient=coefficient, eta=eta, batch_length=batch_length
        )

    return update


def _check_optimizer_continuation(history, settings: dict, optimizer_state) -> None:
    """Refuse to continue a run under another update rule, or with its state started afresh."""
    recorded, now = history.settings.get("optimizer"), settings.get("optimizer")
    if recorded != now:
        raise ValueError(
            f"history was recorded with optimizer {recorded!r} but this call uses {now!r}; "
            "expected the update rule of the run it continues"
        )
    if now is not None and optimizer_state is None:
        raise ValueError(
            f"history= continues a {now['name']} run but optimizer_state is None, which would "
            "restart its state from zeros; expected the optimizer_state the run trained with "
            "(train updates it in place; checkpoints store it)"
        )


def _check_arguments(
    net,
    data,
    *,
    epochs,
    batch_size,
    eta,
    lmbda,
    decay,
    evaluation,
    shuffle,
    seed,
    training_metrics,
    monitors,
    history,
    checkpoint_every,
    checkpoint_path,
    optimizer=None,
    optimizer_state=None,
) -> tuple[Run, CheckpointSchedule]:
    """Check the arguments of :func:`train` (see there) and the state of ``net``.

    Raises ValueError or TypeError before anything is changed.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net has type {type(net).__name__}; expected a decaylab.Network")
    X, labels, targets = check_data(
        data, n_inputs=net.sizes[0], n_outputs=net.sizes[-1], name="data", dtype=net.dtype
    )
    n = len(X)
    # Epoch numbers must stay valid indices, continuations included.
    epochs = check_int("epochs", epochs, minimum=0, maximum=sys.maxsize // 2)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=n)
    eta = check_real("eta", eta, positive=True)
    lmbda = check_real("lmbda", lmbda, nonnegative=True)
    convention = get_convention(decay)
    multiplier = convention.multiplier(lmbda, eta=eta, n=n, n_weights=net.n_weights)
    if evaluation is not None:
        evaluation = check_data(
            evaluation,
            n_inputs=net.sizes[0],
            n_outputs=net.sizes[-1],
            name="evaluation",
            dtype=net.dtype,
        )
    check_bool("shuffle", shuffle)
    monitors = _check_monitors(monitors)
    check_bool("training_metrics", training_metrics)
    writer, checkpoint_every = _check_checkpoints(checkpoint_every, checkpoint_path)
    rng = as_generator("seed", seed)
    optimizer = get_optimizer(optimizer)
    update, state, decay_part = sgd_step, None, None
    if optimizer is not None:
        lacking = [m.name for m in monitors if not hasattr(m, "step_parts")]
        if lacking:
            raise ValueError(
                f"monitors {lacking} have no step_parts method, which optimizer="
                f"{optimizer.name!r} needs (they see only eq. 93's step); expected monitors "
                "such as DecompositionMonitor and RotationMonitor"
            )
        state = optimizer.init(net) if optimizer_state is None else optimizer_state
        state = optimizer.check_state(state, net)
        coefficient = convention.coefficient(lmbda, eta=eta, n=n, n_weights=net.n_weights)
        update = _optimizer_update(optimizer, state, coefficient)
        if monitors:
            decay_part = optimizer.decay_part(net, state, coefficient=coefficient, eta=eta)
    elif optimizer_state is not None:
        raise ValueError(
            "optimizer_state is given but optimizer is None (eq. 93 keeps no state); expected "
            "the optimizer the state belongs to"
        )

    settings = {
        **net.settings(),
        "n_weights": net.n_weights,
        "epochs": epochs,
        "batch_size": batch_size,
        "eta": eta,
        "lmbda": lmbda,
        "decay": convention.name,
        "multiplier": multiplier,
        "n": n,
        "steps_per_epoch": steps_per_epoch(n, batch_size),
        "shuffle": shuffle,
        "seed": int(seed) if isinstance(seed, numbers.Integral) else None,
        **run_identity(net, multiplier, X, labels, evaluation),
    }
    if optimizer is not None:
        settings["optimizer"] = optimizer.settings()
    first = 0
    if history is not None:
        first = check_continuation(history, settings, training_metrics, evaluation)
        _check_optimizer_continuation(history, settings, optimizer_state)
        check_optimizer_progress(history, settings, state)

    def penalty(sum_of_squares: float) -> float:
        return convention.penalty(sum_of_squares, lmbda, eta=eta, n=n, n_weights=net.n_weights)

    recorder = _Recorder(net, settings, (X, labels, targets), evaluation, training_metrics, penalty)
    with np.errstate(over="ignore", invalid="ignore"):
        if not recorder.record(first):
            raise ValueError(
                f"net is not finite before training: {recorder.problem[0]}; expected finite "
                "weights, biases and cost"
            )
    if history is not None:
        check_network_state(history, recorder.history(()).weights.norm[0])
    run = Run(
        net=net,
        X=X,
        targets=targets,
        update=update,
        batch_size=batch_size,
        eta=eta,
        lmbda=lmbda,
        multiplier=multiplier,
        shuffle=shuffle,
        rng=rng,
        monitors=monitors,
        recorder=recorder,
        earlier=history,
        first=first,
        last=first + epochs,
        optimizer_state=state,
        decay_part=decay_part,
    )
    training = {**settings, "epochs": run.last, "training_metrics": training_metrics}
    return run, CheckpointSchedule(writer, checkpoint_every, training)


def train(
    net: Network,
    data,
    *,
    epochs: int,
    batch_size: int,
    eta: float,
    lmbda: float = 0.0,
    decay: str | DecayConvention = "sum",
    evaluation=None,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
    training_metrics: bool = True,
    monitors: Sequence[StepMonitor] = (),
    progress: bool | None = None,
    history: History | None = None,
    checkpoint_every: int | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    optimizer: str | Optimizer | None = None,
    optimizer_state: dict[str, np.ndarray] | None = None,
    blas_threads: int | None = 1,
) -> History:
    r"""Train ``net`` in place by mini-batch SGD with L2 weight decay (eq. 93).

    Or by another update rule (``optimizer``): heavy-ball momentum, Adam + L2 or
    AdamW, with the same L2 coefficient (λ/n in Nielsen's convention).

    Parameters
    ----------
    net : Network
        Trained in place.
    data : pair (X, y)
        Training data: X of shape (n, sizes[0]); y labels (n,) or one-hot (n, k).
    epochs : int
        Number of passes over the data (>= 0; 0 only records the initial state).
    batch_size : int
        Mini-batch size m, 1 <= m <= n. An epoch has ⌈n/m⌉ steps; the last
        batch has n − (⌈n/m⌉ − 1)·m examples and its step uses that length.
    eta : float
        Learning rate η > 0.
    lmbda : float, optional
        Regularisation strength λ >= 0 (for the "per_step" and "decoupled"
        conventions, the weight decay wd).
    decay : {"sum", "mean", "per_step", "decoupled"} or DecayConvention
        How λ becomes the per-step multiplier d; "sum" gives d = 1 − ηλ/n.
    evaluation : pair (X, y), optional
        Data on which cost and accuracy are recorded each epoch.
    shuffle : bool, optional
        Reshuffle the examples every epoch (True), or take them in the given
        order (False), e.g. for exact comparisons with another implementation.
    seed : int, numpy.random.Generator or None
        Source of the shuffling order. A Generator is used and advanced.
    training_metrics : bool, optional
        Record training cost and accuracy each epoch (a forward pass over the
        training set per epoch).
    monitors : sequence of StepMonitor, optional
        Observers called at every step, e.g. the decay/gradient
        decomposition of :mod:`decaylab.dynamics.decomposition`.
    progress : bool or None
        Show a progress bar; by default only when standard error is a terminal.
    blas_threads : int or None, optional
        Threads NumPy's and SciPy's BLAS may use while training: 1 by default,
        because a step's products are small and one thread is faster than
        two contending pools (on 2 cores, about three times at batch 100;
        use worker processes for both cores, see :func:`decaylab.sweep`);
        None leaves the libraries' own setting.
    history : History, optional
        The record of an earlier run that this call continues, e.g. the
        ``history`` of a :class:`~decaylab.TrainingInterrupted` or of a
        checkpoint. ``net`` must be in the state of its last row and every
        setting but ``epochs`` and ``seed`` must be the same. The returned
        History then holds its epochs followed by ``epochs`` more, numbered on.
        A shuffled run continues only from a Generator passed as ``seed``:
        the one it stopped with (``exc.generator``, ``checkpoint.generator``)
        continues it bit for bit; an int or None would silently make another
        run and is refused.
    checkpoint_every : int, optional
        Write a checkpoint after every epoch whose number is a multiple of
        this (>= 1); needs ``checkpoint_path``.
    checkpoint_path : str or os.PathLike, optional
        Where checkpoints go (see :func:`decaylab.save_checkpoint`): the
        network, the generator, the settings and the History so far, each
        write replacing the last atomically. A file name holding ``{epoch}``
        (e.g. ``"run-{epoch:04d}.npz"``) keeps one file per checkpoint
        instead (:class:`decaylab.checkpoint.CheckpointFiles`). With a path,
        a checkpoint is also written at the end of training and when training
        is interrupted; :func:`decaylab.resume` continues from it.
    optimizer : None, "sgd", "momentum", "adam", "adamw" or Optimizer, optional
        The update rule (:mod:`decaylab.optimizers`); None or "sgd" is eq.
        93. A name takes the rule's default hyper-parameters. The convention's
        coefficient c (λ/n for "sum") is the L2 term added to the gradient
        (momentum, Adam) or the decoupled decay w → (1 − ηc)·w (AdamW). Step
        monitors see each step split into the decay's part and the rest
        (:mod:`decaylab.optimizers`), from a fresh state only.
    optimizer_state : dict of ndarray, optional
        The rule's state (``optimizer.init(net)`` when None), updated in place
        and left at the end of the last completed epoch, also when training
        diverges or is interrupted: pass it again with ``history=`` to continue
        the run. Checkpoints store it.

    Returns
    -------
    History
        Statistics for epochs 0..``epochs`` (continuing ``history``: its
        epochs, then ``epochs`` more).

    Raises
    ------
    ValueError, TypeError
        For bad arguments or data; nothing has been changed then.
    TrainingDiverged
        When a weight, bias, statistic or cost becomes non-finite. The network
        is left at the end of the last finite epoch and the error carries its
        History, the epoch, and the step and layer where it could be located.
    TrainingInterrupted
        On Ctrl-C; the network is left at the end of the last completed epoch
        and the error carries the History and a generator to resume from.

    Notes
    -----
    Each step is :func:`sgd_step`:

    .. math:: w \to \left(1 - \frac{\eta\lambda}{n}\right) w
              - \frac{\eta}{m}\sum_x \frac{\partial C_x}{\partial w}.

    A run continued with the same settings, the generator it stopped with
    and ``history=`` (or by :func:`decaylab.resume` from a checkpoint) is bit
    for bit the run that was never stopped, History included.

    Examples
    --------
    >>> import decaylab as dl
    >>> data = dl.load_digits()
    >>> net = dl.Network([64, 30, 10], init="large", seed=0)
    >>> hist = dl.train(net, data.train, epochs=2, batch_size=10, eta=0.5, lmbda=5.0, seed=0)
    >>> hist.weights.norm.shape
    (3, 2)
    """
    threads = check_threads(blas_threads)
    run, checkpoints = _check_arguments(
        net,
        data,
        epochs=epochs,
        batch_size=batch_size,
        eta=eta,
        lmbda=lmbda,
        decay=decay,
        evaluation=evaluation,
        shuffle=shuffle,
        seed=seed,
        training_metrics=training_metrics,
        monitors=monitors,
        history=history,
        checkpoint_every=checkpoint_every,
        checkpoint_path=checkpoint_path,
        optimizer=optimizer,
        optimizer_state=optimizer_state,
    )
    for monitor in run.monitors:
        monitor.start(net, eta=run.eta, multiplier=run.multiplier)
    if history is not None:
        check_monitor_records(history, run.monitors)
        check_continuation_seed(seed, shuffle)
    show = sys.stderr.isatty() if progress is None else progress
    with limit_threads(threads):
        return train_epochs(run, checkpoints, progress=show)
