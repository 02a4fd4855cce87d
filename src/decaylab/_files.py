"""Reading files safely: no pickle, and clear errors that name the file."""

from __future__ import annotations

import os
import zipfile
from contextlib import contextmanager

import numpy as np

from decaylab.errors import DataFileError


@contextmanager
def open_npz(path: str | os.PathLike):
    """Open an ``.npz`` file with ``allow_pickle=False``; errors name the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataFileError(f"{path}: file not found")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataFileError(f"{path}: not a readable .npz file ({exc})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataFileError(f"{path}: holds a single array, expected an .npz archive")
    try:
        yield archive
    except DataFileError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataFileError(f"{path}: truncated or corrupted .npz file ({exc})") from exc
    finally:
        archive.close()
