"""Question 3's analysis: from each run's outcome to the record's fields.

:func:`measure` takes a run's equilibrium and its ‖w‖² budget
(:func:`~decaylab.dynamics.equilibrium.find_equilibrium`,
:func:`~decaylab.dynamics.budget.equilibrium_budget`); :func:`width_fields`,
:func:`sweep_fields` and :func:`mnist_fields` reduce the table of runs to
the arrays, estimates and fits of :class:`~decaylab.experiments.q3_record.EquilibriumResult`.
"""

from __future__ import annotations

import math

import numpy as np

from decaylab.conventions import decay_factor
from decaylab.data import Dataset
from decaylab.experiments.estimates import estimate
from decaylab.experiments.pipeline import fit_reached, subtable

__all__ = [
    "SWEEPS",
    "equilibrium_values",
    "measure",
    "mnist_fields",
    "not_reached",
    "sweep_fields",
    "width_fields",
]

#: Per-run numbers taken from each run's equilibrium and budget (pooled over layers).
RUN_VALUES = (
    "epochs", "relaxations", "equilibrium_epoch", "rms", "norm_squared", "noise_share", "closure",
    "implied_radial", "implied_noise", "stationarity", "ar1_noise", "decay_share",
    "contraction_ratio",
)  # fmt: skip


def run_values(outcome) -> dict:
    """The per-run numbers of :data:`RUN_VALUES` (NaN where not reached) and ``reached``."""
    from decaylab.dynamics.budget import equilibrium_budget
    from decaylab.dynamics.equilibrium import find_equilibrium

    values = dict.fromkeys(RUN_VALUES, math.nan)
    values["epochs"] = outcome.history.n_epochs
    spec = outcome.spec
    values["relaxations"] = values["epochs"] * spec.eta * spec.lmbda / spec.batch_size
    if outcome.diverged or not outcome.measurements.get("reached", False):
        return {**values, "reached": False, "layer_rms": None}
    history = outcome.history
    equilibrium = find_equilibrium(history, **dict(spec.detection))
    n_layers = len(spec.sizes) - 1
    m = outcome.measurements
    budget = equilibrium_budget(
        history,
        equilibrium,
        stationarity_prediction=[m[f"stationarity_predicted_{l}"] for l in range(n_layers)],
        gradient_variance=[m[f"gradient_variance_{l}"] for l in range(n_layers)],
    )
    record = history.monitors["decomposition"]
    first_contraction = float(np.sum(record["contraction"][0]))
    gained = abs(budget.radial[-1]) + budget.noise[-1]
    values.update(
        equilibrium_epoch=equilibrium.epoch,
        rms=equilibrium.total_rms,
        norm_squared=equilibrium.total_norm_squared,
        noise_share=budget.noise_share[-1],
        closure=budget.closure[-1],
        implied_radial=budget.implied_radial[-1],
        implied_noise=budget.implied_noise[-1],
        stationarity=budget.stationarity[-1],
        ar1_noise=budget.ar1_noise[-1],
        decay_share=abs(budget.contraction[-1]) / (abs(budget.contraction[-1]) + gained),
        contraction_ratio=budget.contraction[-1] / first_contraction,
    )
    return {**values, "reached": True, "layer_rms": equilibrium.rms}


def equilibrium_values(outcome) -> dict:
    """A run's ``rms`` at its equilibrium (NaN where not reached) and ``reached``: what
    :func:`run_values` gives of them, from the history alone (no budget)."""
    from decaylab.dynamics.equilibrium import find_equilibrium

    reached = not outcome.diverged and outcome.measurements.get("reached", False)
    if not reached:
        return {"rms": math.nan, "reached": False}
    equilibrium = find_equilibrium(outcome.history, **dict(outcome.spec.detection))
    return {"rms": equilibrium.total_rms, "reached": True}


def measure(outcome) -> dict:
    """A run's row: its equilibrium numbers, its RMS trajectories and its description."""
    values = run_values(outcome)
    reached = values["reached"]
    return {
        **values,
        "run": outcome.spec.describe(),
        "weight_rms": outcome.history.weights.rms,
        "total_rms": outcome.history.weights.total.rms,
        "stationarity_ratio": outcome.measurements["stationarity_ratio"] if reached else None,
    }


SWEEPS = {
    "lambda": ("lmbdas", (-1.0, 0.0), {-1.0: "‖w‖² ∝ 1/λ", 0.0: "no λ dependence"}),
    "n": ("ns", (1.0, 0.0), {1.0: "‖w‖² ∝ n", 0.0: "no n dependence"}),
    "batch": ("batch_sizes", (0.0, -1.0), {0.0: "no m dependence", -1.0: "‖w‖² ∝ 1/m"}),
}


