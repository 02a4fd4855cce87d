"""Data sets: the bundled UCI digits and 5,000 MNIST images, MNIST from a local file, your own
arrays or CSV file, and a synthetic teacher-student task.

Every loader returns a :class:`Dataset` of :class:`Split` s (train, validation and, where
there is one, test).
Inputs are batch-first: ``X`` has shape ``(n, n_inputs)`` with one example per row, and
``y`` has shape ``(n,)`` holding integer class labels ``0 .. n_classes - 1``.
"""

from __future__ import annotations

import gzip
import math
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

__all__ = [
    "Dataset",
    "Split",
    "dataset_from_arrays",
    "load_csv",
    "load_digits",
    "load_mnist",
    "make_teacher_student",
]

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
    """A classification data set split into train, validation and (optionally) test parts.

    Parameters
    ----------
    train, validation : Split or pair (X, y)
        Each with ``X`` of shape ``(n_split, n_inputs)`` and ``y`` of shape
        ``(n_split,)``, integer labels; a plain pair of arrays becomes a Split.
    test : Split, pair (X, y) or None
        None (default) when the data have no test part; ``dataset.test`` is then None.
    n_classes : int, optional
        Number of classes, >= 2; by default 1 + the largest label of the
        splits (pass it when a class may be missing from the data).
    name : str
        Short human-readable name, e.g. ``"digits"``.

    Examples
    --------
    >>> import numpy as np, decaylab as dl
    >>> X, y = np.random.default_rng(0).random((30, 4)), np.arange(30) % 3
    >>> data = dl.Dataset((X[:20], y[:20]), (X[20:], y[20:]), name="mine")
    >>> data.n_classes, data.test is None
    (3, True)
    """

    train: Split
    validation: Split
    test: Split | None = None
    n_classes: int | None = None
    name: str = "data"

    def __post_init__(self) -> None:
        # Frozen: the pairs given are stored as Splits, and n_classes once known.
        parts = [p for p in ("train", "validation", "test") if getattr(self, p) is not None]
        for part in ("train", "validation"):
            if getattr(self, part) is None:
                raise TypeError(f"{part} is None; expected a Split or a pair (X, y)")
        for part in parts:
            object.__setattr__(self, part, _as_split(part, getattr(self, part)))
        n_inputs = self.train.X.shape[1] if self.train.X.ndim == 2 else None
        for part in parts:
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
        largest = max(int(getattr(self, p).y.max(initial=0)) for p in parts)
        if self.n_classes is None:
            object.__setattr__(self, "n_classes", largest + 1)
        if self.n_classes < 2:
            raise ValueError(f"n_classes={self.n_classes!r} is too small; expected an integer >= 2")
        if largest >= self.n_classes:
            raise ValueError(
                f"n_classes={self.n_classes} but a label is {largest}; expected labels in "
                f"0 .. {self.n_classes - 1}"
            )

    @property
    def n_inputs(self) -> int:
        """Number of input features per example."""
        return int(self.train.X.shape[1])

    def __repr__(self) -> str:
        test = "no test" if self.test is None else f"test {self.test.n}"
        return (
            f"Dataset({self.name!r}: train {self.train.n}, validation {self.validation.n}, "
            f"{test}; {self.n_inputs} inputs, {self.n_classes} classes)"
        )


def _as_split(part: str, value: object) -> Split:
    """``value`` as a Split of float inputs and int64 labels; a pair of arrays is accepted."""
    if isinstance(value, Split):
        return value
    try:
        X, y = value
    except (TypeError, ValueError):
        raise TypeError(
            f"{part} has type {type(value).__name__}; expected a Split or a pair (X, y)"
        ) from None
    return Split(np.asarray(X), _integer_labels(f"{part} y", np.asarray(y)))


def _integer_labels(name: str, y: np.ndarray) -> np.ndarray:
    """Labels as int64, if they are whole numbers >= 0 in a 1-D array."""
    if y.ndim != 1:
        raise ValueError(f"{name} has shape {y.shape}; expected integer labels of shape (n,)")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(f"{name} has dtype {y.dtype}; expected integer class labels")
    with np.errstate(invalid="ignore"):
        wrong = ~np.isfinite(y) | (np.mod(y, 1) != 0) | (y < 0)
    if wrong.any():
        bad = int(np.flatnonzero(wrong)[0])
        raise ValueError(
            f"{name}[{bad}] = {y[bad].item()!r}; expected integer class labels 0, 1, 2, …"
        )
    return y.astype(np.int64)


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


