"""Tests for decaylab.data: bundled digits, MNIST readers and the teacher-student task."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from decaylab.data import Dataset, Split, load_digits, load_mnist, make_teacher_student
from decaylab.errors import DataFileError

# ----------------------------------------------------------------------------- digits

DIGITS_SIZES = [("train", 1000), ("validation", 397), ("test", 400)]


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_digits()


@pytest.mark.parametrize(("part", "n"), DIGITS_SIZES)
def test_digits_split_shapes_and_dtypes(digits, part, n):
    split = getattr(digits, part)
    assert split.X.shape == (n, 64)
    assert split.y.shape == (n,)
    assert split.n == n
    assert split.X.dtype == np.float64
    assert split.y.dtype == np.int64


def test_digits_metadata(digits):
    assert digits.n_classes == 10
    assert digits.n_inputs == 64
    assert digits.name == "digits"


@pytest.mark.parametrize(("part", "n"), DIGITS_SIZES)
def test_digits_values_scaled_to_unit_interval(digits, part, n):
    X = getattr(digits, part).X
    assert X.min() == 0.0
    assert X.max() == 1.0
    # Raw pixels are counts 0..16, so every scaled value is a multiple of 1/16.
    np.testing.assert_array_equal(X * 16, np.round(X * 16))


@pytest.mark.parametrize(("part", "n"), DIGITS_SIZES)
def test_digits_every_class_in_every_split(digits, part, n):
    assert set(getattr(digits, part).y.tolist()) == set(range(10))


def test_digits_splits_are_disjoint(digits):
    # The 1,797 images contain no duplicates, so disjoint splits give 1,797 distinct rows.
    rows = np.concatenate([digits.train.X, digits.validation.X, digits.test.X])
    assert len(np.unique(rows, axis=0)) == 1797


def test_digits_float32_on_request():
    ds = load_digits(dtype=np.float32)
    for split in (ds.train, ds.validation, ds.test):
        assert split.X.dtype == np.float32
        assert split.y.dtype == np.int64
    np.testing.assert_array_equal(ds.train.X, load_digits().train.X.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, "not a dtype"])
def test_digits_rejects_non_float_dtype(dtype):
    with pytest.raises(TypeError, match="dtype"):
        load_digits(dtype=dtype)


def test_digits_match_scikit_learn_copy_and_documented_split(digits):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    ref = sklearn_datasets.load_digits()
    perm = np.random.default_rng(0).permutation(1797)
    parts = {"train": perm[:1000], "validation": perm[1000:1397], "test": perm[1397:]}
    for part, idx in parts.items():
        split = getattr(digits, part)
        np.testing.assert_array_equal(split.X, ref.data[idx] / 16)
        np.testing.assert_array_equal(split.y, ref.target[idx])
    # Together the index sets cover every example exactly once.
    np.testing.assert_array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(1797))


# ----------------------------------------------------------------------------- MNIST pickle


def tiny_mnist(n_train=4, n_validation=2, n_test=3, seed=0):
    """Nielsen-format ((X, y), (X, y), (X, y)) with float32 X of shape (n, 784), int64 y."""
    rng = np.random.default_rng(seed)
    return tuple(
        (
            rng.integers(0, 256, size=(n, 784)).astype(np.float32) / np.float32(255),
            rng.integers(0, 10, size=n).astype(np.int64),
        )
        for n in (n_train, n_validation, n_test)
    )


def _py2_array(arr: np.ndarray) -> bytes:
    """Pickle opcodes for an ndarray as Python 2 with NumPy 1 wrote them (Nielsen's file)."""

    def global_(module, name):
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def short_str(s: bytes):  # SHORT_BINSTRING: a Python 2 str
        return b"U" + bytes([len(s)]) + s

    def int4(i):
        return b"J" + struct.pack("<i", i)

    dtype_code = {np.dtype(np.float32): b"f4", np.dtype(np.int64): b"i8"}[arr.dtype]
    shape = b"(" + b"".join(int4(d) for d in arr.shape) + b"t"
    dtype = (
        global_("numpy", "dtype")
        + short_str(dtype_code)
        + b"K\x00K\x01\x87R"
        + b"(K\x03"
        + short_str(b"<")
        + b"NNN"
        + int4(-1)
        + int4(-1)
        + b"K\x00tb"
    )
    data = arr.tobytes()
    state = b"(K\x01" + shape + dtype + b"\x89" + b"T" + struct.pack("<I", len(data)) + data + b"t"
    return (
        global_("numpy.core.multiarray", "_reconstruct")
        + global_("numpy", "ndarray")
        + b"K\x00\x85"
        + short_str(b"b")
        + b"\x87R"
        + state
        + b"b"
    )


def py2_pickle(obj) -> bytes:
    body = b"(" + b"".join(_py2_array(X) + _py2_array(y) + b"\x86" for X, y in obj) + b"t"
    return b"\x80\x02" + body + b"."


def test_py2_pickle_helper_matches_plain_pickle():
    # Guards the hand-written opcodes: the standard unpickler must read them back exactly.
    data = tiny_mnist()
    back = pickle.loads(py2_pickle(data), encoding="latin1")
    for (X, y), (X2, y2) in zip(data, back, strict=True):
        np.testing.assert_array_equal(X, X2)
        np.testing.assert_array_equal(y, y2)
        assert (X2.dtype, y2.dtype) == (np.float32, np.int64)


PICKLE_WRITERS = {
    "python2-numpy1": py2_pickle,
    "protocol-2": lambda obj: pickle.dumps(obj, protocol=2),
    "protocol-4": lambda obj: pickle.dumps(obj, protocol=4),
    "protocol-5": lambda obj: pickle.dumps(obj, protocol=5),
}


def write_pkl_gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload))
    return path


