"""Safe and clear file handling.

Every damaged, truncated or wrong-format file (npz, JSON, pickle, IDX) gives a
DataFileError (a ValueError) that names the file and says what was wrong,
raised by decaylab itself rather than escaping from deep inside NumPy, gzip
or json; nothing is ever unpickled except arrays.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import re
import struct
import traceback
from pathlib import Path

import numpy as np
import pytest

import decaylab as dl
from decaylab.errors import DataFileError

PACKAGE = Path(dl.__file__).parent


def _assert_clear(error: BaseException, path: Path, fragment: str) -> None:
    """A DataFileError naming ``path``, saying ``fragment``, raised in decaylab's own code."""
    assert isinstance(error, DataFileError)
    assert isinstance(error, ValueError)
    message = str(error)
    assert str(path) in message
    assert re.search(fragment, message), message
    raised_in = Path(traceback.extract_tb(error.__traceback__)[-1].filename)
    assert PACKAGE in raised_in.parents, raised_in


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    """The bytes of a valid checkpoint (uncompressed) and a valid History (compressed)."""
    directory = tmp_path_factory.mktemp("good")
    rng = np.random.default_rng(0)
    data = rng.uniform(-1.0, 1.0, (20, 3)), rng.integers(0, 2, 20)
    net = dl.Network([3, 4, 2], seed=0)
    checkpoint = directory / "run.npz"
    history = dl.train(net, data, epochs=2, batch_size=5, eta=0.5, seed=0,
                       checkpoint_path=checkpoint)  # fmt: skip
    history.save(directory / "history.npz")
    return {
        "checkpoint": checkpoint.read_bytes(),
        "history": (directory / "history.npz").read_bytes(),
        "weights": np.ascontiguousarray(net.weights[0]).tobytes(),
    }


def _flip_weights(files) -> bytes:
    # Uncompressed members hold the raw float64 bytes: damage them, the CRC must notice.
    raw = bytearray(files["checkpoint"])
    start = raw.find(files["weights"])
    assert start > 0
    raw[start + 3] ^= 0xFF
    return bytes(raw)


def _future_zip_version(files) -> bytes:
    # The central directory says a member needs zip version 10.9 to extract.
    raw = bytearray(files["checkpoint"])
    entry = raw.find(b"PK\x01\x02")
    raw[entry + 6 : entry + 8] = (109).to_bytes(2, "little")
    return bytes(raw)


def _npy(files) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(5.0))
    return buffer.getvalue()


