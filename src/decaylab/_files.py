"""Reading files safely: no pickle, and clear errors that name the file."""

from __future__ import annotations

import math
import os
import tokenize
import uuid
import zipfile
import zlib
from contextlib import contextmanager

import numpy as np

from decaylab.errors import DataFileError

# What zipfile, zlib and NumPy's .npy reader raise on damaged bytes: a damaged header
# can claim an unknown zip version (NotImplementedError) or encryption (RuntimeError).
_READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    # NumPy parses a header it cannot read as a dict literal with Python's tokenizer.
    tokenize.TokenError,
    SyntaxError,
)

# Deflate cannot expand data by more than 1032 to 1; an entry whose directory
# claims more is damaged, whatever its header says (the margin covers headers).
_MAX_DEFLATE_RATIO = 1032


@contextmanager
def open_npz(path: str | os.PathLike):
    """Open an ``.npz`` file with ``allow_pickle=False``; errors name the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataFileError(f"{path}: file not found")
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc})") from exc
    # Say what the file is before NumPy guesses (it calls anything unknown a pickle).
    if head.startswith(b"\x93NUMPY"):
        raise DataFileError(f"{path}: holds a single .npy array, expected an .npz archive")
    if not head.startswith(b"PK"):
        raise DataFileError(
            f"{path}: not an .npz archive (those are zip files, starting with b'PK'; "
            f"this one starts with {head!r})"
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise DataFileError(f"{path}: truncated or damaged .npz archive ({exc})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataFileError(f"{path}: holds a single array, expected an .npz archive")
    try:
        yield archive
    except DataFileError:
        raise
    except _READ_ERRORS as exc:
        raise DataFileError(
            f"{path}: an entry cannot be read: the file is truncated or corrupted, or holds "
            f"pickled objects, which are never loaded ({exc})"
        ) from exc
    finally:
        archive.close()


def write_atomically(path: str, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    A failure, Ctrl-C included, removes the temporary file and leaves any earlier
    ``path`` as it was; an ``OSError`` is re-raised naming ``path``, never the
    hidden temporary file.
    """
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(exc, OSError) and not isinstance(exc, DataFileError):
            reason = exc.strerror or str(exc)
            message = f"{path}: cannot be written ({reason})"
            raise (
                OSError(message) if exc.errno is None else type(exc)(exc.errno, message)
            ) from None
        raise


def entry_ratio(archive, key: str) -> float:
    """How many times the entry ``key`` of an open ``.npz`` archive expands when inflated."""
    member = key + ".npy" if key + ".npy" in archive.zip.namelist() else key
    info = archive.zip.getinfo(member)
    return info.file_size / max(info.compress_size, 1024)


def entry_header(path: str, archive, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype of the entry ``key`` of an open ``.npz`` ``archive``, read from
    its ``.npy`` header alone, without decompressing its data.

    Raises :class:`DataFileError`, naming the file and the entry, if the header is
    damaged, declares objects (pickles), or declares more data than the entry holds.
    """
    member = key + ".npy" if key + ".npy" in archive.zip.namelist() else key
    try:
        info = archive.zip.getinfo(member)
        with archive.zip.open(member) as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            offset = fh.tell()
    except _READ_ERRORS as exc:
        raise DataFileError(
            f"{path}: entry {key!r} is corrupted or truncated: its .npy header cannot be read "
            f"({exc})"
        ) from None
    if dtype.hasobject:
        raise DataFileError(
            f"{path}: entry {key!r} holds pickled objects, which are never loaded; "
            "expected numbers or strings"
        )
    declared = math.prod(shape) * dtype.itemsize
    if offset + declared != info.file_size:
        raise DataFileError(
            f"{path}: entry {key!r} declares a {dtype} array of shape {shape} "
            f"({declared} bytes) but holds {info.file_size - offset} bytes; the file is "
            "damaged or crafted"
        )
    if info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024:
        raise DataFileError(
            f"{path}: entry {key!r} claims {info.file_size} bytes from {info.compress_size} "
            f"compressed, more than deflate can produce; the file is damaged or crafted"
        )
    return tuple(shape), dtype


def read_entry(
    path: str,
    archive,
    key: str,
    *,
    shape: tuple[int, ...] | None = None,
    max_size: int | None = None,
) -> np.ndarray:
    """The entry ``key`` of ``archive``, once its header shows it fits what the file declares.

    Parameters
    ----------
    path : str
        The file, for messages.
    archive : numpy.lib.npyio.NpzFile
        Opened by :func:`open_npz`.
    key : str
        The entry.
    shape : tuple of int, optional
        The exact shape expected.
    max_size : int, optional
        The most elements the entry may hold.

    Raises
    ------
    DataFileError
        If the header says otherwise: nothing has been decompressed then.
    """
    found, dtype = entry_header(path, archive, key)
    if shape is not None and found != tuple(shape):
        raise DataFileError(
            f"{path}: {key} is a {dtype} array of shape {found}; expected shape {tuple(shape)}"
        )
    if max_size is not None and math.prod(found) > max_size:
        raise DataFileError(
            f"{path}: {key} declares shape {found} ({math.prod(found)} values); expected at "
            f"most {max_size} values for the record the file describes"
        )
    try:
        return archive[key]
    except _READ_ERRORS as exc:
        raise DataFileError(f"{path}: entry {key!r} cannot be read ({exc})") from exc


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it (:func:`write_atomically`),
    so that a file is either whole or untouched."""
    write_atomically(path, lambda fh: fh.write(text.encode("utf-8")))
