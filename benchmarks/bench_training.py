"""How fast decaylab trains, against a per-example loop, PyTorch eager and the bare products.

Trains the book's [784, 30, 10] sigmoid / cross-entropy network with eq. 93 on
random MNIST-shaped data (float64) and measures, in this one process:

* decaylab: the time per epoch of ``dl.train`` (its fixed per-call cost,
  argument checks and the initial record, subtracted);
* per-example: the algorithm of Nielsen's ``network2.py`` (one example at a
  time, column vectors), written out below;
* PyTorch CPU eager (only if torch is installed): the same network, update
  and batch order with ``torch.optim.SGD``;
* floor: the five matrix products of every step of one epoch and nothing
  else, on batches gathered beforehand;
* monitoring: what ``dl.train`` does once per epoch besides the steps (the
  per-layer statistics of the History, the finiteness check and the copy kept
  for Ctrl-C), timed on its own;
* ensemble: ``dl.train_ensemble`` of K = 16 networks sharing their batches at
  batch size 10, against 16 separate ``dl.train`` runs.

All implementations start from the same weights and take the same batches in
the same order; the agreement of their weights after one epoch is printed as
a check that they compute the same thing. Every time is the best of several
interleaved repetitions (the median is written to the JSON too). The table
of ratios is printed and written to ``benchmarks/results/training.json``.

Usage::

    python benchmarks/bench_training.py            # a few minutes on 2 cores
    python benchmarks/bench_training.py --quick    # a smaller data set, well under a minute
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
from pathlib import Path

import numpy as np

import decaylab as dl

SIZES = [784, 30, 10]
ETA, LMBDA = 0.5, 5.0
BATCH_SIZES = (10, 100, 1000)
ENSEMBLE_MEMBERS, ENSEMBLE_BATCH = 16, 10

# (name, measured key, comparison, target)
TARGETS = [
    ("batch 10: per-example / decaylab", ("speedup_vs_per_example", 10), ">=", 8.0),
    ("batch 10: PyTorch eager / decaylab", ("speedup_vs_torch", 10), ">=", 6.0),
    ("batch 100: PyTorch eager / decaylab", ("speedup_vs_torch", 100), ">=", 2.5),
    ("batch 1000: floor / decaylab", ("floor_fraction", 1000), ">=", 0.70),
    ("monitoring / epoch, batch 10", ("monitoring_fraction", 10), "<", 0.05),
    ("monitoring / epoch, batch 100", ("monitoring_fraction", 100), "<", 0.05),
    ("monitoring / epoch, batch 1000", ("monitoring_fraction", 1000), "<", 0.05),
    ("ensemble K=16, batch 10: 16 separate runs / ensemble", ("ensemble_speedup", 10), ">=", 4.0),
]


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


def monitoring_epoch(net: dl.Network) -> None:
    """What dl.train does once per epoch besides the steps and the shuffle."""
    net.params.copy()  # kept to undo an epoch on Ctrl-C or divergence
    np.isfinite(net.params).all()
    dl.layer_statistics(net.weights)
    dl.layer_statistics(net.biases)
    net.weight_sum_of_squares()


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


def run(n: int, repeats: int, ensemble_n: int, use_torch: bool) -> dict:
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

    keys = ("train_0", "train_1", "per_example", "torch", "floor", "monitoring", "training_metrics")
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
                net = start.copy()
                times["monitoring"][m].append(timed(monitoring_epoch, net, inner=20))
                times["training_metrics"][m].append(timed(net.evaluate, (X, y)))
            print(f"  repetition {repeat + 1} of {repeats} done", file=sys.stderr)
    times["decaylab"] = {
        m: [one - zero for one, zero in zip(times["train_1"][m], times["train_0"][m])]
        for m in BATCH_SIZES
    }

    agreement = check_agreement(start, X, y, targets, examples, order, seed, torch)
    ensemble = time_ensemble(ensemble_n, repeats)
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
        "monitoring_fraction": {m: best["monitoring"][m] / best["decaylab"][m]
                                for m in BATCH_SIZES},
        "training_metrics_fraction": {m: best["training_metrics"][m] / best["decaylab"][m]
                                      for m in BATCH_SIZES},
        "ensemble_speedup": {ENSEMBLE_BATCH: ensemble["separate"]["best"]
                             / ensemble["ensemble"]["best"]},
    }  # fmt: skip
    verdicts = []
    for name, (key, m), comparison, target in TARGETS:
        value = ratios[key].get(m)
        met = None if value is None else (value >= target if comparison == ">=" else value < target)
        verdicts.append(
            {"target": name, "value": value, "comparison": comparison, "goal": target, "met": met}
        )
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
                "batch_size": ENSEMBLE_BATCH,
                "n": ensemble_n,
                "epochs": 1,
            },
        },  # fmt: skip
        "machine": machine(torch),
        "seconds_per_epoch": seconds_per_epoch(times),
        "ensemble_seconds": ensemble,
        "ratios": {key: {str(m): v for m, v in per.items()} for key, per in ratios.items()},
        "agreement_after_one_epoch": agreement,
        "targets": verdicts,
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
    """16 networks sharing one batch sequence, trained together and one by one."""
    X, y = make_data(n, seed=2)
    lmbdas = list(np.geomspace(0.1, 10.0, ENSEMBLE_MEMBERS))
    starts = [dl.Network(SIZES, seed=s) for s in range(ENSEMBLE_MEMBERS)]
    common = dict(epochs=1, batch_size=ENSEMBLE_BATCH, eta=ETA, seed=3, training_metrics=False,
                  progress=False)  # fmt: skip
    together, alone = [], []

    def separately(nets):
        for net, lmbda in zip(nets, lmbdas):
            dl.train(net, (X, y), lmbda=lmbda, **common)

    for _ in range(repeats):
        nets = [s.copy() for s in starts]
        together.append(timed(dl.train_ensemble, nets, (X, y), lmbda=lmbdas, **common))
        others = [s.copy() for s in starts]
        alone.append(timed(separately, others))
    difference = max(float(np.abs(a.params - b.params).max()) for a, b in zip(nets, others))
    return {"ensemble": summary(together), "separate": summary(alone),
            "largest_parameter_difference": difference}  # fmt: skip


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
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    return info


def print_report(result: dict) -> None:
    s = result["settings"]
    print(
        f"\ndecaylab training benchmark: {s['sizes']} sigmoid/cross-entropy, eq. 93, "
        f"{s['dtype']}, n = {s['n']} random MNIST-shaped examples, best of {s['repeats']}"
    )
    times = result["seconds_per_epoch"]
    columns = ["decaylab", "per_example", "torch", "floor", "monitoring", "training_metrics"]
    print("\nseconds per epoch")
    print("batch " + "".join(f"{c:>17s}" for c in columns))
    for m in s["batch_sizes"]:
        cells = [times[c].get(str(m), {}).get("best") for c in columns]
        print(f"{m:5d} " + "".join(f"{v:17.4f}" if v is not None else f"{'-':>17s}" for v in cells))
    ratios = result["ratios"]
    names = ["speedup_vs_per_example", "speedup_vs_torch", "floor_fraction",
             "monitoring_fraction", "training_metrics_fraction"]  # fmt: skip
    print("\nratios (per-example / decaylab, torch / decaylab, floor / decaylab, ...)")
    print("batch " + "".join(f"{c:>27s}" for c in names))
    for m in s["batch_sizes"]:
        cells = [ratios[c].get(str(m)) for c in names]
        print(f"{m:5d} " + "".join(f"{v:27.3f}" if v is not None else f"{'-':>27s}" for v in cells))
    e = result["ensemble_seconds"]
    print(
        f"\nensemble of {s['ensemble']['members']} at batch {s['ensemble']['batch_size']}, "
        f"n = {s['ensemble']['n']}, one epoch: together {e['ensemble']['best']:.3f} s, "
        f"separately {e['separate']['best']:.3f} s (largest parameter difference "
        f"{e['largest_parameter_difference']:.1e})"
    )
    print(
        "agreement after one epoch at batch 10 (largest |parameter difference| from decaylab): "
        + ", ".join(f"{k} {v:.1e}" for k, v in result["agreement_after_one_epoch"].items())
    )
    print("\ntargets")
    for t in result["targets"]:
        value = "-" if t["value"] is None else f"{t['value']:.3f}"
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        print(f"  {t['target']:55s} {value:>8s} {t['comparison']} {t['goal']:<5g} {verdict}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, fewer repetitions")
    parser.add_argument("--n", type=int, help="training examples (default 10000, quick 2000)")
    parser.add_argument("--repeats", type=int, help="repetitions (default 5, quick 2)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "training.json",
        help="where to write the JSON results",
    )
    args = parser.parse_args(argv)
    n = args.n or (2000 if args.quick else 10000)
    repeats = args.repeats or (2 if args.quick else 5)
    result = run(n, repeats, ensemble_n=1000 if args.quick else 2000, use_torch=not args.no_torch)
    print_report(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.output}")
    return result


if __name__ == "__main__":
    main()
