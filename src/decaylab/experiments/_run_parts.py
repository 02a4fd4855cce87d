"""The pieces of one run the runner puts together: its streams, rule state, monitors, cap
and the numbers measured on its final network (:mod:`decaylab.experiments.runs`)."""

from __future__ import annotations

import numpy as np

from decaylab.data import Dataset
from decaylab.experiments.inputs import subset
from decaylab.experiments.run_spec import RunSpec
from decaylab.network import Network

__all__ = [
    "cap_of",
    "final_measurements",
    "fresh_state",
    "make_monitor",
    "run_evaluation",
    "seed_streams",
]


def run_evaluation(spec: RunSpec, data: Dataset, nets: list):
    """The validation data the training records every epoch (or None), and the
    :class:`EpochEvaluation` of ``nets`` at the spec's ``evaluate_epochs`` (or None)."""
    if not spec.evaluate:
        return None, None
    if spec.evaluate_epochs is None:
        return data.validation, None
    from decaylab.experiments._epoch_evaluation import EpochEvaluation

    return None, EpochEvaluation(nets, data.validation, spec.evaluate_epochs)


def make_monitor(name: str):
    # Imported here: the dynamics monitors are only needed by the runs that ask for them.
    if name == "decomposition":
        from decaylab.dynamics.decomposition import DecompositionMonitor

        return DecompositionMonitor()
    if name == "rotation":
        from decaylab.dynamics.rotation import RotationMonitor

        return RotationMonitor()
    raise ValueError(f"monitor {name!r} is not recognised; expected 'decomposition' or 'rotation'")


def seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the initial weights and the batch order of one seed."""
    net_stream, order_stream = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(net_stream), np.random.default_rng(order_stream)


def final_measurements(
    spec: RunSpec, net: Network, data: Dataset, state: dict | None = None
) -> dict:
    """The numbers ``spec`` asks to measure on the final network (and its rule ``state``)."""
    out = {}
    if spec.stationarity and spec.lmbda > 0:
        from decaylab.dynamics.equilibrium import stationarity

        result = stationarity(
            net, subset(data.train, spec.n_train), spec.lmbda, decay=spec.decay, eta=spec.eta
        )
        out["stationarity_ratio"] = float(result.total_ratio)
        for l, value in enumerate(result.predicted):
            out[f"stationarity_predicted_{l}"] = float(value)
    if spec.gradient_noise:
        from decaylab.dynamics.noise import gradient_variance

        for l, value in enumerate(gradient_variance(net, subset(data.train, spec.n_train))):
            out[f"gradient_variance_{l}"] = float(value)
    if spec.adam_decay:
        out.update(_adam_decay(spec, net, state, subset(data.train, spec.n_train).n))
    return out


def _adam_decay(spec: RunSpec, net: Network, state: dict, n: int) -> dict:
    """Adam + L2's effective decay rate of each layer over AdamW's, and its √v̂."""
    from decaylab.conventions import steps_per_epoch
    from decaylab.dynamics.optimizer_factors import adam_l2_decay
    from decaylab.rules import get_rule

    rule = get_rule(spec.rule)
    decay = adam_l2_decay(
        net, state, eta=spec.eta, coefficient=spec.lmbda / n, beta2=rule.beta2, eps=rule.eps,
        steps=steps_per_epoch(n, spec.batch_size),
    )  # fmt: skip
    out = {f"adam_ratio_{l}": float(v) for l, v in enumerate(decay.ratio)}
    return out | {f"adam_gradient_rms_{l}": float(v) for l, v in enumerate(decay.gradient_rms)}


def fresh_state(spec: RunSpec, net: Network) -> dict | None:
    """The rule's fresh state for ``net`` (None for eq. 93), kept to be measured at the end."""
    from decaylab.optimizers import get_optimizer

    rule = get_optimizer(spec.rule)
    return None if rule is None else rule.init(net)


def cap_of(spec: RunSpec) -> dict:
    """The cap of a run until equilibrium, as train_until_equilibrium's keywords."""
    if spec.max_relaxations is not None:
        return {"max_epochs": None, "max_relaxations": spec.max_relaxations}
    return {"max_epochs": spec.epochs}
