import math

import numpy as np
import pytest
import torch

from genlab.errors import GenlabError
from genlab.metrics.mode_count import count_modes, stack_digits


def test_perfect_generator_on_stacked_mnist():
    digits = torch.cartesian_prod(torch.arange(10), torch.arange(10), torch.arange(10))
    modes = stack_digits(digits)
    assert sorted(modes.tolist()) == list(range(1000))
    r = count_modes(modes.repeat(3), 1000)
    assert r["modes_found"] == 1000 and r["kl"] == pytest.approx(0.0, abs=1e-12)


def test_collapsed_generator():
    r = count_modes(torch.full((5000,), 17), 1000)
    assert r["modes_found"] == 1
    assert r["kl"] == pytest.approx(math.log(1000))  # KL(delta || uniform) = log C


def test_hand_computed_kl_against_data_histogram():
    pred = np.array([0, 0, 0, 1])  # p_model = (3/4, 1/4, 0)
    data = np.array([50, 25, 25])  # p_data = (1/2, 1/4, 1/4)
    r = count_modes(pred, 3, data_histogram=data)
    assert r["kl"] == pytest.approx(0.75 * math.log(1.5))
    assert r["counts"] == [3, 1, 0] and r["modes_found"] == 2
    assert count_modes(pred, 3, min_count=2)["modes_found"] == 1


def test_class_absent_from_data_gives_infinite_kl():
    assert count_modes([0, 2], 3, data_histogram=[1, 1, 0])["kl"] == math.inf


def test_errors():
    with pytest.raises(GenlabError, match="in \\[0, 9\\]"):
        count_modes([3, 10], 10)
    with pytest.raises(GenlabError, match="integer"):
        count_modes([0.5], 10)
    with pytest.raises(GenlabError, match="shape"):
        stack_digits(np.zeros((4, 2), dtype=int))
