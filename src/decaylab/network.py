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

from decaylab._blas import matmul_into, prepared_add_rows, prepared_matmul
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
        """Return (z, a) of the output layer for checked input X: the training step's own
        forward pass (:class:`Backprop`), in buffers of its own."""
        batch = Backprop(self, len(X)).feedforward(X)
        return batch.z[-1], batch.a[-1]

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


def _product(out: np.ndarray, left: np.ndarray, right: np.ndarray, K: int) -> tuple:
    """``(function, arguments)`` such that ``function(*arguments)`` does ``out ← left·right``:
    one network's product through SciPy's gemm, K members' through NumPy's matmul over
    their leading axis."""
    return prepared_matmul(out, left, right) if K == 1 else (np.matmul, (left, right, out))


class _Batch:
    """The pass's buffers for a batch of k examples, and the steps of the pass over them.

    ``z``, ``a``, ``delta`` and ``deriv`` hold one row per example with the K
    members side by side, shape (k, K·sizes[l+1]) (the "wide" form, in which
    elementwise work is one call for all members). ``*_members`` are the same
    buffers seen as (K, k, sizes[l+1]); for K = 1 they are the wide arrays
    themselves, (k, sizes[l+1]).
    """

    __slots__ = ("z", "a", "delta", "deriv", "z_members", "a_members", "delta_members",
                 "first", "forward", "output", "backward", "factors")  # fmt: skip