def _read_bundled(name: str, what: str) -> tuple[object, dict[str, np.ndarray]]:
    """The arrays of the bundled ``_data/<name>``, without pickle, and the file they came from."""
    resource = resources.files(__package__) / "_data" / name
    try:
        with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
            return resource, {key: npz[key] for key in npz.files}
    except FileNotFoundError as exc:
        raise DataFileError(
            f"{resource}: the bundled {what} file was not found; reinstall decaylab"
        ) from exc
    except Exception as exc:  # any failure to parse the zip/npy format means a damaged file
        raise DataFileError(f"{resource}: could not be read as an npz archive: {exc}") from exc


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
    resource, arrays = _read_bundled("digits.npz", "digits")

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
    resource, arrays = _read_bundled("mnist5k.npz", "MNIST")
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


class _BoundedReader:
    """A gzip stream that refuses a read beyond what the compressed file can hold.

    A pickle declares the length of each byte string before it; a crafted length
    (terabytes in a few bytes) is refused here instead of being allocated.
    """

    def __init__(self, fh: IO[bytes], path: Path) -> None:
        self._fh, self._path = fh, path
        self._left = _MAX_DEFLATE_RATIO * path.stat().st_size + 1024

    def _take(self, n: int) -> None:
        if n > self._left:
            raise DataFileError(
                f"{self._path}: the pickle declares a {n}-byte object, more than a "
                f"{self._path.stat().st_size}-byte gzip file can hold; the file is damaged or "
                "crafted"
            )

    def read(self, n: int = -1) -> bytes:
        self._take(n)
        data = self._fh.read(n)
        self._left -= len(data)
        return data

    def readinto(self, buffer) -> int:
        self._take(len(buffer))
        count = self._fh.readinto(buffer)
        self._left -= count
        return count

    def readline(self) -> bytes:
        line = self._fh.readline(self._left + 1)
        self._take(len(line))
        self._left -= len(line)
        return line


