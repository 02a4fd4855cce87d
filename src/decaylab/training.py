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

import sys
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from tqdm.auto import tqdm

from decaylab._validation import as_generator, check_data, check_int, check_real
from decaylab.conventions import DecayConvention, get_convention, steps_per_epoch
from decaylab.errors import TrainingDiverged, TrainingInterrupted
from decaylab.history import History, ParameterStats, layer_statistics
from decaylab.network import Backprop, Network


def sgd_step(
    net: Network, grad: np.ndarray, *, multiplier: float, eta: float, batch_length: int
) -> None:
    r"""Apply one step of eq. 93 to ``net`` in place.

    Parameters
    ----------
    net : Network
        Updated in place.
    grad : ndarray, shape (n_weights + n_biases,)
        Σ_x ∂C_x/∂θ over the batch, laid out like ``net.params``. It is
        overwritten (scaled by η/m_B) to avoid a temporary.
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
    """
    weights, params = net.weights_flat, net.params
    if multiplier != 1.0:
        weights *= multiplier  # decay: weights only, biases are never decayed
    grad *= eta / batch_length
    params -= grad  # gradient step on weights and biases alike


class StepMonitor(Protocol):
    """An opt-in observer of every SGD step (see :func:`train`'s ``monitors``).

    ``step`` is called before the update, with the network still holding w
    and ``grad_weights[l]`` the batch sum Σ_x ∂C_x/∂w for layer l.
    """

    name: str

    def start(self, net: Network, *, eta: float, multiplier: float) -> None: ...

    def step(self, net: Network, grad_weights: Sequence[np.ndarray], batch_length: int) -> None: ...

    def end_epoch(self, net: Network) -> None: ...

    def result(self) -> dict[str, np.ndarray]: ...


class _Recorder:
    """Collects one row of statistics per epoch and builds the History."""

    def __init__(self, net, settings, train_set, evaluation, training_metrics, penalty):
        self.net = net
        self.settings = settings
        self.train_set = train_set if training_metrics else None
        self.evaluation = evaluation
        self.penalty = penalty
        self.epochs: list[int] = []
        self.weight_rows: list[dict] = []
        self.bias_rows: list[dict] = []
        self.metrics: dict[str, list[float]] = {}

    def record(self, epoch: int) -> bool:
        """Add the network's current state; return False if anything is not finite."""
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
        if finite:
            self.epochs.append(epoch)
            self.weight_rows.append(weights)
            self.bias_rows.append(biases)
            for key, value in row.items():
                self.metrics.setdefault(key, []).append(value)
        return finite

    def history(self, monitors) -> History:
        net = self.net
        return History(
            epoch=np.array(self.epochs, dtype=np.int64),
            weights=ParameterStats.from_rows([w.size for w in net.weights], self.weight_rows),
            biases=ParameterStats.from_rows([b.size for b in net.biases], self.bias_rows),
            **{key: np.array(values) for key, values in self.metrics.items()},
            settings=dict(self.settings),
            monitors={m.name: m.result() for m in monitors},
        )


