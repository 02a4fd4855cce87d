"""Question 2: do the weights decay by e^(−ηλ/m) per epoch?

Compares Nielsen's closed form with the exact per-epoch factor
(1 − ηλ/n)^⌈n/m⌉ over a grid of η, λ and m, and with the factor measured in
the first epoch of training from the large initialisation.

    python examples/q2_factor.py           # about 2 s; writes q2_factor.png
"""

from __future__ import annotations

import decaylab as dl


def main(
    *,
    etas=(0.5, 2.0),
    lmbdas=(5.0, 50.0, 200.0),
    batch_sizes=(10, 100, 300),
    seeds=3,
    figure="q2_factor.png",
    **options,
):
    """Compare the factors; save the figure (unless ``figure`` is None).

    Other keyword arguments go to :func:`decaylab.per_epoch_factor`.
    Returns its :class:`~decaylab.experiments.FactorResult`.
    """
    result = dl.per_epoch_factor(
        etas=etas, lmbdas=lmbdas, batch_sizes=batch_sizes, seeds=seeds, **options
    )
    if figure is not None:
        import decaylab.plots as dp

        dp.figure_for(result).savefig(figure, dpi=120, bbox_inches="tight")
    return result


if __name__ == "__main__":
    result = main()
    print(result.summary())
    # One setting worked by hand: η = 0.5, λ = 5, m = 10 on n = 1000 digits.
    c = dl.compare_factors(eta=0.5, lmbda=5.0, n=1000, batch_size=10)
    print(f"\nexact {c.exact:.6f}, e^(−ηλ/m) {c.closed_form:.6f}, error {c.relative_error:.1e}")