NPZ_DAMAGE = {
    "empty": (lambda f: b"", "not an .npz archive"),
    "text": (lambda f: b"epoch,norm\n0,1.5\n", "not an .npz archive"),
    "a pickle": (lambda f: pickle.dumps({"epoch": [0, 1]}), "not an .npz archive"),
    "a .npy array": (_npy, "single .npy array"),
    "first 100 bytes": (lambda f: f["checkpoint"][:100], "truncated"),
    "cut in half": (lambda f: f["checkpoint"][: len(f["checkpoint"]) // 2], "truncated"),
    "last 10 bytes missing": (lambda f: f["history"][:-10], "truncated"),
    # History.load reads only a History's entries: a checkpoint is refused as not one.
    "damaged weights": (_flip_weights, "corrupted|not a decaylab History"),
    "unknown zip version": (_future_zip_version, "damaged"),
    "object array": (
        lambda f: _npz_bytes(epoch=np.array([{"run": 1}], dtype=object)),
        "pickled objects|not a decaylab",
    ),
    "other arrays": (lambda f: _npz_bytes(x=np.arange(3)), "not a decaylab"),
}
NPZ_LOADERS = {"History.load": dl.History.load, "load_checkpoint": dl.load_checkpoint}


@pytest.mark.parametrize("damage", NPZ_DAMAGE)
@pytest.mark.parametrize("loader", NPZ_LOADERS)
def test_damaged_npz_gives_a_clear_error(tmp_path, good_files, loader, damage):
    make, fragment = NPZ_DAMAGE[damage]
    path = tmp_path / "file.npz"
    path.write_bytes(make(good_files))
    with pytest.raises(DataFileError) as caught:
        NPZ_LOADERS[loader](path)
    _assert_clear(caught.value, path, fragment)


@pytest.mark.parametrize("loader", NPZ_LOADERS)
def test_object_array_is_never_unpickled(tmp_path, loader):
    # The entries each loader reads first, holding pickled objects instead of arrays.
    path = tmp_path / "file.npz"
    pickled = np.array([{"format": "decaylab-checkpoint"}], dtype=object)
    np.savez(path, checkpoint_json=pickled, epoch=pickled, allow_pickle=True)
    with pytest.raises(DataFileError) as caught:
        NPZ_LOADERS[loader](path)
    _assert_clear(caught.value, path, "pickled objects, which are never loaded")


@pytest.mark.parametrize("loader", NPZ_LOADERS)
@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_missing_file_or_directory_gives_a_clear_error(tmp_path, loader, kind):
    path = tmp_path / "file.npz"
    if kind == "directory":
        path.mkdir()
    with pytest.raises(DataFileError) as caught:
        NPZ_LOADERS[loader](path)
    _assert_clear(caught.value, path, "not found|cannot be read")


# -- checkpoint contents ---------------------------------------------------------------


def _edit_checkpoint(files, edit) -> bytes:
    with np.load(io.BytesIO(files["checkpoint"]), allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    original = arrays["checkpoint_json"]
    meta = json.loads(str(original))
    edit(arrays, meta)
    if arrays["checkpoint_json"] is original:  # unless the edit replaced the entry itself
        arrays["checkpoint_json"] = np.array(json.dumps(meta))
    return _npz_bytes(**arrays)


def _set(key, value):
    def edit(arrays, meta):
        target = meta
        *parents, last = key.split("/")
        for parent in parents:
            target = target[parent]
        target[last] = value

    return edit


def _replace(key, value):
    def edit(arrays, meta):
        arrays[key] = value

    return edit


def _delete(key):
    def edit(arrays, meta):
        del arrays[key]

    return edit


def _bad_json(arrays, meta):
    arrays["checkpoint_json"] = np.array('{"format": "decaylab-checkpoint", "version": 1')


CHECKPOINT_DAMAGE = {
    "json cut short": (_bad_json, "not valid JSON"),
    "json is a number": (_replace("checkpoint_json", np.array(3.0)), "JSON string"),
    "other format": (_set("format", "keras"), "does not describe"),
    "newer version": (_set("version", 2), "version 2"),
    "negative epoch": (_set("epoch", -3), "epoch -3"),
    "unknown activation": (_set("network/activation", "swish"), "activation"),
    "sizes do not match": (_set("network/sizes", [3, 5, 2]), r"weights\.0"),
    "sizes not a list": (_set("network/sizes", "3-4-2"), "sizes"),
    "weights missing": (_delete("weights.1"), r"'weights\.1' is missing"),
    "weights NaN": (_replace("biases.0", np.full(4, np.nan)), "NaN"),
    "weights are text": (_replace("weights.0", np.full((4, 3), "w")), r"weights\.0"),
    "extra entry": (_replace("notes", np.arange(2)), "unexpected entries"),
    "unknown bit generator": (_set("generator/bit_generator", "Xorshift"), "Xorshift"),
    "generator state is junk": (_set("generator/state", {"state": "x"}), "generator state"),
    "MT19937 key too short": (
        _set("generator", {"bit_generator": "MT19937", "state": {"key": [1, 2], "pos": 0}}),
        "generator state does not fit MT19937",
    ),
    "history ends elsewhere": (_set("epoch", 1), "epoch 1"),
    "history entry missing": (_delete("history.weights.norm"), "weights.norm"),
}


@pytest.mark.parametrize("damage", CHECKPOINT_DAMAGE)
def test_inconsistent_checkpoint_gives_a_clear_error(tmp_path, good_files, damage):
    edit, fragment = CHECKPOINT_DAMAGE[damage]
    path = tmp_path / "run.npz"
    path.write_bytes(_edit_checkpoint(good_files, edit))
    with pytest.raises(DataFileError) as caught:
        dl.load_checkpoint(path)
    _assert_clear(caught.value, path, fragment)


def test_edited_checkpoint_helper_keeps_a_good_file_good(tmp_path, good_files):
    # Control for the table above: an edit that changes nothing loads fine.
    path = tmp_path / "run.npz"
    path.write_bytes(_edit_checkpoint(good_files, lambda arrays, meta: None))
    assert dl.load_checkpoint(path).epoch == 2


# -- network2 JSON ---------------------------------------------------------------------

NETWORK2 = {
    "sizes": [2, 3, 1],
    "weights": [[[0.5, -1.0]] * 3, [[1.0, 2.0, 3.0]]],
    "biases": [[[0.1]] * 3, [[0.2]]],
    "cost": "CrossEntropyCost",
}


def _network2(**change) -> str:
    return json.dumps({**NETWORK2, **change})


JSON_DAMAGE = {
    "empty": ("", "not a readable JSON"),
    "cut short": (_network2()[:37], "not a readable JSON"),
    "binary": (b"\xff\xfe\x00\x01", "not a readable JSON"),
    "nested too deep": ("[" * 100_000 + "]" * 100_000, "not a readable JSON"),
    "a list": ("[1, 2, 3]", "keys 'sizes'"),
    "no cost": (json.dumps({k: v for k, v in NETWORK2.items() if k != "cost"}), "'cost'"),
    "unknown cost": (_network2(cost="LogLikelihoodCost"), "LogLikelihoodCost"),
    "cost is a list": (_network2(cost=["CrossEntropyCost"]), "cost"),
    "sizes is text": (_network2(sizes="2,3,1"), "sizes"),
    "size zero": (_network2(sizes=[2, 0, 1]), "sizes"),
    "one weight matrix": (_network2(weights=NETWORK2["weights"][:1]), "'weights'"),
    "weights are a dict": (_network2(weights={"0": 1}), "'weights'"),
    "weights transposed": (_network2(weights=[[[0.5] * 3] * 2, [[1.0, 2.0, 3.0]]]), r"\(3, 2\)"),
    "ragged weights": (_network2(weights=[[[0.5, 1.0], [2.0]], [[1.0] * 3]]), r"weights\[0\]"),
    "text in weights": (_network2(weights=[[["a", "b"]] * 3, [[1.0] * 3]]), r"weights\[0\]"),
    "null bias": (_network2(biases=[None, [[0.2]]]), r"biases\[0\]"),
    "NaN bias": (_network2(biases=[[[float("nan")]] * 3, [[0.2]]]), "NaN"),
    "overflowing weight": (_network2().replace("0.5", "1e999", 1), "infinite"),
}


@pytest.mark.parametrize("damage", JSON_DAMAGE)
def test_damaged_network2_file_gives_a_clear_error(tmp_path, damage):
    content, fragment = JSON_DAMAGE[damage]
    path = tmp_path / "net.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(DataFileError) as caught:
        dl.load_network2(path)
    _assert_clear(caught.value, path, fragment)


def test_network2_control_file_loads(tmp_path):
    path = tmp_path / "net.json"
    path.write_text(_network2())
    assert dl.load_network2(path).sizes == (2, 3, 1)


def test_missing_network2_file_gives_a_clear_error(tmp_path):
    with pytest.raises(DataFileError) as caught:
        dl.load_network2(tmp_path / "net.json")
    _assert_clear(caught.value, tmp_path / "net.json", "not found")


# -- MNIST: pickle and IDX -------------------------------------------------------------


def _mnist_pickle() -> bytes:
    X, y = np.zeros((2, 784), np.float32), np.array([3, 4])
    return pickle.dumps(((X, y), (X, y), (X, y)), protocol=2)


class _Sneaky:
    def __reduce__(self):
        return (print, ("this must never run",))


PICKLE_DAMAGE = {
    "not gzipped": (_mnist_pickle(), "gzipped pickle"),
    "gzip cut short": (gzip.compress(_mnist_pickle())[:60], "gzipped pickle"),
    "pickle cut short": (gzip.compress(_mnist_pickle()[:90]), "gzipped pickle"),
    "a function": (gzip.compress(pickle.dumps(_Sneaky(), protocol=2)), "refused"),
    "a dict": (gzip.compress(pickle.dumps({"train": 1})), "3-tuple"),
    "three strings": (gzip.compress(pickle.dumps(("a", "b", "c"))), "2-tuple"),
}


@pytest.mark.parametrize("damage", PICKLE_DAMAGE)
def test_damaged_mnist_pickle_gives_a_clear_error(tmp_path, damage, capsys):
    content, fragment = PICKLE_DAMAGE[damage]
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(content)
    with pytest.raises(DataFileError) as caught:
        dl.load_mnist(path, validation_size=1)
    _assert_clear(caught.value, path, fragment)
    assert capsys.readouterr().out == ""


def _idx(magic: int, dims: tuple[int, ...]) -> bytes:
    return struct.pack(f">I{len(dims)}I", magic, *dims) + bytes(int(np.prod(dims)))


def _write_idx_dir(directory: Path, damage=None) -> None:
    files = {
        "train-images-idx3-ubyte": _idx(0x803, (3, 28, 28)),
        "train-labels-idx1-ubyte": _idx(0x801, (3,)),
        "t10k-images-idx3-ubyte": _idx(0x803, (2, 28, 28)),
        "t10k-labels-idx1-ubyte": _idx(0x801, (2,)),
    }
    if damage is not None:
        name, change = damage
        files[name] = change(files[name])
    for name, content in files.items():
        (directory / name).write_bytes(content)


IDX_DAMAGE = {
    "images cut short": (("train-images-idx3-ubyte", lambda b: b[:-7]), "truncated"),
    "header cut short": (("t10k-labels-idx1-ubyte", lambda b: b[:5]), "truncated"),
    "labels file holds images": (
        ("train-labels-idx1-ubyte", lambda b: _idx(0x803, (3, 28, 28))),
        "magic number",
    ),
    "random bytes": (("t10k-images-idx3-ubyte", lambda b: b"\x12\x34" * 40), "magic number"),
}


@pytest.mark.parametrize("damage", IDX_DAMAGE)
def test_damaged_idx_file_gives_a_clear_error(tmp_path, damage):
    change, fragment = IDX_DAMAGE[damage]
    _write_idx_dir(tmp_path, change)
    with pytest.raises(DataFileError) as caught:
        dl.load_mnist(tmp_path, validation_size=1)
    _assert_clear(caught.value, tmp_path / change[0], fragment)


def test_idx_control_directory_loads(tmp_path):
    _write_idx_dir(tmp_path)
    assert dl.load_mnist(tmp_path, validation_size=1).test.n == 2


# -- no pickle anywhere ----------------------------------------------------------------

SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("source", SOURCES, ids=[str(p.relative_to(PACKAGE)) for p in SOURCES])
def test_no_loader_allows_pickle(source):
    text = source.read_text()
    assert "allow_pickle=True" not in text
    # Every np.load call says allow_pickle=False itself, rather than trusting a default.
    for call in re.finditer(r"np\.load\(", text):
        assert "allow_pickle=False" in text[call.start() : text.find(")", call.start()) + 1]
    # Plain unpickling is never used; only the array-only unpickler of decaylab.data.
    assert not re.search(r"pickle\.loads?\(", text)
