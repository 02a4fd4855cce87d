"""A feedforward network whose parameters live in one flat buffer.

``Network.params`` is a single contiguous array: all weights first, layer by
layer, then all biases. ``weights[l]`` and ``biases[l]`` are views into it, so
decaying every weight is one in-place multiplication of ``params[:n_weights]``
and a norm over all weights is one reduction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

from decaylab._blas import matmul_into
from decaylab._files import write_text_atomically
from decaylab._validation import (
    as_generator,
    check_bool,
    check_choice,
    check_data,
    check_inputs,
    check_int,
    check_real,
    check_sizes,
)
from decaylab.activations import get_activation
from decaylab.costs import get_cost

INITS = ("large", "scaled")
DTYPES = {"float64": np.float64, "float32": np.float32}

# Forward passes over whole data sets go in chunks so memory stays bounded.
_CHUNK = 4096


class LayerViews(Sequence):
    """The per-layer views of a network's weights or biases.

    Reading ``net.weights[l]`` gives a view into the network's flat buffer
    (writing into it changes the network). Assigning
    ``net.weights[l] = array`` copies the array in, after checking its shape.
    """

    def __init__(self, views: list[np.ndarray], what: str):
        self._views = views
        self._what = what

    def __len__(self) -> int:
        return len(self._views)

    def __getitem__(self, index):
        return self._views[index]

    def __setitem__(self, index: int, value: object) -> None:
        target = self._views[index]
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(
                f"{self._what}[{index}] has shape {target.shape}; "
                f"got an array of shape {value.shape}"
            )
        if not np.isfinite(value).all():
            raise ValueError(f"{self._what}[{index}] must be finite; got NaN or inf values")
        target[...] = value

    def __repr__(self) -> str:
        return f"<{len(self)} {self._what}: {[v.shape for v in self._views]}>"


def _pair(data, y):
    """``(data, y)`` when the labels come as a second argument, else ``data`` as given."""
    return data if y is None else (data, y)


class Network:
    """A fully connected feedforward network with a sigmoid output layer.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first, e.g. ``[64, 30, 10]``.
    init : {"large", "scaled"}
        "large": weights and biases N(0, 1) (Nielsen's old initialisation).
        "scaled": weights N(0, 1/n_in) with n_in = sizes[l] the layer's
        fan-in, biases N(0, 1).
    activation : {"sigmoid", "tanh", "relu"}
        Activation of the hidden layers. The output layer is always a sigmoid
        so that its outputs lie in (0, 1), as the cross-entropy needs.
    cost : {"cross_entropy", "quadratic"}
        Per-example cost C_x (see :mod:`decaylab.costs`).
    seed : int, numpy.random.Generator or None
        Source of the initial weights.
    dtype : {"float64", "float32"}
        Floating-point type of the parameters and of all computation.

    Attributes
    ----------
    weights : LayerViews
        ``weights[l]`` has shape (sizes[l+1], sizes[l]): Nielsen's w_jk, from
        neuron k of layer l to neuron j of layer l+1.
    biases : LayerViews
        ``biases[l]`` has shape (sizes[l+1],).
    params : ndarray, shape (n_weights + n_biases,)
        The flat buffer behind both; weights first.
    n_weights : int
        Total number of weights n_w (biases excluded).
    init : str or None
        The initialisation, or None when unknown (a network read by
        :func:`decaylab.load_network2` without ``init=``).

    Notes
    -----
    The calls of network2.py work too: ``net.accuracy(X, y)`` (a fraction,
    where network2 counts), ``net.total_cost(data, lmbda)`` and
    ``net.save(path)`` (network2's JSON). Wherever data are accepted, network2's
    list of (x, y) pairs (x a column, y a label or a one-hot column) is
    accepted as well as the pair of arrays (X, y).

    Examples
    --------
    >>> net = Network([64, 30, 10], init="large", seed=0)
    >>> net.weights[0].shape, net.biases[1].shape, net.n_weights
    ((30, 64), (10,), 2220)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        init: str = "large",
        activation: str = "sigmoid",
        cost: str = "cross_entropy",
        seed: int | np.random.Generator | None = None,
        dtype: str = "float64",
    ):
        self.sizes = check_sizes(sizes)
        self.init = check_choice("init", init, INITS)
        self.activation = get_activation(activation)
        self.cost_function = get_cost(cost)
        # Accept np.float32 as well as "float32"; anything else is named in the error.
        name = np.dtype(dtype).name if dtype in (np.float32, np.float64) else dtype
        self.dtype = np.dtype(DTYPES[check_choice("dtype", name, DTYPES)])
        rng = as_generator("seed", seed)
        shapes = [(o, i) for i, o in zip(self.sizes[:-1], self.sizes[1:])]
        self.n_weights = int(sum(o * i for o, i in shapes))
        self.n_biases = int(sum(self.sizes[1:]))
        self.params = np.empty(self.n_weights + self.n_biases, dtype=self.dtype)
        weight_views, bias_views, start = [], [], 0
        for o, i in shapes:
            weight_views.append(self.params[start : start + o * i].reshape(o, i))
            start += o * i
        for o, _ in shapes:
            bias_views.append(self.params[start : start + o])
            start += o
        self.weights = LayerViews(weight_views, "weights")
        self.biases = LayerViews(bias_views, "biases")
        # Draw layer by layer, weights then biases, in float64 so a seed gives
        # the same network whatever the dtype.
        for w, b in zip(weight_views, bias_views):
            scale = 1.0 if self.init == "large" else 1.0 / np.sqrt(w.shape[1])
            w[...] = rng.standard_normal(w.shape) * scale
            b[...] = rng.standard_normal(b.shape)

    # -- structure ---------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of weight layers, len(sizes) − 1."""
        return len(self.sizes) - 1

    @property
    def weights_flat(self) -> np.ndarray:
        """All weights as one view, shape (n_weights,)."""
        return self.params[: self.n_weights]

    @property
    def cost(self) -> str:
        """Name of the per-example cost."""
        return self.cost_function.name

    def settings(self) -> dict:
        """The constructor arguments that define this network's shape and functions."""
        return {
            "sizes": list(self.sizes),
            "init": self.init,
            "activation": self.activation.name,
            "cost": self.cost_function.name,
            "dtype": self.dtype.name,
        }

    def copy(self) -> Network:
        """An independent network with the same settings and parameters."""
        other = Network.__new__(Network)
        other.__dict__.update(self.__dict__)
        other.params = self.params.copy()
        offsets = np.cumsum([0] + [w.size for w in self.weights] + [b.size for b in self.biases])
        views = [other.params[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
        other.weights = LayerViews(
            [v.reshape(w.shape) for v, w in zip(views, self.weights)], "weights"
        )
        other.biases = LayerViews(views[self.n_layers :], "biases")
        return other

    def __repr__(self) -> str:
        return (
            f"Network(sizes={list(self.sizes)}, init={self.init!r}, "
            f"activation={self.activation.name!r}, cost={self.cost!r}, "
            f"dtype={self.dtype.name!r})"
        )

    # -- evaluation --------------------------------------------------------
    def forward(self, X: np.ndarray) -> np.ndarray:
        """Output activations for a batch.

        Parameters
        ----------
        X : ndarray, shape (m, sizes[0])

        Returns
        -------
        ndarray, shape (m, sizes[-1])
        """
        X = check_inputs(X, n_inputs=self.sizes[0], dtype=self.dtype)
        return np.concatenate(
            [self._forward(X[i : i + _CHUNK])[1] for i in range(0, len(X), _CHUNK)]
        )

    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (z, a) of the output layer for checked input X."""
        a = X
        last = self.n_layers - 1
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w.T
            z += b
            act = self.activation if l < last else _SIGMOID
            a = act.forward(z, np.empty_like(z))
        return z, a

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class, the index of the largest output; shape (m,)."""
        return np.argmax(self.forward(X), axis=1)

    def evaluate(
        self, data, *, lmbda: float = 0.0, n: int | None = None, decay="sum", eta: float = 1.0
    ) -> tuple[float, float]:
        """Cost and accuracy on a data set, in one pass.

        Parameters
        ----------
        data : pair (X, y)
            X of shape (n_eval, sizes[0]); y labels (n_eval,) or one-hot.
        lmbda : float
            Regularisation strength; 0 gives the bare data cost C₀.
        n : int, optional
            Training-set size in the penalty (λ/2n)·Σw²; defaults to n_eval.
            The penalty is added once, not per example.
        decay : str or DecayConvention
            Convention of the penalty, "sum" by default.
        eta : float
            Learning rate, only needed by the "decoupled" convention.

        Returns
        -------
        cost : float
            C = (1/n_eval)·Σ_x C_x + penalty.
        accuracy : float
            Fraction of examples classified correctly.
        """
        from decaylab.conventions import get_convention

        X, labels, targets = check_data(
            data, n_inputs=self.sizes[0], n_outputs=self.sizes[-1], dtype=self.dtype
        )
        lmbda = check_real("lmbda", lmbda, nonnegative=True)
        eta = check_real("eta", eta, positive=True)
        n = len(X) if n is None else check_int("n", n, minimum=1)
        return self._evaluate(
            X,
            labels,
            targets,
            penalty=get_convention(decay).penalty(
                self.weight_sum_of_squares(),
                lmbda,
                eta=eta,
                n=n,
                n_weights=self.n_weights,
            ),
        )

    def _evaluate(self, X, labels, targets, penalty: float = 0.0) -> tuple[float, float]:
        total, correct = 0.0, 0
        for i in range(0, len(X), _CHUNK):
            z, a = self._forward(X[i : i + _CHUNK])
            total += float(np.sum(self.cost_function.value(z, a, targets[i : i + _CHUNK])))
            correct += int(np.count_nonzero(np.argmax(a, axis=1) == labels[i : i + _CHUNK]))
        return total / len(X) + penalty, correct / len(X)

    def cost_value(
        self, data, y: np.ndarray | None = None, *, lmbda: float = 0.0, n: int | None = None
    ) -> float:
        """Total cost C₀ + (λ/2n)·Σw² on a data set (sum convention); see :meth:`evaluate`.

        ``net.cost_value(X, y)`` and ``net.cost_value((X, y))`` are the same.
        """
        return self.evaluate(_pair(data, y), lmbda=lmbda, n=n)[0]

    def total_cost(self, data, lmbda: float = 0.0, convert: bool | None = None) -> float:
        """network2's ``total_cost(data, lmbda)``: C₀ + (λ/2n)·Σw² with n = len(data).

        ``data`` is (X, y) or network2's list of (x, y) pairs. ``convert`` is
        accepted for network2's calls and not needed: whether y holds labels
        or one-hot columns is read from its shape.
        """
        if convert is not None:
            check_bool("convert", convert)
        return self.evaluate(data, lmbda=lmbda)[0]

    def accuracy(self, data, y: np.ndarray | None = None, convert: bool | None = None) -> float:
        """Fraction of the examples classified correctly (network2's ``accuracy`` counts them).

        Parameters
        ----------
        data : pair (X, y), ndarray X, or network2's list of (x, y) pairs
            ``net.accuracy(X, y)``, ``net.accuracy((X, y))``,
            ``net.accuracy(data.validation)`` and, with data loaded by
            Nielsen's ``mnist_loader``, ``net.accuracy(validation_data)`` all work.
        y : ndarray, optional
            The labels (n,) or one-hot rows (n, k) when ``data`` is X.
        convert : bool, optional
            Accepted for network2's calls and not needed: whether y holds
            labels or one-hot columns is read from its shape.

        Returns
        -------
        float
            Correct / n, in [0, 1]; network2 returns the count, n times this.
        """
        if convert is not None:
            check_bool("convert", convert)
        return self.evaluate(_pair(data, y))[1]

    def save(self, path) -> None:
        """Write this network in the JSON format of network2.py's ``Network.save``.

        ``dl.load_network2(path)`` (or network2's ``load``) reads it back;
        see :func:`decaylab.save_network2`. For a network network2 cannot
        hold (other activations), or to resume training bit for bit, use
        :func:`decaylab.save_checkpoint`.
        """
        if self.activation.name != "sigmoid":
            raise ValueError(
                f"net has activation {self.activation.name!r}; network2.py only has sigmoid "
                "neurons (save_checkpoint keeps any network)"
            )
        # network2 names its cost by class, and keeps each layer's biases as a column.
        cost = {"cross_entropy": "CrossEntropyCost", "quadratic": "QuadraticCost"}[self.cost]
        data = {
            "sizes": list(self.sizes),
            "weights": [np.asarray(w, dtype=np.float64).tolist() for w in self.weights],
            "biases": [
                np.asarray(b, dtype=np.float64).reshape(-1, 1).tolist() for b in self.biases
            ],
            "cost": cost,
        }
        write_text_atomically(os.fspath(path), json.dumps(data))

    def weight_sum_of_squares(self) -> float:
        """Σw² over all weights (biases excluded)."""
        w = self.weights_flat
        return float(np.dot(w, w))

    # -- gradients ---------------------------------------------------------
    def gradient(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Sum over the batch of the per-example gradients, Σ_x ∂C_x/∂θ.

        Fully matrix-based backpropagation over the batch (no per-example
        loop); the penalty is not included.

        Parameters
        ----------
        X : ndarray, shape (m, sizes[0])
        y : ndarray, shape (m,) labels or (m, sizes[-1]) one-hot

        Returns
        -------
        ndarray, shape (n_weights + n_biases,)
            Laid out like :attr:`params`; use :meth:`unflatten` for per-layer
            arrays.
        """
        X, _, targets = check_data(
            (X, y), n_inputs=self.sizes[0], n_outputs=self.sizes[-1], dtype=self.dtype
        )
        return Backprop(self, len(X)).run(X, targets).grad.copy()

    def unflatten(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Split a vector laid out like :attr:`params` into per-layer weights and biases."""
        flat = np.asarray(flat)
        if flat.shape != self.params.shape:
            raise ValueError(f"flat has shape {flat.shape}; expected {self.params.shape}")
        out_w, out_b, start = [], [], 0
        for w in self.weights:
            out_w.append(flat[start : start + w.size].reshape(w.shape))
            start += w.size
        for b in self.biases:
            out_b.append(flat[start : start + b.size])
            start += b.size
        return out_w, out_b


_SIGMOID = get_activation("sigmoid")


class Backprop:
    r"""Backpropagation over batches of at most ``m`` examples, in preallocated buffers.

    :meth:`run` does the forward pass and computes the δ of every layer; it
    returns the Backprop itself, which then holds the batch gradient in
    factored form (Nielsen's BP4, summed over the batch):

    .. math:: \sum_{x \in B} \frac{\partial C_x}{\partial w^l} = (\delta^l)^\top a^{l-1},
              \qquad \sum_{x \in B} \frac{\partial C_x}{\partial b^l}
              = \sum_{\text{rows}} \delta^l,

    with δ^l of shape (k, sizes[l+1]) and a^{l−1} of shape (k, sizes[l])
    (a^{−1} = X): :meth:`factors` gives these pairs, from which
    :func:`decaylab.sgd_step` applies eq. 93 as one matrix product per
    layer. The products themselves are formed only when :attr:`grad`,
    :attr:`grad_weights` or :attr:`grad_biases` is read after a run (by a
    step monitor, say); reading them changes nothing else.

    Notes
    -----
    A step at batch size 10 on [784, 30, 10] spends most of its time in a
    few small matrix products, so everything else is kept to a fixed, short
    list of in-place calls: the per-layer views of the parameters, of their
    transposes and of the buffers are looked up once, not at every step.
    """

    def __init__(self, net: Network, m: int):
        self.net = net
        self.m = m
        dt = net.dtype
        self._grad = np.empty_like(net.params)
        self._grad_weights, self._grad_biases = net.unflatten(self._grad)
        self._formed = True  # nothing to form before the first run
        self._factors: list[tuple[np.ndarray, np.ndarray]] = []
        self.ones = np.ones(m, dtype=dt)  # Σ_rows δ as a product, in sgd_step's bias update
        self._full = self._buffers([(m, s) for s in net.sizes[1:]], dt)
        self._sliced: dict[int, tuple] = {m: self._full}
        last = net.n_layers - 1
        # The output layer is always a sigmoid.
        self._forward = [net.activation.forward] * last + [_SIGMOID.forward]
        self._bind()

    def _bind(self) -> None:
        """Look up the per-layer views of the network's current parameter buffer."""
        net = self.net
        self._params = net.params
        self._weights = list(net.weights)
        self._weights_transposed = [w.T for w in self._weights]
        self._biases = list(net.biases)

    @staticmethod
    def _buffers(shapes, dt):
        z = [np.empty(s, dtype=dt) for s in shapes]
        a = [np.empty(s, dtype=dt) for s in shapes]
        delta = [np.empty(s, dtype=dt) for s in shapes]
        deriv = [np.empty(s, dtype=dt) for s in shapes[:-1]]
        return z, a, delta, deriv

    def _views(self, k: int):
        if k not in self._sliced:
            self._sliced[k] = tuple([buf[:k] for buf in group] for group in self._full)
        return self._sliced[k]

    def _feedforward(self, X: np.ndarray, z, a) -> None:
        prev = X
        for l, (w_transposed, b, forward) in enumerate(
            zip(self._weights_transposed, self._biases, self._forward)
        ):
            matmul_into(z[l], prev, w_transposed)
            z[l] += b
            forward(z[l], a[l])
            prev = a[l]

    def run(self, X: np.ndarray, targets: np.ndarray) -> Backprop:
        """Backpropagate one batch and return ``self``, holding its gradient in factored form.

        Parameters
        ----------
        X : ndarray, shape (k, sizes[0]), k <= m
        targets : ndarray, shape (k, sizes[-1]), one-hot

        Notes
        -----
        Row-per-example form of Nielsen's BP1-BP3, for all k examples at once:
        z^l = a^{l−1} w^lᵀ + b^l, δ^L = ∂C/∂z^L, δ^{l−1} = (δ^l w^l) ⊙ f'(z^{l−1}).
        The factors stay valid until the next run, whatever happens to the
        weights in between.
        """
        net = self.net
        if net.params is not self._params:
            self._bind()
        z, a, delta, deriv = self._views(len(X))
        weights = self._weights
        last = len(weights) - 1
        self._feedforward(X, z, a)
        net.cost_function.delta(z[last], a[last], targets, delta[last])
        derivative = net.activation.derivative
        for l in range(last, 0, -1):
            matmul_into(delta[l - 1], delta[l], weights[l])
            delta[l - 1] *= derivative(z[l - 1], a[l - 1], deriv[l - 1])
        self._factors = [(delta[0], X)] + [(delta[l], a[l - 1]) for l in range(1, last + 1)]
        self._formed = False
        return self

    def factors(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(δ^l, a^{l−1}) of every layer for the last batch, shapes (k, sizes[l+1]) and
        (k, sizes[l]): Σ_x ∂C_x/∂w^l = δ^lᵀ a^{l−1} and Σ_x ∂C_x/∂b^l = Σ_rows δ^l."""
        return self._factors

    def _form(self) -> None:
        for (delta, inputs), grad_w, grad_b in zip(
            self._factors, self._grad_weights, self._grad_biases
        ):
            matmul_into(grad_w, delta.T, inputs)
            np.add.reduce(delta, axis=0, out=grad_b)
        self._formed = True

    @property
    def grad(self) -> np.ndarray:
        """Σ_x ∂C_x/∂θ of the last batch, shape (n_weights + n_biases,), laid out like
        ``params`` (one buffer, overwritten by the next run)."""
        if not self._formed:
            self._form()
        return self._grad

    @property
    def grad_weights(self) -> list[np.ndarray]:
        """Per-layer views of :attr:`grad`: Σ_x ∂C_x/∂w^l, shape (sizes[l+1], sizes[l])."""
        if not self._formed:
            self._form()
        return self._grad_weights

    @property
    def grad_biases(self) -> list[np.ndarray]:
        """Per-layer views of :attr:`grad`: Σ_x ∂C_x/∂b^l, shape (sizes[l+1],)."""
        if not self._formed:
            self._form()
        return self._grad_biases