@pytest.mark.parametrize("writer", PICKLE_WRITERS.values(), ids=PICKLE_WRITERS.keys())
def test_mnist_pickle_loads_nielsen_split(tmp_path, writer):
    data = tiny_mnist()
    path = write_pkl_gz(tmp_path / "mnist.pkl.gz", writer(data))
    ds = load_mnist(path, validation_size=2)
    assert (ds.n_classes, ds.n_inputs, ds.name) == (10, 784, "mnist")
    for split, (X, y) in zip((ds.train, ds.validation, ds.test), data, strict=True):
        np.testing.assert_array_equal(split.X, X.astype(np.float64))
        np.testing.assert_array_equal(split.y, y)
        assert (split.X.dtype, split.y.dtype) == (np.float64, np.int64)


def test_mnist_pickle_validation_size_moves_boundary(tmp_path):
    data = tiny_mnist()
    path = write_pkl_gz(tmp_path / "mnist.pkl.gz", pickle.dumps(data, protocol=2))
    ds = load_mnist(path, validation_size=5, dtype=np.float32)
    all_X = np.concatenate([data[0][0], data[1][0]])
    all_y = np.concatenate([data[0][1], data[1][1]])
    np.testing.assert_array_equal(ds.train.X, all_X[:1])
    np.testing.assert_array_equal(ds.validation.X, all_X[1:])
    np.testing.assert_array_equal(ds.validation.y, all_y[1:])
    assert ds.train.X.dtype == np.float32


