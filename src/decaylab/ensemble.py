r"""Train K networks of the same shape together, each under its own seed, η, λ and rule.

A sweep over λ, η or seeds trains many networks of the same sizes. Trained
one by one, each step of each network is a handful of small matrix products
plus a fixed cost of NumPy calls. Trained together, the K members'
parameters live in one stacked buffer (:class:`decaylab._stack.Stack`),
every elementwise operation is one call for all members, and every product
is one call: when the members share their mini-batches the first layer — by
far the largest — is one wide product against the shared batch,

.. math:: Z^1 = X_B \,[W^1_1; W^1_2; \dots; W^1_K]^\top, \qquad
          [\nabla W^1_1; \dots; \nabla W^1_K] = [\delta^1_1, \dots, \delta^1_K]^\top X_B,

and when each member has its own batch order (its own seed) the batches
are gathered into one (K, m, n_in) array and every layer is a batched
product over the leading member axis. Each member still takes its own
rule's step with its own η, λ and convention — eq. 93,

.. math:: w_k \to d_k\, w_k - \frac{\eta_k}{m_B} \sum_{x \in B} \frac{\partial C_x}{\partial w_k},

or momentum, Nesterov, Adam + L2 or AdamW on its part of the stacked state
(:mod:`decaylab.rules`) — so each member's trajectory is its separate
run's; only the grouping of some floating-point operations differs (the
batch sums are formed by other products), so members agree with their
separate runs to about 1e-11 after a few epochs, not bit for bit. Over
long runs that difference grows as any perturbation of the weights does:
for the large initialisation of a [64, 1000, 10] network a relative change
of 1e-15 in the initial weights is a few 1e-3 of ‖w‖ after five epochs,
and so is the difference between a member and its separate run.

Sharing the mini-batches is the design of a sweep with common random
numbers: differences between members then come from η and λ, not from the
shuffling. Giving each member its own seed makes each the run
:func:`decaylab.train` would make with that seed.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from decaylab._blas import check_threads, limit_threads
from decaylab._progress import progress_bar
from decaylab._safeguards import run_identity
from decaylab._stack import Stack, StackedRule, stackable
from decaylab._validation import (
    as_generator,
    check_bool,
    check_choice,
    check_data,
    check_int,
    check_real,
)
from decaylab.conventions import (
    CONVENTIONS,
    DecayConvention,
    get_convention,
    steps_per_epoch,
)
from decaylab.errors import TrainingInterrupted
from decaylab.history import History
from decaylab.network import Network
from decaylab.rules import SGD, Rule, check_rule_state, get_rule
from decaylab.training import _recorded_rule, _Recorder

__all__ = ["EnsembleRun", "train_ensemble"]

#: Bytes of examples gathered at a time for an epoch's batches (all members' orders).
_CHUNK_BYTES = 1 << 20

#: Kept for code that reached into the module for the stacked buffer.
_Stack = Stack


def _per_member(name: str, value, K: int, check) -> list:
    """A scalar repeated K times, or a sequence of K values, each passed through ``check``."""
    if isinstance(value, (str, DecayConvention, numbers.Number)) or np.ndim(value) == 0:
        return [check(name, value)] * K
    values = list(value)
    if len(values) != K:
        raise ValueError(
            f"{name} has {len(values)} value(s); expected one value for all members or one "
            f"per member ({K})"
        )
    return [check(f"{name}[{k}]", v) for k, v in enumerate(values)]


def _check_convention(name: str, value) -> DecayConvention:
    if isinstance(value, DecayConvention):
        return value
    return get_convention(check_choice(name, value, CONVENTIONS))


def _check_nets(nets) -> list[Network]:
    if isinstance(nets, Network) or not isinstance(nets, Sequence):
        raise TypeError(
            f"nets has type {type(nets).__name__}; expected a sequence of decaylab.Network"
        )
    nets = list(nets)
    if not nets:
        raise ValueError("nets is empty; expected at least one decaylab.Network")
    for k, net in enumerate(nets):
        if not isinstance(net, Network):
            raise TypeError(f"nets[{k}] has type {type(net).__name__}; expected a decaylab.Network")
    shape = {key: v for key, v in nets[0].settings().items() if key != "init"}
    seen: dict[int, int] = {}
    for k, net in enumerate(nets):
        other = {key: v for key, v in net.settings().items() if key != "init"}
        if other != shape:
            raise ValueError(
                f"nets[{k}] is {net!r} but nets[0] is {nets[0]!r}; expected members of the same "
                "sizes, activation, cost and dtype (train other shapes separately)"
            )
        if id(net) in seen:
            raise ValueError(
                f"nets[{k}] is the same object as nets[{seen[id(net)]}]; expected distinct "
                "networks (use net.copy() for a second member that starts from the same weights)"
            )
        seen[id(net)] = k
    return nets


def _check_seeds(seed, K: int) -> tuple[np.random.Generator | None, list | None, list]:
    """(shared generator, None) for one seed; (None, K generators) for a list of K seeds.

    Also the seed each member's History records (an int, or None for a Generator).
    """
    if not isinstance(seed, (list, tuple)):
        recorded = int(seed) if isinstance(seed, numbers.Integral) else None
        return as_generator("seed", seed), None, [recorded] * K
    if len(seed) != K:
        raise ValueError(
            f"seed has {len(seed)} value(s); expected one seed for all members or one per "
            f"member ({K})"
        )
    rngs = [as_generator(f"seed[{k}]", s) for k, s in enumerate(seed)]
    seen: dict[int, int] = {}
    for k, rng in enumerate(rngs):
        if id(rng) in seen:
            raise ValueError(
                f"seed[{k}] is the same Generator as seed[{seen[id(rng)]}]; expected one "
                "generator per member (each member draws its own batch order)"
            )
        seen[id(rng)] = k
    recorded = [int(s) if isinstance(s, numbers.Integral) else None for s in seed]
    return None, rngs, recorded


def _check_rules(optimizer, optimizer_state, nets) -> tuple[list[Rule], list[dict]]:
    """One rule per member (of one kind) and its state, fresh when ``optimizer_state`` is None."""
    K = len(nets)
    if isinstance(optimizer, (list, tuple)):
        if len(optimizer) != K:
            raise ValueError(
                f"optimizer has {len(optimizer)} value(s); expected one rule for all members "
                f"or one per member ({K})"
            )
        rules = [get_rule(r) for r in optimizer]
    else:
        rules = [get_rule(optimizer)] * K
    problem = stackable(rules)
    if problem is not None:
        raise ValueError(
            f"optimizer: {problem}; expected rules of one kind built from the package's parts "
            "(train other rules separately with decaylab.train)"
        )
    if optimizer_state is None:
        return rules, [rule.init(net) for rule, net in zip(rules, nets)]
    if isinstance(optimizer_state, dict) or len(optimizer_state) != K:
        raise ValueError(
            f"optimizer_state has type {type(optimizer_state).__name__}; expected a sequence "
            f"of {K} states, one per member"
        )
    states = [check_rule_state(r, s, n) for r, s, n in zip(rules, optimizer_state, nets)]
    return rules, states


def check_ensemble(nets, data, *, epochs, batch_size, eta, lmbda, decay, evaluation, shuffle,
                   seed, training_metrics, optimizer=None,
                   optimizer_state=None) -> dict:  # fmt: skip
    """Check the arguments of :func:`train_ensemble`; return them checked, as a dict.

    Raises ValueError or TypeError before anything is changed.
    """
    nets = _check_nets(nets)
    K, first = len(nets), nets[0]
    sizes = dict(n_inputs=first.sizes[0], n_outputs=first.sizes[-1], dtype=first.dtype)
    X, labels, targets = check_data(data, name="data", **sizes)
    n = len(X)
    c = dict(nets=nets, X=X, labels=labels, targets=targets)
    c["epochs"] = check_int("epochs", epochs, minimum=0)
    c["batch_size"] = check_int("batch_size", batch_size, minimum=1, maximum=n)
    c["etas"] = _per_member("eta", eta, K, lambda name, v: check_real(name, v, positive=True))
    c["lmbdas"] = _per_member(
        "lmbda", lmbda, K, lambda name, v: check_real(name, v, nonnegative=True)
    )
    c["conventions"] = _per_member("decay", decay, K, _check_convention)
    c["multipliers"], c["coefficients"] = [], []
    for k, (convention, lm, e) in enumerate(zip(c["conventions"], c["lmbdas"], c["etas"])):
        terms = dict(eta=e, n=n, n_weights=first.n_weights)
        try:
            c["multipliers"].append(convention.multiplier(lm, **terms))
        except ValueError as exc:
            raise ValueError(f"member {k}: {exc}") from None
        c["coefficients"].append(convention.coefficient(lm, **terms))
    if evaluation is not None:
        evaluation = check_data(evaluation, name="evaluation", **sizes)
    c["evaluation"] = evaluation
    c["shuffle"] = check_bool("shuffle", shuffle)
    c["training_metrics"] = check_bool("training_metrics", training_metrics)
    c["rng"], c["rngs"], c["seeds"] = _check_seeds(seed, K)
    c["rules"], c["states"] = _check_rules(optimizer, optimizer_state, nets)
    return c


def check_observer(observer, checked: dict):
    """Return ``observer`` if the checked ensemble's rules let it split their steps."""
    if observer is None:
        return None
    missing = [a for a in ("bind", "before_step", "after_step", "end_epoch", "monitors")
               if not hasattr(observer, a)]  # fmt: skip
    if missing:
        raise TypeError(
            f"step_observer has type {type(observer).__name__}, which lacks {missing}; expected "
            "an observer of the stacked steps (see decaylab.ensemble.EnsembleRun)"
        )
    rule = checked["rules"][0]
    if not rule.multiplies_weights:
        raise ValueError(
            f"step_observer cannot split the steps of {rule!r}, whose decay is not the "
            "multiplication w -> d*w; expected eq. 93 or a decoupled rule (train a member "
            "alone with decaylab.train's monitors)"
        )
    return observer


