"""A question the report does not ask: does the size the weights settle at depend on m?

With η, λ and n fixed, a smaller mini-batch m takes more steps per epoch, so
decay relaxes the weights faster per epoch (τ = m/(ηλ) epochs), and each step's
gradient is noisier; the noise term η²‖g‖² of the ‖w‖² budget grows as m
shrinks. Each run here trains for the same number of relaxation times (hence
the same number of SGD steps, n/(ηλ) per τ), detects its equilibrium, and
fits the equilibrium ‖w‖² against m with a 95 % interval; the budget says how
much of the balance the noise term carries at each m.

    python examples/batch_size_equilibrium.py   # about 20 s; writes batch_size_equilibrium.png

Only public tools are used: train with a DecompositionMonitor, find_equilibrium,
fit_power_law, and the run figures plot_histories and plot_budget.
"""

from __future__ import annotations

import math

import numpy as np

import decaylab as dl


def main(
    *,
    batch_sizes=(5, 10, 20, 40),
    seeds=2,
    eta=0.5,
    lmbda=5.0,
    hidden=30,
    relaxations=20.0,
    data=None,
    figure="batch_size_equilibrium.png",
):
    """Train every (m, seed) for ``relaxations`` τ, measure each equilibrium, fit ‖w‖² against m.

    Returns
    -------
    dict
        ``batch_size``, ``seed``, ``epochs``, ``reached``, ``norm_squared``
        and its ``norm_squared_se`` (NaN where not reached),
        ``noise_share`` (the noise term's part of the gradient terms,
        noise / (|radial| + noise), over the equilibrium window),
        ``accuracy`` (final validation accuracy): arrays with one entry per
        run; ``histories`` (the runs) and ``fit`` (the power-law fit over
        the runs that reached equilibrium, or None with fewer than three).
    """
    data = dl.load_digits() if data is None else data
    sizes = [data.train.X.shape[1], hidden, data.n_classes]
    rows = []
    for m in batch_sizes:
        epochs = math.ceil(relaxations * dl.relaxation_time(eta, lmbda, m))
        for seed in range(seeds):
            history = dl.train(
                dl.Network(sizes, init="large", seed=seed),
                data.train,
                epochs=epochs,
                batch_size=m,
                eta=eta,
                lmbda=lmbda,
                evaluation=data.validation,
                training_metrics=False,
                monitors=[dl.DecompositionMonitor()],
                seed=seed,
            )
            rows.append((m, seed, epochs, history, dl.find_equilibrium(history)))
    result = {
        "batch_size": np.array([r[0] for r in rows]),
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
    distinct = len(set(result["batch_size"][reached]))
    result["fit"] = (
        dl.fit_power_law(
            result["batch_size"][reached], result["norm_squared"][reached], hypotheses=(0.0,)
        )
        if reached.sum() >= 3 and distinct >= 2
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
    """Three panels: ‖w‖² of the first seed's runs, the equilibria against m, one run's budget."""
    from matplotlib.figure import Figure

    import decaylab.plots as dp

    fig = Figure(figsize=(16, 4.8), layout="constrained")
    runs, equilibria, budget = fig.subplots(1, 3)
    first = result["seed"] == 0
    histories = [h for h, keep in zip(result["histories"], first) if keep]
    labels = [f"m = {m}" for m in result["batch_size"][first]]
    dp.plot_histories(histories, labels, "norm", squared=True, time="relaxation", ax=runs)
    runs.set_title("‖w‖² of each run (seed 0), on the clock of τ = m/(ηλ)")

    ok = result["reached"]
    equilibria.errorbar(
        result["batch_size"][ok],
        result["norm_squared"][ok],
        yerr=result["norm_squared_se"][ok],
        fmt="o",
        color="tab:blue",
        label="equilibrium ‖w‖² (one run, ± SE)",
    )
    fit = result["fit"]
    if fit is not None:
        xs = np.geomspace(result["batch_size"].min() / 1.2, result["batch_size"].max() * 1.2, 30)
        low, high = fit.interval
        equilibria.plot(
            xs,
            fit.predict(xs),
            color="black",
            label=f"fit: ‖w‖² ∝ m^{fit.exponent:.3f} [{low:.3f}, {high:.3f}]",
        )
    equilibria.set_xscale("log")
    equilibria.set_xticks(np.unique(result["batch_size"]), labels=np.unique(result["batch_size"]))
    equilibria.minorticks_off()
    equilibria.set_xlabel("mini-batch size m")
    equilibria.set_ylabel("equilibrium ‖w‖² (all weights)")
    equilibria.set_title("Where the weights settle")
    equilibria.legend(fontsize="small")

    smallest = int(np.argmin(np.where(first, result["batch_size"], np.inf)))
    dp.plot_budget(result["histories"][smallest], ax=budget, relative=True)
    budget.set_title(f"‖w‖² budget per epoch, m = {result['batch_size'][smallest]}")
    return fig


if __name__ == "__main__":
    result = main()
    print(" m  seed  epochs  reached  ‖w‖² at equilibrium  noise share  accuracy")
    for k in range(len(result["batch_size"])):
        print(
            f"{result['batch_size'][k]:2d}  {result['seed'][k]:4d}  {result['epochs'][k]:6d}  "
            f"{'yes' if result['reached'][k] else 'no ':>7}  "
            f"{result['norm_squared'][k]:10.2f} ± {result['norm_squared_se'][k]:5.2f}  "
            f"{result['noise_share'][k]:11.3f}  {result['accuracy'][k]:8.3f}"
        )
    fit = result["fit"]
    if fit is not None:
        low, high = fit.interval
        print(f"\n‖w‖² ∝ m^{fit.exponent:.3f}, 95 % interval [{low:.3f}, {high:.3f}]")
