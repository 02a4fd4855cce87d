"""Question 6: sum or mean penalty — which keeps the best λ stable as the model grows?

Scans λ under the sum convention (λ/2n)·Σw² and the mean convention
(λ/2n)·(1/n_w)·Σw² at four widths on the digits, reads the best λ off the
validation cost, fits log λ* against log n_w; then scans λ on the bundled real
MNIST at five training-set sizes (250 to 4,000, 30 epochs each, two seeds) to
see how λ* should move with n.

    python examples/q6_conventions.py      # about a minute; writes q6_conventions.png
"""

from __future__ import annotations

import decaylab as dl


def main(
    *,
    widths=(16, 45, 128, 360),
    epochs=15,
    seeds=3,
    transfer_seeds=2,
    figure="q6_conventions.png",
    **options,
):
    """Scan λ under both conventions; save the figure (unless ``figure`` is None).

    Other keyword arguments go to :func:`decaylab.convention_transfer`.
    Returns its :class:`~decaylab.experiments.ConventionResult`.
    """
    result = dl.convention_transfer(
        widths=widths, epochs=epochs, seeds=seeds, transfer_seeds=transfer_seeds, **options
    )
    if figure is not None:
        import decaylab.plots as dp

        dp.figure_for(result).savefig(figure, dpi=120, bbox_inches="tight")
    return result


if __name__ == "__main__":
    print(main().summary())
