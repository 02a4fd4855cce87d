"""How fast decaylab trains, against the machine's limits, a per-example loop, PyTorch, products.

Trains the book's [784, 30, 10] sigmoid / cross-entropy network with eq. 93 on
random MNIST-shaped data (float64 unless stated) and measures, in this one
process and run:

* roofline: the machine's large-GEMM rate (float64 and float32, through the
  BLAS decaylab's steps use) and its memory copy bandwidth for buffers the
  size of one network's parameters, of the ensemble's and of a large array;
* decaylab: the time per epoch of ``dl.train`` (its fixed per-call cost,
  argument checks and the initial record, subtracted), with the GFLOP/s and
  bytes per step it achieves as fractions of those limits;
* per-example: the algorithm of Nielsen's ``network2.py`` (one example at a
  time, column vectors), written out below;
* PyTorch CPU eager (only if torch is installed): the same network, update
  and batch order with ``torch.optim.SGD``;
* floor: the five matrix products of every step of one epoch and nothing
  else, on batches gathered beforehand (``np.matmul``, NumPy's BLAS); beside
  it, to tell where decaylab's time beyond it goes, the same products
  through SciPy's BLAS (``floor_scipy``, the library decaylab's steps call)
  and the floor with each batch gathered at its step (``floor_gather``,
  ``np.take`` of the shuffled rows, as ``dl.train`` does);
* monitoring: what ``dl.train`` does once per epoch besides the steps,
  timed on its own;
* ensemble: ``dl.train_ensemble`` of K = 16 networks sharing their batches at
  batch sizes 10 and 100, against 16 separate ``dl.train`` runs;
* both cores: two runs (or two halves of the ensemble) in two worker
  processes with one BLAS thread each, against the same work in this process
  with two BLAS threads;
* float32: the speed-up over float64 and the largest difference of the
  trajectories after several epochs, single runs and ensembles, and the
  error of a measured per-epoch decay factor against the exact one;
* small networks: [64, 30, 10] on the 1,000 bundled digits at batch 10, the
  report's own networks: ``dl.train`` against the leanest plain-NumPy loop
  of eq. 93 (the pure-NumPy limit), a JAX single run (only if jax is
  installed; jit + ``lax.scan`` over the epoch, float64) and
  ``dl.train_ensemble`` of 24 members sharing their batches, per member.

All implementations start from the same weights and take the same batches in
the same order; the agreement of their weights after one epoch is printed as
a check that they compute the same thing. Every time is the best of several
interleaved repetitions (the median is written to the JSON too). The tables
are printed and written to ``benchmarks/results/training.json``.

Usage::

    python benchmarks/bench_training.py            # a few minutes on 2 cores
    python benchmarks/bench_training.py --quick    # a smaller data set, under a minute
    python benchmarks/bench_training.py --small-only   # only the [64, 30, 10] comparisons
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import decaylab as dl
from decaylab._blas import matmul_into, scipy_blas

SIZES = [784, 30, 10]
ETA, LMBDA = 0.5, 5.0
BATCH_SIZES = (10, 100, 1000)
ENSEMBLE_MEMBERS, ENSEMBLE_BATCHES = 16, (10, 100)
FLOAT32_EPOCHS = 5

# (name, measured key, comparison, target)
TARGETS = [
    ("batch 10: per-example / decaylab", ("speedup_vs_per_example", 10), ">=", 8.0),
    ("batch 10: PyTorch eager / decaylab", ("speedup_vs_torch", 10), ">=", 6.0),
    ("batch 100: PyTorch eager / decaylab", ("speedup_vs_torch", 100), ">=", 2.5),
    ("batch 10: floor / decaylab", ("floor_fraction", 10), ">=", 0.75),
    ("batch 100: floor / decaylab", ("floor_fraction", 100), ">=", 0.75),
    ("batch 1000: floor / decaylab", ("floor_fraction", 1000), ">=", 0.75),
    ("monitoring / epoch, batch 10", ("monitoring_fraction", 10), "<", 0.05),
    ("monitoring / epoch, batch 100", ("monitoring_fraction", 100), "<", 0.05),
    ("monitoring / epoch, batch 1000", ("monitoring_fraction", 1000), "<", 0.05),
    ("ensemble K=16, batch 100: 16 separate runs / ensemble", ("ensemble_speedup", 100), ">=", 4.0),
    ("[64, 30, 10] batch 10: plain-NumPy loop / decaylab", ("small_numpy_loop", 10), ">=", 0.8),
    ("[64, 30, 10] batch 10: JAX / ensemble of 24 per member", ("small_jax_ensemble", 10), ">=",
     1.0),
]  # fmt: skip


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-shaped random data: pixels uniform in [0, 1), labels uniform in 0..9."""
    rng = np.random.default_rng(seed)
    return rng.random((n, SIZES[0])), rng.integers(0, SIZES[-1], n)


def one_hot(y: np.ndarray) -> np.ndarray:
    targets = np.zeros((len(y), SIZES[-1]))
    targets[np.arange(len(y)), y] = 1.0
    return targets


def timed(fn, *args, inner: int = 1, **kwargs) -> float:
    """Seconds taken by ``fn(*args, **kwargs)``; with ``inner`` > 1, the best of that many calls.

    Short calls are timed several times because a single descheduling by the
    operating system can double them.
    """
    gc.collect()
    best = float("inf")
    for _ in range(inner):
        start = time.perf_counter()
        fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best


# ----------------------------------------------------------------------------- per-example


class PerExample:
    """Nielsen's network2.py, ported to Python 3 as it is: one example at a time.

    Parameters are lists of arrays, biases as column vectors; ``backprop``
    returns one example's gradient, ``update_mini_batch`` sums them and
    applies eq. 93. Only what the benchmark needs is kept (no monitoring).
    """

    def __init__(self, net: dl.Network):
        self.num_layers = len(net.sizes)
        self.weights = [w.copy() for w in net.weights]
        self.biases = [b.reshape(-1, 1).copy() for b in net.biases]

    @staticmethod
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    def sigmoid_prime(self, z):
        return self.sigmoid(z) * (1 - self.sigmoid(z))

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = self.sigmoid(z)
            activations.append(activation)
        delta = activations[-1] - y  # CrossEntropyCost.delta
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = self.sigmoid_prime(z)
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return (nabla_b, nabla_w)

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [
            (1 - eta * (lmbda / n)) * w - (eta / len(mini_batch)) * nw
            for w, nw in zip(self.weights, nabla_w)
        ]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def epoch(self, examples, order, batch_size, eta, lmbda):
        n = len(examples)
        shuffled = [examples[i] for i in order]
        for start in range(0, n, batch_size):
            self.update_mini_batch(shuffled[start : start + batch_size], eta, lmbda, n)

    def params(self) -> np.ndarray:
        return np.concatenate([w.ravel() for w in self.weights] + [b.ravel() for b in self.biases])


