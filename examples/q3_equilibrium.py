"""Question 3: at what size do the weights stop decaying — 1/√n_w or 1/n_w?

Trains networks of five widths (n_w from about 10³ to 10⁵) with three seeds,
detects each run's equilibrium, and fits the exponent of the equilibrium RMS
against n_w with a 95 % interval; then moves λ and n at a fixed width.

    python examples/q3_equilibrium.py      # about 20 s; writes q3_equilibrium.png
"""

from __future__ import annotations

import decaylab as dl


def main(
    *,
    widths=(16, 45, 128, 360, 1000),
    seeds=3,
    epochs=30,
    figure="q3_equilibrium.png",
    **options,
):
    """Measure the equilibria and fit the exponent; save the figure (unless None).

    Other keyword arguments go to :func:`decaylab.equilibrium_size`.
    Returns its :class:`~decaylab.experiments.EquilibriumResult`.
    """
    result = dl.equilibrium_size(widths=widths, seeds=seeds, epochs=epochs, **options)
    if figure is not None:
        import decaylab.plots as dp

        dp.figure_for(result).savefig(figure, dpi=120, bbox_inches="tight")
    return result


if __name__ == "__main__":
    result = main()
    print(result.summary())
    fit = result.fit
    low, high = fit.interval
    print(f"\nRMS ∝ n_w^{fit.exponent:.3f}, 95 % interval [{low:.3f}, {high:.3f}]: {fit.verdict}")
