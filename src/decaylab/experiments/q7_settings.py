"""Question 7's arguments checked, and the settings its record keeps of them."""

from __future__ import annotations

from collections.abc import Sequence

from decaylab._validation import check_int, check_real
from decaylab.data import Dataset
from decaylab.experiments.inputs import as_seeds, check_int_list, check_positive_list, resolve_data
from decaylab.experiments.pipeline import scan_data
from decaylab.experiments.q7_factors import RULES

__all__ = ["ETAS", "checked", "record_settings"]

#: Each rule's default learning rate: momentum at eq. 93's η/(1 − β), Adam's at 0.003.
ETAS = {"sgd": 0.5, "momentum": 0.05, "adam": 0.003, "adamw": 0.003}


def _check_rules(rules: Sequence[str]) -> list[str]:
    rules = list(rules)
    for i, rule in enumerate(rules):
        if rule not in RULES:
            raise ValueError(
                f"rules[{i}]={rule!r} is not recognised; expected one of {list(RULES)}"
            )
    missing = [r for r in ("momentum", "adam", "adamw") if r not in rules]
    if missing:
        raise ValueError(f"rules={rules!r} lacks {missing}; claims 13-15 need them")
    return rules


def _check_etas(eta) -> dict:
    etas = dict(ETAS)
    if eta is not None:
        if not isinstance(eta, dict):
            raise TypeError(f"eta has type {type(eta).__name__}; expected a dict of rule to η")
        etas.update({r: check_real(f"eta[{r!r}]", v, positive=True) for r, v in eta.items()})
    return etas


def _check_transfer(scan: Dataset, ns, timescales, epochs: int, batch_size: int) -> tuple:
    """The scan's sizes (default n/16, n/4, n) and its τ grid (default E/8 … 8E), checked."""
    n_max = scan.train.n
    batch_size = check_int("transfer_batch_size", batch_size, minimum=1, maximum=n_max)
    if ns is None:
        ns = sorted({max(batch_size, n_max // 16), max(batch_size, n_max // 4), n_max})
    ns = tuple(sorted(check_int_list("ns", ns, minimum=batch_size)))
    for i, n in enumerate(ns):
        check_int(f"ns[{i}]", n, minimum=batch_size, maximum=n_max)
    if len(set(ns)) < 2:
        raise ValueError(f"ns={list(ns)!r} has fewer than 2 sizes; expected at least 2")
    if timescales is None:
        timescales = tuple(epochs * 2.0**k for k in range(-3, 4))
    timescales = tuple(sorted(check_positive_list("transfer_timescales", timescales)))
    if len(set(timescales)) < 3:
        raise ValueError(
            f"transfer_timescales={list(timescales)!r} has fewer than 3 values; expected at "
            "least 3, so that a least cost can lie inside the grid"
        )
    return ns, timescales, batch_size


def checked(given: dict) -> dict:
    """:func:`~decaylab.experiments.q7_optimizers.optimizer_comparison`'s arguments, checked.

    Returns the same keys with the data sets resolved (``data``, and the
    scan's data under ``transfer_data``), ``eta`` completed from :data:`ETAS`,
    the defaults of ``equilibrium_n``, ``ns`` and ``transfer_timescales``
    worked out, ``seeds`` as a tuple and ``sizes`` added.
    """
    c = dict(given)
    data = c["data"] = resolve_data(c["data"])
    c["transfer_data"] = scan_data(c["transfer_data"], data)
    c["hidden"] = check_int("hidden", c["hidden"], minimum=1)
    c["rules"], c["eta"] = _check_rules(c["rules"]), _check_etas(c["eta"])
    c["beta"] = check_real("beta", c["beta"], nonnegative=True)
    if c["beta"] >= 1.0:
        raise ValueError(f"beta={c['beta']} is too large; expected 0 <= beta < 1")
    m = c["batch_size"] = check_int("batch_size", c["batch_size"], minimum=1, maximum=data.train.n)
    c["factor_timescale"] = check_real("factor_timescale", c["factor_timescale"], positive=True)
    c["timescales"] = sorted(check_positive_list("timescales", c["timescales"]))
    if len(c["timescales"]) < 2:
        raise ValueError(f"timescales={c['timescales']!r} has one value; expected at least 2")
    if c["equilibrium_n"] is None:
        c["equilibrium_n"] = max(m, data.train.n // 2)
    c["equilibrium_n"] = check_int(
        "equilibrium_n", c["equilibrium_n"], minimum=m, maximum=data.train.n
    )
    for name in ("max_relaxations", "transfer_eta", "tolerance", "layer_margin", "loss_margin"):
        c[name] = check_real(name, c[name], positive=True)
    c["average_epochs"] = check_int("average_epochs", c["average_epochs"], minimum=1)
    c["transfer_epochs"] = check_int(
        "transfer_epochs", c["transfer_epochs"], minimum=c["average_epochs"]
    )
    c["ns"], c["transfer_timescales"], c["transfer_batch_size"] = _check_transfer(
        c["transfer_data"], c["ns"], c["transfer_timescales"], c["transfer_epochs"],
        c["transfer_batch_size"],
    )  # fmt: skip
    c["seeds"] = as_seeds(c["seeds"])
    c["sizes"] = (data.n_inputs, c["hidden"], data.n_classes)
    return c


def record_settings(c: dict) -> dict:
    """The record's settings from the checked arguments: the data by name, lists for tuples."""
    out = {k: v for k, v in c.items() if k != "progress"}
    out["data"], out["transfer_data"] = c["data"].name, c["transfer_data"].name
    out["n"] = c["data"].train.n
    scan = c["transfer_data"]
    out["transfer_sizes"] = [scan.n_inputs, c["hidden"], scan.n_classes]
    for key in ("sizes", "timescales", "ns", "transfer_timescales", "seeds", "rules"):
        out[key] = list(out[key])
    return out
