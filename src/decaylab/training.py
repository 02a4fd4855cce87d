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
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from decaylab._blas import check_threads, limit_threads
from decaylab._checkpoint_files import CheckpointFiles
from decaylab._continuation import (
    check_continuation,
    check_continuation_seed,
    check_monitor_records,
    check_network_state,
)
from decaylab._epochs import CheckpointSchedule, Run, StepSplit, train_epochs
from decaylab._safeguards import check_optimizer_progress, run_identity
from decaylab._validation import as_generator, check_bool, check_data, check_int, check_real
from decaylab.conventions import DecayConvention, get_convention, steps_per_epoch
from decaylab.history import STATISTICS, History, ParameterStats, layer_statistics
from decaylab.network import Network
from decaylab.rules import SGD, Rule, check_rule_state, get_rule, sgd_step

__all__ = ["CheckpointWriter", "StepMonitor", "sgd_step", "train"]


class StepMonitor(Protocol):
    """An opt-in observer of every step (see :func:`train`'s ``monitors``).

    ``step_parts`` is called after each step, whatever the update rule, with
    three lists holding for each weight layer l a flat array: the weights
    before the step, and the two parts of the step, w_before − w_after =
    decay + rest (:mod:`decaylab.rules` defines the decay part of each
    rule; for eq. 93 it is (1 − d)·w and the rest (η/m_B)Σ_x ∂C_x/∂w). The
    arrays are views into buffers reused by the next step: copy what you keep.
    A monitor whose optional attribute ``sees_steps`` is False is not shown
    the steps, and spares the run the work of splitting them.

    The package's own monitors have an optional method more,
    ``step_budgets(budget)``, called instead of ``step_parts``: the ‖w‖²
    budget (the Gram matrix of w, decay and rest per step and layer) of a
    block of steps, computed once for every monitor that reads it, and shown
    by blocks (the last of an epoch before ``end_epoch``). When all the
    monitors of a run read it and the rule's decay multiplies the weights
    (eq. 93, AdamW), the decay part is never formed (:mod:`decaylab._step_budget`).
    """

    name: str

    def start(self, net: Network, *, eta: float, multiplier: float) -> None: ...

    def step_parts(
        self,
        weights_before: Sequence[np.ndarray],
        decay: Sequence[np.ndarray],
        rest: Sequence[np.ndarray],
    ) -> None: ...

    def end_epoch(self, net: Network) -> None: ...

    def result(self) -> dict[str, np.ndarray]: ...


