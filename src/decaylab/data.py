"""Data sets: bundled UCI digits and 5,000 MNIST images, MNIST from a file, a synthetic task.

Every loader returns a :class:`Dataset` of three :class:`Split` s (train, validation, test).
Inputs are batch-first: ``X`` has shape ``(n, n_inputs)`` with one example per row, and
``y`` has shape ``(n,)`` holding integer class labels ``0 .. n_classes - 1``.
"""

from __future__ import annotations

import gzip
import pickle
import struct
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from decaylab._validation import as_generator, check_int
from decaylab.errors import DataFileError

__all__ = ["Dataset", "Split", "load_digits", "load_mnist", "make_teacher_student"]

MNIST_SOURCE = (
    "MNIST is available as Nielsen's mnist.pkl.gz (data/mnist.pkl.gz in the GitHub repository "
    "mnielsen/neural-networks-and-deep-learning) or as the four IDX files "
    "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte, optionally gzipped) of the MNIST database by LeCun, Cortes and Burges"
)


class Split(NamedTuple):
    """One part (train, validation or test) of a data set.

    Attributes
    ----------
    X : numpy.ndarray, shape (n, n_inputs)
        Inputs, one example per row, floating point.
    y : numpy.ndarray, shape (n,)
        Integer class labels (int64).
    """

    X: np.ndarray
    y: np.ndarray

    @property
    def n(self) -> int:
        """Number of examples."""
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A classification data set split into train, validation and test parts.

    Attributes
    ----------
    train, validation, test : Split
        Each with ``X`` of shape ``(n_split, n_inputs)`` and ``y`` of shape ``(n_split,)``.
    n_classes : int
        Number of classes; labels lie in ``0 .. n_classes - 1``.
    name : str
        Short human-readable name, e.g. ``"digits"``.
    """

    train: Split
    validation: Split
    test: Split
    n_classes: int
    name: str

    def __post_init__(self) -> None:
        if self.n_classes < 2:
            raise ValueError(f"n_classes={self.n_classes!r} is too small; expected an integer >= 2")
        n_inputs = self.train.X.shape[1] if self.train.X.ndim == 2 else None
        for part in ("train", "validation", "test"):
            X, y = getattr(self, part)
            if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
                raise ValueError(
                    f"{part} split must have X of shape (n, n_inputs) and y of shape (n,), "
                    f"got X {X.shape} and y {y.shape}"
                )
            if X.shape[1] != n_inputs:
                raise ValueError(
                    f"{part} split has {X.shape[1]} inputs per example, train has {n_inputs}"
                )

    @property
    def n_inputs(self) -> int:
        """Number of input features per example."""
        return int(self.train.X.shape[1])


def _float_dtype(dtype: DTypeLike) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype={dtype!r} is not a dtype; expected a floating-point dtype") from exc
    if not np.issubdtype(dt, np.floating):
        raise TypeError(f"dtype={dtype!r} is not floating point; expected e.g. np.float64")
    return dt


# ----------------------------------------------------------------------------- digits

_DIGITS_SHAPES = {"train": 1000, "validation": 397, "test": 400}


def load_digits(dtype: DTypeLike = np.float64) -> Dataset:
    """Load the UCI 8x8 handwritten digits bundled with decaylab.

    1,797 greyscale 8x8 images of the digits 0-9 (Alpaydin & Kaynak, 1998; CC BY 4.0),
    shuffled once with ``np.random.default_rng(0).permutation(1797)`` and split into
    1,000 train, 397 validation and 400 test examples. The split is fixed and stored in
    the package, so every call returns the same arrays.

    Parameters
    ----------
    dtype : floating dtype, default numpy.float64
        Dtype of the inputs ``X``.

    Returns
    -------
    Dataset
        ``n_classes == 10``, ``n_inputs == 64``. ``X`` has shape ``(n, 64)`` with pixel
        intensities scaled from 0..16 to [0, 1]; ``y`` has shape ``(n,)``, int64.

    Raises
    ------
    DataFileError
        If the bundled file is missing or damaged (reinstall decaylab).
    """
    dt = _float_dtype(dtype)
    resource = resources.files(__package__) / "_data" / "digits.npz"
    try:
        with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except FileNotFoundError as exc:
        raise DataFileError(
            f"{resource}: the bundled digits file was not found; reinstall decaylab"
        ) from exc
    except Exception as exc:  # any failure to parse the zip/npy format means a damaged file
        raise DataFileError(f"{resource}: could not be read as an npz archive: {exc}") from exc

    splits = {}
    for part, n in _DIGITS_SHAPES.items():
        X, y = arrays.get(f"X_{part}"), arrays.get(f"y_{part}")
        if X is None or y is None or X.shape != (n, 64) or y.shape != (n,):
            raise DataFileError(
                f"{resource}: expected arrays X_{part} of shape ({n}, 64) and y_{part} of "
                f"shape ({n},); the file is damaged, reinstall decaylab"
            )
        splits[part] = Split((X / 16.0).astype(dt), y.astype(np.int64))
    return Dataset(**splits, n_classes=10, name="digits")


# ----------------------------------------------------------------------------- MNIST


def load_mnist(
    path: str | Path | None = None,
    *,
    validation_size: int = 10000,
    dtype: DTypeLike = np.float64,
) -> Dataset:
    """Load the 5,000 bundled MNIST images, or MNIST from Nielsen's pickle or the IDX files.

    Nothing is downloaded. The pickle is read with an unpickler that can only rebuild
    NumPy arrays, so a tampered file cannot run code.

    Without ``path``, the 5,000 real MNIST images bundled with decaylab (500 of each
    digit, from the MNIST database of LeCun, Cortes and Burges, CC BY-SA 3.0) are
    returned with a fixed, stored, stratified split: 4,000 train, 500 validation and
    500 test images, 400 / 50 / 50 of each digit. Each split is ordered in blocks of
    ten holding one image of every digit, so the first ``n`` training examples hold
    ``n / 10`` of each digit when 10 divides ``n``. The data set is named ``"mnist5k"``.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        Either Nielsen's ``mnist.pkl.gz`` (a gzipped pickle of ``(train, validation,
        test)``, each ``(X, y)``), or a directory holding ``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
        ``t10k-labels-idx1-ubyte``, each optionally gzipped with a ``.gz`` suffix.
        None (the default) loads the bundled 5,000 images.
    validation_size : int, default 10000
        For a file: the validation set is the last ``validation_size`` examples of the
        60,000 training images; the rest are the training set. For the pickle, its train
        and validation parts are joined first, so the default reproduces Nielsen's
        50,000 / 10,000 / 10,000 split exactly for both formats. The bundled split is
        fixed, so without ``path`` only the default is accepted.
    dtype : floating dtype, default numpy.float64
        Dtype of the inputs ``X``.

    Returns
    -------
    Dataset
        ``n_classes == 10``, ``n_inputs == 784``. ``X`` has shape ``(n, 784)`` (28x28
        images flattened row by row) with intensities in [0, 1]; ``y`` has shape ``(n,)``,
        int64.

    Raises
    ------
    DataFileError
        If a file is missing, truncated, corrupted or not in the expected format, or if
        the pickle refers to anything other than NumPy arrays.
    ValueError, TypeError
        If ``validation_size`` is not an int in ``1 .. n_train - 1``, or is not the
        default without ``path``.
    """
    dt = _float_dtype(dtype)
    validation_size = check_int("validation_size", validation_size, minimum=1)
    if path is None:
        if validation_size != 10000:
            raise ValueError(
                f"validation_size={validation_size} was given without a path; the bundled "
                f"MNIST images have a fixed split (4000 / 500 / 500), so expected the default "
                f"or a path to Nielsen's mnist.pkl.gz or the IDX files"
            )
        return _load_bundled_mnist(dt)
    path = Path(path)
    if path.is_dir():
        X_train, y_train, X_test, y_test = _read_idx_dir(path)
    elif path.is_file():
        X_train, y_train, X_test, y_test = _read_nielsen_pickle(path)
    else:
        raise DataFileError(f"{path}: file or directory not found. {MNIST_SOURCE}.")

    n_fit = X_train.shape[0] - validation_size
    if n_fit < 1:
        raise ValueError(
            f"validation_size={validation_size} is too large; expected an integer <= "
            f"{X_train.shape[0] - 1} so that some of the {X_train.shape[0]} training examples "
            f"in {path} are left for training"
        )
    return Dataset(
        train=Split(X_train[:n_fit].astype(dt), y_train[:n_fit]),
        validation=Split(X_train[n_fit:].astype(dt), y_train[n_fit:]),
        test=Split(X_test.astype(dt), y_test),
        n_classes=10,
        name="mnist",
    )


_MNIST5K_SIZES = {"train": 4000, "validation": 500, "test": 500}


def _load_bundled_mnist(dt: np.dtype) -> Dataset:
    """The 5,000 bundled MNIST images in their stored split (see ``_data/README.md``)."""
    resource = resources.files(__package__) / "_data" / "mnist5k.npz"
    try:
        with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except FileNotFoundError as exc:
        raise DataFileError(
            f"{resource}: the bundled MNIST file was not found; reinstall decaylab"
        ) from exc
    except Exception as exc:  # any failure to parse the zip/npy format means a damaged file
        raise DataFileError(f"{resource}: could not be read as an npz archive: {exc}") from exc
    X, y = arrays.get("X"), arrays.get("y")
    if X is None or y is None or X.shape != (5000, 784) or y.shape != (5000,):
        raise DataFileError(
            f"{resource}: expected arrays X of shape (5000, 784) and y of shape (5000,); the "
            f"file is damaged, reinstall decaylab"
        )
    splits = {}
    for part, n in _MNIST5K_SIZES.items():
        index = arrays.get(f"{part}_index")
        if index is None or index.shape != (n,) or index.max(initial=0) >= 5000:
            raise DataFileError(
                f"{resource}: expected {part}_index of shape ({n},) with rows 0..4999; the file "
                f"is damaged, reinstall decaylab"
            )
        splits[part] = Split((X[index] / 255.0).astype(dt), y[index].astype(np.int64))
    return Dataset(**splits, n_classes=10, name="mnist5k")


# These globals are all that pickled float and int arrays need, and none of them can run
# code. Nielsen's file was written by Python 2 with NumPy 1 (numpy.core); NumPy 2 writes
# numpy._core; pickle protocol 5 rebuilds arrays with _frombuffer; Python 3 protocol-2
# pickles spell raw bytes as _codecs.encode(str, "latin1"). Taking the functions from
# NumPy's own reductions keeps this working whichever NumPy is installed.
_reconstruct = np.empty(0).__reduce__()[0]
_frombuffer = np.empty(0).__reduce_ex__(5)[0]


def _latin1_encode(text: str, encoding: str) -> bytes:
    # Stands in for _codecs.encode, which would look up whatever codec the file names.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"unexpected _codecs.encode call with {encoding!r}")
    return text.encode("latin1")


_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except those needed to rebuild arrays."""

    def __init__(self, file: IO[bytes], path: Path) -> None:
        super().__init__(file, encoding="latin1")
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise DataFileError(
                f"{self._path}: refused to unpickle the global {module}.{name}; an MNIST pickle "
                f"holds only NumPy arrays, so this file is not one (or has been tampered with)"
            ) from None


