"""genlab.models.evaluating: eval mode for a block, every submodule's own flag restored."""

from __future__ import annotations

import pytest
from torch import nn

from genlab.models import evaluating


def _flags(module):
    return [m.training for m in module.modules()]


def test_eval_inside_and_each_submodules_flag_restored_after():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout())
    net[2].eval()  # partly in eval mode already: must stay so
    before = _flags(net)
    with evaluating(net, None):
        assert not any(_flags(net))
    assert _flags(net) == before == [True, True, True, False]


def test_modes_are_restored_when_the_block_raises():
    a, b = nn.Linear(1, 1), nn.BatchNorm1d(1).eval()
    with pytest.raises(RuntimeError), evaluating(a, b):
        raise RuntimeError("boom")
    assert a.training and not b.training