def _read_nielsen_pickle(path: Path) -> tuple[np.ndarray, ...]:
    try:
        with gzip.open(path, "rb") as fh:
            obj = _ArrayOnlyUnpickler(_BoundedReader(fh, path), path).load()
    except DataFileError:
        raise
    except MemoryError:
        raise DataFileError(
            f"{path}: the pickle declares objects too large for memory; the file is damaged or "
            "crafted (Nielsen's mnist.pkl.gz needs about 400 MB)"
        ) from None
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
    """Read one IDX file of unsigned bytes; return its array with the dims from the header.

    The header is read and checked first, and the body's declared size against the file
    (for a gzipped file, against what deflate can produce from it and the size its gzip
    trailer records) before any of the body is kept. A file of several gzip members
    (``cat a.gz b.gz``) records only its last member's size: then the data are counted.
    """
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    gzipped = path.suffix == ".gz"
    try:
        with (gzip.open if gzipped else open)(path, "rb") as fh:
            head = fh.read(header)
            if len(head) < header:
                raise DataFileError(
                    f"{path}: truncated IDX file ({len(head)} bytes, header needs {header})"
                )
            (found,) = struct.unpack(">I", head[:4])
            if found != magic:
                raise DataFileError(
                    f"{path}: not an IDX {'label' if ndim == 1 else 'image'} file "
                    f"(magic number 0x{found:08x}, expected 0x{magic:08x})"
                )
            dims = struct.unpack(f">{ndim}I", head[4:])
            body = math.prod(dims)  # a Python int: no overflow, whatever the dims
            _check_idx_size(path, dims, header + body, gzipped)
            raw = fh.read(body + 1)  # one byte past the body tells an oversized file
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFileError(f"{path}: could not be read: {type(exc).__name__}: {exc}") from exc
    if len(raw) != body:
        raise DataFileError(
            f"{path}: {'truncated' if len(raw) < body else 'oversized'} IDX file: header says "
            f"dims {dims}, so {header + body} bytes expected, found "
            f"{header + len(raw)}{'' if len(raw) < body else ' or more'}"
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(dims)


# Deflate expands data by at most 1032 to 1: a larger claim cannot be true.
_MAX_DEFLATE_RATIO = 1032


def _check_idx_size(path: Path, dims: tuple[int, ...], expected: int, gzipped: bool) -> None:
    """Refuse an IDX file whose header declares a size that the file cannot hold."""
    stored = path.stat().st_size
    if not gzipped:
        if stored != expected:
            raise DataFileError(
                f"{path}: {'truncated' if stored < expected else 'oversized'} IDX file: header "
                f"says dims {dims}, so {expected} bytes expected, found {stored}"
            )
        return
    if expected > _MAX_DEFLATE_RATIO * stored + 1024:
        raise DataFileError(
            f"{path}: header says dims {dims}, so {expected} bytes, more than a {stored}-byte "
            "gzip file can hold; the file is damaged or not an IDX file"
        )
    with open(path, "rb") as fh:  # the gzip trailer ends with the data's size mod 2**32
        fh.seek(-4, 2)
        (recorded,) = struct.unpack("<I", fh.read(4))
    # The trailer counts only the last member of a file of several (``cat a.gz b.gz``);
    # when it disagrees, count the data itself, in chunks, before keeping any of it.
    if recorded == expected % 2**32:
        return
    found = _gzip_length(path, expected)
    if found != expected:
        raise DataFileError(
            f"{path}: {'truncated' if found < expected else 'oversized'} IDX file: header says "
            f"dims {dims}, so {expected} bytes expected, but the gzip stream holds {found} bytes"
            f"{' or more' if found > expected else ''}"
        )


def _gzip_length(path: Path, expected: int, chunk: int = 1 << 18) -> int:
    """Bytes a gzip file decompresses to (all members), counted up to one past ``expected``."""
    total = 0
    with gzip.open(path, "rb") as fh:
        while total <= expected and (block := fh.read(chunk)):
            total += len(block)
    return total


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


# ----------------------------------------------------------------------------- your own data


def _split_size(name: str, value: object, n: int) -> int:
    """An example count: an int as it is, a fraction in [0, 1) of n rounded to the nearest."""
    if isinstance(value, float) and not isinstance(value, bool):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name}={value} is not a fraction in [0, 1); expected one or a count")
        return int(round(value * n))
    return check_int(name, value, minimum=0, maximum=n - 1)


def dataset_from_arrays(
    X,
    y,
    *,
    validation: int | float = 0.1,
    test: int | float = 0,
    seed: int | np.random.Generator | None = 0,
    shuffle: bool = True,
    n_classes: int | None = None,
    name: str = "arrays",
    dtype: DTypeLike = np.float64,
) -> Dataset:
    """A :class:`Dataset` from arrays of inputs and labels, split into train, validation, test.

    Parameters
    ----------
    X : array_like, shape (n, n_inputs) or (n, ...)
        Inputs, one example per row; images of shape (n, 28, 28) are flattened
        row by row to (n, 784). Used as they are: scale pixels to [0, 1]
        yourself (e.g. ``X / 255``), as the sigmoid networks expect.
    y : array_like, shape (n,) or (n, k)
        Integer labels 0 … k − 1, or one-hot rows.
    validation, test : int or float
        Sizes of the validation and test parts: a count, or a float in
        [0, 1), the fraction of n (rounded). ``test=0`` (default) gives a data
        set without a test part (``dataset.test`` is None).
    seed : int, numpy.random.Generator or None
        Source of the shuffle before the split; the same seed gives the same
        split. Ignored when ``shuffle`` is False.
    shuffle : bool
        Shuffle the examples before splitting (default), or split in the
        given order: the first examples train, then validation, then test.
    n_classes : int, optional
        Number of classes; by default 1 + the largest label.
    name : str
    dtype : floating dtype

    Returns
    -------
    Dataset

    Examples
    --------
    >>> import numpy as np, decaylab as dl
    >>> X, y = np.random.default_rng(0).random((100, 8)), np.arange(100) % 4
    >>> data = dl.dataset_from_arrays(X, y, validation=0.2, test=10, seed=0)
    >>> data.train.n, data.validation.n, data.test.n, data.n_classes
    (70, 20, 10, 4)
    """
    dt = _float_dtype(dtype)
    X = np.asarray(X)
    if X.ndim < 2 or not (np.issubdtype(X.dtype, np.number) and not np.iscomplexobj(X)):
        raise ValueError(
            f"X has shape {X.shape} and dtype {X.dtype}; expected real numbers of shape "
            "(n, n_inputs), one example per row"
        )
    X = X.reshape(len(X), -1).astype(dt)
    if not np.isfinite(X).all():
        raise ValueError("X holds NaN or infinite values; expected finite numbers")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        if not (np.isin(y, (0, 1)).all() and np.all(y.sum(axis=1) == 1)):
            raise ValueError(f"y has shape {y.shape} but its rows are not one-hot")
        y = np.argmax(y, axis=1)
    y = _integer_labels("y", y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)}; expected one label each")
    n = len(X)
    n_validation = _split_size("validation", validation, n)
    n_test = _split_size("test", test, n)
    n_train = n - n_validation - n_test
    if n_train < 1 or n_validation < 1:
        raise ValueError(
            f"validation={validation!r} and test={test!r} leave {n_train} training and "
            f"{n_validation} validation examples of {n}; expected at least one of each"
        )
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle={shuffle!r} has type {type(shuffle).__name__}; expected a bool")
    order = as_generator("seed", seed).permutation(n) if shuffle else np.arange(n)
    cuts = np.cumsum([n_train, n_validation])
    train, held, tested = np.split(order, cuts)
    return Dataset(
        train=Split(X[train], y[train]),
        validation=Split(X[held], y[held]),
        test=Split(X[tested], y[tested]) if n_test else None,
        n_classes=n_classes,
        name=name,
    )


