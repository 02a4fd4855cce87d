"""Networks in the JSON format of Nielsen's ``network2.py``, read and written.

Its ``Network.save`` writes the sizes, the weights (laid out as decaylab holds
them), the biases as columns and the cost's class name; its networks have
sigmoid neurons throughout.
"""

from __future__ import annotations

import json
import os

import numpy as np

from decaylab._network_files import build_network, checked_array, parameter_shapes
from decaylab._validation import check_choice, check_sizes
from decaylab.errors import DataFileError
from decaylab.network import Network

# network2.py stores its cost as the class name.
_NETWORK2_COSTS = {"CrossEntropyCost": "cross_entropy", "QuadraticCost": "quadratic"}


def load_network2(path: str | os.PathLike, *, init: str | None = None) -> Network:
    """Load a network saved by ``Network.save`` of Nielsen's ``network2.py``.

    network2 writes JSON ``{"sizes": [...], "weights": [...], "biases": [...],
    "cost": "CrossEntropyCost" | "QuadraticCost"}`` with ``weights[l]`` of shape
    (sizes[l+1], sizes[l]), as here, and ``biases[l]`` a column of shape
    (sizes[l+1], 1), which becomes a flat (sizes[l+1],) array. Its networks
    have sigmoid neurons throughout.

    Parameters
    ----------
    path : str or os.PathLike
    init : {"scaled", "large"}, optional
        How the network was initialised, which the file does not say:
        network2's ``default_weight_initializer`` is "scaled",
        ``large_weight_initializer`` is "large". Only recorded in the
        settings (``net.init``, and the History of a run that trains it); by
        default None, "unknown", rather than a guess.

    Returns
    -------
    Network
        Computes what the saved network computed: a = σ(w·a + b) layer by layer.

    Raises
    ------
    DataFileError
        If the file is missing, not JSON, or not in network2's format (wrong
        keys, shapes, cost, non-finite numbers); the message names the file and
        what was wrong.
    """
    if init is not None:
        init = check_choice("init", init, ("scaled", "large"))
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise DataFileError(
            f"{path}: not a readable JSON file ({type(exc).__name__}: {exc}); "
            "expected a network saved by network2.py"
        ) from None
    if not isinstance(data, dict) or not {"sizes", "weights", "biases", "cost"} <= set(data):
        found = sorted(data)[:8] if isinstance(data, dict) else type(data).__name__
        raise DataFileError(
            f"{path}: expected a JSON object with keys 'sizes', 'weights', 'biases' and "
            f"'cost' as network2.py writes; found {found}"
        )
    cost = data["cost"]
    if not isinstance(cost, str) or cost not in _NETWORK2_COSTS:
        raise DataFileError(
            f"{path}: cost {str(cost)[:40]!r} is not one of network2's costs "
            f"{sorted(_NETWORK2_COSTS)}"
        )
    try:
        sizes = check_sizes(data["sizes"])
    except (TypeError, ValueError) as exc:
        raise DataFileError(f"{path}: bad 'sizes' ({exc})") from None
    shapes = parameter_shapes(sizes)
    parameters = {}
    for kind in ("weights", "biases"):
        given = data[kind]
        if not isinstance(given, list) or len(given) != len(sizes) - 1:
            found = f"a list of {len(given)}" if isinstance(given, list) else type(given).__name__
            raise DataFileError(
                f"{path}: '{kind}' is {found}; expected a list of {len(sizes) - 1} arrays, "
                f"one per layer of sizes {list(sizes)}"
            )
        for l, value in enumerate(given):
            shape = shapes[f"{kind}.{l}"]
            try:
                array = np.array(value, dtype=np.float64)
            except (TypeError, ValueError, OverflowError) as exc:
                raise DataFileError(
                    f"{path}: {kind}[{l}] is not an array of numbers ({exc})"
                ) from None
            if kind == "biases" and array.shape == shape + (1,):
                array = array[:, 0]  # network2's biases are column vectors
            parameters[f"{kind}.{l}"] = checked_array(path, f"{kind}[{l}]", array, shape)
    settings = {
        "sizes": sizes,
        "init": init,
        "activation": "sigmoid",
        "cost": _NETWORK2_COSTS[cost],
        "dtype": "float64",
    }
    return build_network(path, settings, parameters)


def save_network2(net: Network, path: str | os.PathLike) -> None:
    """Write ``net`` in the JSON format of Nielsen's ``network2.py`` (``Network.load`` reads it).

    The same as ``net.save(path)``.

    Parameters
    ----------
    net : Network
        A sigmoid network with the "cross_entropy" or "quadratic" cost, the only
        kind network2 has.
    path : str or os.PathLike

    Raises
    ------
    ValueError
        If the network has other activations or costs.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net has type {type(net).__name__}; expected a decaylab.Network")
    net.save(path)