def _run_epoch(
    net,
    backprop,
    X,
    targets,
    order,
    *,
    batch_size,
    multiplier,
    eta,
    monitors,
    locate_divergence=False,
):
    """One pass over the data; with ``locate_divergence``, return (step, layer) of the
    first non-finite weight or bias, else None."""
    n = len(X)
    shuffled = order is not None
    if shuffled:
        xbuf = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
        ybuf = np.empty((batch_size, targets.shape[1]), dtype=targets.dtype)
    for step, start in enumerate(range(0, n, batch_size)):
        stop = min(start + batch_size, n)
        k = stop - start
        if shuffled:
            idx = order[start:stop]
            xb = np.take(X, idx, axis=0, out=xbuf[:k])
            yb = np.take(targets, idx, axis=0, out=ybuf[:k])
        else:
            xb, yb = X[start:stop], targets[start:stop]
        grad = backprop.run(xb, yb)
        for monitor in monitors:
            monitor.step(net, backprop.grad_weights, k)
        sgd_step(net, grad, multiplier=multiplier, eta=eta, batch_length=k)
        if locate_divergence and not np.isfinite(net.params).all():
            for layer, (w, b) in enumerate(zip(net.weights, net.biases)):
                if not (np.isfinite(w).all() and np.isfinite(b).all()):
                    return step, layer
    return None


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
) -> History:
    r"""Train ``net`` in place by mini-batch SGD with L2 weight decay (eq. 93).

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
        decomposition of :mod:`decaylab.dynamics`.
    progress : bool or None
        Show a progress bar; by default only when standard error is a terminal.

    Returns
    -------
    History
        Statistics for epochs 0..``epochs``.

    Raises
    ------
    ValueError, TypeError
        For bad arguments or data; nothing has been changed then.
    TrainingDiverged
        When a weight, bias or cost becomes non-finite. The network is left at
        the end of the last finite epoch and the error carries its History.
    TrainingInterrupted
        On Ctrl-C; the network is left at the end of the last completed epoch
        and the error carries the History and a generator to resume from.

    Notes
    -----
    Each step is :func:`sgd_step`:

    .. math:: w \to \left(1 - \frac{\eta\lambda}{n}\right) w
              - \frac{\eta}{m}\sum_x \frac{\partial C_x}{\partial w}.

    Examples
    --------
    >>> import decaylab as dl
    >>> data = dl.load_digits()
    >>> net = dl.Network([64, 30, 10], init="large", seed=0)
    >>> hist = dl.train(net, data.train, epochs=2, batch_size=10, eta=0.5, lmbda=5.0, seed=0)
    >>> hist.weights.norm.shape
    (3, 2)
    """
    if not isinstance(net, Network):
        raise TypeError(f"net has type {type(net).__name__}; expected a decaylab.Network")
    X, labels, targets = check_data(
        data, n_inputs=net.sizes[0], n_outputs=net.sizes[-1], name="data", dtype=net.dtype
    )
    n = len(X)
    epochs = check_int("epochs", epochs, minimum=0)
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
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle={shuffle!r} has type {type(shuffle).__name__}; expected a bool")
    rng = as_generator("seed", seed)

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
        "seed": seed if isinstance(seed, int) else None,
    }

    def penalty(sum_of_squares: float) -> float:
        return convention.penalty(sum_of_squares, lmbda, eta=eta, n=n, n_weights=net.n_weights)

    recorder = _Recorder(net, settings, (X, labels, targets), evaluation, training_metrics, penalty)
    backprop = Backprop(net, batch_size)
    for monitor in monitors:
        monitor.start(net, eta=eta, multiplier=multiplier)
    if progress is None:
        progress = sys.stderr.isatty()

    with np.errstate(over="ignore", invalid="ignore"):
        if not recorder.record(0):
            raise ValueError("net has non-finite weights or biases before training")
        bar = tqdm(
            range(1, epochs + 1), desc="epochs", unit="epoch", disable=not progress, leave=False
        )
        for epoch in bar:
            rng_state = rng.bit_generator.state
            start = net.params.copy()
            try:
                order = rng.permutation(n) if shuffle else None
                _run_epoch(
                    net,
                    backprop,
                    X,
                    targets,
                    order,
                    batch_size=batch_size,
                    multiplier=multiplier,
                    eta=eta,
                    monitors=monitors,
                )
                for monitor in monitors:
                    monitor.end_epoch(net)
            except KeyboardInterrupt:
                net.params[...] = start
                rng.bit_generator.state = rng_state
                bar.close()
                history = recorder.history(monitors)
                raise TrainingInterrupted(
                    f"training interrupted during epoch {epoch}; epochs 0-{epoch - 1} are kept "
                    f"in .history and the network is at the end of epoch {epoch - 1}. To resume, "
                    f"call train(net, ..., epochs={epochs - epoch + 1}, seed=exc.generator).",
                    history=history,
                    generator=rng,
                ) from None
            finite = np.isfinite(net.params).all() and recorder.record(epoch)
            if not finite:
                net.params[...] = start
                located = _run_epoch(
                    net,
                    backprop,
                    X,
                    targets,
                    order,
                    batch_size=batch_size,
                    multiplier=multiplier,
                    eta=eta,
                    monitors=(),
                    locate_divergence=True,
                )
                net.params[...] = start
                rng.bit_generator.state = rng_state
                bar.close()
                step, layer = located if located else (None, None)
                where = (
                    f"at step {step} in layer {layer}"
                    if located
                    else "in the cost or the statistics at the end of the epoch"
                )
                raise TrainingDiverged(
                    f"training diverged in epoch {epoch} {where} (eta={eta}, lmbda={lmbda}, "
                    f"batch_size={batch_size}); the network is left at the end of epoch "
                    f"{epoch - 1} and .history holds epochs 0-{epoch - 1}",
                    history=recorder.history(monitors),
                    epoch=epoch,
                    step=step,
                    layer=layer,
                )
        bar.close()
    return recorder.history(monitors)