def load_csv(
    path: str | Path,
    *,
    label_column: int | str = 0,
    header: bool | None = None,
    delimiter: str = ",",
    scale: float = 1.0,
    **split,
) -> Dataset:
    """A :class:`Dataset` from a CSV file of one example per row: a label column and the inputs.

    Read with NumPy (``numpy.loadtxt``), nothing executed; a ``.gz`` file is
    read as it is. MNIST as CSV (``label, pixel0 … pixel783``, with or
    without a header row) loads with ``load_csv(path, scale=1/255)``.

    Parameters
    ----------
    path : str or pathlib.Path
    label_column : int or str
        The column of the labels: its index (negative counts from the end) or,
        with a header row, its name. Every other column is an input.
    header : bool, optional
        Whether the first row names the columns; by default it does when
        any of its fields is not a number.
    delimiter : str
    scale : float
        Multiplies the inputs, e.g. 1/255 for pixels stored as 0 … 255.
    **split
        ``validation``, ``test``, ``seed``, ``shuffle``, ``n_classes``,
        ``name`` and ``dtype``, as in :func:`dataset_from_arrays`.

    Returns
    -------
    Dataset

    Raises
    ------
    DataFileError
        If the file is missing, or not a table of numbers of one width.
    ValueError
        If ``label_column`` is not a column of the file, or the labels are
        not whole numbers >= 0.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: file not found; expected a CSV file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            first = fh.readline().rstrip("\r\n").split(delimiter)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: not a readable text file ({exc})") from None
    names = [field.strip().strip('"') for field in first]
    if header is None:
        header = not all(_is_number(field) for field in names)
    try:
        table = np.loadtxt(path, delimiter=delimiter, skiprows=int(header), ndmin=2)
    except ValueError as exc:
        raise DataFileError(
            f"{path}: not a table of numbers of one width ({exc}); expected a label column "
            "and input columns, with at most one header row"
        ) from None
    width = table.shape[1]
    if isinstance(label_column, str):
        if not header or label_column not in names:
            known = names[:6] if header else "none (the file has no header row)"
            raise ValueError(
                f"label_column={label_column!r} is not a column name of {path}; its names "
                f"are {known}"
            )
        label_column = names.index(label_column)
    label_column = check_int("label_column", label_column, minimum=-width, maximum=width - 1)
    label_column %= width
    X = np.delete(table, label_column, axis=1) * float(scale)
    split.setdefault("name", path.name)
    return dataset_from_arrays(X, table[:, label_column], **split)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
