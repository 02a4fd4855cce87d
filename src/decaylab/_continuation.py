"""Checks that a call of :func:`decaylab.train` with ``history=`` continues the run it records.

A continued run must be the run that was never stopped: the same settings
(its length and seed aside), the network in the state the record ends in,
the same monitors, and for a shuffled run the generator it stopped with.
"""

from __future__ import annotations

import numpy as np

from decaylab.history import History


def check_continuation(history, settings: dict, training_metrics: bool, evaluation) -> int:
    """Check that ``history`` records a run this call can continue; return its last epoch."""
    if not isinstance(history, History):
        raise TypeError(f"history has type {type(history).__name__}; expected a decaylab.History")
    if len(history.epoch) == 0:
        raise ValueError("history has no rows; expected the History of the run to continue")
    # The run's length and its seed may differ between the parts of a run; nothing else may.
    differ = {
        key: (history.settings.get(key), value)
        for key, value in settings.items()
        if key not in ("epochs", "seed") and history.settings.get(key) != value
    }
    if differ:
        shown = ", ".join(
            f"{k}: {old!r} in history, {new!r} now" for k, (old, new) in differ.items()
        )
        raise ValueError(
            f"history was recorded with other settings ({shown}); expected the settings of the "
            "run it records, which this call continues"
        )
    for name, recorded, argument in (
        ("training_cost", training_metrics, "training_metrics=True"),
        ("evaluation_cost", evaluation is not None, "the same evaluation data"),
    ):
        if (getattr(history, name) is not None) != recorded:
            have = "records" if getattr(history, name) is not None else "does not record"
            raise ValueError(
                f"history {have} {name} but this call would {'' if recorded else 'not '}"
                f"record it; expected {argument if not recorded else 'the same metrics'}"
            )
    return int(history.epoch[-1])


def check_continuation_seed(seed, shuffle: bool) -> None:
    """Refuse to continue a shuffled run from a new generator: it would be another run."""
    if shuffle and not isinstance(seed, np.random.Generator):
        raise ValueError(
            f"seed={seed!r} with history= would shuffle the remaining epochs from a new "
            "generator, unlike the run that was never stopped; expected the generator the run "
            "stopped with: seed=exc.generator of the TrainingInterrupted, or the checkpoint's "
            "generator (decaylab.resume passes it), or a numpy.random.Generator of your own to "
            "branch the run on purpose"
        )


def check_network_state(history: History, norms: np.ndarray) -> None:
    """Check that the network, whose weight norms per layer are ``norms``, is where
    ``history`` ends."""
    if not np.allclose(norms, history.weights.norm[-1], rtol=1e-9, atol=0.0):
        raise ValueError(
            f"net has weight norms {norms.tolist()} but history ends with "
            f"{history.weights.norm[-1].tolist()}; expected net in the state history ends in"
        )


def check_monitor_records(history, monitors) -> None:
    """Check that the started ``monitors`` keep the records ``history`` holds (empty ones aside:
    a file cannot tell an empty record from none)."""
    ours = {m.name: sorted(m.result()) for m in monitors}
    ours = {name: keys for name, keys in ours.items() if keys}
    theirs = {name: sorted(record) for name, record in history.monitors.items() if record}
    if ours != theirs:
        raise ValueError(
            f"history has the monitor records {theirs} but this call's monitors keep {ours}; "
            "expected the same monitors, so that their records continue"
        )
