"""A toy question added through the registry: does a larger λ leave smaller weights?

The whole of what a new question needs: a record, a run function, a figure
and one registry entry (:data:`TOY`). Used by tests/test_registry.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import decaylab as dl
from decaylab.experiments.claims import Claim, side
from decaylab.experiments.estimates import estimate
from decaylab.experiments.records import ExperimentResult
from decaylab.experiments.registry import Experiment

STATEMENT = "A larger λ leaves smaller weights after a few epochs."


@dataclass
class ToyResult(ExperimentResult):
    """‖w‖ after training at two values of λ, one row per seed."""

    number = 8
    title = "A toy question"
    question = "Does a larger λ leave smaller weights after a few epochs?"

    lmbdas: tuple
    norms: np.ndarray  # shape (2, S)

    def ratio(self):
        return estimate(self.norms[1] / self.norms[0])

    def table(self):
        rows = [[f"{lam:g}", f"{estimate(row)}"] for lam, row in zip(self.lmbdas, self.norms)]
        return ["λ", "‖w‖"], rows

    def claims(self):
        ratio = self.ratio()
        word = {1: "does not hold", -1: "holds", 0: "undecided"}[side(ratio, 1.0)]
        evidence = f"‖w‖ ratio, larger λ over smaller: {ratio}"
        return [Claim(17, STATEMENT, word, evidence, "The ratio is measured.", 8)]


def toy_run(*, data=None, lmbdas=(0.1, 10.0), epochs=2, seeds=2, progress=False):
    """Train a small network at each λ and seed; return a ToyResult."""
    data = data or dl.load_digits()
    norms = np.zeros((len(lmbdas), seeds))
    for i, lmbda in enumerate(lmbdas):
        for seed in range(seeds):
            net = dl.Network([data.n_inputs, 8, data.n_classes], seed=seed)
            dl.train(net, data.train, epochs=epochs, batch_size=20, eta=0.5, lmbda=lmbda, seed=seed)
            norms[i, seed] = np.sqrt(sum(float(np.sum(w**2)) for w in net.weights))
    result = ToyResult(
        settings={"lmbdas": list(lmbdas), "epochs": epochs, "seeds": list(range(seeds))},
        prediction="the larger λ leaves the smaller ‖w‖",
        verdict="",
        diverged=[],
        lmbdas=tuple(lmbdas),
        norms=norms,
    )
    result.verdict = f"‖w‖ ratio {result.ratio()}."
    result.evidence = [c.evidence for c in result.claims()]
    return result


def toy_figure(result):
    from matplotlib.figure import Figure

    figure = Figure()
    figure.add_subplot().plot(result.lmbdas, result.norms.mean(axis=1), "o-")
    return figure


TOY = Experiment(
    "q8_toy",
    ToyResult,
    toy_run,
    {17: STATEMENT},
    quick={"epochs": 1, "seeds": 2},
    full={"epochs": 2},
    figure=toy_figure,
)