def _read_nielsen_pickle(path: Path) -> tuple[np.ndarray, ...]:
    try:
        with gzip.open(path, "rb") as fh:
            obj = _ArrayOnlyUnpickler(fh, path).load()
    except (DataFileError, MemoryError):
        raise
    except Exception as exc:  # gzip, zlib and pickle each raise their own zoo of errors
        raise DataFileError(
            f"{path}: could not be read as a gzipped pickle (corrupted, truncated or not "
            f"Nielsen's mnist.pkl.gz): {type(exc).__name__}: {exc}"
        ) from exc

    if not (isinstance(obj, tuple) and len(obj) == 3):
        raise DataFileError(
            f"{path}: expected a pickled 3-tuple (train, validation, test), "
            f"got {type(obj).__name__}"
        )
    parts = []
    for part, pair in zip(("train", "validation", "test"), obj, strict=True):
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and all(isinstance(a, np.ndarray) for a in pair)
        ):
            raise DataFileError(f"{path}: the {part} part is not a 2-tuple (X, y) of arrays")
        X, y = pair
        if not np.issubdtype(X.dtype, np.floating) or X.ndim != 2 or X.shape[1] != 784:
            raise DataFileError(
                f"{path}: {part} X must be a float array of shape (n, 784), got {X.dtype} {X.shape}"
            )
        if not np.issubdtype(y.dtype, np.integer) or y.shape != (X.shape[0],):
            raise DataFileError(
                f"{path}: {part} y must be an int array of shape ({X.shape[0]},), "
                f"got {y.dtype} {y.shape}"
            )
        _check_labels(path, y)
        parts.append((X, y.astype(np.int64)))
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = parts
    return np.concatenate([X_tr, X_va]), np.concatenate([y_tr, y_va]), X_te, y_te


