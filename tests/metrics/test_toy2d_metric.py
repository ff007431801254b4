import math

import numpy as np
import pytest
import torch

from genlab.errors import GenlabError
from genlab.metrics.toy2d import mode_coverage, mode_protocol


def sample_mixture(modes, std, n, weights=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = modes.shape[0]
    w = torch.full((m,), 1.0 / m) if weights is None else torch.as_tensor(weights, dtype=torch.float)
    idx = torch.multinomial(w, n, replacement=True, generator=g)
    return modes[idx] + std * torch.randn(n, 2, generator=g)


def test_ring8_modes_are_eight_distinct_points_on_unit_circle():
    p = mode_protocol("ring8")
    assert p.modes.shape == (8, 2) and p.std == 0.01 and p.num_samples == 2500
    assert torch.allclose(p.modes.norm(dim=1), torch.ones(8), atol=1e-6)
    d = torch.cdist(p.modes, p.modes) + torch.eye(8) * 10
    # neighbours 45° apart on the unit circle: chord 2 sin(π/8); no duplicated mode
    assert d.min().item() == pytest.approx(2 * math.sin(math.pi / 8), abs=1e-6)
    assert torch.allclose(p.modes[2], torch.tensor([0.0, 1.0]), atol=1e-6)


def test_grid25_modes():
    p = mode_protocol("grid25")
    assert p.modes.shape == (25, 2) and p.std == 0.05
    assert sorted(set(p.modes[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    assert len({tuple(r) for r in p.modes.tolist()}) == 25


def test_unknown_protocol_lists_choices():
    with pytest.raises(GenlabError, match="grid25, ring8"):
        mode_protocol("ring9")


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_true_distribution_covers_every_mode(name):
    p = mode_protocol(name)
    x = sample_mixture(p.modes, p.std, p.num_samples)
    r = mode_coverage(x, p.modes, p.std)
    assert r.modes_covered == r.num_modes
    # P(chi_2 < 3) = 1 - exp(-9/2) = 0.9889 for a 2D isotropic Gaussian
    assert r.high_quality_fraction == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert 0 <= r.reverse_kl < 0.02
    assert sum(r.counts) == round(r.high_quality_fraction * p.num_samples)


def test_collapse_to_one_mode():
    p = mode_protocol("grid25")
    x = p.modes[7].expand(2500, 2).clone()
    r = mode_coverage(x, p.modes, p.std)
    assert r.modes_covered == 1
    assert r.high_quality_fraction == 1.0
    assert r.reverse_kl == pytest.approx(math.log(25))  # KL(delta || U_M) = log M
    assert r.counts[7] == 2500 and sum(r.counts) == 2500


def test_hand_computed_histogram_and_kl():
    modes = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    std = 1.0
    x = torch.tensor(
        [
            [0.5, 0.0],  # mode 0, 0.5 std
            [0.0, 2.9],  # mode 0, 2.9 std
            [10.0, 1.0],  # mode 1
            [10.0, 3.0],  # exactly 3 std: NOT high quality (strict <)
            [5.0, 5.0],  # far from everything
            [2.0, 2.0],  # 2.83 std from mode 0: high quality
        ]
    )
    r = mode_coverage(x, modes, std)
    assert r.counts == [3, 1, 0, 0]
    assert r.modes_covered == 2
    assert r.high_quality_fraction == pytest.approx(4 / 6)
    p = np.array([0.75, 0.25])
    assert r.reverse_kl == pytest.approx(float((p * np.log(p * 4)).sum()))


def test_uniform_histogram_gives_zero_kl_and_numpy_input():
    p = mode_protocol("ring8")
    x = p.modes.repeat(3, 1).numpy()  # 3 exact hits per mode
    r = mode_coverage(x, p.modes.numpy(), p.std)
    assert r.counts == [3] * 8 and r.reverse_kl == pytest.approx(0.0, abs=1e-12)


def test_samples_off_the_modes_are_not_high_quality():
    p = mode_protocol("ring8")
    x = p.modes * 1.1  # 0.1 off the circle = 10 std
    r = mode_coverage(x, p.modes, p.std)
    assert r.modes_covered == 0 and r.high_quality_fraction == 0.0
    assert math.isnan(r.reverse_kl)


def test_per_mode_std_scales_distances():
    modes = torch.tensor([[0.0, 0.0], [100.0, 0.0]])
    x = torch.tensor([[2.0, 0.0], [102.0, 0.0]])
    r = mode_coverage(x, modes, [1.0, 0.5])  # 2 std and 4 std
    assert r.counts == [1, 0]


def test_bad_shapes_and_std():
    p = mode_protocol("ring8")
    with pytest.raises(GenlabError, match="shape"):
        mode_coverage(torch.zeros(5, 3), p.modes, p.std)
    with pytest.raises(GenlabError, match="std"):
        mode_coverage(torch.zeros(5, 2), p.modes, 0.0)
    with pytest.raises(GenlabError, match="std"):
        mode_coverage(torch.zeros(5, 2), p.modes, [0.1, 0.2])


def test_report_to_dict_is_plain():
    p = mode_protocol("ring8")
    d = mode_coverage(p.modes, p.modes, p.std).to_dict()
    assert set(d) >= {"modes_covered", "high_quality_fraction", "reverse_kl", "counts"}
    assert isinstance(d["counts"], list) and isinstance(d["modes_covered"], int)