class _RunsCode:
    """Unpickling this runs exec(), which creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _malicious_payloads(marker: Path) -> dict[str, bytes]:
    X, y = tiny_mnist()[0]
    evil = _RunsCode(marker)
    return {
        "top-level": pickle.dumps(evil, protocol=2),
        "inside-valid-structure": pickle.dumps(((X, y), (X, evil), (X, y)), protocol=2),
        "protocol-5": pickle.dumps(evil, protocol=5),
    }


def test_malicious_payload_really_runs_code_with_plain_pickle(tmp_path):
    # Control: without the restricted unpickler these payloads do create the marker.
    marker = tmp_path / "control-marker"
    pickle.loads(_malicious_payloads(marker)["top-level"])
    assert marker.exists()


@pytest.mark.parametrize("kind", ["top-level", "inside-valid-structure", "protocol-5"])
def test_mnist_pickle_refuses_code_execution(tmp_path, kind):
    marker = tmp_path / "pwned"
    path = write_pkl_gz(tmp_path / "mnist.pkl.gz", _malicious_payloads(marker)[kind])
    with pytest.raises(DataFileError, match="refused") as info:
        load_mnist(path, validation_size=1)
    assert not marker.exists()
    assert str(path) in str(info.value)
    assert ".exec" in str(info.value)


@pytest.mark.parametrize(
    "global_name", ["os system", "builtins eval", "__builtin__ open", "numpy load"]
)
def test_mnist_pickle_refuses_other_globals(tmp_path, global_name):
    module, name = global_name.split()
    payload = b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n."
    path = write_pkl_gz(tmp_path / "mnist.pkl.gz", payload)
    with pytest.raises(DataFileError, match=f"{module}.{name}"):
        load_mnist(path)


def _with(part, index, value):
    data = [list(pair) for pair in tiny_mnist()]
    data[part][index] = value
    return tuple(tuple(pair) for pair in data)


WRONG_STRUCTURES = {
    "two-parts": tiny_mnist()[:2],
    "list-not-tuple": list(tiny_mnist()),
    "dict": {"train": tiny_mnist()[0]},
    "pair-is-list": (list(tiny_mnist()[0]), *tiny_mnist()[1:]),
    "three-member-pair": ((*tiny_mnist()[0], 0), *tiny_mnist()[1:]),
    "X-783-columns": _with(0, 0, np.zeros((4, 783), np.float32)),
    "X-1d": _with(1, 0, np.zeros(784, np.float32)),
    "X-int": _with(2, 0, np.zeros((3, 784), np.int64)),
    "y-float": _with(0, 1, np.zeros(4, np.float32)),
    "y-wrong-length": _with(0, 1, np.zeros(5, np.int64)),
    "y-label-10": _with(2, 1, np.array([0, 10, 1], np.int64)),
    "y-negative": _with(1, 1, np.array([0, -1], np.int64)),
    "X-is-list": _with(0, 0, [[0.0] * 784] * 4),
}


@pytest.mark.parametrize("obj", WRONG_STRUCTURES.values(), ids=WRONG_STRUCTURES.keys())
def test_mnist_pickle_wrong_structure(tmp_path, obj):
    path = write_pkl_gz(tmp_path / "mnist.pkl.gz", pickle.dumps(obj, protocol=2))
    with pytest.raises(DataFileError) as info:
        load_mnist(path, validation_size=1)
    assert str(path) in str(info.value)


def _good_gz() -> bytes:
    return gzip.compress(pickle.dumps(tiny_mnist(), protocol=2))


def _corrupt_middle(raw: bytes) -> bytes:
    mid = len(raw) // 2
    return raw[:mid] + bytes(b ^ 0xFF for b in raw[mid : mid + 16]) + raw[mid + 16 :]


BAD_FILES = {
    "truncated-gzip": _good_gz()[: len(_good_gz()) // 2],
    "corrupted-gzip": _corrupt_middle(_good_gz()),
    "not-gzip-raw-pickle": pickle.dumps(tiny_mnist(), protocol=2),
    "not-gzip-text": b"hello, I am not MNIST\n",
    "empty-file": b"",
    "gzip-of-garbage": gzip.compress(b"this is not a pickle"),
    "gzip-of-truncated-pickle": gzip.compress(pickle.dumps(tiny_mnist(), protocol=2)[:500]),
}


@pytest.mark.parametrize("raw", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_mnist_pickle_damaged_file(tmp_path, raw):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(raw)
    with pytest.raises(DataFileError) as info:
        load_mnist(path, validation_size=1)
    assert str(path) in str(info.value)


# ----------------------------------------------------------------------------- MNIST IDX

IDX_LABELS, IDX_IMAGES = 0x00000801, 0x00000803


def idx_bytes(arr: np.ndarray, magic: int) -> bytes:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_idx_dir(directory: Path, gz: bool, n_train=5, n_test=3, seed=1) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory.mkdir(exist_ok=True)
    for name, arr in arrays.items():
        raw = idx_bytes(arr, IDX_IMAGES if arr.ndim == 3 else IDX_LABELS)
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (directory / name).write_bytes(raw)
    return arrays


def idx_file(directory: Path, name: str) -> Path:
    raw = directory / name
    return raw if raw.exists() else directory / f"{name}.gz"


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_mnist_idx_loads(tmp_path, gz):
    arrays = write_idx_dir(tmp_path / "mnist", gz)
    ds = load_mnist(tmp_path / "mnist", validation_size=2)
    images = arrays["train-images-idx3-ubyte"]
    labels = arrays["train-labels-idx1-ubyte"]
    # Reference: pixel (r, c) of image i is the byte at 784 i + 28 r + c, divided by 255.
    ref = np.array([[images[i, k // 28, k % 28] / 255 for k in range(784)] for i in range(5)])
    np.testing.assert_allclose(ds.train.X, ref[:3], rtol=0, atol=1e-15)
    np.testing.assert_allclose(ds.validation.X, ref[3:], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(ds.train.y, labels[:3])
    np.testing.assert_array_equal(ds.validation.y, labels[3:])
    np.testing.assert_array_equal(ds.test.y, arrays["t10k-labels-idx1-ubyte"])
    assert ds.test.X.shape == (3, 784)
    assert ds.test.X[2, 28 * 5 + 7] == arrays["t10k-images-idx3-ubyte"][2, 5, 7] / 255
    assert (ds.train.X.dtype, ds.train.y.dtype) == (np.float64, np.int64)
    assert 0.0 <= ds.train.X.min() and ds.train.X.max() <= 1.0


def test_mnist_idx_float32(tmp_path):
    write_idx_dir(tmp_path / "mnist", gz=True)
    ds = load_mnist(tmp_path / "mnist", validation_size=1, dtype=np.float32)
    assert ds.train.X.dtype == ds.validation.X.dtype == ds.test.X.dtype == np.float32


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize(
    "name",
    [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ],
)
@pytest.mark.parametrize("keep", [1, 3, 10, -1], ids=["1-byte", "3-bytes", "10-bytes", "last"])
def test_mnist_idx_truncated(tmp_path, gz, name, keep):
    write_idx_dir(tmp_path / "mnist", gz)
    path = idx_file(tmp_path / "mnist", name)
    raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    raw = raw[:keep]
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(DataFileError, match="truncated") as info:
        load_mnist(tmp_path / "mnist", validation_size=1)
    assert str(path) in str(info.value)


def test_mnist_idx_gzip_of_several_members_loads(tmp_path):
    arrays = write_idx_dir(tmp_path / "mnist", gz=True)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    # What `cat a.gz b.gz` gives: two members, the trailer records only the second's size.
    path.write_bytes(gzip.compress(raw[:1000]) + gzip.compress(raw[1000:]))
    ds = load_mnist(tmp_path / "mnist", validation_size=2)
    first = arrays["train-images-idx3-ubyte"][0].reshape(-1) / 255
    np.testing.assert_array_equal(ds.train.X[0], first)


def test_mnist_idx_extra_bytes(tmp_path):
    write_idx_dir(tmp_path / "mnist", gz=False)
    path = tmp_path / "mnist" / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DataFileError, match="oversized"):
        load_mnist(tmp_path / "mnist", validation_size=1)


@pytest.mark.parametrize(
    ("name", "magic"),
    [
        ("train-images-idx3-ubyte", IDX_LABELS),
        ("train-labels-idx1-ubyte", IDX_IMAGES),
        ("t10k-images-idx3-ubyte", 0x00000D03),  # float32 IDX, not unsigned bytes
        ("t10k-labels-idx1-ubyte", 0x1F8B0801),
    ],
)
def test_mnist_idx_wrong_magic(tmp_path, name, magic):
    write_idx_dir(tmp_path / "mnist", gz=False)
    path = tmp_path / "mnist" / name
    raw = path.read_bytes()
    path.write_bytes(struct.pack(">I", magic) + raw[4:])
    with pytest.raises(DataFileError, match="magic") as info:
        load_mnist(tmp_path / "mnist", validation_size=1)
    assert str(path) in str(info.value)


def test_mnist_idx_corrupted_gzip(tmp_path):
    write_idx_dir(tmp_path / "mnist", gz=True)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(_corrupt_middle(path.read_bytes()))
    with pytest.raises(DataFileError, match="train-images"):
        load_mnist(tmp_path / "mnist", validation_size=1)


def test_mnist_idx_label_count_mismatch(tmp_path):
    write_idx_dir(tmp_path / "mnist", gz=False)
    labels = np.zeros(4, np.uint8)
    (tmp_path / "mnist" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels, IDX_LABELS))
    with pytest.raises(DataFileError, match="4 labels for 5 images"):
        load_mnist(tmp_path / "mnist", validation_size=1)


def test_mnist_idx_wrong_image_size(tmp_path):
    write_idx_dir(tmp_path / "mnist", gz=False)
    images = np.zeros((3, 8, 8), np.uint8)
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images, IDX_IMAGES))
    with pytest.raises(DataFileError, match="28x28"):
        load_mnist(tmp_path / "mnist", validation_size=1)


def test_mnist_idx_label_out_of_range(tmp_path):
    write_idx_dir(tmp_path / "mnist", gz=False)
    labels = np.array([0, 1, 12], np.uint8)
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels, IDX_LABELS))
    with pytest.raises(DataFileError, match="0..9"):
        load_mnist(tmp_path / "mnist", validation_size=1)


def _assert_says_where_mnist_comes_from(message: str):
    assert "not found" in message
    assert "mnielsen/neural-networks-and-deep-learning" in message
    assert "mnist.pkl.gz" in message
    assert "LeCun" in message


@pytest.mark.parametrize("name", ["no-such-dir", "mnist.pkl.gz"])
def test_mnist_missing_path_says_where_data_comes_from(tmp_path, name):
    with pytest.raises(DataFileError) as info:
        load_mnist(tmp_path / name)
    assert str(tmp_path / name) in str(info.value)
    _assert_says_where_mnist_comes_from(str(info.value))


def test_mnist_idx_missing_one_file(tmp_path):
    write_idx_dir(tmp_path / "mnist", gz=True)
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataFileError, match="t10k-labels-idx1-ubyte") as info:
        load_mnist(tmp_path / "mnist")
    _assert_says_where_mnist_comes_from(str(info.value))


@pytest.mark.parametrize(
    ("validation_size", "error"),
    [(0, ValueError), (-1, ValueError), (5, ValueError), (6, ValueError), (10000, ValueError),
     (2.5, TypeError), ("2", TypeError), (True, TypeError), (None, TypeError)],
)  # fmt: skip
def test_mnist_bad_validation_size(tmp_path, validation_size, error):
    write_idx_dir(tmp_path / "mnist", gz=False, n_train=5)
    with pytest.raises(error) as info:
        load_mnist(tmp_path / "mnist", validation_size=validation_size)
    assert f"validation_size={validation_size!r}" in str(info.value)


def test_mnist_validation_size_largest_allowed(tmp_path):
    write_idx_dir(tmp_path / "mnist", gz=False, n_train=5)
    ds = load_mnist(tmp_path / "mnist", validation_size=4)
    assert (ds.train.n, ds.validation.n, ds.test.n) == (1, 4, 3)


# ----------------------------------------------------------------------------- teacher-student


@pytest.mark.parametrize(
    ("kwargs", "sizes"),
    [
        (dict(n=100, n_inputs=5, n_classes=3), (100, 25, 25)),
        (dict(n=10, n_inputs=1, n_classes=2, n_validation=7, n_test=1), (10, 7, 1)),
        (dict(n=3, n_inputs=4, n_classes=4), (3, 1, 1)),
        (dict(n=50, n_inputs=64, n_classes=10, hidden=1), (50, 12, 12)),
    ],
)
def test_teacher_student_shapes(kwargs, sizes):
    ds = make_teacher_student(**kwargs, seed=0)
    assert (ds.train.n, ds.validation.n, ds.test.n) == sizes
    for split in (ds.train, ds.validation, ds.test):
        assert split.X.shape == (split.n, kwargs["n_inputs"])
        assert (split.X.dtype, split.y.dtype) == (np.float64, np.int64)
        assert 0.0 <= split.X.min() and split.X.max() < 1.0
        assert 0 <= split.y.min() and split.y.max() < kwargs["n_classes"]
    assert ds.n_classes == kwargs["n_classes"]
    assert ds.n_inputs == kwargs["n_inputs"]


def _arrays(ds: Dataset):
    return [a for split in (ds.train, ds.validation, ds.test) for a in split]


def test_teacher_student_deterministic_under_seed():
    a = make_teacher_student(200, 8, 4, seed=123)
    b = make_teacher_student(200, 8, 4, seed=123)
    for x, y in zip(_arrays(a), _arrays(b), strict=True):
        assert x.tobytes() == y.tobytes()


def test_teacher_student_different_seeds_differ():
    a = make_teacher_student(200, 8, 4, seed=1)
    b = make_teacher_student(200, 8, 4, seed=2)
    assert not np.array_equal(a.train.X, b.train.X)
    assert not np.array_equal(a.train.y, b.train.y)


def test_teacher_student_accepts_generator():
    from_gen = make_teacher_student(50, 3, 2, seed=np.random.default_rng(7))
    from_int = make_teacher_student(50, 3, 2, seed=7)
    for x, y in zip(_arrays(from_gen), _arrays(from_int), strict=True):
        np.testing.assert_array_equal(x, y)


def test_teacher_student_generator_state_advances():
    rng = np.random.default_rng(7)
    first = make_teacher_student(50, 3, 2, seed=rng)
    second = make_teacher_student(50, 3, 2, seed=rng)
    assert not np.array_equal(first.train.X, second.train.X)


def test_teacher_student_labels_follow_documented_teacher():
    # Rebuild the teacher from the documented draw order and check every label.
    n, n_inputs, n_classes, hidden = 40, 6, 5, 7
    ds = make_teacher_student(n, n_inputs, n_classes, hidden=hidden, seed=3)
    rng = np.random.default_rng(3)
    W1 = rng.normal(0.0, 1.0 / np.sqrt(n_inputs), size=(n_inputs, hidden))
    W2 = rng.normal(0.0, 1.0 / np.sqrt(hidden), size=(hidden, n_classes))
    X = rng.random((n, n_inputs))
    np.testing.assert_array_equal(ds.train.X, X)
    for x, label in zip(X, ds.train.y, strict=True):
        h = [np.tanh(sum((x[i] - 0.5) * 12**0.5 * W1[i, j] for i in range(n_inputs)))
             for j in range(hidden)]  # fmt: skip
        logits = [sum(h[j] * W2[j, c] for j in range(hidden)) for c in range(n_classes)]
        assert label == max(range(n_classes), key=logits.__getitem__)


def test_teacher_student_train_set_independent_of_other_sizes():
    a = make_teacher_student(30, 4, 3, n_validation=5, n_test=5, seed=9)
    b = make_teacher_student(30, 4, 3, n_validation=11, n_test=2, seed=9)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    np.testing.assert_array_equal(a.train.y, b.train.y)


def test_teacher_student_uses_several_classes():
    ds = make_teacher_student(2000, 20, 4, seed=0)
    counts = np.bincount(ds.train.y, minlength=4)
    assert (counts > 100).all()


BAD_TEACHER_ARGS = [
    (dict(n=0), ValueError, "n"),
    (dict(n=-5), ValueError, "n"),
    (dict(n=10.0), TypeError, "n"),
    (dict(n=True), TypeError, "n"),
    (dict(n_inputs=0), ValueError, "n_inputs"),
    (dict(n_inputs="3"), TypeError, "n_inputs"),
    (dict(n_classes=1), ValueError, "n_classes"),
    (dict(n_classes=0), ValueError, "n_classes"),
    (dict(n_classes=2.0), TypeError, "n_classes"),
    (dict(hidden=0), ValueError, "hidden"),
    (dict(hidden=None), TypeError, "hidden"),
    (dict(n_validation=0), ValueError, "n_validation"),
    (dict(n_validation=1.5), TypeError, "n_validation"),
    (dict(n_test=-1), ValueError, "n_test"),
    (dict(n_test="5"), TypeError, "n_test"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed="abc"), TypeError, "seed"),
    (dict(seed=1.0), TypeError, "seed"),
]


@pytest.mark.parametrize(("override", "error", "name"), BAD_TEACHER_ARGS)
def test_teacher_student_bad_arguments(override, error, name):
    kwargs = dict(n=10, n_inputs=3, n_classes=3) | override
    with pytest.raises(error) as info:
        make_teacher_student(**kwargs)
    assert f"{name}={override[name]!r}" in str(info.value)


def test_teacher_student_numpy_integer_arguments():
    ds = make_teacher_student(np.int64(8), np.int32(2), np.int64(3), seed=np.int64(1))
    assert ds.train.X.shape == (8, 2)


# ----------------------------------------------------------------------------- containers


def test_split_is_a_named_tuple():
    X, y = np.zeros((3, 2)), np.arange(3)
    split = Split(X, y)
    X2, y2 = split
    assert X2 is X and y2 is y
    assert split.n == 3


@pytest.mark.parametrize(
    ("validation", "match"),
    [
        (Split(np.zeros((2, 5)), np.zeros(2, np.int64)), "validation split has 5 inputs"),
        (Split(np.zeros((2, 4)), np.zeros(3, np.int64)), "validation split must have"),
        (Split(np.zeros(4), np.zeros(4, np.int64)), "validation split must have"),
    ],
)
def test_dataset_checks_split_consistency(validation, match):
    good = Split(np.zeros((3, 4)), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=match):
        Dataset(train=good, validation=validation, test=good, n_classes=2, name="x")


def test_dataset_rejects_one_class():
    good = Split(np.zeros((3, 4)), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="n_classes"):
        Dataset(train=good, validation=good, test=good, n_classes=1, name="x")


def test_dataset_is_frozen(digits):
    with pytest.raises(AttributeError):
        digits.n_classes = 3
