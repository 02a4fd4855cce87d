"""What a run records so that it cannot be silently continued or misread.

* The decay multiplier actually applied: d = 1 − ηλ/n rounded to the network's
  dtype. In float32 the numbers next to 1 are 2⁻²⁴ ≈ 6e-8 apart, so ηλ/n = 2e-8
  is applied as no decay at all and 5e-8 as 6e-8, 19 % stronger than asked.
* Fingerprints of the training and evaluation data, so that a continuation
  (``train(..., history=)``, :func:`decaylab.resume`) on other data of the same
  size — reversed, relabelled — is refused rather than joined to the run.
* The update rule's progress: a continuation's optimizer state must have taken
  as many steps as the run it continues (Adam's step count), or be under way
  (momentum's velocity), not a fresh state of zeros.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np

from decaylab.errors import CheckpointWriteError, DecayPrecisionWarning

#: Largest relative difference between the decay applied per step, 1 − d rounded to the
#: network's dtype, and the decay asked for, 1 − d, before a DecayPrecisionWarning.
DECAY_RTOL = 0.01


def applied_multiplier(multiplier: float, dtype: np.dtype) -> float:
    """d as the network's weights are multiplied by it: rounded to their dtype."""
    return float(np.dtype(dtype).type(multiplier))


def check_applied_decay(multiplier: float, dtype: np.dtype, *, stacklevel: int = 4) -> float:
    """The multiplier applied in ``dtype``; warn if its decay 1 − d is more than
    :data:`DECAY_RTOL` away, relatively, from the one asked for."""
    applied = applied_multiplier(multiplier, dtype)
    asked, got = 1.0 - multiplier, 1.0 - applied
    if asked > 0.0 and abs(got - asked) > DECAY_RTOL * asked:
        effect = (
            "no decay at all"
            if got == 0.0
            else f"a decay {got / asked - 1:+.0%} of the one asked for"
        )
        warnings.warn(
            f"the decay multiplier d = {multiplier!r} (1 - d = {asked:.3g}) rounds to "
            f"{applied!r} in {np.dtype(dtype)}: each step applies {effect}; expected a "
            f"difference within {DECAY_RTOL:.0%} (use float64, or a larger eta*lmbda/n)",
            DecayPrecisionWarning,
            stacklevel=stacklevel,
        )
    return applied


def fingerprint(X: np.ndarray, labels: np.ndarray) -> str:
    """A checksum of the examples, their order and their labels (CRC-32 of the bytes)."""
    checksum = 0
    for array in (X, labels):
        array = np.ascontiguousarray(array)
        checksum = zlib.crc32(repr((array.dtype.str, array.shape)).encode(), checksum)
        checksum = zlib.crc32(memoryview(array).cast("B"), checksum)
    return f"crc32:{checksum:08x}"


def run_identity(net, multiplier: float, X, labels, evaluation, *, multiplies=True) -> dict:
    """The settings that identify a run beyond its hyper-parameters (see the module notes).

    ``multiplies`` says whether the rule's decay is the multiplication w → d·w, the
    only case in which rounding d to the weights' dtype loses the decay; under a rule
    whose decay goes through the gradient (momentum or Adam + L2) there is nothing to
    warn about, and d rounded is recorded all the same.
    """
    applied = (
        check_applied_decay(multiplier, net.dtype, stacklevel=5)
        if multiplies
        else applied_multiplier(multiplier, net.dtype)
    )
    return {
        "multiplier_applied": applied,
        "data_fingerprint": fingerprint(X, labels),
        "evaluation_fingerprint": None
        if evaluation is None
        else fingerprint(evaluation[0], evaluation[1]),
    }


def check_optimizer_progress(history, settings: dict, state: dict | None) -> None:
    """Refuse an optimizer state that has not taken the steps of the run it continues."""
    if not state or history is None:  # eq. 93 keeps no state
        return
    steps = int(history.epoch[-1]) * int(settings["steps_per_epoch"])
    if "step" in state and int(np.asarray(state["step"])) != steps:
        raise ValueError(
            f"optimizer_state['step'] is {int(np.asarray(state['step']))} but history ends "
            f"after epoch {int(history.epoch[-1])}, {steps} steps; expected the optimizer_state "
            "the run stopped with (exc.optimizer_state, checkpoint.optimizer_state)"
        )
    if "step" not in state and steps > 0 and not any(np.any(v) for v in state.values()):
        raise ValueError(
            f"optimizer_state holds only zeros, a fresh state, but history ends after {steps} "
            "steps; expected the optimizer_state the run stopped with (exc.optimizer_state, "
            "checkpoint.optimizer_state)"
        )


def continuation_call(epochs: int, optimizer_state) -> str:
    """The call that continues a stopped run from its exception ``exc``."""
    state = "" if optimizer_state is None else ", optimizer_state=exc.optimizer_state"
    return f"train(net, data, epochs={epochs}, seed=exc.generator, history=exc.history{state})"


def checkpoint_write_failed(error: OSError, writer, epoch: int, run) -> CheckpointWriteError:
    """The error for a checkpoint that could not be written after ``epoch``: it keeps the
    run (History, generator, optimizer state), which stands at the end of that epoch."""
    path = writer.path(epoch) if hasattr(writer, "path") else None
    reason = error.strerror or str(error)
    where = str(error) if path is None or path in str(error) else f"{path}: {reason}"
    return CheckpointWriteError(
        f"the checkpoint of epoch {epoch} could not be written ({where}); training stopped "
        f"with the network at the end of epoch {epoch}, which .history holds. To continue "
        f"elsewhere, call {continuation_call(run.last - epoch, run.optimizer_state)} "
        "with checkpoint_path= a writable place and the same other settings",
        path=path,
        history=run.history(),
        generator=run.rng,
        optimizer_state=run.optimizer_state,
    )
