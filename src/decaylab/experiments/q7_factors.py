r"""Question 7, part 1: the rules' runs and their first-epoch decay factors.

The helpers every run of question 7 is trained through (:func:`run_rule`,
:func:`lmbda_for`) and the first epoch from the large initialisation, where
decay dominates (question 1): the measured ‖w_1‖/‖w_0‖ of each layer against
each rule's prediction — d^⌈n/m⌉ for eq. 93 and AdamW, the exact momentum
recurrence with its transient, Adam + L2's effective factor measured from its
√v̂ — and momentum's closed form e^{−ηλ/(m(1−β))}, which decides claim 13
(:func:`momentum_factor_claim`).
"""

from __future__ import annotations

import math

import numpy as np

from decaylab.conventions import steps_per_epoch
from decaylab.dynamics.optimizer_factors import adam_l2_decay, momentum_factors
from decaylab.errors import TrainingDiverged
from decaylab.experiments.adaptive import train_until_equilibrium
from decaylab.network import Network
from decaylab.optimizers import Adam, AdamW, Momentum
from decaylab.rules import get_rule
from decaylab.training import train

__all__ = ["RULES", "first_epoch_factors", "lmbda_for", "momentum_factor_claim", "run_rule"]

#: The update rules compared, and how the report names them.
RULES = {"sgd": "eq. 93", "momentum": "momentum", "adam": "Adam + L2", "adamw": "AdamW"}


def momentum_factor_claim(
    measured: float,
    exact: float,
    closed_form: float,
    sgd_closed_form: float,
    asymptotic_error: float,
    *,
    tolerance: float = 0.01,
) -> str:
    """Verdict on claim 13 from momentum's first-epoch factors.

    Parameters
    ----------
    measured : float
        ‖w_1‖/‖w_0‖ measured under momentum (NaN when the runs diverged).
    exact : float
        The exact first-epoch factor of the momentum recurrence (transient included).
    closed_form : float
        e^{−ηλ/(m(1−β))}.
    sgd_closed_form : float
        e^{−ηλ/m}, what the factor would be without momentum.
    asymptotic_error : float
        closed form / r₊^K − 1, the closed form's error once the transient has gone.
    tolerance : float
        The closed form "holds" within this relative error.

    Returns
    -------
    str
        "undecided" if nothing was measured; "does not hold" if the measured
        factor is nearer (in log) to e^{−ηλ/m} than to the momentum form;
        "holds" if it is nearer the momentum form and the closed form is
        within ``tolerance`` of the exact factor both in the first epoch and
        after the transient; "holds with a qualification" otherwise.
    """
    if not np.isfinite(measured) or measured <= 0:
        return "undecided"
    if abs(np.log(measured / sgd_closed_form)) < abs(np.log(measured / closed_form)):
        return "does not hold"
    first_epoch_error = closed_form / exact - 1.0
    if max(abs(first_epoch_error), abs(asymptotic_error)) <= tolerance:
        return "holds"
    return "holds with a qualification"


def optimizer_of(rule: str, beta: float):
    """The rule's optimizer object (None for eq. 93)."""
    return {"sgd": None, "momentum": Momentum(beta=beta), "adam": Adam(), "adamw": AdamW()}[rule]


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    # The same two streams as the other experiments' runs: weights, then batch order.
    net_stream, order_stream = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(net_stream), np.random.default_rng(order_stream)


def run_rule(
    sizes, init, seed, split, *, rule, beta, eta, lmbda, epochs, batch_size, evaluation, until=None
):
    """Train one network; return (history, net, optimizer state, diverged message or None).

    With ``until`` (a cap in τ) the run goes on until its equilibrium detector
    says settled (:func:`train_until_equilibrium`) and ``epochs`` is the least
    it trains; the AdaptiveRun is then returned in place of the history.
    """
    net_rng, order_rng = _streams(seed)
    net = Network(sizes, init=init, seed=net_rng)
    optimizer = optimizer_of(rule, beta)
    state = None if optimizer is None else optimizer.init(net)
    settings = {"batch_size": batch_size, "eta": eta, "lmbda": lmbda, "seed": order_rng}
    settings.update(optimizer=optimizer, optimizer_state=state, evaluation=evaluation)
    try:
        if until is not None:
            run = train_until_equilibrium(
                net, split, max_relaxations=until, min_epochs=epochs, **settings
            )
            return run, net, state, None
        history = train(
            net, split, epochs=epochs, training_metrics=False, progress=False, **settings
        )
    except TrainingDiverged as exc:
        return exc.history, net, state, str(exc)
    return history, net, state, None