def _recorders(c: dict) -> list[_Recorder]:
    """Each member's recorder, with the settings its separate :func:`decaylab.train` records."""
    X, n, recorders = c["X"], len(c["X"]), []
    members = zip(c["nets"], c["etas"], c["lmbdas"], c["conventions"], c["multipliers"],
                  c["seeds"], c["rules"])  # fmt: skip
    for net, e, lm, convention, d, seed, rule in members:
        settings = {
            **net.settings(),
            "n_weights": net.n_weights,
            "epochs": c["epochs"],
            "batch_size": c["batch_size"],
            "eta": e,
            "lmbda": lm,
            "decay": convention.name,
            "multiplier": d,
            "n": n,
            "steps_per_epoch": steps_per_epoch(n, c["batch_size"]),
            "shuffle": c["shuffle"],
            "seed": seed,
            **run_identity(net, d, X, c["labels"], c["evaluation"]),
        }
        if _recorded_rule(rule) is not None:
            settings["optimizer"] = _recorded_rule(rule)

        def penalty(sum_of_squares, convention=convention, lm=lm, e=e, n_w=net.n_weights):
            return convention.penalty(sum_of_squares, lm, eta=e, n=n, n_weights=n_w)

        data = (X, c["labels"], c["targets"])
        recorders.append(
            _Recorder(net, settings, data, c["evaluation"], c["training_metrics"], penalty)
        )
    with np.errstate(over="ignore", invalid="ignore"):
        for k, recorder in enumerate(recorders):
            if not recorder.record(0):
                raise ValueError(
                    f"nets[{k}] is not finite before training; expected finite weights, "
                    "biases and cost"
                )
    return recorders


