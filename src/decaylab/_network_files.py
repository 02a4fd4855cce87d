"""Reading a network's parameters from a file: shapes, checks and the network they make.

Shared by the two formats decaylab reads, its checkpoints
(:mod:`decaylab.checkpoint`) and Nielsen's network2 JSON (:mod:`decaylab.network2`).
Every failure is a :class:`~decaylab.DataFileError` naming the file.
"""

from __future__ import annotations

import numpy as np

from decaylab.errors import DataFileError
from decaylab.network import Network


def parameter_shapes(sizes: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Entry names and shapes of the parameters of a network of these sizes, weights first."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    shapes = {f"weights.{l}": (o, i) for l, (i, o) in enumerate(layers)}
    shapes.update({f"biases.{l}": (o,) for l, (_, o) in enumerate(layers)})
    return shapes


def build_network(path: str, settings: dict, parameters: dict[str, np.ndarray]) -> Network:
    """A network with these settings and parameters (checked shapes, laid out as by
    :func:`parameter_shapes`)."""
    # init None: the file cannot say how the network was initialised (see load_network2).
    unknown = settings.get("init", "") is None
    try:
        # The seed only fills the buffer that the saved parameters overwrite.
        net = Network(**{**settings, "init": "large" if unknown else settings.get("init")}, seed=0)
    except (TypeError, ValueError) as exc:
        raise DataFileError(f"{path}: bad network settings ({exc})") from None
    if unknown:
        net.init = None
    for l in range(net.n_layers):
        net.weights[l][...] = parameters[f"weights.{l}"]
        net.biases[l][...] = parameters[f"biases.{l}"]
    return net


def checked_array(path: str, key: str, array: np.ndarray, shape: tuple) -> np.ndarray:
    """``array``, the entry ``key`` of the file ``path``, if it holds finite real numbers of
    ``shape``."""
    if array.shape != shape or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise DataFileError(
            f"{path}: {key} is a {array.dtype} array of shape {array.shape}; expected "
            f"real numbers of shape {shape}"
        )
    if not np.isfinite(array).all():
        raise DataFileError(f"{path}: {key} holds NaN or infinite values; expected finite numbers")
    return array
