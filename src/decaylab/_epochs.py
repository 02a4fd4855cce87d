"""The loop of :func:`decaylab.train`, once its arguments are checked.

:func:`train_epochs` is the loop over epochs: shuffle, pass over the
batches, record, checkpoint. :func:`run_epoch` is the pass over the batches
of one epoch: gather the batch, backpropagate, let the rule step, show the
step to the monitors. Everything else is a small object or function the loop
calls: :class:`StepSplit` hands each step to the monitors as (w before,
decay part, rest); :class:`Snapshot` rolls an epoch back on Ctrl-C or when
it produced a non-finite value; :func:`close_epoch` records an epoch, or
replays it to locate the divergence; :class:`CheckpointSchedule` writes
checkpoints through the writer it was handed. The update rule is handed in
too (:mod:`decaylab.rules`), so this module knows nothing of eq. 93 or of
checkpoint files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from decaylab._blas import (
    BlasRoutines,
    prepared_gram,
    prepared_matmul,
    prepared_subtract_rows,
    prepared_symmetric_product,
)
from decaylab._progress import progress_bar as tqdm
from decaylab._safeguards import checkpoint_write_failed, continuation_call
from decaylab._step_budget import (
    EXACT_EVERY,
    StepBudget,
    carried_squares,
    carry_matrix,
    dot_of,
    kept_block_matrix,
    kept_budget,
    six_products,
)
from decaylab.errors import CheckpointWriteError, TrainingDiverged, TrainingInterrupted
from decaylab.history import History
from decaylab.network import Backprop, Network

#: The most steps a block holds (a multiple of EXACT_EVERY): their products are kept as
#: Python floats and shown to the monitors as arrays once a block (or epoch).
BLOCK_STEPS = 8 * EXACT_EVERY

_AXPY = BlasRoutines("axpy")


class StepSplit:
    """Shows the steps to the monitors: their ‖w‖² budget by blocks, or per-layer (w before, D, R).

    Built once per run, from the rule's ``decay_part`` at the run's first
    step; its buffers and their views are made once. With
    w_before − w_after = D + R. ``see_inputs``, when not None, is given
    each batch as soon as it is gathered; ``prepare`` runs before each step
    and ``show`` after it, both given the step's gradient (the Backprop);
    :meth:`flush` at the end of each epoch shows the steps not yet shown.

    Monitors with a ``step_budgets`` method share one
    :class:`~decaylab._step_budget.StepBudget` per block of steps; the others get
    ``step_parts(w_before, D, R)`` at each step. A step does only what needs its
    arrays: the products of each layer, kept as floats; the budget's arrays
    and the monitors' bookkeeping are made once a block. When every monitor
    reads the budget and the rule's decay part is D = (1 − d)·w (its
    ``multiplier``, eq. 93 and AdamW) in float64, D is never formed: x = d·w
    before the step, R = x − w_after after it in the same buffer, two dot
    products per layer (w·w is carried; :func:`kept_budget`). Under eq. 93
    (a part with ``factored_eta``) with batches small enough that the
    batch's k × k Gram matrices cost less than
    those passes over the weights (:func:`gram_is_cheaper`), and no monitor
    reading the budget's arrays, not even x or R is formed
    (:meth:`_budget_of_batch`). Other rules, and float32, form the parts at
    each step and take their six products per layer there; a reader that
    reads each step's formed parts (``reads_formed_parts``, RotationMonitor's
    unit vectors) is then shown one step at a time.
    """

    def __init__(self, net: Network, decay_part: Callable, monitors: tuple, *, state: dict,
                 batch_size: int):  # fmt: skip
        watching = [m for m in monitors if getattr(m, "sees_steps", True)]
        self.readers = [m.step_budgets for m in watching if hasattr(m, "step_budgets")]
        # A monitor may say it needs no steps (RotationMonitor without per_step).
        self.observers = [m.step_parts for m in watching if not hasattr(m, "step_budgets")]
        self.weights = net.weights_flat
        self.decay_part, self.state = decay_part, state
        self.dot = dot_of(net.dtype)
        bounds = np.cumsum([0] + [w.size for w in net.weights])
        self.layers = list(zip(bounds[:-1], bounds[1:]))
        self.steps = 0  # made and not yet shown
        self.see_inputs = None
        multiplier = getattr(decay_part, "multiplier", None)
        # In float32 the rounding of d·w is of the order of the decay itself (and d is
        # applied rounded): there D is formed as the step forms it.
        closed = (multiplier is not None and multiplier != 0.0 and not self.observers
                  and net.dtype == np.float64)  # fmt: skip
        # A monitor that reads the budget's arrays (Σ D) needs them formed.
        self.arrays = any(getattr(m, "reads_step_arrays", True) for m in watching)
        eta = getattr(decay_part, "factored_eta", None)  # eq. 93's step is one gemm
        factored = eta is not None and not self.arrays
        if closed and factored and gram_is_cheaper(net.sizes, batch_size):
            self._start_factored(net, eta, multiplier)
        elif closed:
            self._start_multiplied(multiplier)
        else:
            self._start_parts()

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        return [flat[a:b] for a, b in self.layers]

    def flush(self) -> None:
        """Show the monitors the steps made and not yet shown (at the end of an epoch)."""
        if self.steps:
            self._flush()

    def _show(self, budget: StepBudget) -> None:
        for read in self.readers:
            read(budget)

    def _end_of_step(self, backprop) -> None:
        self.steps += 1
        if self.steps == BLOCK_STEPS:
            self._flush()

    def _start_parts(self) -> None:
        self.rest = np.empty_like(self.weights)
        self.rest_views = self._views(self.rest)
        self.before = np.empty_like(self.weights)
        self.before_views = self._views(self.before)
        self.after_views = self._views(self.weights)
        # A reader that reads each step's formed parts (RotationMonitor's unit vectors) is
        # shown one step at a time; the others a block of steps.
        each = [getattr(read.__self__, "reads_formed_parts", True) for read in self.readers]
        self.each_step = [read for read, one in zip(self.readers, each) if one]
        self.readers = [read for read, one in zip(self.readers, each) if not one]
        self.kept = []  # the six products of each step and layer
        if self.arrays:
            self.decay_sum = np.zeros_like(self.weights)  # Σ D over the block
        self.prepare, self.show, self._flush = self._copy_before, self._show_parts, self._parts

    def _copy_before(self, backprop) -> None:
        np.copyto(self.before, self.weights)

    def _show_parts(self, backprop) -> None:
        """Split the step just made (``self.before`` holds w before it) and show it."""
        decay = self.decay_part(self.before, self.state)
        np.subtract(self.before, self.weights, out=self.rest)
        self.rest -= decay
        decay_views = self._views(decay)
        if self.readers or self.each_step:
            products = six_products(self.before_views, decay_views, self.rest_views, self.dot)
            if self.each_step:
                budget = StepBudget.of_step(products, self.before_views, decay_views,
                                            self.rest_views, self.after_views)  # fmt: skip
                for read in self.each_step:
                    read(budget)
            if self.readers:
                self.kept.extend(products)
                if self.arrays:
                    self.decay_sum += decay
                self._end_of_step(backprop)
        for observe in self.observers:
            observe(self.before_views, decay_views, self.rest_views)

    def _parts(self) -> None:
        """The budget of the block's steps from the products kept; shown to the readers."""
        steps = self.steps
        self.steps = 0
        products = np.array(self.kept).reshape(steps, -1, 6).transpose(2, 0, 1)
        self.kept.clear()
        budget = StepBudget(np.ascontiguousarray(products))
        if self.arrays:
            budget.decay_sum = self._views(self.decay_sum.copy())
            self.decay_sum[...] = 0.0
        self._show(budget)

    def _start_multiplied(self, multiplier: float) -> None:
        self.multiplier = multiplier
        self.matrix = kept_block_matrix(multiplier)
        weights = self.weights
        # x = d·w before the step; after it R = x − w′ in the same buffer, by a BLAS axpy
        # (a call cheaper than a ufunc's on small layers, and one buffer less to pass over).
        self.rest = rest = np.empty_like(weights)
        axpy = _AXPY[weights.dtype]
        if axpy(weights, rest, weights.size, 0.0) is not rest:  # SciPy returns y when in place
            raise RuntimeError("axpy would write R into a copy of its buffer")
        weight_views, rest_views = self._views(weights), self._views(rest)
        # Kept in one list (:func:`kept_budget`): w·w of each layer before every
        # EXACT_EVERY-th step, then w′·R and R·R of each layer and step (x·R = w′·R + R·R).
        firsts, seconds = weight_views + rest_views, rest_views + rest_views
        self.kept = []
        keep = self.kept.extend
        # Σ x over the block, when a monitor reads Σ D
        self.scaled_sum = scaled_sum = np.zeros_like(weights) if self.arrays else None
        # A 0-d array: a Python float costs the ufunc a conversion at every call.
        scale, multiply, dot, size, split = np.array(multiplier), np.multiply, self.dot, \
            weights.size, self  # fmt: skip

        def prepare(backprop) -> None:
            if not split.steps % EXACT_EVERY:
                keep(map(dot, weight_views, weight_views))
            multiply(weights, scale, rest)  # x = d·w, formed as the step forms it
            if scaled_sum is not None:
                np.add(scaled_sum, rest, scaled_sum)

        def show(backprop) -> None:
            axpy(weights, rest, size, -1.0)  # R = x − w′, exactly as a subtraction
            keep(map(dot, firsts, seconds))  # map: the loop over the layers runs in C
            split.steps = steps = split.steps + 1
            if steps == BLOCK_STEPS:
                split._flush()

        self.prepare, self.show, self._flush = prepare, show, self._scaled_block

    def _scaled_block(self) -> None:
        """The budget of the block's steps from the products kept; shown to the readers."""
        steps, d = self.steps, self.multiplier
        self.steps = 0
        budget = kept_budget(self.kept, steps, len(self.layers), self.matrix, d)
        self.kept.clear()
        if self.arrays:  # Σ D = (1 − d)/d · Σ x
            total = self.scaled_sum * ((1.0 - d) / d)
            self.scaled_sum[...] = 0.0
            budget.decay_sum = self._views(total)
        self._show(budget)

    def _start_factored(self, net: Network, eta: float, multiplier: float) -> None:
        self.eta, self.biases, self.multiplier = eta, list(net.biases), multiplier
        self.weight_views = self._views(self.weights)
        self.carry = carry_matrix(multiplier)
        # Per step of the block (and layer): w·w before every EXACT_EVERY-th, w·G, G·G, η/k.
        self.kept = ([], [], [], [])
        self.see_inputs, self.prepare = self._gram_of_inputs, self._budget_of_batch
        self.show, self._flush = self._end_of_step, self._batches
        self.plans: dict = {}  # per batch of the Backprop (one per batch length)
        self.input_grams: dict = {}  # per batch length k, X·Xᵀ (k × k) as a Fortran array

    def _gram_of_inputs(self, X: np.ndarray) -> None:
        """The upper triangle of X·Xᵀ, taken as soon as the batch X is gathered: in cache
        then, it costs half what it does after the forward and backward passes."""
        gram = self.input_grams.get(len(X))
        if gram is not None:
            self.syrk(1.0, X.T, 0.0, gram, 1, 1, 1)
        else:
            gram = np.zeros((len(X), len(X)), dtype=X.dtype)
            self.syrk, _ = prepared_gram(gram, X)
            self.input_grams[len(X)] = gram.T

    def _budget_of_batch(self, backprop) -> None:
        """Before the step w′ = d·w − (η/k)·δᵀa, w·G and G·G of each layer from the
        batch's factors (and the biases it was computed with), kept for the block."""
        dot = self.dot
        fresh, w_g, g_g, scale = self.kept
        if self.steps % EXACT_EVERY == 0:
            fresh.extend(map(dot, self.weight_views, self.weight_views))
        batch = backprop.batch
        calls, pairs, k = self.plans.get(batch) or self._plan(batch)
        for call, arguments in calls:
            call(*arguments)
        w_g.extend(map(dot, *pairs[0]))  # the loops over the layers in C
        g_g.extend(map(dot, *pairs[1]))
        scale.append(self.eta / k)

    def _batches(self) -> None:
        """The budget of the block's steps from the products kept; shown to the readers."""
        steps, d, n_layers = self.steps, self.multiplier, len(self.layers)
        self.steps = 0
        fresh, w_g, g_g, scale = (np.array(kept) for kept in self.kept)
        for kept in self.kept:
            kept.clear()
        scale = scale[:, None]  # R = s·G
        wr = scale * w_g.reshape(steps, n_layers)
        rr = scale * scale * g_g.reshape(steps, n_layers)
        ww = carried_squares(fresh.reshape(-1, n_layers), wr, rr, d, self.carry)
        self._show(StepBudget.of_multiplied(d, ww, wr, rr))

    def _plan(self, batch) -> tuple:
        """The buffers and prepared calls of :meth:`_budget_of_batch` for ``batch``: the
        calls that form what the dot products read, and per layer the operands of w·G and
        of G·G. G·G from the Gram matrix aaᵀ (k × k) or, where that costs less
        (:func:`_layer_products`), from G = δᵀa itself, formed."""
        k, dtype = len(batch.z[0]), self.weights.dtype
        ones = np.ones(k, dtype=dtype)
        calls, w_g, g_g = [], ([], []), ([], [])
        for l, ((delta, inputs), z, b) in enumerate(zip(batch.factors, batch.z, self.biases)):
            o, i = delta.shape[1], inputs.shape[1]
            if _layer_products(k, i, o, first=l == 0)[0]:  # w·G and G·G from G itself
                gradient = np.empty((o, i), dtype=dtype)
                calls.append(prepared_matmul(gradient, delta.T, inputs))
                flat = gradient.reshape(-1)
                pairs = ((self.weight_views[l], flat), (flat, flat))
            else:
                # w·G = Σ δ∘(z − b), a·wᵀ from the forward pass; G·G = Σ (δδᵀ)∘(aaᵀ) =
                # δ·(aaᵀ δ), aaᵀ from its upper triangle.
                shifted, product = np.empty_like(z), np.empty_like(delta)
                calls += prepared_subtract_rows(shifted, z, b, ones)
                if l == 0:  # the batch X's, taken by _gram_of_inputs
                    gram = self.input_grams[k].T
                else:
                    gram = np.zeros((k, k), dtype=dtype)
                    calls.append(prepared_gram(gram, inputs))
                calls.append(prepared_symmetric_product(product, gram, delta))
                pairs = ((delta.reshape(-1), shifted.reshape(-1)),
                         (product.reshape(-1), delta.reshape(-1)))  # fmt: skip
            for kept, (left, right) in zip((w_g, g_g), pairs):
                kept[0].append(left)
                kept[1].append(right)
        self.plans[batch] = plan = (calls, (w_g, g_g), k)
        return plan


