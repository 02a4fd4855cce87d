"""Question 4: does L2 turn the large initialisation into the scaled one?

Trains [64, 30, 10] three ways — large N(0, 1) init with L2, scaled N(0, 1/n_in)
init without L2, scaled init with L2 — and follows each layer's RMS against
1/√n_in and the validation accuracy, epoch by epoch.

    python examples/q4_initialisation.py   # about 5 s; writes q4_initialisation.png
"""

from __future__ import annotations

import decaylab as dl


def main(*, lmbda=5.0, epochs=30, seeds=3, figure="q4_initialisation.png", **options):
    """Compare the three conditions; save the figure (unless ``figure`` is None).

    Other keyword arguments go to :func:`decaylab.initialisation_comparison`.
    Returns its :class:`~decaylab.experiments.InitialisationResult`.
    """
    result = dl.initialisation_comparison(lmbda=lmbda, epochs=epochs, seeds=seeds, **options)
    if figure is not None:
        import decaylab.plots as dp

        dp.figure_for(result).savefig(figure, dpi=120, bbox_inches="tight")
    return result


if __name__ == "__main__":
    print(main().summary())