def sweep_fields(table, name: str, s: dict) -> dict:
    """The record's fields of one sweep at ``sweep_hidden`` (lambda_norm_squared, lambda_fit…)."""
    key, hypotheses, labels = SWEEPS[name]
    if not s[key]:
        empty = np.empty((0, len(s["seeds"])))
        fields = {"norm_squared": empty, "reached": empty.astype(bool), "noise_share": empty,
                  "fit": None, "relaxations": empty}  # fmt: skip
        return {f"{name}_{k}": v for k, v in fields.items()}
    part = subtable(table, [(name, x) for x in s[key]])
    norm, done = part.column("norm_squared"), part.column("reached").astype(bool)
    xs = np.repeat(np.asarray(s[key], dtype=float), len(s["seeds"]))
    fit = fit_reached(xs, norm, done, hypotheses=hypotheses, confidence=s["confidence"],
                      labels=labels)  # fmt: skip
    fields = {"norm_squared": norm, "reached": done, "noise_share": part.column("noise_share"),
              "fit": fit, "relaxations": part.column("relaxations")}  # fmt: skip
    return {f"{name}_{k}": v for k, v in fields.items()}


def width_fields(table, data: Dataset, s: dict, cap: int) -> dict:
    """The record's fields of the width sweep: trajectories, equilibria, budgets, fits."""
    n_in, n_out, S = data.n_inputs, data.n_classes, len(s["seeds"])
    part = subtable(table, [("width", h) for h in s["widths"]])
    col = {k: part.column(k) for k in RUN_VALUES + ("reached", "stationarity_ratio")}
    reached, rms, norm_sq = col["reached"].astype(bool), col["rms"], col["norm_squared"]
    n_weights = np.array([h * (n_in + n_out) for h in s["widths"]], dtype=np.int64)
    x = np.repeat(n_weights, S)
    fit = fit_reached(x, rms, reached, confidence=s["confidence"], variable="n_w")
    if fit is None:
        raise RuntimeError(
            f"only {int(reached.sum())} of {x.size} width runs reached their equilibrium; at "
            "least 3 runs at 2 widths are needed for a fit. Not reached: "
            + "; ".join(not_reached(table) + table.diverged)
        )
    total_rms = part.column("total_rms", shape=(cap + 1,))
    initial = np.nanmean(total_rms[:, :, 0], axis=1)
    factor = decay_factor(s["eta"], s["lmbda"], data.train.n, s["batch_size"])
    return dict(
        widths=np.array(s["widths"], dtype=np.int64), n_weights=n_weights,
        fan_ins=np.array([[n_in, h] for h in s["widths"]], dtype=np.int64),
        epoch=np.arange(cap + 1), weight_rms=part.column("weight_rms", shape=(cap + 1, 2)),
        total_rms=total_rms, pure_decay_rms=initial[:, None] * factor ** np.arange(cap + 1),
        reached=reached, epochs_trained=col["epochs"].astype(np.int64),
        equilibrium_epoch=col["equilibrium_epoch"], equilibrium_rms=rms,
        equilibrium_layer_rms=part.column("layer_rms", shape=(2,)),
        equilibrium_norm_squared=norm_sq, noise_share=col["noise_share"],
        closure=col["closure"], implied_radial=col["implied_radial"],
        implied_noise=col["implied_noise"], stationarity_norm_squared=col["stationarity"],
        ar1_noise_norm_squared=col["ar1_noise"], decay_share=col["decay_share"],
        contraction_ratio=col["contraction_ratio"], fit=fit,
        norm_fit=fit_reached(x, norm_sq, reached, hypotheses=(0.0, 1.0),
                             confidence=s["confidence"],
                             labels={0.0: "‖w‖² independent of n_w", 1.0: "‖w‖² ∝ n_w"}),
        ratio_to_inverse_n_weights=[estimate(r * n) for r, n in zip(rms, n_weights)],
        ratio_to_inverse_sqrt_n_weights=[estimate(r * np.sqrt(n)) for r, n in zip(rms, n_weights)],
        stationarity_ratio=[estimate(r) for r in col["stationarity_ratio"]],
        norm_over_n_over_lambda=[estimate(v * s["lmbda"] / data.train.n) for v in norm_sq],
    )  # fmt: skip


def not_reached(table) -> list[str]:
    """Every distinct run that stopped at its cap without diverging, by its settings."""
    rows = [r for r in table.rows if not (r["diverged"] or r["reached"])]
    return list(dict.fromkeys(r["run"] for r in rows))


def mnist_fields(table, s: dict, n_out: int) -> dict:
    """The record's mnist_* fields from the width sweep on MNIST."""
    rms, reached = table.column("rms"), table.column("reached").astype(bool)
    n_weights = np.array([h * (784 + n_out) for h in s["mnist_widths"]], dtype=np.int64)
    x = np.repeat(n_weights, len(s["seeds"]))
    return {
        "mnist_widths": np.array(s["mnist_widths"], dtype=np.int64),
        "mnist_n_weights": n_weights,
        "mnist_equilibrium_rms": rms,
        "mnist_reached": reached,
        "mnist_fit": fit_reached(x, rms, reached, confidence=s["confidence"], variable="n_w"),
    }
