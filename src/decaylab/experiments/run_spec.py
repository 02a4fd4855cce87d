"""What one run of an experiment is: its :class:`RunSpec`, and the :class:`RunOutcome` it gives.

:mod:`decaylab.experiments.runs` trains them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from decaylab.history import History

__all__ = ["RunOutcome", "RunSpec"]


@dataclass(frozen=True)
class RunSpec:
    """One training run of an experiment: a network, its hyper-parameters and its seed.

    Attributes
    ----------
    sizes : tuple of int
        Layer sizes, input first.
    init : {"large", "scaled"}
        Initialisation (N(0, 1) or N(0, 1/n_in) weights).
    seed : int
        Seeds both the initial weights and the shuffling (through two
        independent streams spawned from it).
    epochs, batch_size : int
        Number of epochs (with ``until_equilibrium``, the most epochs) and
        mini-batch size m.
    eta, lmbda : float
        Learning rate η and regularisation strength λ.
    decay : str
        Decay convention ("sum" = Nielsen's eq. 93).
    n_train : int or None
        Train on the first ``n_train`` training examples only (all when None).
    monitors : tuple of str
        Step monitors to attach: "decomposition", "rotation".
    monitor_from : int
        For a run whose analysis reads only the first epoch of its
        decomposition record and those after this one: the rows of epochs
        2 … ``monitor_from`` are NaN, and a stacked run (see
        :mod:`decaylab.experiments._stacked_decomposition`) forms no products
        for them. 0 (the default) records every epoch.
    evaluate : bool
        Record validation cost and accuracy every epoch.
    evaluate_epochs : tuple of int or None
        With ``evaluate``, record them at these epochs only, for a run that reads
        no others: the record ``history.monitors["evaluation"]`` (epoch, data
        cost C₀ without the penalty, accuracy; see
        :class:`~decaylab.experiments._epoch_evaluation.EpochEvaluation`) then
        takes the place of the History's own evaluation.
    training_metrics : bool
        Record training cost and accuracy every epoch.
    stationarity : bool
        Measure the stationarity identity on the final network (see
        :func:`decaylab.dynamics.equilibrium.stationarity`); its ``total_ratio`` goes
        into ``RunOutcome.measurements["stationarity_ratio"]``, and each
        layer's prediction (n/λ)(−w_l·∇C₀) into ``"stationarity_predicted_l"``.
    until_equilibrium : bool
        Train in chunks until the weights reach their equilibrium, up to
        ``epochs`` (:func:`decaylab.experiments.adaptive.train_until_equilibrium`);
        ``measurements["reached"]`` says whether they did.
    max_relaxations : float or None
        With ``until_equilibrium``, the cap in units of the run's own τ (as
        its rule and detector answer it) instead of ``epochs``, which is then ignored.
    detection : tuple of (str, value) pairs
        Keyword arguments of :func:`decaylab.dynamics.equilibrium.find_equilibrium`
        for ``until_equilibrium``.
    gradient_noise : bool
        Measure each layer's per-example gradient variance on the final network
        (:func:`decaylab.dynamics.noise.gradient_variance`) into
        ``measurements["gradient_variance_l"]``.
    rule : str, Rule or None
        The update rule ("momentum", "adam", "adamw", or a rule such as
        ``Momentum(beta=0.8)``; None is eq. 93), as ``optimizer=`` of :func:`decaylab.train`.
    adam_decay : bool
        Measure Adam + L2's effective decay of each layer from the rule's final
        state (:func:`decaylab.dynamics.optimizer_factors.adam_l2_decay`, over one
        epoch of steps) into ``measurements["adam_ratio_l"]`` and ``["adam_gradient_rms_l"]``.
    """

    sizes: tuple[int, ...]
    init: str
    seed: int
    epochs: int
    batch_size: int
    eta: float
    lmbda: float
    decay: str = "sum"
    n_train: int | None = None
    monitors: tuple[str, ...] = ()
    evaluate: bool = True
    training_metrics: bool = False
    stationarity: bool = False
    until_equilibrium: bool = False
    detection: tuple = ()
    gradient_noise: bool = False
    rule: object = None
    max_relaxations: float | None = None
    adam_decay: bool = False
    evaluate_epochs: tuple[int, ...] | None = None
    monitor_from: int = 0

    def describe(self) -> str:
        """A one-line description, used when a run diverges."""
        n = "" if self.n_train is None else f", n={self.n_train}"
        return (
            f"sizes={list(self.sizes)}, init={self.init}, eta={self.eta:g}, "
            f"lmbda={self.lmbda:g} ({self.decay}), batch_size={self.batch_size}{n}, "
            f"seed={self.seed}" + ("" if self.rule is None else f", rule={self.rule}")
        )

    def _group_key(self) -> tuple:
        # Runs of one shape, data, batch size, rule and stopping rule can be trained
        # together as one ensemble, whatever their seeds, η, λ and conventions;
        # runs until equilibrium, each with its own cap, stop each on its own.
        return (
            self.sizes,
            None if self.until_equilibrium else self.epochs,
            self.batch_size,
            self.n_train,
            self.evaluate,
            self.training_metrics,
            self.rule,
            self.until_equilibrium,
            self.max_relaxations if self.until_equilibrium else None,
            self.monitors,
            self.evaluate_epochs if self.evaluate else None,
        )


@dataclass
class RunOutcome:
    """What one run produced.

    Attributes
    ----------
    spec : RunSpec
    history : History
        All finite epochs (up to the last finite one when the run diverged).
    diverged : bool
        True when training produced a non-finite weight or cost.
    message : str or None
        The divergence message.
    measurements : dict of str to float
        Numbers measured on the final network (e.g. "stationarity_ratio").
    """

    spec: RunSpec
    history: History
    diverged: bool
    message: str | None
    measurements: dict = field(default_factory=dict)