#: Rough costs in nanoseconds of the two ways of taking the budget under eq. 93, measured
#: with one BLAS thread on the machine of benchmarks/bench_monitoring.py: a NumPy or BLAS
#: call on small arrays, a weight's share of the passes of the d·w form (x = d·w,
#: R = x − w′, x·R and R·R), and a multiply-add of a small Gram matrix or of G = δᵀa.
CALL_NS, PASSES_NS_PER_WEIGHT, PRODUCT_NS_PER_MULTIPLY_ADD = 900.0, 1.2, 0.23


def gram_is_cheaper(sizes, batch_size: int) -> bool:
    """Whether the batch form of the budget (:meth:`StepSplit._budget_of_batch`) is
    expected to cost less than the d·w form, for batches of ``batch_size`` examples.

    The batch form takes per layer, with a call each, the inputs' m × m Gram
    matrix (its upper triangle), its product with δ and z − b (two calls), or G
    itself (:func:`_layer_products`), and two dot products; the d·w form passes
    over the weights and makes two calls, and two per layer. By these costs the
    batch form is the cheaper one on [784, 30, 10] up to m = 15, on [64, 30, 10]
    never (the calls outweigh the passes over its 2,220 weights), as measured."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    batch = sum(_layer_products(batch_size, i, o, first=l == 0)[1] for l, (i, o) in
                enumerate(layers)) + CALL_NS * (1 + 2 * len(layers))  # fmt: skip
    passes = PASSES_NS_PER_WEIGHT * sum(i * o for i, o in layers) + CALL_NS * (2 + 2 * len(layers))
    return batch < passes


def _layer_products(k: int, i: int, o: int, *, first: bool) -> tuple[bool, float]:
    """(whether G = δᵀa is formed rather than the Gram matrix, the cost in ns) of w·G and
    G·G for a layer of i inputs and o outputs at batch length k; in the first layer
    the inputs are the batch and their Gram matrix is always taken."""
    # aaᵀ (half its products), (aaᵀ)·δ, and z − b as a copy and a rank-one update
    gram = PRODUCT_NS_PER_MULTIPLY_ADD * k * k * (i / 2 + o) + 4 * CALL_NS
    gradient = PRODUCT_NS_PER_MULTIPLY_ADD * k * i * o + CALL_NS
    return (not first and gradient < gram), (gram if first else min(gram, gradient))


def stepper(rule, net: Network, state: dict, *, coefficient: float, eta: float) -> Callable:
    """``step(grad, batch_length)`` of ``rule``, its fixed arguments bound once per run.

    A rule may make its own (``rule.stepper``, as eq. 93's does, to look up its
    layers once); any other gets ``rule.step`` with the run's arguments bound.
    """
    if hasattr(rule, "stepper"):
        return rule.stepper(net, state, coefficient=coefficient, eta=eta)

    def step(grad, batch_length):
        rule.step(net, grad, state, coefficient=coefficient, eta=eta, batch_length=batch_length)

    return step


def run_epoch(run: Run, order: np.ndarray | None, *, split: StepSplit | None,
              locate_divergence: bool = False) -> tuple[int, int] | None:  # fmt: skip
    """One pass over the data in ``order`` (None: as given).

    With ``locate_divergence``, return (step, layer) of the first non-finite
    weight or bias, else None.
    """
    net, backprop, X, targets, step = run.net, run.backprop, run.X, run.targets, run.step
    params = net.params
    see_inputs, prepare, show = ((split.see_inputs, split.prepare, split.show)
                                 if split is not None else (None, None, None))  # fmt: skip
    # order is a permutation of range(n), so no index is out of range; mode="raise"
    # would gather through a temporary and take twice as long. The arrays' own take,
    # positional: np.take's wrapper and keywords cost as much as the gather of a small
    # batch. The epoch's targets are gathered at once, each batch's a view of them.
    take_x = X.take
    if order is not None:
        targets.take(order, 0, run.shuffled_targets, "clip")
    for i, (start, stop, xbuf, shuffled_yb) in enumerate(run.batches):
        if order is None:
            xb, yb = X[start:stop], targets[start:stop]
        else:
            xb, yb = take_x(order[start:stop], 0, xbuf, "clip"), shuffled_yb
        if see_inputs is not None:
            see_inputs(xb)
        grad = backprop.run(xb, yb)
        if show is not None:
            prepare(grad)
        step(grad, stop - start)
        if show is not None:
            show(grad)
        if locate_divergence and not np.isfinite(params).all():
            for layer, (w, b) in enumerate(zip(net.weights, net.biases)):
                if not (np.isfinite(w).all() and np.isfinite(b).all()):
                    return i, layer
    return None


class Snapshot:
    """The network, the generator and the rule's state at the start of an epoch."""

    def __init__(self, run: Run):
        self.run = run
        self.params = run.net.params.copy()
        self.generator = run.rng.bit_generator.state
        self.state = {key: array.copy() for key, array in run.state.items()}

    def restore_parameters(self) -> None:
        """Put the network and the rule's state back (the generator stays)."""
        self.run.net.params[...] = self.params
        for key, array in self.run.state.items():
            array[...] = self.state[key]

    def restore(self) -> None:
        self.restore_parameters()
        self.run.rng.bit_generator.state = self.generator


