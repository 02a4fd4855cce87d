"""Question 1: are the first epochs of training dominated by weight decay?

With Nielsen's large N(0, 1) initialisation the sigmoids saturate and the data
gradient is tiny, so decay should account for almost all of the change of ‖w‖²
in the first epochs. The scaled N(0, 1/n_in) initialisation is the control.

    python examples/q1_dominance.py        # about 5 s; writes q1_dominance.png
"""

from __future__ import annotations

import decaylab as dl


def main(*, lmbdas=(0.1, 1.0, 5.0), epochs=10, seeds=3, figure="q1_dominance.png", **options):
    """Measure the decay share per epoch; save the figure (unless ``figure`` is None).

    Other keyword arguments go to :func:`decaylab.early_decay_dominance`.
    Returns its :class:`~decaylab.experiments.DominanceResult`.
    """
    result = dl.early_decay_dominance(lmbdas=lmbdas, epochs=epochs, seeds=seeds, **options)
    if figure is not None:
        import decaylab.plots as dp

        dp.figure_for(result).savefig(figure, dpi=120, bbox_inches="tight")
    return result


if __name__ == "__main__":
    print(main().summary())
