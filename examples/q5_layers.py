"""Question 5: can one layer shrink while another grows, under the same λ?

Trains [64, 30, 10] on the digits over a range of λ, and runs the reader's
[784, 30, 10] network (η = 0.1, m = 10, λ = 5 and the reader's ηλ/n) on the
bundled real MNIST images (or on the full MNIST, given its path), from the large
initialisation; follows each layer's L2 norm, L1 norm, variance, sum and ‖w‖² budget.

    python examples/q5_layers.py                    # about a minute; writes q5_layers.png
    python examples/q5_layers.py ~/mnist.pkl.gz     # the reader's run on MNIST's first 5,000
"""

from __future__ import annotations

import sys

import decaylab as dl


def main(
    *, mnist=None, lmbdas=(0.1, 0.5, 5.0), epochs=30, seeds=3, figure="q5_layers.png", **options
):
    """Follow the per-layer statistics; save the figure (unless ``figure`` is None).

    Parameters
    ----------
    mnist : str or path, optional
        MNIST (Nielsen's mnist.pkl.gz or the IDX directory); its first 5,000
        training examples replace the bundled 4,000 in the reader's run.

    Other keyword arguments go to :func:`decaylab.layer_movement`.
    Returns its :class:`~decaylab.experiments.LayerResult`.
    """
    if mnist is not None:
        full = dl.load_mnist(mnist)
        cut = dl.Dataset(
            dl.Split(full.train.X[:5000], full.train.y[:5000]),
            dl.Split(full.validation.X[:2000], full.validation.y[:2000]),
            full.test,
            10,
            "mnist",
        )
        options["mnist"] = cut
    result = dl.layer_movement(lmbdas=lmbdas, epochs=epochs, seeds=seeds, **options)
    if figure is not None:
        import decaylab.plots as dp

        dp.figure_for(result).savefig(figure, dpi=120, bbox_inches="tight")
    return result


if __name__ == "__main__":
    print(main(mnist=sys.argv[1] if len(sys.argv) > 1 else None).summary())