@dataclass
class Run:
    """A checked call of :func:`decaylab.train`: its data, rule, settings and record."""

    net: Network
    X: np.ndarray  # (n, n_inputs)
    targets: np.ndarray  # (n, n_outputs): what the cost compares the output with
    rule: object  # a decaylab.rules.Rule
    state: dict  # the rule's arrays (empty for eq. 93), rolled back with the parameters
    coefficient: float  # the convention's c; eq. 93's multiplier is d = 1 − ηc
    batch_size: int
    eta: float
    lmbda: float
    multiplier: float
    shuffle: bool
    rng: np.random.Generator
    monitors: tuple
    recorder: object  # decaylab.training's recorder, already holding epoch ``first``
    earlier: History | None  # the run this call continues
    first: int  # the epoch training starts from: 0, or the last of ``earlier``
    last: int
    split: StepSplit | None = None  # how monitors see the steps; None without monitors
    orders: list | None = None  # train's order=: the permutation of each epoch of this call
    backprop: Backprop = field(init=False)
    step: Callable = field(init=False)  # step(grad, batch_length) of the rule
    batches: list = field(init=False)  # (start, stop, x buffer, shuffled targets) of each batch
    shuffled_targets: np.ndarray = field(init=False)  # (n, n_outputs): the epoch's, in order

    def __post_init__(self):
        self.backprop = Backprop(self.net, self.batch_size)
        self.step = stepper(self.rule, self.net, self.state, coefficient=self.coefficient,
                            eta=self.eta)  # fmt: skip
        # The gather buffers and their views, made once: the last batch may be shorter.
        X, m, n = self.X, self.batch_size, len(self.X)
        xbuf = np.empty((m, X.shape[1]), dtype=X.dtype)
        self.shuffled_targets = np.empty_like(self.targets)
        self.batches = [
            (start, min(start + m, n), xbuf[: min(m, n - start)],
             self.shuffled_targets[start : start + m])
            for start in range(0, n, m)
        ]  # fmt: skip

    @property
    def optimizer_state(self) -> dict | None:
        """The rule's state as ``train``'s ``optimizer_state`` takes it: None for eq. 93."""
        return self.state or None

    def order(self, epoch: int) -> np.ndarray | None:
        """The examples' order in ``epoch``: given, shuffled, or None (as they are)."""
        if self.orders is not None:
            return self.orders[epoch - self.first - 1]
        return self.rng.permutation(len(self.X)) if self.shuffle else None

    def history(self) -> History:
        """The record so far, ``earlier`` included."""
        new = self.recorder.history(self.monitors)
        return new if self.earlier is None else self.earlier.concatenate(new)

    def diverged(self, epoch: int, located: tuple[int, int] | None) -> TrainingDiverged:
        """The error for an epoch that produced a non-finite value."""
        if located:
            step, layer = located
            where = f"at step {step}: a weight or bias of layer {layer} became NaN or infinite"
        else:
            step = None
            what, layer = self.recorder.problem or ("a weight or bias is not finite", None)
            where = f"at its end: {what}"
        return TrainingDiverged(
            f"training diverged in epoch {epoch} {where} (eta={self.eta}, lmbda={self.lmbda}, "
            f"batch_size={self.batch_size}); the network is left at the end of epoch "
            f"{epoch - 1} and .history holds the epochs up to {epoch - 1}",
            history=self.history(),
            epoch=epoch,
            step=step,
            layer=layer,
        )

    def interrupted(self, checkpoints: CheckpointSchedule) -> TrainingInterrupted:
        """The error for Ctrl-C, after the checkpoint of the last completed epoch is written."""
        # Network, generator and record all stand at the end of the last recorded epoch.
        done = self.recorder.epochs[-1]
        try:
            path = checkpoints.write(done, self)
        except CheckpointWriteError as exc:  # the interruption, and what it keeps, come first
            path, failed = None, f" The checkpoint of epoch {done} could not be written: {exc}."
        else:
            failed = ""
        saved = (
            failed
            if path is None
            else f" A checkpoint of epoch {done} is in {path!r}: "
            "decaylab.resume(decaylab.load_checkpoint(path), data) continues from it."
        )
        kept = self.history()
        return TrainingInterrupted(
            f"training interrupted after epoch {done}; epochs {kept.epoch[0]}-{done} are kept in "
            f".history and the network is at the end of epoch {done}. To resume, call "
            f"{continuation_call(self.last - done, self.optimizer_state)} with the same other "
            f"settings.{saved}",
            history=kept,
            generator=self.rng,
            optimizer_state=self.optimizer_state,
        )