# ----------------------------------------------------------------------------- PyTorch


class TorchEager:
    """The same network, update and batch order in PyTorch eager mode (float64, CPU)."""

    def __init__(self, torch, net: dl.Network, X, targets, *, eta, lmbda):
        self.torch = torch
        self.X = torch.from_numpy(X)
        self.targets = torch.from_numpy(targets)
        self.weights = [torch.tensor(w, requires_grad=True) for w in net.weights]
        self.biases = [torch.tensor(b, requires_grad=True) for b in net.biases]
        n = len(X)
        # SGD's weight_decay on a mean-reduced loss: w ← w − η(g + (λ/n)w), which is
        # eq. 93; the biases get no decay.
        self.optimizer = torch.optim.SGD(
            [
                {"params": self.weights, "weight_decay": lmbda / n},
                {"params": self.biases, "weight_decay": 0.0},
            ],
            lr=eta,
        )

    def epoch(self, order, batch_size):
        torch = self.torch
        order = torch.from_numpy(order)
        w1, w2 = self.weights
        b1, b2 = self.biases
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            xb, yb = self.X[idx], self.targets[idx]
            z = torch.sigmoid(xb @ w1.T + b1) @ w2.T + b2
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                z, yb, reduction="sum"
            ) / len(idx)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()

    def params(self) -> np.ndarray:
        return np.concatenate([p.detach().numpy().ravel() for p in self.weights + self.biases])


# ----------------------------------------------------------------------------- floor


def products_epoch(weights, batches, buffers) -> None:
    """The five matrix products of every step of one epoch, and nothing else."""
    w1, w2 = weights
    z1, z2, g1, g2, d1 = buffers
    for xb in batches:
        k = len(xb)
        np.matmul(xb, w1.T, out=z1[:k])  # forward, layer 1
        np.matmul(z1[:k], w2.T, out=z2[:k])  # forward, layer 2
        np.matmul(z2[:k].T, z1[:k], out=g2)  # Σ_x ∂C_x/∂w, layer 2
        np.matmul(z2[:k], w2, out=d1[:k])  # δ back to layer 1
        np.matmul(d1[:k].T, xb, out=g1)  # Σ_x ∂C_x/∂w, layer 1


def products_epoch_scipy(weights, batches, buffers) -> None:
    """The same five products through SciPy's BLAS, the library decaylab's steps call."""
    w1, w2 = weights
    z1, z2, g1, g2, d1 = buffers
    for xb in batches:
        k = len(xb)
        matmul_into(z1[:k], xb, w1.T)
        matmul_into(z2[:k], z1[:k], w2.T)
        matmul_into(g2, z2[:k].T, z1[:k])
        matmul_into(d1[:k], z2[:k], w2)
        matmul_into(g1, d1[:k].T, xb)


def products_epoch_gathered(weights, X, order, m, buffers, batch) -> None:
    """The floor with each batch gathered from X at its step, as ``dl.train`` gathers it."""
    for start in range(0, len(order), m):
        idx = order[start : start + m]
        xb = np.take(X, idx, axis=0, out=batch[: len(idx)], mode="clip")
        products_epoch(weights, [xb], buffers)


def monitoring_epoch(net: dl.Network) -> None:
    """What dl.train does once per epoch besides the steps and the shuffle."""
    net.params.copy()  # kept to undo an epoch on Ctrl-C or divergence
    np.isfinite(net.params).all()
    dl.layer_statistics(net.weights)
    dl.layer_statistics(net.biases)
    net.weight_sum_of_squares()


# ----------------------------------------------------------------------------- roofline


