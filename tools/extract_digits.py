"""Build ``src/decaylab/_data/digits.npz`` from the copy of the UCI digits that scikit-learn ships.

Run once from the repository root::

    python tools/extract_digits.py

scikit-learn is needed only here; decaylab itself does not depend on it.

The 1,797 images are shuffled once with ``np.random.default_rng(0).permutation(1797)`` and
split into train (first 1,000), validation (next 397) and test (last 400). Pixels are
stored as their raw integer values 0..16 in ``uint8``; ``decaylab.data.load_digits``
divides by 16.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

N_TRAIN, N_VALIDATION, N_TEST = 1000, 397, 400
OUT = Path(__file__).resolve().parent.parent / "src" / "decaylab" / "_data" / "digits.npz"


def main() -> None:
    digits = load_digits()
    X, y = digits.data, digits.target
    assert X.shape == (N_TRAIN + N_VALIDATION + N_TEST, 64)
    # The uint8 cast below is lossless only because every pixel is an integer in 0..16.
    assert np.array_equal(X, np.round(X)) and X.min() == 0 and X.max() == 16
    assert set(np.unique(y)) == set(range(10))

    perm = np.random.default_rng(0).permutation(len(X))
    bounds = {
        "train": perm[:N_TRAIN],
        "validation": perm[N_TRAIN : N_TRAIN + N_VALIDATION],
        "test": perm[N_TRAIN + N_VALIDATION :],
    }
    arrays = {}
    for name, idx in bounds.items():
        arrays[f"X_{name}"] = X[idx].astype(np.uint8)
        arrays[f"y_{name}"] = y[idx].astype(np.uint8)

    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT.name}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
