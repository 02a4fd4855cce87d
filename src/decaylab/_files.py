"""Reading files safely: no pickle, and clear errors that name the file."""

from __future__ import annotations

import os
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
)


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


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it, so that a file is
    either whole or untouched."""
    import uuid

    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