def gemm_rate(dtype, size: int, repeats: int) -> float:
    """GFLOP/s of one (size × size) · (size × size) product through decaylab's BLAS, best of
    ``repeats`` (2·size³ floating-point operations)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((size, size)).astype(dtype), rng.random((size, size)).astype(dtype)
    out = np.empty((size, size), dtype=dtype)
    matmul_into(out, a, b)  # warm up: thread pool and pages
    seconds = min(timed(matmul_into, out, a, b) for _ in range(repeats))
    return 2.0 * size**3 / seconds / 1e9


def copy_bandwidth(n_bytes: int, repeats: int) -> float:
    """GB/s of ``np.copyto`` between two float64 buffers of ``n_bytes`` each, counting the
    bytes read and the bytes written (2·n_bytes a copy); best of ``repeats`` timings of
    enough copies to take about 20 ms."""
    source = np.random.default_rng(1).random(max(n_bytes // 8, 1))
    target = np.empty_like(source)
    copies = max(1, int(20e-3 * 20e9 / n_bytes))  # about 20 ms at 20 GB/s

    def copy_many():
        for _ in range(copies):
            np.copyto(target, source)

    copy_many()
    seconds = min(timed(copy_many) for _ in range(repeats)) / copies
    return 2.0 * source.nbytes / seconds / 1e9


def parameter_bytes(sizes, members: int = 1, itemsize: int = 8) -> int:
    n_weights = sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    return members * (n_weights + sum(sizes[1:])) * itemsize


def step_work(sizes, m: int, members: int = 1, itemsize: int = 8) -> dict:
    """Floating-point operations and bytes of memory traffic of one step, as counted here.

    Operations: 2 per multiply-add of the products of a step: the forward
    product and the fused gradient update of every layer, and δ's product
    back through every layer after the first (elementwise work not counted).
    Bytes: every weight read by the forward product, read again by δ's
    product (layers after the first) and read and written by the update;
    every bias read and written; and the batch of inputs gathered (read and
    written) and read by the first layer's two products. Activations and δ
    (m·30 numbers) are left out.
    """
    layers = list(zip(sizes[:-1], sizes[1:]))
    n_weights = sum(i * o for i, o in layers)
    deep = sum(i * o for i, o in layers[1:])
    flops = 2 * m * members * (2 * n_weights + deep)
    bytes_moved = itemsize * (
        members * (3 * n_weights + deep + 2 * sum(sizes[1:])) + 4 * m * sizes[0]
    )
    return {"flops": flops, "bytes": bytes_moved}


def roofline(repeats: int, quick: bool) -> dict:
    size = 1000 if quick else 2000
    single, ensemble = parameter_bytes(SIZES), parameter_bytes(SIZES, ENSEMBLE_MEMBERS)
    return {
        "gemm_size": size,
        "gemm_gflops": {
            "float64": gemm_rate(np.float64, size, repeats),
            "float32": gemm_rate(np.float32, size, repeats),
        },
        "copy_gbps": {
            "single": copy_bandwidth(single, repeats),
            "ensemble": copy_bandwidth(ensemble, repeats),
            "large": copy_bandwidth(256 * 2**20, repeats),
        },
        "copy_bytes": {"single": single, "ensemble": ensemble, "large": 256 * 2**20},
    }


def against_limits(seconds_per_step: float, work: dict, peak_gflops: float, gbps: float) -> dict:
    """Achieved rates of a step as fractions of the limits, and of the roofline time
    max(operations / peak, bytes / bandwidth)."""
    limit = max(work["flops"] / (peak_gflops * 1e9), work["bytes"] / (gbps * 1e9))
    return {
        "seconds_per_step": seconds_per_step,
        **work,
        "gflops": work["flops"] / seconds_per_step / 1e9,
        "gbps": work["bytes"] / seconds_per_step / 1e9,
        "flop_fraction": work["flops"] / seconds_per_step / 1e9 / peak_gflops,
        "byte_fraction": work["bytes"] / seconds_per_step / 1e9 / gbps,
        "bound": "bytes" if work["bytes"] / gbps > work["flops"] / peak_gflops else "flops",
        "roofline_seconds": limit,
        "roofline_fraction": limit / seconds_per_step,
    }


# ----------------------------------------------------------------------------- a step


def step_pieces(X, targets, m: int, repeats: int) -> dict:
    """Microseconds of the pieces of one step at batch size m, each the best of 5·``repeats``
    interleaved timings of many calls: the gather of the batch, backpropagation (forward
    pass and δ), eq. 93 fused (``sgd_step`` on the factored gradient), a whole step with it
    and with the straightforward update (the gradient's products into a buffer, then
    decay, scale and subtract), and the first layer's forward and update products alone."""
    from decaylab.network import Backprop

    net = dl.Network(SIZES, seed=0)
    backprop = Backprop(net, m)
    idx = np.random.default_rng(0).permutation(len(X))[:m]
    xb, tb = np.empty((m, X.shape[1])), np.empty((m, targets.shape[1]))
    # A tiny η keeps the weights, and so the work, the same over many calls.
    step = dict(multiplier=1.0 - 1e-12, eta=1e-12, batch_length=m)

    def gather():
        np.take(X, idx, axis=0, out=xb, mode="clip")
        np.take(targets, idx, axis=0, out=tb, mode="clip")

    gather()
    weights = net.weights[0]
    delta, inputs = backprop.run(xb, tb).factors()[0]
    z = np.empty((m, weights.shape[0]))

    pieces = {
        "gather": gather,
        "backpropagation": lambda: backprop.run(xb, tb),
        "fused update": lambda: dl.sgd_step(net, backprop, **step),
        "backpropagation + fused update": lambda: dl.sgd_step(net, backprop.run(xb, tb), **step),
        # The gradient's products into a buffer, then decay, scale and subtract.
        "backpropagation + straightforward update": lambda: dl.sgd_step(
            net, backprop.run(xb, tb).grad, **step
        ),
        "first-layer forward product": lambda: matmul_into(z, xb, weights.T),
        "first-layer fused update product": lambda: matmul_into(
            weights, delta.T, inputs, alpha=-1e-12, beta=1.0
        ),
    }
    calls = max(10, 5_000 // m)
    times: dict[str, list[float]] = {name: [] for name in pieces}
    # Interleaved, and more repetitions than the epochs get: each is short.
    for _ in range(5 * repeats):
        for name, piece in pieces.items():
            times[name].append(timed(lambda piece=piece: [piece() for _ in range(calls)]))
    return {name: min(t) / calls * 1e6 for name, t in times.items()}


# ----------------------------------------------------------------------------- both cores

_WORKER_DATA: dict = {}


def _one_thread() -> None:
    threadpool_limits(limits=1, user_api="blas")


def _job(n: int, m: int, members: int, seed: int) -> float:
    """One epoch of ``members`` networks on the data of ``(n, seed)``, made once per process."""
    if (n, seed) not in _WORKER_DATA:
        _WORKER_DATA[n, seed] = make_data(n, seed=seed)
    return epoch_seconds(*_WORKER_DATA[n, seed], m, members, "float64")


def both_cores(n: int, repeats: int) -> dict:
    """Two equal pieces of work: in this process with two BLAS threads, one after the other,
    against two worker processes with one thread each, at the same time (wall times)."""
    cases = [(f"single, batch {m}", m, 1) for m in BATCH_SIZES] + [
        (f"ensemble of {ENSEMBLE_MEMBERS}, batch {m}", m, ENSEMBLE_MEMBERS // 2)
        for m in ENSEMBLE_BATCHES
    ]
    out = {}
    with ProcessPoolExecutor(2, mp_context=get_context("spawn"), initializer=_one_thread) as pool:
        # Start both workers and give each the data before anything is timed.
        list(pool.map(_job, [n, n], [n, n], [1, 1], [5, 6]))
        for name, m, members in cases:
            threads, processes = [], []
            for _ in range(repeats):
                with threadpool_limits(limits=2, user_api="blas"):
                    start = time.perf_counter()
                    _job(n, m, members, 5)
                    _job(n, m, members, 6)
                    threads.append(time.perf_counter() - start)
                start = time.perf_counter()
                list(pool.map(_job, [n, n], [m, m], [members, members], [5, 6]))
                processes.append(time.perf_counter() - start)
            out[name] = {
                "two_threads": summary(threads),
                "two_processes": summary(processes),
                "threads_over_processes": min(threads) / min(processes),
            }
    return out


# ----------------------------------------------------------------------------- float32


def epoch_seconds(X, y, m: int, members: int, dtype: str) -> float:
    """Seconds for one epoch of ``members`` networks of ``dtype`` on (X, y): one ``dl.train``
    call for one member, one ``dl.train_ensemble`` call for more."""
    nets = [dl.Network(SIZES, seed=s, dtype=dtype) for s in range(members)]
    data = (X.astype(dtype), y)
    common = dict(epochs=1, batch_size=m, eta=ETA, seed=3, training_metrics=False,
                  progress=False)  # fmt: skip
    gc.collect()
    start = time.perf_counter()
    if members == 1:
        dl.train(nets[0], data, lmbda=LMBDA, **common)
    else:
        dl.train_ensemble(nets, data, lmbda=list(np.geomspace(0.1, 10.0, members)), **common)
    return time.perf_counter() - start


def trained(X, y, m: int, together: bool, dtype: str) -> list[dl.Network]:
    """The 16 networks of the λ sweep after FLOAT32_EPOCHS epochs, as one ensemble or as
    separate runs."""
    lmbdas = list(np.geomspace(0.1, 10.0, ENSEMBLE_MEMBERS))
    nets = [dl.Network(SIZES, seed=s, dtype=dtype) for s in range(ENSEMBLE_MEMBERS)]
    common = dict(epochs=FLOAT32_EPOCHS, batch_size=m, eta=ETA, seed=7, training_metrics=False,
                  progress=False)  # fmt: skip
    data = (X.astype(dtype), y)
    if together:
        dl.train_ensemble(nets, data, lmbda=lmbdas, **common)
    else:
        for net, lmbda in zip(nets, lmbdas):
            dl.train(net, data, lmbda=lmbda, **common)
    return nets


def pure_decay_factor(dtype: str, n: int, m: int) -> float:
    """The per-epoch factor of ‖w‖ measured over one epoch of pure decay (zero gradient)."""
    net = dl.Network(SIZES, seed=0, dtype=dtype)
    zero = np.zeros_like(net.params)
    before = np.sqrt(net.weight_sum_of_squares())
    multiplier = 1.0 - ETA * LMBDA / n
    for start in range(0, n, m):
        zero[...] = 0.0
        dl.sgd_step(net, zero, multiplier=multiplier, eta=ETA, batch_length=min(m, n - start))
    return float(np.sqrt(net.weight_sum_of_squares()) / before)


def float32_comparison(n: int, repeats: int) -> dict:
    """float32 against float64: time per epoch, and how far the trajectories part."""
    X, y = make_data(n, seed=4)
    out: dict = {"epochs": FLOAT32_EPOCHS, "n": n, "single": {}, "ensemble": {}}
    cases = (("single", 1, BATCH_SIZES), ("ensemble", ENSEMBLE_MEMBERS, ENSEMBLE_BATCHES))
    for kind, members, batch_sizes in cases:
        for m in batch_sizes:
            times = {"float64": [], "float32": []}
            for _ in range(repeats):
                for dtype in times:
                    times[dtype].append(epoch_seconds(X, y, m, members, dtype))
            out[kind][str(m)] = {"speedup": min(times["float64"]) / min(times["float32"])}
    # Trajectories: the same initial weights (drawn in float64), batches and settings, for
    # every member of the λ sweep: how far rounding carries a run depends on the run.
    for kind in ("single", "ensemble"):
        for m in ENSEMBLE_BATCHES:
            final = {dt: trained(X, y, m, kind == "ensemble", dt) for dt in ("float64", "float32")}
            pairs = list(zip(final["float64"], final["float32"]))
            parameters = [
                np.abs(a.params - b.params).max() / np.abs(a.params).max() for a, b in pairs
            ]
            norms = [
                abs(1.0 - np.sqrt(b.weight_sum_of_squares() / a.weight_sum_of_squares()))
                for a, b in pairs
            ]
            out[kind][str(m)].update(
                median_parameter_difference=float(np.median(parameters)),
                largest_parameter_difference=float(np.max(parameters)),
                median_norm_difference=float(np.median(norms)),
                largest_norm_difference=float(np.max(norms)),
            )
    big_n = 50_000
    exact = (1.0 - ETA * LMBDA / big_n) ** -(-big_n // 10)
    out["decay_factor"] = {
        "n": big_n,
        "batch_size": 10,
        "exact": exact,
        "closed_form_relative_gap": abs(np.exp(-ETA * LMBDA / 10) - exact) / exact,
        **{
            f"{dtype}_relative_error": abs(pure_decay_factor(dtype, big_n, 10) - exact) / exact
            for dtype in ("float64", "float32")
        },
    }
    return out


# ----------------------------------------------------------------------------- small networks

SMALL_SIZES = [64, 30, 10]
SMALL_BATCH = 10
SMALL_MEMBERS = 24
SMALL_EPOCHS = 3


class NumpyLoop:
    """The leanest plain-NumPy loop of eq. 93 for a [n_in, h, 10] sigmoid / cross-entropy
    network: batches gathered beforehand, every buffer preallocated, every operation in
    place, and nothing else (no checks, no records). The pure-NumPy limit of a step."""

    def __init__(self, net: dl.Network, m: int):
        self.w1, self.w2 = (w.copy() for w in net.weights)
        self.b1, self.b2 = (b.copy() for b in net.biases)
        h, k = self.w1.shape[0], self.w2.shape[0]
        self.z1, self.a1, self.d1 = (np.empty((m, h)) for _ in range(3))
        self.z2, self.d2 = np.empty((m, k)), np.empty((m, k))
        self.g1, self.g2 = np.empty_like(self.w1), np.empty_like(self.w2)
        self.h1, self.h2 = np.empty_like(self.b1), np.empty_like(self.b2)

    @staticmethod
    def _sigmoid(z, out):
        np.negative(z, out=out)
        np.exp(out, out=out)
        out += 1.0
        np.reciprocal(out, out=out)

    def epoch(self, batches, eta: float, multiplier: float) -> None:
        w1, w2, b1, b2 = self.w1, self.w2, self.b1, self.b2
        for xb, tb in batches:
            k = len(xb)
            z1, a1, d1, z2, d2 = self.z1[:k], self.a1[:k], self.d1[:k], self.z2[:k], self.d2[:k]
            np.matmul(xb, w1.T, out=z1)
            z1 += b1
            self._sigmoid(z1, a1)
            np.matmul(a1, w2.T, out=z2)
            z2 += b2
            self._sigmoid(z2, d2)
            d2 -= tb  # δ² = a² − y (cross-entropy)
            np.matmul(d2, w2, out=d1)
            np.subtract(1.0, a1, out=z1)  # σ'(z¹) = a¹(1 − a¹), in z¹'s buffer
            z1 *= a1
            d1 *= z1
            scale = eta / k
            np.matmul(d2.T, a1, out=self.g2)
            np.matmul(d1.T, xb, out=self.g1)
            for w, g in ((w1, self.g1), (w2, self.g2)):
                w *= multiplier
                g *= scale
                w -= g
            for b, h, d in ((b1, self.h1, d1), (b2, self.h2, d2)):
                np.add.reduce(d, axis=0, out=h)
                h *= scale
                b -= h

    def params(self) -> np.ndarray:
        return np.concatenate([p.ravel() for p in (self.w1, self.w2, self.b1, self.b2)])


def jax_epoch(jax, net: dl.Network, X, targets, order, m: int, *, eta: float, multiplier: float):
    """A JAX single run of one epoch (jit + ``lax.scan`` over the batches, float64, CPU):
    returns ``run()``, which trains a copy of ``net``'s parameters for one epoch on the
    batches in ``order`` (gathered beforehand, n divisible by m) and returns them."""
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    params = tuple(jnp.asarray(p) for p in [*net.weights, *net.biases])

    def summed_cost(p, xb, tb):
        w1, w2, b1, b2 = p
        z = jax.nn.sigmoid(xb @ w1.T + b1) @ w2.T + b2
        return jnp.sum(jnp.logaddexp(0.0, z) - tb * z)  # cross-entropy of a sigmoid output

    def step(p, batch):
        (w1, w2, b1, b2), (g1, g2, h1, h2) = p, jax.grad(summed_cost)(p, *batch)
        s = eta / m
        # Eq. 93: the weights decay, the biases do not.
        return (multiplier * w1 - s * g1, multiplier * w2 - s * g2, b1 - s * h1, b2 - s * h2), None

    @jax.jit
    def epoch(p, xs, ts):
        return jax.lax.scan(step, p, (xs, ts))[0]

    xs = jnp.asarray(X[order].reshape(-1, m, X.shape[1]))
    ts = jnp.asarray(targets[order].reshape(-1, m, targets.shape[1]))

    def run():
        return jax.block_until_ready(epoch(params, xs, ts))

    run()  # compile
    return run


def small_networks(repeats: int, use_jax: bool) -> dict:
    """[64, 30, 10] on the 1,000 digits at batch 10 (one BLAS thread as set by the caller):
    one epoch of ``dl.train``, of the plain-NumPy loop, of a JAX single run, and of
    ``dl.train_ensemble`` of 24 members (λ from 0.1 to 10) per member, interleaved."""
    data = dl.load_digits()
    X, y = data.train
    n, m = len(X), SMALL_BATCH
    targets = np.zeros((n, SMALL_SIZES[-1]))
    targets[np.arange(n), y] = 1.0
    seed = 1
    order = np.random.default_rng(seed).permutation(n)  # dl.train's first epoch with seed 1
    batches = [(X[order[i : i + m]], targets[order[i : i + m]]) for i in range(0, n, m)]
    start = dl.Network(SMALL_SIZES, seed=0)
    multiplier = 1.0 - ETA * LMBDA / n
    members = [dl.Network(SMALL_SIZES, seed=s) for s in range(SMALL_MEMBERS)]
    lmbdas = list(np.geomspace(0.1, 10.0, SMALL_MEMBERS))
    common = dict(batch_size=m, eta=ETA, seed=seed, training_metrics=False, progress=False)
    jax = None
    if use_jax:
        # XLA's own thread pool held to one thread, as BLAS is (unless the caller set flags).
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
        try:
            import jax
        except ImportError:
            jax = None
    run_jax = None if jax is None else jax_epoch(
        jax, start, X, targets, order, m, eta=ETA, multiplier=multiplier
    )  # fmt: skip

    def single(epochs):
        dl.train(start.copy(), (X, y), epochs=epochs, lmbda=LMBDA, **common)

    def ensemble(epochs):
        nets = [net.copy() for net in members]
        dl.train_ensemble(nets, (X, y), epochs=epochs, lmbda=lmbdas, **common)

    def numpy_loop():
        loop = NumpyLoop(start, m)
        for _ in range(SMALL_EPOCHS):
            loop.epoch(batches, ETA, multiplier)

    def jax_runs():
        # The ensemble's work as separate JAX runs: every member's epochs, one after another.
        for _ in range(SMALL_EPOCHS * SMALL_MEMBERS):
            run_jax()

    # Each timed piece is SMALL_EPOCHS epochs of its runs, so that the pieces compared take
    # about as long as each other (a short one is less often interrupted on a busy machine).
    pieces = {
        "single_0": lambda: single(0),
        "single": lambda: single(SMALL_EPOCHS),
        "ensemble_0": lambda: ensemble(0),
        "ensemble": lambda: ensemble(SMALL_EPOCHS),
        "numpy_loop": numpy_loop,
    }
    if run_jax is not None:
        pieces["jax"] = jax_runs
    clocks = {"wall": time.perf_counter, "cpu": time.process_time}
    times: dict[str, dict[str, list[float]]] = {c: {name: [] for name in pieces} for c in clocks}
    with np.errstate(over="ignore"):
        for _ in range(3 * repeats):  # interleaved
            for name, piece in pieces.items():
                gc.collect()
                started = {c: clock() for c, clock in clocks.items()}
                piece()
                for c, clock in clocks.items():
                    times[c][name].append(clock() - started[c])
    epoch = {c: small_epochs({name: min(t) for name, t in per.items()}) for c, per in times.items()}
    ratios = {c: small_ratio_table(e) for c, e in epoch.items()}
    # The same first epoch, as a check that they compute the same thing.
    net = start.copy()
    dl.train(net, (X, y), epochs=1, lmbda=LMBDA, **common)
    loop = NumpyLoop(start, m)
    loop.epoch(batches, ETA, multiplier)
    agreement = {"numpy_loop": float(np.abs(net.params - loop.params()).max())}
    if run_jax is not None:
        final = np.concatenate([np.asarray(p).ravel() for p in run_jax()])
        agreement["jax"] = float(np.abs(net.params - final).max())
    return {
        "settings": {
            "sizes": SMALL_SIZES,
            "n": n,
            "batch_size": m,
            "members": SMALL_MEMBERS,
            "epochs_timed": SMALL_EPOCHS,
            "data": "load_digits().train",
            "jax": None if jax is None else jax.__version__,
        },
        # Wall time is what the targets are judged by; the process's CPU time (all its
        # threads) is shown beside it, as a check on a machine busy with other work.
        "seconds_per_epoch": epoch["wall"],
        "ratios": ratios["wall"],
        "cpu_seconds_per_epoch": epoch["cpu"],
        "cpu_ratios": ratios["cpu"],
        "all_seconds": times,
        "agreement_after_one_epoch": agreement,
    }


def small_epochs(best: dict) -> dict:
    """Seconds per epoch from the best time of each piece (each SMALL_EPOCHS epochs)."""
    return {
        # dl.train: the difference of a SMALL_EPOCHS-epoch and a zero-epoch call, per epoch.
        "decaylab": (best["single"] - best["single_0"]) / SMALL_EPOCHS,
        "ensemble_per_member": (best["ensemble"] - best["ensemble_0"])
        / SMALL_EPOCHS / SMALL_MEMBERS,
        "numpy_loop": best["numpy_loop"] / SMALL_EPOCHS,
        "jax": best["jax"] / SMALL_EPOCHS / SMALL_MEMBERS if "jax" in best else None,
    }  # fmt: skip


def small_ratio_table(epoch: dict) -> dict:
    ratios = {
        "numpy_loop_over_decaylab": epoch["numpy_loop"] / epoch["decaylab"],
        "decaylab_over_ensemble_member": epoch["decaylab"] / epoch["ensemble_per_member"],
    }
    if epoch["jax"] is not None:
        ratios["jax_over_decaylab"] = epoch["jax"] / epoch["decaylab"]
        ratios["jax_over_ensemble_member"] = epoch["jax"] / epoch["ensemble_per_member"]
    return ratios


def print_small(small: dict) -> None:
    s, e, r = small["settings"], small["seconds_per_epoch"], small["ratios"]
    print(
        f"\nsmall networks: {s['sizes']} on the {s['n']} digits, batch {s['batch_size']}, per "
        f"epoch of {s['epochs_timed']} (decaylab: a {s['epochs_timed']}-epoch call less a "
        f"0-epoch call; JAX: the ensemble's {s['members']} runs one after another)"
    )
    jax = "-" if e["jax"] is None else f"{e['jax'] * 1e3:.2f} ms"
    print(
        f"  decaylab {e['decaylab'] * 1e3:.2f} ms, plain-NumPy loop {e['numpy_loop'] * 1e3:.2f} "
        f"ms, JAX single run {jax}, ensemble of {s['members']} "
        f"{e['ensemble_per_member'] * 1e3:.2f} ms per member"
    )
    print("  " + ", ".join(f"{name.replace('_over_', ' / ')} {v:.2f}" for name, v in r.items()))
    c = small["cpu_ratios"]
    print(
        "  by the process's CPU time instead (a check on a busy machine): "
        + ", ".join(f"{name.replace('_over_', ' / ')} {v:.2f}" for name, v in c.items())
    )
    print(
        "  agreement after one epoch (largest |parameter difference| from decaylab): "
        + ", ".join(f"{k} {v:.1e}" for k, v in small["agreement_after_one_epoch"].items())
    )


# ----------------------------------------------------------------------------- driver


def summary(times: list[float]) -> dict:
    return {"best": min(times), "median": statistics.median(times), "all": times}


def seconds_per_epoch(times: dict) -> dict:
    """Best, median and all times of each measurement and batch size."""
    out = {key: {str(m): summary(v) for m, v in per.items() if v} for key, per in times.items()}
    for m in BATCH_SIZES:
        one, zero = times["train_1"][m], times["train_0"][m]
        # An epoch of dl.train: differences of the best and of the median calls.
        out["decaylab"][str(m)].update(
            best=min(one) - min(zero), median=statistics.median(one) - statistics.median(zero)
        )
    return out


def small_ratios(small: dict) -> dict:
    """The small networks' ratios that have targets, keyed like the others (by batch size)."""
    r, m = small["ratios"], small["settings"]["batch_size"]
    out = {"small_numpy_loop": {m: r["numpy_loop_over_decaylab"]}, "small_jax_ensemble": {}}
    if "jax_over_ensemble_member" in r:
        out["small_jax_ensemble"][m] = r["jax_over_ensemble_member"]
    return out


def verdicts(ratios: dict) -> list[dict]:
    """Each target of TARGETS with its measured ratio and whether it is met (None: not measured)."""
    out = []
    for name, (key, m), comparison, target in TARGETS:
        value = ratios.get(key, {}).get(m)
        met = None if value is None else (value >= target if comparison == ">=" else value < target)
        out.append(
            {"target": name, "value": value, "comparison": comparison, "goal": target, "met": met}
        )
    return out


def run(n: int, repeats: int, ensemble_n: int, use_torch: bool, quick: bool,
        use_jax: bool = True) -> dict:  # fmt: skip
    load_before = os.getloadavg()[0]
    limits = roofline(repeats, quick)
    print("  roofline measured", file=sys.stderr)
    X, y = make_data(n)
    targets = one_hot(y)
    start = dl.Network(SIZES, init="large", seed=0)
    seed = 1
    # dl.train with shuffle=True and seed s takes its first epoch in this order.
    order = np.random.default_rng(seed).permutation(n)
    examples = [(x.reshape(-1, 1), t.reshape(-1, 1)) for x, t in zip(X, targets)]
    gathered = X[order]
    torch = None
    if use_torch:
        try:
            import torch
        except ImportError:
            torch = None

    def train(epochs: int, m: int) -> None:
        dl.train(start.copy(), (X, y), epochs=epochs, batch_size=m, eta=ETA, lmbda=LMBDA,
                 seed=seed, training_metrics=False, progress=False)  # fmt: skip

    keys = ("train_0", "train_1", "per_example", "torch", "floor", "floor_scipy", "floor_gather",
            "monitoring", "training_metrics")  # fmt: skip
    times: dict[str, dict[int, list[float]]] = {key: {m: [] for m in BATCH_SIZES} for key in keys}
    with np.errstate(over="ignore"):
        for repeat in range(repeats):
            for m in BATCH_SIZES:
                # One epoch of dl.train is the difference of a one-epoch and a zero-epoch call.
                times["train_0"][m].append(timed(train, 0, m))
                times["train_1"][m].append(timed(train, 1, m))
                reference = PerExample(start)
                times["per_example"][m].append(
                    timed(reference.epoch, examples, order, m, ETA, LMBDA)
                )
                if torch is not None:
                    eager = TorchEager(torch, start, X, targets, eta=ETA, lmbda=LMBDA)
                    times["torch"][m].append(timed(eager.epoch, order, m))
                batches = [gathered[i : i + m] for i in range(0, n, m)]
                buffers = [
                    np.empty((m, 30)), np.empty((m, 10)), np.empty((30, 784)),
                    np.empty((10, 30)), np.empty((m, 30)),
                ]  # fmt: skip
                weights = [start.weights[0].copy(), start.weights[1].copy()]
                times["floor"][m].append(timed(products_epoch, weights, batches, buffers))
                times["floor_scipy"][m].append(
                    timed(products_epoch_scipy, weights, batches, buffers)
                )
                times["floor_gather"][m].append(timed(
                    products_epoch_gathered, weights, X, order, m, buffers, np.empty((m, 784))
                ))  # fmt: skip
                net = start.copy()
                times["monitoring"][m].append(timed(monitoring_epoch, net, inner=20))
                times["training_metrics"][m].append(timed(net.evaluate, (X, y)))
            print(f"  repetition {repeat + 1} of {repeats} done", file=sys.stderr)
    times["decaylab"] = {
        m: [one - zero for one, zero in zip(times["train_1"][m], times["train_0"][m])]
        for m in BATCH_SIZES
    }

    agreement = check_agreement(start, X, y, targets, examples, order, seed, torch)
    pieces = {str(m): step_pieces(X, targets, m, repeats) for m in BATCH_SIZES}
    ensemble = time_ensemble(ensemble_n, repeats)
    print("  ensembles timed", file=sys.stderr)
    cores = both_cores(ensemble_n, repeats)
    print("  threads and processes compared", file=sys.stderr)
    float32 = float32_comparison(ensemble_n, repeats)
    print("  float32 compared", file=sys.stderr)
    best = {key: {m: min(v) for m, v in per.items() if v} for key, per in times.items()}
    # The best one-epoch time less the best zero-epoch time: a difference of two
    # minima, not the minimum of the differences, which noise would bias low.
    best["decaylab"] = {m: best["train_1"][m] - best["train_0"][m] for m in BATCH_SIZES}
    ratios = {
        "speedup_vs_per_example": {m: best["per_example"][m] / best["decaylab"][m]
                                   for m in BATCH_SIZES},
        "speedup_vs_torch": {m: best["torch"][m] / best["decaylab"][m]
                             for m in BATCH_SIZES if m in best["torch"]},
        "floor_fraction": {m: best["floor"][m] / best["decaylab"][m] for m in BATCH_SIZES},
        "floor_scipy_fraction": {m: best["floor_scipy"][m] / best["decaylab"][m]
                                 for m in BATCH_SIZES},
        "floor_gather_fraction": {m: best["floor_gather"][m] / best["decaylab"][m]
                                  for m in BATCH_SIZES},
        "monitoring_fraction": {m: best["monitoring"][m] / best["decaylab"][m]
                                for m in BATCH_SIZES},
        "training_metrics_fraction": {m: best["training_metrics"][m] / best["decaylab"][m]
                                      for m in BATCH_SIZES},
        "ensemble_speedup": {m: ensemble[str(m)]["separate"]["best"]
                             / ensemble[str(m)]["ensemble"]["best"] for m in ENSEMBLE_BATCHES},
    }  # fmt: skip
    peak, copy = limits["gemm_gflops"]["float64"], limits["copy_gbps"]
    achieved = {
        "single": {str(m): against_limits(best["decaylab"][m] / -(-n // m), step_work(SIZES, m),
                                          peak, copy["single"]) for m in BATCH_SIZES},
        "ensemble": {str(m): against_limits(
            ensemble[str(m)]["ensemble"]["best"] / -(-ensemble_n // m),
            step_work(SIZES, m, ENSEMBLE_MEMBERS), peak, copy["ensemble"],
        ) for m in ENSEMBLE_BATCHES},
    }  # fmt: skip
    small = small_networks(repeats, use_jax)
    print("  small networks timed", file=sys.stderr)
    ratios.update(small_ratios(small))
    return {
        "settings": {
            "sizes": SIZES,
            "eta": ETA,
            "lmbda": LMBDA,
            "n": n,
            "dtype": "float64",
            "batch_sizes": list(BATCH_SIZES),
            "repeats": repeats,
            "init": "large",
            "ensemble": {
                "members": ENSEMBLE_MEMBERS,
                "batch_sizes": list(ENSEMBLE_BATCHES),
                "n": ensemble_n,
                "epochs": 1,
            },
        },  # fmt: skip
        "machine": machine(torch),
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
        "roofline": limits,
        "achieved": achieved,
        "seconds_per_epoch": seconds_per_epoch(times),
        "step_microseconds": pieces,
        "ensemble_seconds": ensemble,
        "both_cores": cores,
        "float32": float32,
        "ratios": {key: {str(m): v for m, v in per.items()} for key, per in ratios.items()},
        "agreement_after_one_epoch": agreement,
        "small_networks": small,
        "targets": verdicts(ratios),
    }


def check_agreement(start, X, y, targets, examples, order, seed, torch) -> dict:
    """Largest |difference| of the parameters after one epoch at batch size 10."""
    net = start.copy()
    dl.train(net, (X, y), epochs=1, batch_size=10, eta=ETA, lmbda=LMBDA, seed=seed,
             training_metrics=False, progress=False)  # fmt: skip
    reference = PerExample(start)
    with np.errstate(over="ignore"):
        reference.epoch(examples, order, 10, ETA, LMBDA)
    result = {"per_example": float(np.abs(net.params - reference.params()).max())}
    if torch is not None:
        eager = TorchEager(torch, start, X, targets, eta=ETA, lmbda=LMBDA)
        eager.epoch(order, 10)
        result["torch"] = float(np.abs(net.params - eager.params()).max())
    return result


def time_ensemble(n: int, repeats: int) -> dict:
    """16 networks sharing one batch sequence, trained together and one by one, per batch size."""
    X, y = make_data(n, seed=2)
    lmbdas = list(np.geomspace(0.1, 10.0, ENSEMBLE_MEMBERS))
    starts = [dl.Network(SIZES, seed=s) for s in range(ENSEMBLE_MEMBERS)]
    out = {}
    for m in ENSEMBLE_BATCHES:
        common = dict(epochs=1, batch_size=m, eta=ETA, seed=3, training_metrics=False,
                      progress=False)  # fmt: skip
        together, alone = [], []

        def separately(nets, common=common):
            for net, lmbda in zip(nets, lmbdas):
                dl.train(net, (X, y), lmbda=lmbda, **common)

        for _ in range(repeats):
            nets = [s.copy() for s in starts]
            together.append(timed(dl.train_ensemble, nets, (X, y), lmbda=lmbdas, **common))
            others = [s.copy() for s in starts]
            alone.append(timed(separately, others))
        difference = max(float(np.abs(a.params - b.params).max()) for a, b in zip(nets, others))
        out[str(m)] = {"ensemble": summary(together), "separate": summary(alone),
                       "largest_parameter_difference": difference}  # fmt: skip
    return out


def machine(torch) -> dict:
    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "decaylab": dl.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    try:
        config = np.show_config(mode="dicts")
        info["blas"] = config["Build Dependencies"]["blas"].get("name")
    except Exception:  # the layout of numpy's build information varies between versions
        info["blas"] = None
    import scipy

    info["scipy"] = scipy.__version__
    info["blas_pools"] = [
        {key: pool.get(key) for key in ("internal_api", "version", "architecture", "num_threads")}
        | {"library": os.path.basename(pool["filepath"])}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    return info


def print_report(result: dict) -> None:
    s = result["settings"]
    load = result["load_average"]
    print(
        f"\ndecaylab training benchmark: {s['sizes']} sigmoid/cross-entropy, eq. 93, "
        f"{s['dtype']}, n = {s['n']} random MNIST-shaped examples, best of {s['repeats']}; "
        f"load average {load['before']:.2f} before, {load['after']:.2f} after "
        f"({result['machine']['cpu_count']} cores); BLAS threads: "
        f"{s['blas_threads'] or 'the libraries’ own'}"
    )
    limits = result["roofline"]
    copy = limits["copy_gbps"]
    print(
        f"\nroofline: GEMM {limits['gemm_size']}³ {limits['gemm_gflops']['float64']:.1f} GFLOP/s "
        f"float64, {limits['gemm_gflops']['float32']:.1f} float32; copy "
        + ", ".join(
            f"{copy[k]:.1f} GB/s for {limits['copy_bytes'][k] / 1e6:.2f} MB ({k})" for k in copy
        )
        + " (bytes read + written)"
    )
    times = result["seconds_per_epoch"]
    columns = ["decaylab", "per_example", "torch", "floor", "floor_scipy", "floor_gather",
               "monitoring", "training_metrics"]  # fmt: skip
    print("\nseconds per epoch")
    print("batch " + "".join(f"{c:>17s}" for c in columns))
    for m in s["batch_sizes"]:
        cells = [times[c].get(str(m), {}).get("best") for c in columns]
        print(f"{m:5d} " + "".join(f"{v:17.4f}" if v is not None else f"{'-':>17s}" for v in cells))
    ratios = result["ratios"]
    names = ["speedup_vs_per_example", "speedup_vs_torch", "floor_fraction",
             "floor_scipy_fraction", "floor_gather_fraction", "monitoring_fraction",
             "training_metrics_fraction"]  # fmt: skip
    print("\nratios (per-example / decaylab, torch / decaylab, floor / decaylab, ...)")
    print("batch " + "".join(f"{c:>27s}" for c in names))
    for m in s["batch_sizes"]:
        cells = [ratios[c].get(str(m)) for c in names]
        print(f"{m:5d} " + "".join(f"{v:27.3f}" if v is not None else f"{'-':>27s}" for v in cells))
    print(
        "\nagainst the limits, per step (operations: 2 per multiply-add of the step's products; "
        "bytes: weights read by the forward and δ products and read + written by the update, "
        "biases read + written, the batch gathered and read twice)"
    )
    print(f"{'':10s}batch  µs/step  GFLOP/s  of peak     MB  GB/s  of copy  bound  of roofline")
    for kind, per in result["achieved"].items():
        for m, a in per.items():
            print(
                f"{kind:10s}{int(m):5d} {a['seconds_per_step'] * 1e6:8.1f} {a['gflops']:8.1f} "
                f"{a['flop_fraction']:8.1%} {a['bytes'] / 1e6:6.2f} {a['gbps']:5.1f} "
                f"{a['byte_fraction']:8.1%} {a['bound']:>6s} {a['roofline_fraction']:12.1%}"
            )
    pieces = result["step_microseconds"]
    names = list(next(iter(pieces.values())))
    print("\npieces of a step, µs (one call each, best of many)")
    for name in names:
        print(f"  {name:42s}" + "".join(f"{p[name]:10.1f}" for p in pieces.values()))
    print(f"  {'batch size':42s}" + "".join(f"{int(m):10d}" for m in pieces))
    print(f"\nensemble of {s['ensemble']['members']}, n = {s['ensemble']['n']}, one epoch")
    for m, e in result["ensemble_seconds"].items():
        print(
            f"  batch {int(m):4d}: together {e['ensemble']['best']:.3f} s, separately "
            f"{e['separate']['best']:.3f} s: {ratios['ensemble_speedup'][m]:.2f}x (largest "
            f"parameter difference {e['largest_parameter_difference']:.1e})"
        )
    print(
        "\nboth cores: the same work twice, in this process with 2 BLAS threads one after the "
        "other, against 2 worker processes with 1 thread each at once (wall seconds)"
    )
    for name, c in result["both_cores"].items():
        print(
            f"  {name:28s} 2 threads {c['two_threads']['best']:.3f} s, 2 processes "
            f"{c['two_processes']['best']:.3f} s: processes {c['threads_over_processes']:.2f}x"
        )
    f = result["float32"]
    print(
        f"\nfloat32 against float64: speed-up, and the 16 runs of the λ sweep after "
        f"{f['epochs']} epochs (n = {f['n']})"
    )
    for kind in ("single", "ensemble"):
        for m, e in f[kind].items():
            extra = ""
            if "largest_parameter_difference" in e:
                extra = (
                    f"; |Δθ|/max|θ| median {e['median_parameter_difference']:.1e}, largest "
                    f"{e['largest_parameter_difference']:.1e}; relative Δ‖w‖ median "
                    f"{e['median_norm_difference']:.1e}, largest {e['largest_norm_difference']:.1e}"
                )
            print(f"  {kind:8s} batch {int(m):4d}: {e['speedup']:.2f}x faster{extra}")
    d = f["decay_factor"]
    print(
        f"  per-epoch factor of pure decay (n = {d['n']}, m = {d['batch_size']}): relative error "
        f"{d['float64_relative_error']:.1e} in float64, {d['float32_relative_error']:.1e} in "
        f"float32, against the {d['closed_form_relative_gap']:.1e} between the exact factor and "
        "e^(-ηλ/m) that claim 3 is about"
    )
    print(
        "agreement after one epoch at batch 10 (largest |parameter difference| from decaylab): "
        + ", ".join(f"{k} {v:.1e}" for k, v in result["agreement_after_one_epoch"].items())
    )
    print_small(result["small_networks"])
    print_targets(result["targets"])


def print_targets(targets: list[dict]) -> None:
    print("\ntargets")
    for t in targets:
        value = "-" if t["value"] is None else f"{t['value']:.3f}"
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        print(f"  {t['target']:55s} {value:>8s} {t['comparison']} {t['goal']:<5g} {verdict}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, fewer repetitions")
    parser.add_argument("--n", type=int, help="training examples (default 10000, quick 2000)")
    parser.add_argument("--repeats", type=int, help="repetitions (default 5, quick 2)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--no-jax", action="store_true", help="skip JAX even if installed")
    parser.add_argument(
        "--small-only",
        action="store_true",
        help="only the small networks ([64, 30, 10] single runs, ensemble and JAX); written to "
        "results/small_networks.json unless --output is given",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="limit NumPy's and SciPy's BLAS (and PyTorch) to this many threads for everything "
        "but the comparison of threads and processes (default: the libraries' own)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the JSON results (default results/training.json)",
    )
    args = parser.parse_args(argv)
    n = args.n or (2000 if args.quick else 10000)
    repeats = args.repeats or (2 if args.quick else 5)
    # SciPy's BLAS loads at decaylab's first product; load it now, so that the limit
    # below holds its pool too (threadpoolctl limits only the pools already loaded).
    scipy_blas()
    limit = threadpool_limits(limits=args.blas_threads, user_api="blas")
    if args.blas_threads is not None and not args.no_torch:
        try:
            import torch

            torch.set_num_threads(args.blas_threads)
        except ImportError:
            pass
    results = Path(__file__).resolve().parent / "results"
    with limit:
        if args.small_only:
            load_before = os.getloadavg()[0]
            small = small_networks(repeats, not args.no_jax)
            result = {
                "small_networks": small,
                "machine": machine(None),
                "load_average": {"before": load_before, "after": os.getloadavg()[0]},
                "targets": [t for t in verdicts(small_ratios(small)) if t["value"] is not None],
            }
            output = args.output or results / "small_networks.json"
        else:
            result = run(n, repeats, ensemble_n=1000 if args.quick else 2000,
                         use_torch=not args.no_torch, quick=args.quick,
                         use_jax=not args.no_jax)  # fmt: skip
            output = args.output or results / "training.json"
    if args.small_only:
        load = result["load_average"]
        print(f"load average {load['before']:.2f} before, {load['after']:.2f} after")
        print_small(result["small_networks"])
        print_targets(result["targets"])
    else:
        result["settings"]["blas_threads"] = args.blas_threads
        print_report(result)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {output}")
    return result


if __name__ == "__main__":
    main()
