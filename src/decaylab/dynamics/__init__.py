"""Measurements made from training runs: what the decay did, and where it stopped.

Every module here takes a :class:`~decaylab.history.History` (or a network
and its data, or plain arrays) and returns a record of NumPy arrays. None of
them trains a network for an experiment, draws a figure or writes a report:
``dynamics`` sits between training and ``decaylab.experiments`` in the
package's one-way flow, and imports neither the experiments, the report nor
the plots.

=====================  ======================================================
module                 what it measures
=====================  ======================================================
``factors``            the exact per-epoch decay factor d^⌈n/m⌉ against
                       e^{−ηλ/m}, its error and leading term; measured norm
                       ratios
``decomposition``      each step split into its decay and gradient parts, and
                       the ‖w‖² budget (contraction, radial and noise terms)
``budget``             that budget summarised over a run's equilibrium window:
                       closure, noise share, the ‖w‖² it implies
``equilibrium``        equilibrium detection in units of τ = m/(ηλ),
                       equilibrium sizes, the stationarity identity
                       ‖w‖² = (n/λ)(−w·∇C₀), relaxation times
``noise``              the AR(1) noise-driven equilibrium σ²/(2a − a²)
``rotation``           angular updates between successive weight vectors and
                       the effective learning rate η/‖w‖²
``scaling``            log–log power-law fits with intervals and the exponents
                       they admit
``summary``            means and autocorrelation-aware standard errors of any
                       statistic of a run over an epoch window
``optimizer_factors``  pure-decay factors of heavy-ball momentum, Adam + L2
                       and AdamW
=====================  ======================================================
"""
