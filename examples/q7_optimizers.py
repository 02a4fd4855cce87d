"""Question 7: does the picture of eq. 93 carry over to momentum, Adam + L2 and AdamW?

Trains one network under the four update rules at equal nominal decay:
the first-epoch decay factor from the large initialisation against each
rule's prediction, the equilibrium ‖w‖² against λ (each run trained until
its detector says settled, with its equilibrium epoch and τ recorded), which
layers Adam + L2 decays less than AdamW, and how the best λ moves with the
training-set size under AdamW (on the bundled real MNIST images, n = 250 to
4,000, the same 25 epochs at every n).

    python examples/q7_optimizers.py       # about a minute; writes q7_optimizers.png
"""

from __future__ import annotations

import decaylab as dl


def main(*, hidden=30, seeds=2, figure="q7_optimizers.png", **options):
    """Compare the four update rules; save the figure (unless ``figure`` is None).

    Other keyword arguments go to :func:`decaylab.optimizer_comparison`.
    Returns its :class:`~decaylab.experiments.OptimizerResult`.
    """
    result = dl.optimizer_comparison(hidden=hidden, seeds=seeds, **options)
    if figure is not None:
        import decaylab.plots as dp

        dp.figure_for(result).savefig(figure, dpi=120, bbox_inches="tight")
    return result


if __name__ == "__main__":
    print(main().summary())
