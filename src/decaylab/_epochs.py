"""The epochs of :func:`decaylab.train`, once its arguments are checked.

:func:`train_epochs` is the loop: each epoch is trained and recorded whole
or not at all (:meth:`Run.train_epoch` rolls back on Ctrl-C and on a
non-finite value, which it first locates by replaying the epoch), and
:class:`CheckpointSchedule` says after which epochs a checkpoint is written.
The update rule itself is handed in (``update``, :func:`decaylab.sgd_step`
for eq. 93), so that this module knows nothing of it or of checkpoint files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from decaylab._safeguards import checkpoint_write_failed, continuation_call
from decaylab.errors import CheckpointWriteError, TrainingDiverged, TrainingInterrupted
from decaylab.history import History
from decaylab.network import Backprop, Network


def run_epoch(
    net,
    backprop,
    X,
    targets,
    order,
    *,
    update,
    batch_size,
    multiplier,
    eta,
    monitors,
    locate_divergence=False,
    decay_part=None,
    optimizer_state=None,
):
    """One pass over the data; with ``locate_divergence``, return (step, layer) of the
    first non-finite weight or bias, else None.

    With an update rule other than eq. 93 (``decay_part`` given), monitors see each
    step after it is made, split by :func:`_step_parts`.
    """
    n = len(X)
    split = decay_part is not None and bool(monitors)
    if split:
        before = np.empty_like(net.weights_flat)
        bounds = np.cumsum([0] + [w.size for w in net.weights])
    shuffled = order is not None
    if shuffled:
        xbuf = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
        ybuf = np.empty((batch_size, targets.shape[1]), dtype=targets.dtype)
    for step, start in enumerate(range(0, n, batch_size)):
        stop = min(start + batch_size, n)
        k = stop - start
        if shuffled:
            # order is a permutation of range(n), so no index is out of range;
            # mode="raise" would gather through a temporary and take twice as long.
            idx = order[start:stop]
            xb = np.take(X, idx, axis=0, out=xbuf[:k], mode="clip")
            yb = np.take(targets, idx, axis=0, out=ybuf[:k], mode="clip")
        else:
            xb, yb = X[start:stop], targets[start:stop]
        grad = backprop.run(xb, yb)
        if split:
            np.copyto(before, net.weights_flat)
            update(net, grad, multiplier=multiplier, eta=eta, batch_length=k)
            parts = _step_parts(net, before, decay_part(before, optimizer_state), bounds)
            for monitor in monitors:
                monitor.step_parts(*parts)
        else:
            for monitor in monitors:
                monitor.step(net, backprop.grad_weights, k)
            update(net, grad, multiplier=multiplier, eta=eta, batch_length=k)
        if locate_divergence and not np.isfinite(net.params).all():
            for layer, (w, b) in enumerate(zip(net.weights, net.biases)):
                if not (np.isfinite(w).all() and np.isfinite(b).all()):
                    return step, layer
    return None


def _step_parts(net, before, decay, bounds):
    """Per-layer (w_before, D, R) with w_before − w_after = D + R, as flat views."""
    rest = before - net.weights_flat
    rest -= decay
    layers = list(zip(bounds[:-1], bounds[1:]))
    return tuple([array[a:b] for a, b in layers] for array in (before, decay, rest))


@dataclass
class Run:
    """A checked call of :func:`decaylab.train`: its data, settings and record, and its epochs."""

    net: Network
    X: np.ndarray  # (n, n_inputs)
    targets: np.ndarray  # (n, n_outputs): what the cost compares the output with
    update: Callable  # the update rule, sgd_step(net, grad, *, multiplier, eta, batch_length)
    batch_size: int
    eta: float
    lmbda: float
    multiplier: float  # the per-step decay multiplier d of eq. 93
    shuffle: bool
    rng: np.random.Generator
    monitors: tuple
    recorder: object  # decaylab.training's recorder, already holding epoch ``first``
    earlier: History | None  # the run this call continues
    first: int  # the epoch training starts from: 0, or the last of ``earlier``
    last: int
    # The update rule's own arrays (momentum, Adam's moments), rolled back with the parameters.
    optimizer_state: dict | None = None
    # The update rule's Optimizer.decay_part, for monitors of a rule other than eq. 93.
    decay_part: Callable | None = None
    backprop: Backprop = field(init=False)

    def __post_init__(self):
        self.backprop = Backprop(self.net, self.batch_size)

    def history(self) -> History:
        """The record so far, ``earlier`` included."""
        new = self.recorder.history(self.monitors)
        return new if self.earlier is None else self.earlier.concatenate(new)

    def pass_over_data(self, order, *, monitors, locate_divergence=False):
        return run_epoch(
            self.net,
            self.backprop,
            self.X,
            self.targets,
            order,
            update=self.update,
            batch_size=self.batch_size,
            multiplier=self.multiplier,
            eta=self.eta,
            monitors=monitors,
            locate_divergence=locate_divergence,
            decay_part=self.decay_part,
            optimizer_state=self.optimizer_state,
        )

    def train_epoch(self, epoch: int) -> None:
        """Train and record ``epoch``, or leave network, generator and record as before it.

        Ctrl-C is re-raised after the rollback. An epoch that produced a non-finite
        value is replayed without monitors to locate the step, then rolled back,
        and :class:`~decaylab.TrainingDiverged` is raised.
        """
        net, rng = self.net, self.rng
        rng_state, start = rng.bit_generator.state, net.params.copy()
        state = self.optimizer_state or {}
        state_start = {key: array.copy() for key, array in state.items()}

        def restore():
            net.params[...] = start
            for key, array in state.items():
                array[...] = state_start[key]

        def roll_back():
            restore()
            rng.bit_generator.state = rng_state

        try:
            order = rng.permutation(len(self.X)) if self.shuffle else None
            self.pass_over_data(order, monitors=self.monitors)
            if not (np.isfinite(net.params).all() and self.recorder.record(epoch)):
                restore()
                located = self.pass_over_data(order, monitors=(), locate_divergence=True)
                roll_back()
                raise self.diverged(epoch, located)
            # Only a finite epoch reaches the monitors' records.
            for monitor in self.monitors:
                monitor.end_epoch(net)
        except KeyboardInterrupt:
            roll_back()
            self.recorder.truncate(epoch - self.first)
            raise

    def diverged(self, epoch: int, located: tuple[int, int] | None) -> TrainingDiverged:
        """The error for an epoch that produced a non-finite value."""
        if located:
            step, layer = located
            where = f"at step {step}: a weight or bias of layer {layer} became NaN or infinite"
        else:
            step = None
            what, layer = self.recorder.problem or ("a weight or bias is not finite", None)
            where = f"at its end: {what}"
        return TrainingDiverged(
            f"training diverged in epoch {epoch} {where} (eta={self.eta}, lmbda={self.lmbda}, "
            f"batch_size={self.batch_size}); the network is left at the end of epoch "
            f"{epoch - 1} and .history holds the epochs up to {epoch - 1}",
            history=self.history(),
            epoch=epoch,
            step=step,
            layer=layer,
        )

    def interrupted(self, checkpoints: CheckpointSchedule) -> TrainingInterrupted:
        """The error for Ctrl-C, after the checkpoint of the last completed epoch is written."""
        # Network, generator and record all stand at the end of the last recorded epoch.
        done = self.recorder.epochs[-1]
        try:
            path = checkpoints.write(done, self)
        except CheckpointWriteError as exc:  # the interruption, and what it keeps, come first
            path, failed = None, f" The checkpoint of epoch {done} could not be written: {exc}."
        else:
            failed = ""
        saved = (
            failed
            if path is None
            else f" A checkpoint of epoch {done} is in {path!r}: "
            "decaylab.resume(decaylab.load_checkpoint(path), data) continues from it."
        )
        kept = self.history()
        return TrainingInterrupted(
            f"training interrupted after epoch {done}; epochs {kept.epoch[0]}-{done} are kept in "
            f".history and the network is at the end of epoch {done}. To resume, call "
            f"{continuation_call(self.last - done, self.optimizer_state)} with the same other "
            f"settings.{saved}",
            history=kept,
            generator=self.rng,
            optimizer_state=self.optimizer_state,
        )


class CheckpointSchedule:
    """When checkpoints are written: every ``every`` epochs, at the end, on Ctrl-C.

    ``writer`` (a :class:`decaylab.training.CheckpointWriter`, or None for no
    checkpoints) knows the file; this object only knows the schedule.
    """

    def __init__(self, writer: Callable | None, every: int | None, training: dict):
        self.writer, self.every, self.training = writer, every, training
        self.last_written: int | None = None

    def write(self, epoch: int, run: Run) -> str | None:
        """Write the checkpoint of ``epoch``; return the file written, if any."""
        if self.writer is None:
            return None
        # Only a run with an update rule's state passes one, so other writers keep working.
        extra = {} if run.optimizer_state is None else {"optimizer_state": run.optimizer_state}
        try:
            path = self.writer(
                epoch,
                net=run.net,
                generator=run.rng,
                training=self.training,
                history=run.history(),
                **extra,
            )
        except OSError as exc:
            raise checkpoint_write_failed(exc, self.writer, epoch, run) from None
        self.last_written = epoch
        return path

    def after_epoch(self, epoch: int, run: Run) -> None:
        if self.every is not None and epoch % self.every == 0:
            self.write(epoch, run)

    def at_end(self, run: Run) -> None:
        if self.last_written != run.last:
            self.write(run.last, run)


def train_epochs(run: Run, checkpoints: CheckpointSchedule, *, progress: bool) -> History:
    """Train epochs ``run.first + 1`` to ``run.last``; return the whole History.

    Raises TrainingDiverged (see :meth:`Run.train_epoch`) or, on Ctrl-C,
    TrainingInterrupted with everything up to the last completed epoch.
    """
    epochs = range(run.first + 1, run.last + 1)
    bar = tqdm(epochs, desc="epochs", unit="epoch", disable=not progress, leave=False)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in bar:
                run.train_epoch(epoch)
                checkpoints.after_epoch(epoch, run)
        checkpoints.at_end(run)
    except KeyboardInterrupt:
        raise run.interrupted(checkpoints) from None
    finally:
        bar.close()
    return run.history()
