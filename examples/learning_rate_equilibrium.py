"""A question the report does not ask: does the size the weights settle at depend on η?

Experiment 3 moves λ, n and the batch size m; this script moves the learning
rate η with λ and m fixed. The stationarity identity ‖w‖² = (n/λ)(−w·∇C₀)
has no η in it, but η sets the clock, τ = m/(ηλ) epochs, and the noise term
η²‖g‖² of the ‖w‖² budget, which grows with η relative to the others. Each
run trains for the same number of relaxation times and detects its
equilibrium; a straight line ‖w‖² = A + B·η through the equilibria gives the
size without noise (A, the η → 0 limit) and how fast noise adds to it (B, with
a 95 % interval), and the budget says how much of the balance the noise term
carries at each η.

    python examples/learning_rate_equilibrium.py  # about 20 s; writes its figure as a PNG

Only public tools are used: train with a DecompositionMonitor, find_equilibrium,
and the run figures plot_histories and plot_budget.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

import decaylab as dl


def main(
    *,
    etas=(0.25, 0.5, 1.0, 2.0),
    seeds=2,
    lmbda=5.0,
    batch_size=10,
    hidden=30,
    relaxations=20.0,
    data=None,
    figure="learning_rate_equilibrium.png",
):
    """Train every (η, seed) for ``relaxations`` τ, measure each equilibrium, fit a line against η.

    Returns
    -------
    dict
        ``eta``, ``seed``, ``epochs``, ``reached``, ``norm_squared`` and its
        ``norm_squared_se`` (NaN where not reached), ``noise_share`` (the
        noise term's part of the gradient terms, noise / (|radial| + noise),
        over the equilibrium window), ``accuracy`` (final validation
        accuracy): arrays with one entry per run; ``histories`` (the runs) and
        ``fit`` (see :func:`fit_line`, over the runs that reached equilibrium;
        None with fewer than three or a single η).
    """
    data = dl.load_digits() if data is None else data
    sizes = [data.train.X.shape[1], hidden, data.n_classes]
    rows = []
    for eta in etas:
        epochs = math.ceil(relaxations * dl.relaxation_time(eta, lmbda, batch_size))
        for seed in range(seeds):
            history = dl.train(
                dl.Network(sizes, init="large", seed=seed),
                data.train,
                epochs=epochs,
                batch_size=batch_size,
                eta=eta,
                lmbda=lmbda,
                evaluation=data.validation,
                training_metrics=False,
                monitors=[dl.DecompositionMonitor()],
                seed=seed,
            )
            rows.append((eta, seed, epochs, history, dl.find_equilibrium(history)))
    result = {
        "eta": np.array([r[0] for r in rows], dtype=float),
        "seed": np.array([r[1] for r in rows]),
        "epochs": np.array([r[2] for r in rows]),
        "reached": np.array([r[4].reached for r in rows]),
        "norm_squared": np.array([r[4].total_norm_squared for r in rows]),
        "norm_squared_se": np.array([r[4].total_norm_squared_se for r in rows]),
        "noise_share": np.array([_noise_share(r[3], r[4]) for r in rows]),
        "accuracy": np.array([r[3].evaluation_accuracy[-1] for r in rows]),
        "histories": [r[3] for r in rows],
    }
    reached = result["reached"]
    result["fit"] = (
        fit_line(result["eta"][reached], result["norm_squared"][reached])
        if reached.sum() >= 3 and len(set(result["eta"][reached])) >= 2
        else None
    )
    if figure is not None:
        draw(result).savefig(figure, dpi=120, bbox_inches="tight")
    return result


def fit_line(x, y, confidence=0.95) -> dict:
    """Least squares y = A + B·x: ``intercept`` A, ``slope`` B, its ``interval`` and ``points``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    (slope, intercept), covariance = np.polyfit(x, y, 1, cov="unscaled")
    residual = y - (intercept + slope * x)
    dof = len(x) - 2
    scale = np.dot(residual, residual) / dof if dof > 0 else np.nan
    half = stats.t.ppf((1 + confidence) / 2, dof) * np.sqrt(covariance[0, 0] * scale)
    return {
        "intercept": float(intercept),
        "slope": float(slope),
        "interval": (float(slope - half), float(slope + half)),
        "points": len(x),
    }


def _noise_share(history, equilibrium) -> float:
    """noise / (|radial| + noise), summed over the layers and the equilibrium window's epochs."""
    if not equilibrium.reached:
        return float("nan")
    record = history.monitors["decomposition"]
    window = slice(equilibrium.epoch, None)  # record row e − 1 is epoch e
    noise = record["noise"][window].sum()
    return float(noise / (np.abs(record["radial"][window].sum()) + noise))


def draw(result):
    """Three panels: ‖w‖² of the first seed's runs, the equilibria against η, one run's budget."""
    from matplotlib.figure import Figure

    import decaylab.plots as dp

    fig = Figure(figsize=(16, 4.8), layout="constrained")
    runs, equilibria, budget = fig.subplots(1, 3)
    first = result["seed"] == 0
    histories = [h for h, keep in zip(result["histories"], first) if keep]
    labels = [f"η = {eta:g}" for eta in result["eta"][first]]
    dp.plot_histories(histories, labels, "norm", squared=True, time="relaxation", ax=runs)
    runs.set_title("‖w‖² of each run (seed 0), on the clock of τ = m/(ηλ)")

    ok = result["reached"]
    equilibria.errorbar(
        result["eta"][ok],
        result["norm_squared"][ok],
        yerr=result["norm_squared_se"][ok],
        fmt="o",
        color="tab:blue",
        label="equilibrium ‖w‖² (one run, ± SE)",
    )
    fit = result["fit"]
    if fit is not None:
        xs = np.array([0.0, result["eta"].max() * 1.05])
        low, high = fit["interval"]
        equilibria.plot(
            xs,
            fit["intercept"] + fit["slope"] * xs,
            color="black",
            label=f"‖w‖² = {fit['intercept']:.1f} + {fit['slope']:.1f}·η "
            f"(slope 95 %: [{low:.1f}, {high:.1f}])",
        )
    equilibria.set_xlim(0, None)
    equilibria.set_xlabel("learning rate η")
    equilibria.set_ylabel("equilibrium ‖w‖² (all weights)")
    equilibria.set_title("Where the weights settle")
    equilibria.legend(fontsize="small")

    largest = int(np.argmax(np.where(first, result["eta"], -np.inf)))
    dp.plot_budget(result["histories"][largest], ax=budget, relative=True)
    budget.set_title(f"‖w‖² budget per epoch, η = {result['eta'][largest]:g}")
    return fig


if __name__ == "__main__":
    result = main()
    print("   η  seed  epochs  reached  ‖w‖² at equilibrium  noise share  accuracy")
    for k in range(len(result["eta"])):
        print(
            f"{result['eta'][k]:4g}  {result['seed'][k]:4d}  {result['epochs'][k]:6d}  "
            f"{'yes' if result['reached'][k] else 'no ':>7}  "
            f"{result['norm_squared'][k]:10.2f} ± {result['norm_squared_se'][k]:5.2f}  "
            f"{result['noise_share'][k]:11.3f}  {result['accuracy'][k]:8.3f}"
        )
    fit = result["fit"]
    if fit is not None:
        low, high = fit["interval"]
        print(
            f"\n‖w‖² = {fit['intercept']:.1f} + {fit['slope']:.1f}·η at equilibrium "
            f"(slope 95 % interval [{low:.1f}, {high:.1f}], {fit['points']} runs)"
        )