def close_epoch(run: Run, epoch: int, order, snapshot: Snapshot) -> None:
    """Record the epoch just trained; if it produced a non-finite value, replay it to
    locate the step, roll it back and raise :class:`~decaylab.TrainingDiverged`."""
    if not (np.isfinite(run.net.params).all() and run.recorder.record(epoch)):
        snapshot.restore_parameters()
        located = run_epoch(run, order, split=None, locate_divergence=True)
        snapshot.restore()
        raise run.diverged(epoch, located)
    if run.split is not None:
        run.split.flush()  # the steps of the epoch's last block
    for monitor in run.monitors:  # only a finite epoch reaches the monitors' records
        monitor.end_epoch(run.net)


class CheckpointSchedule:
    """When checkpoints are written: every ``every`` epochs, at the end, on Ctrl-C.

    ``writer`` (a :class:`decaylab.training.CheckpointWriter`, or None for no
    checkpoints) knows the file; this object only knows the schedule.
    """

    def __init__(self, writer: Callable | None, every: int | None, training: dict):
        self.writer, self.every, self.training = writer, every, training
        self.last_written: int | None = None

    def write(self, epoch: int, run: Run) -> str | None:
        """Write the checkpoint of ``epoch``; return the file written, if any."""
        if self.writer is None:
            return None
        # Only a run with an update rule's state passes one, so other writers keep working.
        extra = {} if run.optimizer_state is None else {"optimizer_state": run.optimizer_state}
        try:
            path = self.writer(
                epoch,
                net=run.net,
                generator=run.rng,
                training=self.training,
                history=run.history(),
                **extra,
            )
        except OSError as exc:
            raise checkpoint_write_failed(exc, self.writer, epoch, run) from None
        self.last_written = epoch
        return path

    def after_epoch(self, epoch: int, run: Run) -> None:
        if self.every is not None and epoch % self.every == 0:
            self.write(epoch, run)

    def at_end(self, run: Run) -> None:
        if self.last_written != run.last:
            self.write(run.last, run)


def train_epochs(run: Run, checkpoints: CheckpointSchedule, *, progress: bool) -> History:
    """The loop: train epochs ``run.first + 1`` to ``run.last``; return the whole History.

    Every epoch is trained and recorded whole or not at all: a :class:`Snapshot`
    of its start rolls it back on Ctrl-C (then TrainingInterrupted, with
    everything up to the last completed epoch) and when it diverged
    (:func:`close_epoch` raises TrainingDiverged).
    """
    epochs = range(run.first + 1, run.last + 1)
    bar = tqdm(epochs, desc="epochs", unit="epoch", disable=not progress, leave=False)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in bar:
                snapshot = Snapshot(run)
                try:
                    order = run.order(epoch)
                    run_epoch(run, order, split=run.split)  # batches: backprop, step, monitors
                    close_epoch(run, epoch, order, snapshot)  # record, or replay and raise
                except KeyboardInterrupt:
                    snapshot.restore()
                    run.recorder.truncate(epoch - run.first)
                    raise
                checkpoints.after_epoch(epoch, run)
        checkpoints.at_end(run)
    except KeyboardInterrupt:
        raise run.interrupted(checkpoints) from None
    finally:
        bar.close()
    return run.history()