class EnsembleRun:
    """A checked ensemble (:func:`check_ensemble`) being trained, a few epochs at a time.

    The members still training are :attr:`active` (indices into the networks);
    they share one :class:`~decaylab._stack.Stack`. A member that diverges, or
    that a caller takes out with :meth:`drop` (its run is over), leaves the stack: its
    network, rule state and record stay as they were at the end of its last
    epoch, and the stack is rebuilt from the others.

    An ``observer`` sees every step of the stack: ``bind(stack, members,
    multipliers)`` at every (re)build (the members' indices and each one's
    decay multiplier d = 1 − ηc), ``before_step()`` and ``after_step()``
    around every step, ``end_epoch(members)`` with the members whose epoch was
    recorded, and ``monitors(k)`` gives the monitor records of member k's
    History (objects with ``name`` and ``result()``). Only rules whose decay
    is the multiplication w → d·w can be observed this way.
    """

    def __init__(self, checked: dict, observer=None):
        self.c = c = checked
        self.observer = observer
        self.nets, self.X, self.targets = c["nets"], c["X"], c["targets"]
        self.sgd = all(isinstance(rule, SGD) for rule in c["rules"])
        self.recorders = _recorders(c)
        self.active = list(range(len(self.nets)))
        self.epoch = 0  # the last epoch recorded
        self.stopped: list[str] = []  # the members that diverged, described
        self._build()

    def _build(self) -> None:
        c, active = self.c, self.active
        self.stack = Stack([self.nets[k] for k in active], c["batch_size"])
        pick = lambda key: [c[key][k] for k in active]  # noqa: E731
        if self.sgd:
            self.stack.set_hyperparameters(pick("etas"), pick("multipliers"))
            self.rule = None
        else:
            self.rule = StackedRule(
                pick("rules"), self.stack, pick("etas"), pick("coefficients"), pick("states"),
                [self.nets[k] for k in active],
            )  # fmt: skip
        self.own_orders = c["rngs"] is not None and c["shuffle"] and len(active) > 1
        if self.observer is not None:
            # Each member's d as its step forms it: the convention's for eq. 93, 1 − ηc else.
            multipliers = pick("multipliers") if self.sgd else [
                1.0 - e * c for e, c in zip(pick("etas"), pick("coefficients"))
            ]  # fmt: skip
            self.observer.bind(self.stack, list(active), multipliers)

    def _orders(self) -> np.ndarray | None:
        """This epoch's example order: (n,) shared, (K, n) one per member, or None."""
        c, n = self.c, len(self.X)
        if not c["shuffle"]:
            return None
        if c["rngs"] is None:
            return c["rng"].permutation(n)
        orders = np.stack([c["rngs"][k].permutation(n) for k in self.active])
        return orders if self.own_orders else orders[0]

    def _chunks(self, order):
        """The epoch's examples in order, gathered a chunk of whole batches at a time:
        (inputs, targets) of shape (rows, ·), or (K, rows, ·) with one order per member."""
        X, targets = self.X, self.targets
        if order is None:
            yield X, targets
            return
        m, members = self.c["batch_size"], order.shape[0] if order.ndim == 2 else 1
        row_bytes = members * (X.shape[1] + targets.shape[1]) * X.itemsize
        rows = max(1, _CHUNK_BYTES // (row_bytes * m)) * m
        for start in range(0, order.shape[-1], rows):
            index = order[..., start : start + rows]
            yield X.take(index, axis=0), targets.take(index, axis=0)

    def _pass(self, order) -> None:
        """One pass over the batches, stepping every active member by its rule.

        The examples are gathered a chunk of batches at a time, not batch by
        batch: each batch is then a view (a member's rows stay C-contiguous).
        """
        m, backward, scaled = self.c["batch_size"], self.stack.backward, self.sgd
        step = self.stack.sgd_step if scaled else self.rule.step
        observer = self.observer
        watched = observer is not None
        before, after = (observer.before_step, observer.after_step) if watched else (None, None)
        for X, targets in self._chunks(order):
            rows, shared = X.shape[-2], X.ndim == 2
            for start in range(0, rows, m):
                stop = min(start + m, rows)
                if shared:
                    xb, yb = X[start:stop], targets[start:stop]
                else:
                    xb, yb = X[:, start:stop], targets[:, start:stop]
                backward(xb, yb, scaled=scaled)
                if watched:
                    before()
                step(stop - start)
                if watched:
                    after()

    def _snapshot(self) -> tuple:
        c = self.c
        rngs = [c["rng"]] if c["rngs"] is None else [c["rngs"][k] for k in self.active]
        state = {} if self.rule is None else {k: a.copy() for k, a in self.rule.state.items()}
        return self.stack.params.copy(), state, [(r, r.bit_generator.state) for r in rngs]

    def _restore(self, snapshot, members=None) -> None:
        """Put the stack (or those ``members`` of it) back to ``snapshot``; store them."""
        params, state, generators = snapshot
        members = range(len(self.active)) if members is None else members
        for j in members:
            self.stack.set_member(j, self.stack.member(j, params))
            if self.rule is not None:
                for key, stacked in self.rule.state.items():
                    if stacked.ndim == 1 and len(stacked) == self.stack.K:
                        stacked[j] = state[key][j]
                    else:
                        self.stack.set_member(j, self.stack.member(j, state[key]), stacked)
        self._store(members)
        return generators

    def _store(self, members=None) -> None:
        """Copy the stack's members (all, or positions ``members``) to their networks, states."""
        members = range(len(self.active)) if members is None else list(members)
        nets = [self.nets[k] for k in self.active]
        self.stack.store(nets, members)
        if self.rule is not None:
            self.rule.store_states(members)

    def train(self, epochs: int, *, progress: bool = False) -> None:
        """Train the active members ``epochs`` epochs more, recording each epoch."""
        bar = progress_bar(
            range(epochs), desc="epochs", unit="epoch", disable=not progress, leave=False
        )
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                for _ in bar:
                    if not self.active:
                        break
                    self._epoch()
        finally:
            bar.close()

    def _epoch(self) -> None:
        epoch, snapshot = self.epoch + 1, self._snapshot()
        try:
            self._pass(self._orders())
            finite = self.stack.finite_members()
            self._store()
            failed = [
                j for j, k in enumerate(self.active)
                if not (finite[j] and self.recorders[k].record(epoch))
            ]  # fmt: skip
        except KeyboardInterrupt:
            # Undo the unfinished epoch so that what is kept is the completed ones.
            for generator, state in self._restore(snapshot):
                generator.bit_generator.state = state
            for recorder in self.recorders:
                recorder.truncate(sum(1 for e in recorder.epochs if e < epoch))
            raise
        self.epoch = epoch
        if self.observer is not None:
            self.observer.end_epoch([k for j, k in enumerate(self.active) if j not in failed])
        if failed:
            self._restore(snapshot, failed)
            for j in failed:
                k = self.active[j]
                self.stopped.append(
                    f"nets[{k}] (eta={self.c['etas'][k]}, lmbda={self.c['lmbdas'][k]}) in "
                    f"epoch {epoch}"
                )
            self.drop([self.active[j] for j in failed])

    def drop(self, members: Sequence[int]) -> None:
        """Take the networks ``members`` out of the stack; their runs are over."""
        self.active = [k for k in self.active if k not in set(members)]
        if self.active:
            self._build()

    def history(self, k: int) -> History:
        """Member k's record so far (with what the observer recorded of its steps)."""
        monitors = () if self.observer is None else self.observer.monitors(k)
        return self.recorders[k].history(monitors)

    def histories(self) -> list[History]:
        return [self.history(k) for k in range(len(self.nets))]

    def interrupted(self) -> TrainingInterrupted:
        """The error for Ctrl-C: the completed epochs, generator(s) and states to resume from."""
        c, done = self.c, self.epoch
        generator = c["rng"] if c["rngs"] is None else c["rngs"]
        return TrainingInterrupted(
            f"training of the ensemble interrupted after epoch {done}; the members' epochs "
            f"up to {done} are kept in .history (a list, one History per member) and every "
            f"network is at the end of epoch {done}. To resume, call train_ensemble(nets, "
            f"data, epochs={c['epochs'] - done}, seed=exc.generator"
            + ("" if self.sgd else ", optimizer_state=exc.optimizer_state")
            + ") with the same other settings; it continues the run bit for bit, recording "
            "from epoch 0 again.",
            history=self.histories(),
            generator=generator,
            optimizer_state=None if self.sgd else c["states"],
        )


def train_ensemble(
    nets: Sequence[Network],
    data,
    *,
    epochs: int,
    batch_size: int,
    eta: float | Sequence[float],
    lmbda: float | Sequence[float] = 0.0,
    decay: str | DecayConvention | Sequence[str | DecayConvention] = "sum",
    evaluation=None,
    shuffle: bool = True,
    seed=None,
    training_metrics: bool = True,
    progress: bool | None = None,
    blas_threads: int | None = 1,
    optimizer=None,
    optimizer_state: Sequence[dict] | None = None,
    step_observer=None,
) -> list[History]:
    r"""Train K networks of the same shape in place, together.

    Each member does what :func:`decaylab.train` would do with the same
    arguments and seed (its rule with its own η, λ and convention), and gets
    the same History (up to the order of floating-point sums, about 1e-10
    after a few epochs), but the K members are stepped together: see the
    module notes.

    Parameters
    ----------
    nets : sequence of K Network
        Distinct networks with the same sizes, activation, cost and dtype (they
        may differ in initialisation and seed). Trained in place.
    data : pair (X, y)
        Training data shared by all members: X of shape (n, sizes[0]); y labels
        (n,) or one-hot (n, k).
    epochs : int
        Number of passes over the data (>= 0).
    batch_size : int
        Mini-batch size m, 1 <= m <= n, shared by all members.
    eta : float or sequence of K floats
        Learning rate η > 0, one for all members or one per member.
    lmbda : float or sequence of K floats, optional
        Regularisation strength λ >= 0, one for all or one per member.
    decay : str or DecayConvention, or a sequence of K of them, optional
        The decay convention, one for all or one per member.
    evaluation : pair (X, y), optional
        Data on which every member's cost and accuracy are recorded each epoch.
    shuffle : bool, optional
        Reshuffle the examples every epoch, or take them in the given order.
    seed : int, numpy.random.Generator or None, or a sequence of K of them
        One source of a shuffling order shared by all members (the same seed
        as a separate :func:`decaylab.train` run gives every member that
        run's batches), or one per member: member k then sees the batches of
        ``train(..., seed=seed[k])`` (distinct Generators).
    training_metrics : bool, optional
        Record each member's training cost and accuracy each epoch.
    progress : bool or None
        Show a progress bar; by default only when standard error is a terminal.
    blas_threads : int or None, optional
        As for :func:`decaylab.train`: BLAS held to one thread by default.
    optimizer : None, str or Rule, or a sequence of K rules of one kind
        The update rule, as ``optimizer`` of :func:`decaylab.train` (None is
        eq. 93); per-member rules of one class (e.g. ``Momentum`` with
        different β, Nesterov or not for all) step together.
    optimizer_state : sequence of K dict, optional
        Each member's rule state (fresh when None), updated in place and left
        at the end of the last completed epoch, for a continuation.
    step_observer : optional
        An object that sees every step of all members at once and adds its
        records to their Histories (see :class:`EnsembleRun`; e.g.
        :class:`decaylab.experiments._stacked_decomposition.StackedDecomposition`),
        for rules whose decay is the multiplication w → d·w.

    Returns
    -------
    list of K History
        ``histories[k]`` is member k's record, equal to that of
        ``train(nets[k], data, ..., eta=eta[k], lmbda=lmbda[k], decay=decay[k], seed=seed)``.
        A member whose weights, biases or cost become non-finite stops: its
        network (and rule state) is left at the end of its last finite epoch,
        its History ends there (``histories[k].n_epochs < epochs``), a
        ``RuntimeWarning`` names it, and the other members carry on.

    Raises
    ------
    ValueError, TypeError
        For bad arguments or data; no network has been changed then.
    TrainingInterrupted
        On Ctrl-C. Every network is left at the end of the last completed
        epoch; ``.history`` is the list of the members' Histories so far,
        ``.generator`` the shuffling generator (or the list of the members'),
        rewound, and ``.optimizer_state`` the members' rule states (None for
        eq. 93), so that ``train_ensemble(nets, ..., epochs=remaining,
        seed=exc.generator, optimizer_state=exc.optimizer_state)`` continues
        the run bit for bit (each member's record then continues in the
        History it returns, numbered from epoch 0).

    Notes
    -----
    Step monitors (:func:`decaylab.train`'s ``monitors``) are not available
    here; train a member alone to monitor its steps.

    Examples
    --------
    >>> import decaylab as dl
    >>> data = dl.load_digits()
    >>> nets = [dl.Network([64, 30, 10], seed=0).copy() for _ in range(3)]
    >>> histories = dl.train_ensemble(nets, data.train, epochs=2, batch_size=10, eta=0.5,
    ...                               lmbda=[0.0, 5.0, 50.0], seed=0)
    >>> [round(float(h.weights.total.norm[-1]), 1) for h in histories]
    [48.8, 31.1, 3.1]
    """
    checked = check_ensemble(
        nets, data, epochs=epochs, batch_size=batch_size, eta=eta, lmbda=lmbda, decay=decay,
        evaluation=evaluation, shuffle=shuffle, seed=seed, training_metrics=training_metrics,
        optimizer=optimizer, optimizer_state=optimizer_state,
    )  # fmt: skip
    threads = check_threads(blas_threads)
    run = EnsembleRun(checked, check_observer(step_observer, checked))
    show = sys.stderr.isatty() if progress is None else progress
    try:
        with limit_threads(threads):
            run.train(checked["epochs"], progress=show)
    except KeyboardInterrupt:
        raise run.interrupted() from None
    if run.stopped:
        warnings.warn(
            "training diverged for "
            + "; ".join(run.stopped)
            + ": each is left at the end of its last finite epoch, where its History ends; "
            "the other members were trained to the end",
            RuntimeWarning,
            stacklevel=2,
        )
    return run.histories()