def lmbda_for(rule: str, timescale: float, *, eta: float, batch_size: int, beta: float) -> float:
    """λ whose pure-decay timescale is ``timescale`` epochs: m/(ηλ), m(1 − β)/(ηλ) with momentum.

    The factor is the rule's own: the rate of its closed form e^{−rate·n/m} per unit
    ηλ/n (Adam + L2 has none; AdamW's, 1, is taken).
    """
    speed = -math.log(get_rule(optimizer_of(rule, beta)).closed_form(1, 1, 1.0, 1.0))
    scale = 1.0 / speed if math.isfinite(speed) else 1.0
    return batch_size * scale / (eta * timescale)


def first_epoch_factors(run, note, sizes, seeds, train_set, lmbdas, *, etas, beta, batch_size):
    """One epoch from the large initialisation under each rule: measured and predicted factors.

    Parameters
    ----------
    run, note : callable
        :func:`run_rule` (or a wrapper counting runs) and the collector of
        divergence messages, ``note(message, rule)``.
    sizes : tuple of int
    seeds : tuple of int
    train_set : Split
    lmbdas : dict of str to float
        λ of each rule.
    etas : dict of str to float
    beta : float
    batch_size : int

    Returns
    -------
    dict
        "factor_measured" and "factor_predicted" (rule → array (S, L), NaN for
        a diverged run), "closed_form" (rule → float, plus "sgd_at_momentum",
        e^{−ηλ/m} at momentum's λ) and "momentum" (the exact
        :class:`~decaylab.dynamics.optimizer_factors.MomentumFactors`).
    """
    n = train_set.n
    S, L, K = len(seeds), len(sizes) - 1, steps_per_epoch(n, batch_size)
    measured = {r: np.full((S, L), np.nan) for r in lmbdas}
    predicted = {r: np.full((S, L), np.nan) for r in lmbdas}
    closed_form = {}
    for rule, lam in lmbdas.items():
        optimizer, c = get_rule(optimizer_of(rule, beta)), lam / n
        closed_form[rule] = optimizer.closed_form(n, batch_size, etas[rule], c)
        exact = optimizer.epoch_factors(n, batch_size, etas[rule], c, epochs=1)[0]
        for s, seed in enumerate(seeds):
            history, net, state, message = run(
                sizes, "large", seed, train_set, rule=rule, beta=beta, eta=etas[rule],
                lmbda=lam, epochs=1, batch_size=batch_size, evaluation=None,
            )  # fmt: skip
            note(message, rule)
            if message is not None:
                continue
            measured[rule][s] = history.weights.norm[1] / history.weights.norm[0]
            # The rule's exact first-epoch factor from a fresh state; a rule with none
            # (Adam + L2) has its effective decay measured from its state instead.
            if math.isnan(exact):
                predicted[rule][s] = adam_l2_decay(
                    net, state, eta=etas[rule], coefficient=c, beta2=optimizer.beta2,
                    eps=optimizer.eps, steps=K,
                ).effective_epoch  # fmt: skip
            else:
                predicted[rule][s] = exact
    a_momentum = etas["momentum"] * lmbdas["momentum"] / n
    momentum = momentum_factors(a_momentum, beta, n, batch_size, epochs=3)
    closed_form["momentum"] = momentum.closed_form
    closed_form["sgd_at_momentum"] = float(np.exp(-a_momentum * n / batch_size))
    return {
        "factor_measured": measured,
        "factor_predicted": predicted,
        "closed_form": closed_form,
        "momentum": momentum,
    }
