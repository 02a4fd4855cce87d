"""A question the report does not ask: does the size the weights settle at depend on η?

Experiment 3 moves λ, n and the batch size m; this script moves the learning
rate η with λ and m fixed. The stationarity identity ‖w‖² = (n/λ)(−w·∇C₀)
has no η in it, but η sets the clock, τ = m/(ηλ) epochs, and the noise term
η²‖g‖² of the ‖w‖² budget, which grows with η relative to the others. Each
run trains for the same number of relaxation times, detects its equilibrium,
and the equilibrium ‖w‖² is fitted against η with a 95 % interval; the
budget says how much of the balance the noise term carries at each η.

    python examples/learning_rate_equilibrium.py  # about 20 s; writes its figure as a PNG

Only public tools are used: train with a DecompositionMonitor, find_equilibrium,
fit_power_law, and the run figures plot_histories and plot_budget.
"""

from __future__ import annotations

import math

import numpy as np

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
    """Train every (η, seed) for ``relaxations`` τ, measure each equilibrium, fit ‖w‖² against η.

    Returns
    -------
    dict
        ``eta``, ``seed``, ``epochs``, ``reached``, ``norm_squared`` and its
        ``norm_squared_se`` (NaN where not reached), ``noise_share`` (the
        noise term's part of the gradient terms, noise / (|radial| + noise),
        over the equilibrium window), ``accuracy`` (final validation
        accuracy): arrays with one entry per run; ``histories`` (the runs) and
        ``fit`` (the power-law fit over the runs that reached equilibrium, or
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
        dl.fit_power_law(result["eta"][reached], result["norm_squared"][reached], hypotheses=(0.0,))
        if reached.sum() >= 3 and len(set(result["eta"][reached])) >= 2
        else None
    )
    if figure is not None:
        draw(result).savefig(figure, dpi=120, bbox_inches="tight")
    return result


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
        xs = np.geomspace(result["eta"].min() / 1.2, result["eta"].max() * 1.2, 30)
        low, high = fit.interval
        equilibria.plot(
            xs,
            fit.predict(xs),
            color="black",
            label=f"fit: ‖w‖² ∝ η^{fit.exponent:.3f} [{low:.3f}, {high:.3f}]",
        )
    etas = np.unique(result["eta"])
    equilibria.set_xscale("log")
    equilibria.set_xticks(etas, labels=[f"{eta:g}" for eta in etas])
    equilibria.minorticks_off()
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
        low, high = fit.interval
        print(f"\n‖w‖² ∝ η^{fit.exponent:.3f}, 95 % interval [{low:.3f}, {high:.3f}]")
