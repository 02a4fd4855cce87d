"""Bad input at the edges gives a ValueError that names the argument and what was expected."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl


@pytest.mark.parametrize("eta", [5e-324, 1e-310])
def test_convert_lmbda_at_a_subnormal_eta_names_eta_not_a_multiplier_of_minus_inf(eta):
    with pytest.raises(ValueError, match=rf"eta={eta!r} is so small .* d = 0\.99;") as caught:
        dl.convert_lmbda(0.01, "decoupled", "sum", eta=eta, n=1000)
    assert "inf is <= 0" not in str(caught.value)


def test_the_decoupled_multiplier_is_one_minus_wd_at_any_eta():
    assert dl.DecoupledDecay().multiplier(0.01, eta=5e-324, n=10) == 1.0 - 0.01


def test_a_layer_index_out_of_range_is_named_with_its_position():
    pytest.importorskip("matplotlib")
    from decaylab.plots import plot_history

    net = dl.Network([3, 2], seed=0)
    data = np.linspace(0.0, 1.0, 12).reshape(4, 3), np.array([0, 1, 0, 1])
    history = dl.train(net, data, epochs=1, batch_size=2, eta=0.1, seed=0)
    with pytest.raises(ValueError, match=r"layers\[1\]=5 is too large"):
        plot_history(history, layers=[0, 5])