class Backprop:
    r"""Forward pass and backpropagation over batches of at most ``m`` examples,
    for one network or for K networks of the same shape stacked on a leading member axis.

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

    ``Backprop(net, m)`` serves one :class:`Network`; :meth:`stacked` serves
    K networks whose weights are (K, sizes[l+1], sizes[l]) blocks of one
    buffer (:func:`decaylab.train_ensemble`). Both run the same pass: the
    first layer is one product of the batch with all members' weights side by
    side, :math:`Z^1 = X\,[W^1_1; \dots; W^1_K]^\top`, the deeper layers one
    product per member (batched over the member axis when K > 1), and every
    elementwise operation one call over all members.

    Notes
    -----
    A step at batch size 10 on [784, 30, 10] spends most of its time in a
    few small matrix products, so everything else is kept to a fixed, short
    list of in-place calls: the views of the parameters and of the buffers,
    and the list of products of each batch length, are made once, not at
    every step.
    """

    def __init__(self, net: Network, m: int):
        self.net = net
        self._setup(m, 1, net.sizes, net.activation, net.cost_function, net.dtype)
        self._bind()

    @classmethod
    def stacked(cls, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], m: int, *,
                activation, cost_function) -> Backprop:  # fmt: skip
        """The pass of K networks whose parameters are stacked on a leading member axis.

        Parameters
        ----------
        weights : sequence of ndarray, shapes (K, sizes[l+1], sizes[l])
            Views that the caller updates in place; ``weights[0]`` must be
            C-contiguous, so that its (K·sizes[1], sizes[0]) reshape is a view.
        biases : sequence of ndarray, shapes (K, sizes[l+1])
        m : int
            Largest batch.
        activation, cost_function : Activation, Cost
            Shared by all members.
        """
        self = cls.__new__(cls)
        self.net = None
        sizes = [weights[0].shape[2]] + [w.shape[1] for w in weights]
        self._setup(m, weights[0].shape[0], sizes, activation, cost_function, weights[0].dtype)
        self._use(list(weights), list(biases))
        return self

    def _setup(self, m, K, sizes, activation, cost_function, dt) -> None:
        self.m, self.K, self.sizes, self.dtype = m, K, list(sizes), np.dtype(dt)
        self.ones = np.ones(m, dtype=dt)  # Σ_rows δ as a product, in sgd_step's bias update
        widths = [K * s for s in sizes[1:]]
        self._z, self._a, self._delta = ([np.empty((m, w), dtype=dt) for w in widths]
                                         for _ in range(3))  # fmt: skip
        self._deriv = [np.empty((m, w), dtype=dt) for w in widths[:-1]]
        self._cost_delta = cost_function.delta
        # The output layer is always a sigmoid.
        self._layer_activations = [activation] * (len(widths) - 1) + [_SIGMOID]
        self._grad = None
        self._formed = True  # nothing to form before the first run
        self.batch: _Batch | None = None

    def _bind(self) -> None:
        """Look up the per-layer views of the network's current parameter buffer."""
        net = self.net
        self._params = net.params
        self._use([w[None] for w in net.weights], [b[None] for b in net.biases])

    def _use(self, weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
        """Take (K, o, i) weights and (K, o) biases; the views made from them, once."""
        K = self.K
        o0, i0 = weights[0].shape[1:]
        self._weights, self._biases = weights, biases
        self._first_transposed = weights[0].reshape(K * o0, i0).T  # all members side by side
        self._first_right = weights[0].swapaxes(-1, -2)  # (K, sizes[0], sizes[1])
        # The deeper layers' right-hand operands, forward (wᵀ) and backward (w).
        own = weights if K > 1 else [w[0] for w in weights]
        self._forward_right = [w.swapaxes(-1, -2) for w in own]
        self._backward_right = own
        self._wide_biases = [b.reshape(-1) for b in biases]
        self._batches: dict[int, _Batch] = {}

    def _batch(self, X: np.ndarray) -> _Batch:
        """The buffers of a batch of k <= m examples and the steps over them, made once
        (X, shape (k, sizes[0]) or per member (K, k, sizes[0]), only shows the layout of
        the batches to come)."""
        k = X.shape[-2]
        K, batch = self.K, _Batch()
        batch.z, batch.a, batch.delta = ([buf[:k] for buf in group]
                                         for group in (self._z, self._a, self._delta))  # fmt: skip
        batch.deriv = [buf[:k] for buf in self._deriv]
        for name in ("z", "a", "delta"):
            wide = getattr(batch, name)
            members = wide if K == 1 else [w.reshape(k, K, -1).transpose(1, 0, 2) for w in wide]
            setattr(batch, f"{name}_members", members)
        z, a, delta = batch.z, batch.a, batch.delta
        zm, am, dm = batch.z_members, batch.a_members, batch.delta_members
        last = len(z) - 1
        # The first layer's product, z^1 = X·[w_1; …; w_K]ᵀ: everything but X, whose
        # transpose (Fortran-ordered for a C-ordered X) is the gemm's second operand.
        if X.ndim == 2:
            gemm, (_, right, _, _, out, trans, _, _) = prepared_matmul(
                z[0], X, self._first_transposed
            )
            batch.first = gemm, right, out, trans
        else:  # each member's own batch: one product per member, batched
            batch.first = None
        # After the first product, the pass is a fixed list of in-place calls on these
        # buffers: per layer the product, z += b (one BLAS call, bit for bit NumPy's) and
        # a = f(z); back, the product δ^l w^l, f'(z^{l−1}) and δ^{l−1} = (δ^l w^l) ⊙ f'.
        ones = self.ones[:k]
        batch.forward = []
        for l, f in enumerate(self._layer_activations):
            if l > 0:
                batch.forward.append(_product(zm[l], am[l - 1], self._forward_right[l], K))
            batch.forward += [prepared_add_rows(z[l], self._wide_biases[l], ones),
                              (f.forward_for(z[l].size), (z[l], a[l]))]  # fmt: skip
        batch.backward = []
        for l in range(last, 0, -1):
            f, deriv = self._layer_activations[l - 1], batch.deriv[l - 1]
            batch.backward.append(_product(dm[l - 1], dm[l], self._backward_right[l], K))
            batch.backward += f.derivative_calls(z[l - 1], a[l - 1], deriv)
            batch.backward.append((np.multiply, (delta[l - 1], deriv, delta[l - 1])))
        batch.output = zm[-1], am[-1], dm[-1]  # z^L, a^L and δ^L
        # (δ^l, a^{l−1}) of every layer; the batch's inputs go in at every run.
        batch.factors = [(dm[0], None)] + [(dm[l], am[l - 1]) for l in range(1, last + 1)]
        self._batches[X.shape] = batch  # by shape: (k, sizes[0]), or (K, k, sizes[0])
        return batch

    def feedforward(self, X: np.ndarray) -> _Batch:
        r"""The forward pass of the batch X, shape (k, sizes[0]), C-contiguous, k <= m,
        or, with K members, each member's own batch: shape (K, k, sizes[0]).

        z^l = a^{l−1} w^lᵀ + b^l and a^l = f(z^l) of every layer, written into
        the buffers of the returned batch (``batch.z[l]``, ``batch.a[l]``,
        wide: shape (k, K·sizes[l+1])), overwritten by the next pass.
        """
        if self.net is not None and self.net.params is not self._params:
            self._bind()
        batch = self._batches.get(X.shape) or self._batch(X)
        if batch.first is None:  # z^1_k = X_k·w_kᵀ of each member's own batch
            np.matmul(X, self._first_right, out=batch.z_members[0])
        else:
            gemm, right, out, trans = batch.first
            gemm(1.0, right, X.T, 0.0, out, trans, 0, 1)  # z^1 = X·wᵀ, into batch.z[0]
        for call, arguments in batch.forward:
            call(*arguments)
        return batch

    def run(self, X: np.ndarray, targets: np.ndarray, output_scale=None) -> Backprop:
        """Backpropagate one batch and return ``self``, holding its gradient in factored form.

        Parameters
        ----------
        X : ndarray, shape (k, sizes[0]), k <= m, C-contiguous
            Shared by all members; or each member's own batch, shape (K, k, sizes[0]).
        targets : ndarray, shape (k, sizes[-1]) or (K, k, sizes[-1]), one-hot
        output_scale : ndarray, shape (K, 1, 1) (one network: (1, 1)), optional
            A factor for each member's δ^L, and so for every δ^l, which are
            linear in it (the ensemble's η_k/m_B).

        Notes
        -----
        Row-per-example form of Nielsen's BP1-BP3, for all k examples at once:
        z^l = a^{l−1} w^lᵀ + b^l, δ^L = ∂C/∂z^L, δ^{l−1} = (δ^l w^l) ⊙ f'(z^{l−1}).
        The factors stay valid until the next run, whatever happens to the
        weights in between.
        """
        batch = self.feedforward(X)
        z, a, output = batch.output
        self._cost_delta(z, a, targets, output)
        if output_scale is not None:
            output *= output_scale
        for call, arguments in batch.backward:
            call(*arguments)
        batch.factors[0] = (batch.delta_members[0], X)
        self.batch = batch
        self._formed = False
        return self

    def factors(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(δ^l, a^{l−1}) of every layer for the last batch, shapes (k, sizes[l+1]) and
        (k, sizes[l]): Σ_x ∂C_x/∂w^l = δ^lᵀ a^{l−1} and Σ_x ∂C_x/∂b^l = Σ_rows δ^l.

        With K members δ^l has shape (K, k, sizes[l+1]) and a^{l−1} (K, k, sizes[l]),
        except the inputs X, (k, sizes[0]), which all members share."""
        return [] if self.batch is None else self.batch.factors

    def _form(self) -> None:
        if self._grad is None:
            if self.net is not None:
                self._grad = np.empty_like(self.net.params)
                self._grad_weights, self._grad_biases = self.net.unflatten(self._grad)
                self._grad_into = self._grad_weights, self._grad_biases
            else:
                self._grad_weights = [np.empty_like(w) for w in self._weights]
                self._grad_biases = [np.empty_like(b) for b in self._biases]
                self._grad = [*self._grad_weights, *self._grad_biases]
                # The products write into the (K, ...) arrays, or one member's matrices.
                self._grad_into = (
                    (self._grad_weights, self._grad_biases)
                    if self.K > 1
                    else ([g[0] for g in self._grad_weights], [g[0] for g in self._grad_biases])
                )
        for (delta, inputs), grad_w, grad_b in zip(self.factors(), *self._grad_into):
            if self.K == 1:
                matmul_into(grad_w, delta.T, inputs)
            else:
                np.matmul(delta.swapaxes(-1, -2), inputs, out=grad_w)
            np.add.reduce(delta, axis=-2, out=grad_b)
        self._formed = True

    @property
    def grad(self) -> np.ndarray:
        """Σ_x ∂C_x/∂θ of the last batch, shape (n_weights + n_biases,), laid out like
        ``params`` (one buffer, overwritten by the next run). With K members, the list of
        :attr:`grad_weights` then :attr:`grad_biases`."""
        if not self._formed:
            self._form()
        return self._grad

    @property
    def grad_weights(self) -> list[np.ndarray]:
        """Per-layer views of :attr:`grad`: Σ_x ∂C_x/∂w^l, shape (sizes[l+1], sizes[l])
        ((K, sizes[l+1], sizes[l]) with K members)."""
        if not self._formed:
            self._form()
        return self._grad_weights

    @property
    def grad_biases(self) -> list[np.ndarray]:
        """Per-layer views of :attr:`grad`: Σ_x ∂C_x/∂b^l, shape (sizes[l+1],)
        ((K, sizes[l+1]) with K members)."""
        if not self._formed:
            self._form()
        return self._grad_biases
