"""Crafted and damaged files are refused from their headers, quickly and in bounded memory;
saves never destroy the file they replace; a loaded History is consistent.

The crafted entries hold tens of megabytes of zeros that deflate to a few
kilobytes: reading one whole, as a loader that trusts its headers would, needs
that much memory, which tracemalloc sees.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import decaylab as dl
from decaylab.errors import DataFileError

BIG = 4 * 2**20  # float64 zeros in a crafted entry: 32 MiB once decompressed
LIMIT = 4 * 2**20  # the most memory a refusal may take, bytes


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def _write_npz(path: Path, arrays: dict, big: dict | None = None) -> None:
    """An .npz of ``arrays`` plus, for each key of ``big``, float64 zeros of that shape,
    streamed so that the test itself never holds them."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, value in arrays.items():
            archive.writestr(f"{key}.npy", _npy(value))
        for key, shape in (big or {}).items():
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": "<f8", "fortran_order": False, "shape": shape}
            )
            with archive.open(f"{key}.npy", "w", force_zip64=True) as fh:
                fh.write(header.getvalue())
                chunk = bytes(2**20)
                for _ in range(int(np.prod(shape)) * 8 // len(chunk)):
                    fh.write(chunk)


def _entries(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _refusal(load, path) -> tuple[DataFileError, int, float]:
    """The error ``load(path)`` raises, its peak traced memory and its time."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(DataFileError) as caught:
            load(path)
        return caught.value, tracemalloc.get_traced_memory()[1], time.perf_counter() - start
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A momentum run's checkpoint and its History, as files."""
    directory = tmp_path_factory.mktemp("saved")
    rng = np.random.default_rng(0)
    data = rng.uniform(-1.0, 1.0, (20, 2)), rng.integers(0, 2, 20)
    net = dl.Network([2, 2], seed=0)
    history = dl.train(net, data, epochs=2, batch_size=5, eta=0.5, seed=0, optimizer="momentum",
                       checkpoint_path=directory / "run.npz")  # fmt: skip
    history.save(directory / "history.npz")
    return directory


@pytest.mark.parametrize(
    ("file", "key", "fragment"),
    [
        ("run.npz", "optimizer.velocity", "at most 6 values"),
        ("run.npz", "history.weights.norm", "expected shape (3, 1)"),
        ("history.npz", "weights.norm", "expected shape (3, 1)"),
        ("history.npz", "monitors.spy.record", "at most"),
        ("history.npz", "epoch", "deflates"),
    ],
)
def test_an_entry_that_inflates_beyond_its_record_is_refused_from_its_header(
    saved, tmp_path, file, key, fragment
):
    entries = _entries(saved / file)
    entries.pop(key, None)
    path = tmp_path / file
    _write_npz(path, entries, {key: (BIG,) if "norm" not in key else (BIG // 2, 2)})
    load = dl.load_checkpoint if file == "run.npz" else dl.History.load
    error, peak, seconds = _refusal(load, path)
    assert fragment in str(error) or pytest.fail(str(error))
    assert str(path) in str(error)
    assert peak < LIMIT
    assert seconds < 0.5


def test_a_declared_shape_of_a_million_by_a_million_is_refused_clearly(saved, tmp_path):
    entries = _entries(saved / "run.npz")
    raw = _npy(entries.pop("weights.0")).replace(b"(2, 2)", b"(1000000, 1000000)")
    path = tmp_path / "run.npz"
    _write_npz(path, entries)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("weights.0.npy", raw)
    error, peak, _ = _refusal(dl.load_checkpoint, path)
    assert "(1000000, 1000000)" in str(error) and "8000000000000 bytes" in str(error)
    assert peak < LIMIT


def test_a_damaged_npy_header_is_a_data_file_error(saved, tmp_path):
    entries = _entries(saved / "run.npz")
    raw = _npy(entries.pop("weights.0")).replace(b"(2, 2), }", b"(2, 2,  }")
    path = tmp_path / "run.npz"
    _write_npz(path, entries)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("weights.0.npy", raw)
    with pytest.raises(DataFileError, match="'weights.0' is corrupted or truncated"):
        dl.load_checkpoint(path)


# -- IDX and pickle ----------------------------------------------------------------------


def _gzip_stream(path: Path, head: bytes, zeros: int) -> None:
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(head)
        chunk = bytes(2**20)
        for _ in range(zeros // len(chunk)):
            fh.write(chunk)


def _mnist_dir(tmp_path: Path, images: Path | None = None) -> Path:
    directory = tmp_path / "mnist"
    directory.mkdir()
    for prefix, n in (("train", 5), ("t10k", 3)):
        (directory / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 0x803, n, 28, 28) + bytes(n * 784)
        )
        (directory / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 0x801, n) + bytes(n)
        )
    return directory


@pytest.mark.parametrize(
    ("head", "fragment"),
    [
        (b"", "magic number 0x00000000"),  # 32 MiB of zeros: the magic is refused first
        # A valid header for 60,000 images above 32 MiB of zeros: the gzip trailer disagrees.
        (struct.pack(">IIII", 0x803, 60000, 28, 28), "truncated IDX file"),
        # 2**32 − 1 images: more than a deflate stream of this size can hold.
        (struct.pack(">IIII", 0x803, 2**32 - 1, 28, 28), "more than a"),
    ],
)
def test_a_gzipped_idx_file_is_refused_from_its_header(tmp_path, head, fragment):
    directory = _mnist_dir(tmp_path)
    (directory / "train-images-idx3-ubyte").unlink()
    path = directory / "train-images-idx3-ubyte.gz"
    _gzip_stream(path, head, 8 * BIG)
    error, peak, seconds = _refusal(lambda p: dl.load_mnist(p, validation_size=1), directory)
    assert fragment in str(error) and str(path) in str(error)
    assert peak < LIMIT
    assert seconds < 0.5


def test_idx_dims_whose_product_overflows_name_the_file(tmp_path):
    directory = _mnist_dir(tmp_path)
    path = directory / "t10k-images-idx3-ubyte"
    path.write_bytes(struct.pack(">IIII", 0x803, 2**32 - 1, 2**32 - 1, 2**32 - 1) + bytes(784))
    with pytest.raises(DataFileError, match="oversized|truncated") as caught:
        dl.load_mnist(directory, validation_size=1)
    assert str(path) in str(caught.value)


def test_a_pickle_declaring_sixteen_tebibytes_is_refused_clearly(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(b"\x80\x04\x8e" + struct.pack("<Q", 16 * 2**40) + b"x"))
    error, peak, _ = _refusal(dl.load_mnist, path)
    assert str(path) in str(error) and "crafted" in str(error)
    assert peak < LIMIT


# -- saving over a file ------------------------------------------------------------------


@pytest.fixture
def history():
    rng = np.random.default_rng(1)
    net = dl.Network([3, 2], seed=0)
    data = rng.uniform(size=(8, 3)), rng.integers(0, 2, 8)
    return dl.train(net, data, epochs=2, batch_size=4, eta=0.1, seed=0)


def test_a_settings_value_that_is_not_json_leaves_the_old_file_intact(history, tmp_path):
    path = tmp_path / "h.npz"
    history.save(path)
    before = path.read_bytes()
    history.settings["note"] = object()
    with pytest.raises(TypeError, match="not JSON"):
        history.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["h.npz"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_a_save_stopped_midway_leaves_the_old_file_intact(history, tmp_path, monkeypatch, error):
    path = tmp_path / "h.npz"
    history.save(path)
    before = path.read_bytes()

    def half(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise error

    monkeypatch.setattr(np, "savez_compressed", half)
    with pytest.raises(type(error) if isinstance(error, OSError) else error) as caught:
        history.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["h.npz"]
    assert isinstance(error, type) or str(path) in str(caught.value)


# -- a loaded History is consistent ----------------------------------------------------


def _edit(key, make):
    def edit(arrays):
        arrays[key] = make(arrays[key])

    return edit


def _drop(key):
    return lambda arrays: arrays.pop(key)


HISTORY_DAMAGE = {
    "short norm": (_edit("weights.norm", lambda a: a[:-1]), r"weights.norm .* shape \(2, 1\)"),
    "string cost": (_edit("training_cost", lambda a: a.astype(str)), "training_cost is a <U"),
    "float epochs": (_edit("epoch", lambda a: a + 0.5), "epoch is a float64"),
    "repeated epoch": (_edit("epoch", lambda a: np.array([0, 1, 1])), "strictly increasing"),
    "negative count": (_edit("biases.counts", lambda a: -a), "biases.counts"),
    "two layers of counts": (_edit("weights.counts", lambda a: np.r_[a, a]), "weights.counts"),
    "no variance": (_drop("weights.variance"), "weights.variance"),
    "settings a list": (_edit("settings_json", lambda a: np.array("[1, 2]")), "JSON object"),
    "more epochs than declared": (_edit("epoch", lambda a: np.arange(10)), "at most 3 rows"),
    "long monitor": (
        lambda arrays: arrays.update({"monitors.spy.x": np.zeros((4, 1))}),
        "at most",
    ),
}


@pytest.mark.parametrize("damage", HISTORY_DAMAGE)
def test_an_inconsistent_history_file_is_refused(history, tmp_path, damage):
    edit, fragment = HISTORY_DAMAGE[damage]
    arrays = {k: np.array(v, copy=True) for k, v in history.to_arrays().items()}
    edit(arrays)
    path = tmp_path / "h.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataFileError, match=fragment) as caught:
        dl.History.load(path)
    assert str(path) in str(caught.value)


def test_concatenate_refuses_a_run_with_other_settings(history):
    later = history[1:]
    later.epoch = later.epoch + 1
    later.settings = {**later.settings, "lmbda": 5.0}
    with pytest.raises(ValueError, match=r"lmbda: 0.0 here, 5.0 in later"):
        history.concatenate(later)