class CheckpointWriter(Protocol):
    """Writes the checkpoint of an epoch for :func:`train`; returns the file it wrote.

    :class:`decaylab.checkpoint.CheckpointFiles` is the one ``checkpoint_path``
    gives. It is called with the epoch, the network in the state that epoch
    ends in, the shuffling generator in the state the next epoch starts from,
    the training settings (those of the History, with ``epochs`` the planned
    last epoch and ``training_metrics``), the History up to the epoch and,
    for a rule with a state, ``optimizer_state``.
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
        needed = ("name", "start", "step_parts", "end_epoch", "result")
        missing = [a for a in needed if not hasattr(monitor, a)]
        if missing:
            raise TypeError(
                f"monitors[{i}] has type {type(monitor).__name__}, which lacks {missing}; "
                "expected a StepMonitor (its step_parts(weights_before, decay, rest) is called "
                "after every step; a step(net, grad_weights, batch_length) before eq. 93's "
                "update is no longer called)"
            )
    names = [m.name for m in monitors]
    if len(set(names)) != len(names):
        raise ValueError(f"monitors have the names {names}; expected each name once")
    return monitors


def _check_checkpoints(every, path, writer) -> tuple[CheckpointWriter | None, int | None]:
    """Check ``checkpoint_every``, ``checkpoint_path`` and ``checkpoint``; return writer, period."""
    if path is not None and writer is not None:
        raise ValueError(
            f"checkpoint_path={path!r} and checkpoint={writer!r} are both given; expected one "
            "place to write the checkpoints to"
        )
    if writer is not None and not callable(writer):
        raise TypeError(
            f"checkpoint has type {type(writer).__name__}; expected a CheckpointWriter "
            "(e.g. decaylab.checkpoint.CheckpointFiles(path))"
        )
    if every is not None:
        every = check_int("checkpoint_every", every, minimum=1)
        if path is None and writer is None:
            raise ValueError(
                f"checkpoint_every={every} but checkpoint_path is None; expected a "
                "file to write the checkpoints to"
            )
    return (CheckpointFiles(path) if path is not None else writer), every


def _check_rule(rule, optimizer_state, net: Network, history) -> tuple[Rule, dict]:
    """The rule ``optimizer`` names and its state, checked against ``net`` and ``history``."""
    if rule is None and optimizer_state is not None:
        raise ValueError(
            "optimizer_state is given but optimizer is None (eq. 93 keeps no state); expected "
            "the optimizer the state belongs to"
        )
    rule = get_rule(rule)
    if optimizer_state is None:
        recorded = None if history is None else history.settings.get("optimizer")
        if recorded is not None and recorded == _recorded_rule(rule):
            raise ValueError(
                f"history= continues a {recorded['name']} run but optimizer_state is None, "
                "which would restart its state from zeros; expected the optimizer_state the run "
                "trained with (train updates it in place; checkpoints store it)"
            )
        return rule, rule.init(net)
    return rule, check_rule_state(rule, optimizer_state, net)


def _recorded_rule(rule: Rule) -> dict | None:
    """What a History records of ``rule``: nothing for eq. 93, as before there were rules."""
    return None if isinstance(rule, SGD) else rule.settings()


def _check_rule_continuation(history, settings: dict) -> None:
    """Refuse to continue a run under another update rule."""
    recorded, now = history.settings.get("optimizer"), settings.get("optimizer")
    if recorded != now:
        raise ValueError(
            f"history was recorded with optimizer {recorded!r} but this call uses {now!r}; "
            "expected the update rule of the run it continues"
        )


def check_arguments(net, data, *, epochs, batch_size, eta, lmbda, decay, evaluation, shuffle,
                    seed, training_metrics, monitors, history, checkpoint_every, checkpoint_path,
                    checkpoint=None, optimizer=None, optimizer_state=None,
                    order=None) -> dict:  # fmt: skip
    """Check the arguments of :func:`train` (see there); return them checked, as a dict.

    Raises ValueError or TypeError before anything is changed.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net has type {type(net).__name__}; expected a decaylab.Network")
    sizes = dict(n_inputs=net.sizes[0], n_outputs=net.sizes[-1], dtype=net.dtype)
    X, labels, targets = check_data(data, name="data", **sizes)
    if evaluation is not None:
        evaluation = check_data(evaluation, name="evaluation", **sizes)
    n = len(X)
    convention = get_convention(decay)
    checked = dict(
        net=net, X=X, labels=labels, targets=targets, convention=convention,
        # Epoch numbers must stay valid indices, continuations included.
        epochs=check_int("epochs", epochs, minimum=0, maximum=sys.maxsize // 2),
        batch_size=check_int("batch_size", batch_size, minimum=1, maximum=n),
        eta=check_real("eta", eta, positive=True),
        lmbda=check_real("lmbda", lmbda, nonnegative=True),
        evaluation=evaluation,
        shuffle=check_bool("shuffle", shuffle),
        training_metrics=check_bool("training_metrics", training_metrics),
        monitors=_check_monitors(monitors),
        rng=as_generator("seed", seed),
        seed=int(seed) if isinstance(seed, numbers.Integral) else None,
        order=order,
    )  # fmt: skip
    terms = dict(eta=checked["eta"], n=n, n_weights=net.n_weights)
    checked["multiplier"] = convention.multiplier(checked["lmbda"], **terms)
    checked["coefficient"] = convention.coefficient(checked["lmbda"], **terms)
    checked["writer"], checked["every"] = _check_checkpoints(
        checkpoint_every, checkpoint_path, checkpoint
    )
    if history is not None and not isinstance(history, History):
        raise TypeError(f"history has type {type(history).__name__}; expected a decaylab.History")
    checked["rule"], checked["state"] = _check_rule(optimizer, optimizer_state, net, history)
    return checked


def _check_order(order, epochs: int, n: int, first: int) -> list[np.ndarray] | None:
    """The ``epochs`` example orders ``order`` gives, each checked to be a permutation of
    range(n), before anything is trained; None when ``order`` is None."""
    if order is None:
        return None
    if callable(order):
        orders = [order(epoch) for epoch in range(first + 1, first + epochs + 1)]
    elif isinstance(order, (str, bytes, np.ndarray)) or not hasattr(order, "__iter__"):
        raise TypeError(
            f"order has type {type(order).__name__}; expected a sequence of permutations (one "
            "per epoch), an iterator of them, or a callable taking the epoch number"
        )
    else:
        iterator = iter(order)
        orders = [p for _, p in zip(range(epochs), iterator)]
        if len(orders) < epochs:
            raise ValueError(
                f"order gives {len(orders)} permutations; expected {epochs}, one per epoch"
            )
    checked = []
    for i, permutation in enumerate(orders):
        p = np.asarray(permutation)
        if p.ndim != 1 or len(p) != n or p.dtype.kind not in "iu":
            raise ValueError(
                f"order's permutation for epoch {first + 1 + i} is a {p.dtype} array of shape "
                f"{p.shape}; expected integers of shape ({n},), a permutation of range({n})"
            )
        counts = np.bincount(np.clip(p, -1, n).astype(np.intp) + 1, minlength=n + 2)
        if counts[0] or counts[-1] or np.any(counts[1:-1] != 1):
            missing = np.flatnonzero(counts[1:-1] == 0)
            raise ValueError(
                f"order's permutation for epoch {first + 1 + i} is not a permutation of "
                f"range({n}) (it lacks {missing[:5].tolist()}"
                f"{' and more' if len(missing) > 5 else ''}); expected each index once"
            )
        checked.append(p.astype(np.intp, copy=False))
    return checked


def _settings(c: dict) -> dict:
    """The settings a History records of the checked arguments ``c``."""
    net, n = c["net"], len(c["X"])
    settings = {
        **net.settings(),
        "n_weights": net.n_weights,
        "epochs": c["epochs"],
        "batch_size": c["batch_size"],
        "eta": c["eta"],
        "lmbda": c["lmbda"],
        "decay": c["convention"].name,
        "multiplier": c["multiplier"],
        "n": n,
        "steps_per_epoch": steps_per_epoch(n, c["batch_size"]),
        "shuffle": c["shuffle"],
        "seed": c["seed"],
        **run_identity(
            net,
            c["multiplier"],
            c["X"],
            c["labels"],
            c["evaluation"],
            multiplies=c["rule"].multiplies_weights,
        ),
    }
    recorded = _recorded_rule(c["rule"])
    if recorded is not None:
        settings["optimizer"] = recorded
    if c["order"] is not None:
        settings["shuffle"], settings["order"] = False, "given"  # by train's order=
    return settings


def _start_run(c: dict, history: History | None) -> tuple[Run, CheckpointSchedule]:
    """The Run of the checked arguments ``c``: its settings, record, and first epoch recorded."""
    net, n, lmbda, eta = c["net"], len(c["X"]), c["lmbda"], c["eta"]
    settings = _settings(c)
    first = 0
    if history is not None:
        first = check_continuation(history, settings, c["training_metrics"], c["evaluation"])
        _check_rule_continuation(history, settings)
        check_optimizer_progress(history, settings, c["state"])
    orders = _check_order(c["order"], c["epochs"], n, first)

    def penalty(sum_of_squares: float) -> float:
        return c["convention"].penalty(sum_of_squares, lmbda, eta=eta, n=n, n_weights=net.n_weights)

    data = (c["X"], c["labels"], c["targets"])
    recorder = _Recorder(net, settings, data, c["evaluation"], c["training_metrics"], penalty)
    with np.errstate(over="ignore", invalid="ignore"):
        if not recorder.record(first):
            raise ValueError(
                f"net is not finite before training: {recorder.problem[0]}; expected finite "
                "weights, biases and cost"
            )
    if history is not None:
        check_network_state(history, recorder.history(()).weights.norm[0])
    split = None
    if any(getattr(m, "sees_steps", True) for m in c["monitors"]):
        part = c["rule"].decay_part(net, c["state"], coefficient=c["coefficient"], eta=eta)
        split = StepSplit(net, part, c["monitors"], state=c["state"], batch_size=c["batch_size"])
    run = Run(
        net=net, X=c["X"], targets=c["targets"], rule=c["rule"], state=c["state"],
        coefficient=c["coefficient"], batch_size=c["batch_size"], eta=eta, lmbda=lmbda,
        multiplier=c["multiplier"], shuffle=c["shuffle"], rng=c["rng"], monitors=c["monitors"],
        recorder=recorder, earlier=history, first=first, last=first + c["epochs"], split=split,
        orders=orders,
    )  # fmt: skip
    training = {**settings, "epochs": run.last, "training_metrics": c["training_metrics"]}
    return run, CheckpointSchedule(c["writer"], c["every"], training)


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
    optimizer: str | Rule | None = None,
    optimizer_state: dict[str, np.ndarray] | None = None,
    blas_threads: int | None = 1,
    checkpoint: CheckpointWriter | None = None,
    order=None,
) -> History:
    r"""Train ``net`` in place by mini-batch SGD with L2 weight decay (eq. 93).

    Or by another update rule (``optimizer``): heavy-ball or Nesterov momentum,
    Adam + L2 or AdamW, with the same L2 coefficient (λ/n in Nielsen's convention).

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
        Observers shown every step after it is made, as (w before, decay
        part, rest) per layer (:class:`StepMonitor`), e.g. the decay/gradient
        decomposition of :mod:`decaylab.dynamics.decomposition`. They change
        nothing: a monitored run is bit for bit the run without them.
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
    optimizer : None, "sgd", "momentum", "adam", "adamw" or Rule, optional
        The update rule (:mod:`decaylab.rules`); None, "sgd" or
        :class:`~decaylab.rules.SGD` is eq. 93. A name takes the rule's default
        hyper-parameters; ``Momentum(beta, nesterov=True)`` is Nesterov's. The
        convention's coefficient c (λ/n for "sum") is the L2 term added to the
        gradient (momentum, Adam) or the decoupled decay w → (1 − ηc)·w
        (AdamW). Step monitors see each step split into the decay's part and
        the rest, for rules with memory from a fresh state only.
    optimizer_state : dict of ndarray, optional
        The rule's state (``optimizer.init(net)`` when None), updated in place
        and left at the end of the last completed epoch, also when training
        diverges or is interrupted: pass it again with ``history=`` to continue
        the run. Checkpoints store it.

    checkpoint : CheckpointWriter, optional
        Writes the checkpoints instead of the files of ``checkpoint_path``
        (which it excludes): any callable with :class:`CheckpointWriter`'s
        signature, e.g. ``decaylab.checkpoint.CheckpointFiles(path)``.
    order : sequence, iterator or callable, optional
        The examples' order, one permutation of range(n) per epoch, instead
        of ``shuffle``: a sequence or iterator of them (the first ``epochs``
        are taken), or a callable taking the epoch number (1-based, counting
        on from ``history``) and returning that epoch's. All are taken and
        checked before training starts; the run records ``order="given"``.
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
    checked = check_arguments(
        net, data, epochs=epochs, batch_size=batch_size, eta=eta, lmbda=lmbda, decay=decay,
        evaluation=evaluation, shuffle=shuffle, seed=seed, training_metrics=training_metrics,
        monitors=monitors, history=history, checkpoint_every=checkpoint_every,
        checkpoint_path=checkpoint_path, checkpoint=checkpoint, optimizer=optimizer,
        optimizer_state=optimizer_state, order=order,
    )  # fmt: skip
    run, checkpoints = _start_run(checked, history)
    for monitor in run.monitors:
        monitor.start(net, eta=run.eta, multiplier=run.multiplier)
    if history is not None:
        check_monitor_records(history, run.monitors)
        check_continuation_seed(seed, shuffle and order is None)
    show = sys.stderr.isatty() if progress is None else progress
    with limit_threads(threads):
        return train_epochs(run, checkpoints, progress=show)
