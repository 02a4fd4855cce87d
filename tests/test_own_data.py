"""Your own data: a Dataset without a test part, arrays split into parts, and CSV files.

The expected parts are rebuilt here from the rows written: every example lands in
exactly one part, with its own label, in the sizes asked for.
"""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest

import decaylab as dl


@pytest.fixture
def arrays():
    rng = np.random.default_rng(5)
    X = rng.integers(0, 256, (50, 6)).astype(float)
    y = rng.integers(0, 3, 50)
    return X, y


def _rows(split):
    """The (x, y) rows of a part, as a sorted list of tuples."""
    return sorted(tuple(x) + (int(label),) for x, label in zip(split.X, split.y))


def test_a_dataset_needs_no_test_part_and_trains(arrays):
    X, y = arrays
    data = dl.Dataset((X[:40] / 255, y[:40]), (X[40:] / 255, y[40:]), n_classes=3, name="mine")
    assert data.test is None and data.n_classes == 3
    net = dl.Network([6, 4, 3], seed=0)
    history = dl.train(net, data.train, epochs=1, batch_size=10, eta=0.5,
                       evaluation=data.validation, seed=0)  # fmt: skip
    assert history.evaluation_accuracy[-1] == net.accuracy(data.validation)


def test_a_dataset_counts_its_classes_from_the_labels_unless_told(arrays):
    X, y = arrays
    assert dl.Dataset((X, y), (X, y)).n_classes == int(y.max()) + 1
    with pytest.raises(ValueError, match="a label is 2"):
        dl.Dataset((X, y), (X, y), n_classes=2)


@pytest.mark.parametrize(
    ("validation", "test", "sizes"),
    [(0.2, 0, (40, 10, 0)), (10, 5, (35, 10, 5)), (0.1, 0.3, (30, 5, 15))],
)
def test_arrays_split_into_disjoint_parts_of_the_sizes_asked(arrays, validation, test, sizes):
    X, y = arrays
    data = dl.dataset_from_arrays(X, y, validation=validation, test=test, seed=1)
    parts = [data.train, data.validation] + ([data.test] if sizes[2] else [])
    assert tuple(p.n for p in parts) + ((0,) if not sizes[2] else ()) == sizes
    assert (data.test is None) == (sizes[2] == 0)
    together = sorted(row for p in parts for row in _rows(p))
    assert together == _rows(dl.Split(X, y))


def test_arrays_split_the_same_for_the_same_seed_and_in_order_without_shuffle(arrays):
    X, y = arrays
    a = dl.dataset_from_arrays(X, y, seed=3)
    b = dl.dataset_from_arrays(X, y, seed=np.random.default_rng(3))
    assert np.array_equal(a.validation.X, b.validation.X)
    kept = dl.dataset_from_arrays(X, y, validation=5, shuffle=False)
    assert np.array_equal(kept.train.X, X[:45]) and np.array_equal(kept.validation.y, y[45:])


def test_images_are_flattened_and_one_hot_labels_become_integers(arrays):
    X, y = arrays
    images = X[:, :4].reshape(50, 2, 2)
    data = dl.dataset_from_arrays(images, np.eye(3)[y], validation=5, shuffle=False)
    assert data.n_inputs == 4
    np.testing.assert_array_equal(data.train.X, X[:45, :4])
    np.testing.assert_array_equal(data.train.y, y[:45])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"validation": 1.5}, ValueError, "validation=1.5"),
        ({"validation": 0.9, "test": 0.2}, ValueError, "leave -5 training"),
        ({"test": "some"}, TypeError, "test='some'"),
        ({"shuffle": 1}, TypeError, "shuffle=1"),
    ],
)
def test_arrays_refuse_bad_sizes(arrays, kwargs, error, match):
    with pytest.raises(error, match=match):
        dl.dataset_from_arrays(*arrays, **kwargs)


def test_arrays_refuse_labels_that_are_not_whole_numbers(arrays):
    X, y = arrays
    with pytest.raises(ValueError, match=r"y\[0\] = 0.5"):
        dl.dataset_from_arrays(X, np.r_[0.5, y[1:]])


def _write_csv(path, X, y, *, header, label_last=False):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as fh:
        writer = csv.writer(fh)
        names = [f"pixel{i}" for i in range(X.shape[1])]
        if header:
            writer.writerow(names + ["label"] if label_last else ["label"] + names)
        for x, label in zip(X, y):
            values = [f"{v:g}" for v in x]
            writer.writerow(values + [label] if label_last else [label] + values)


@pytest.mark.parametrize(
    ("name", "header", "kwargs"),
    [
        ("mnist.csv", False, {}),  # label first, no header (the common MNIST CSV)
        ("mnist.csv", True, {}),  # a header row, found by its names
        ("mnist.csv", True, {"label_column": "label"}),
        ("mnist.csv.gz", True, {"header": True}),
    ],
)
def test_csv_rows_become_the_examples(tmp_path, arrays, name, header, kwargs):
    X, y = arrays
    path = tmp_path / name
    _write_csv(path, X, y, header=header)
    data = dl.load_csv(path, validation=10, seed=0, scale=1 / 255, **kwargs)
    together = sorted(_rows(data.train) + _rows(data.validation))
    assert together == _rows(dl.Split(X * (1 / 255), y))
    assert data.test is None and data.name == name


def test_csv_label_column_last_by_index(tmp_path, arrays):
    X, y = arrays
    _write_csv(tmp_path / "d.csv", X, y, header=False, label_last=True)
    data = dl.load_csv(tmp_path / "d.csv", label_column=-1, validation=10, shuffle=False)
    np.testing.assert_array_equal(data.train.X, X[:40])
    np.testing.assert_array_equal(data.validation.y, y[40:])


def test_csv_of_ragged_rows_is_refused_with_the_file_named(tmp_path):
    (tmp_path / "bad.csv").write_text("1,0.5,0.5\n0,0.5\n")
    with pytest.raises(dl.DataFileError, match="bad.csv"):
        dl.load_csv(tmp_path / "bad.csv")


def test_csv_label_name_without_a_header_is_refused(tmp_path, arrays):
    _write_csv(tmp_path / "d.csv", *arrays, header=False)
    with pytest.raises(ValueError, match="no header row"):
        dl.load_csv(tmp_path / "d.csv", label_column="label")


def test_missing_csv_is_named(tmp_path):
    with pytest.raises(dl.DataFileError, match="nothing.csv: file not found"):
        dl.load_csv(tmp_path / "nothing.csv")


def test_a_dataset_reads_in_one_line(arrays):
    data = dl.dataset_from_arrays(*arrays, validation=10, seed=0, name="mine")
    assert repr(data) == "Dataset('mine': train 40, validation 10, no test; 6 inputs, 3 classes)"