def _check_labels(path: Path, y: np.ndarray) -> None:
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataFileError(f"{path}: labels must be digits 0..9, found {y.min()}..{y.max()}")


_IDX_LABELS, _IDX_IMAGES = 0x00000801, 0x00000803


def _find_idx(directory: Path, stem: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DataFileError(
        f"{directory / stem}: file not found (nor {stem}.gz) in {directory}. {MNIST_SOURCE}."
    )


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one IDX file of unsigned bytes; return its array with the dims from the header."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFileError(f"{path}: could not be read: {type(exc).__name__}: {exc}") from exc
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFileError(f"{path}: truncated IDX file ({len(raw)} bytes, header needs {header})")
    (found,) = struct.unpack(">I", raw[:4])
    if found != magic:
        raise DataFileError(
            f"{path}: not an IDX {'label' if ndim == 1 else 'image'} file "
            f"(magic number 0x{found:08x}, expected 0x{magic:08x})"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DataFileError(
            f"{path}: {'truncated' if len(raw) < expected else 'oversized'} IDX file: header "
            f"says dims {dims}, so {expected} bytes expected, found {len(raw)}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_idx_pair(directory: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images_path = _find_idx(directory, f"{prefix}-images-idx3-ubyte")
    labels_path = _find_idx(directory, f"{prefix}-labels-idx1-ubyte")
    images = _read_idx(images_path, _IDX_IMAGES)
    labels = _read_idx(labels_path, _IDX_LABELS)
    if images.shape[1:] != (28, 28):
        raise DataFileError(f"{images_path}: expected 28x28 images, got {images.shape[1:]}")
    if labels.shape[0] != images.shape[0]:
        raise DataFileError(
            f"{labels_path}: {labels.shape[0]} labels for {images.shape[0]} images in {images_path}"
        )
    _check_labels(labels_path, labels)
    return images.reshape(len(images), 784) / 255.0, labels.astype(np.int64)


def _read_idx_dir(directory: Path) -> tuple[np.ndarray, ...]:
    return (*_read_idx_pair(directory, "train"), *_read_idx_pair(directory, "t10k"))


# ----------------------------------------------------------------------------- synthetic


def make_teacher_student(
    n: int,
    n_inputs: int,
    n_classes: int,
    *,
    hidden: int = 32,
    n_validation: int | None = None,
    n_test: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> Dataset:
    """Make a synthetic classification task labelled by a random "teacher" network.

    Inputs are drawn i.i.d. uniform on [0, 1), the same range as the pixel data sets.
    A fixed random teacher with one tanh hidden layer labels them:
    ``y = argmax(tanh(z @ W1) @ W2)`` with ``z = (x - 1/2) * sqrt(12)`` (each input
    standardised to mean 0, variance 1), ``W1`` of shape ``(n_inputs, hidden)`` and ``W2``
    of shape ``(hidden, n_classes)``, entries drawn from ``N(0, 1 / fan_in)``. Because the
    teacher is itself a small network, a student of the same shape can reach zero error,
    and over-fitting can be studied without label noise.

    The classes are roughly but not exactly balanced, and nothing guarantees that every
    class occurs: with few inputs and many classes some classes may get no examples.

    Parameters
    ----------
    n : int
        Number of training examples, >= 1.
    n_inputs : int
        Number of input features, >= 1.
    n_classes : int
        Number of classes, >= 2.
    hidden : int, default 32
        Hidden units in the teacher, >= 1.
    n_validation, n_test : int, optional
        Sizes of the validation and test sets, >= 1; default ``max(1, n // 4)`` each.
    seed : int, numpy.random.Generator or None
        Passed to :func:`numpy.random.default_rng`. The same int seed gives bit-identical
        data. The teacher is drawn first and then the train, validation and test inputs in
        that order, so the teacher and training set do not depend on the other sizes.

    Returns
    -------
    Dataset
        ``X`` of shape ``(n_split, n_inputs)``, float64; ``y`` of shape ``(n_split,)``,
        int64 in ``0 .. n_classes - 1``.
    """
    n = check_int("n", n, minimum=1)
    n_inputs = check_int("n_inputs", n_inputs, minimum=1)
    n_classes = check_int("n_classes", n_classes, minimum=2)
    hidden = check_int("hidden", hidden, minimum=1)
    default = max(1, n // 4)
    n_validation = check_int(
        "n_validation", default if n_validation is None else n_validation, minimum=1
    )
    n_test = check_int("n_test", default if n_test is None else n_test, minimum=1)
    rng = as_generator("seed", seed)

    W1 = rng.normal(0.0, 1.0 / np.sqrt(n_inputs), size=(n_inputs, hidden))
    W2 = rng.normal(0.0, 1.0 / np.sqrt(hidden), size=(hidden, n_classes))

    def split(size: int) -> Split:
        X = rng.random((size, n_inputs))
        # Centring and scaling keeps the teacher's tanh units in their non-linear range and
        # its classes roughly balanced; raw [0, 1) inputs let one class dominate.
        z = (X - 0.5) * np.sqrt(12.0)
        y = np.argmax(np.tanh(z @ W1) @ W2, axis=1).astype(np.int64)
        return Split(X, y)

    return Dataset(
        train=split(n),
        validation=split(n_validation),
        test=split(n_test),
        n_classes=n_classes,
        name="teacher-student",
    )
