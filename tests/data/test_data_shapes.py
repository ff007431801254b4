import math

import pytest
import torch

from genlab.data import load_dataset
from genlab.data.shapes import (
    FACTOR_SIZES,
    HALF_SIZE,
    MARGIN,
    SIZE,
    factors_to_index,
    index_to_factors,
    render_shapes,
    sample_factors,
)
from genlab.errors import GenlabError


def _reference(f):
    """Straightforward full-image rendering of one factor vector (independent of the patch code)."""
    shape, scale, orient, px, py = [int(v) for v in f]
    s = 0.5 + 0.5 * scale / 5
    theta = 2 * math.pi * orient / 39
    cx = (MARGIN + (1 - 2 * MARGIN) * px / 31) * SIZE
    cy = (MARGIN + (1 - 2 * MARGIN) * py / 31) * SIZE
    c = torch.arange(SIZE, dtype=torch.float64) + 0.5
    dx, dy = c[None, :] - cx, cy - c[:, None]
    r = HALF_SIZE * SIZE * s
    u = (math.cos(theta) * dx + math.sin(theta) * dy) / r
    w = (math.cos(theta) * dy - math.sin(theta) * dx) / r
    if shape == 0:
        m = torch.maximum(u.abs(), w.abs()) <= 1
    elif shape == 1:
        m = u ** 2 + 4 * w ** 2 <= 1
    else:
        hu, hw = 1.15 * u, 1.15 * w + 0.1
        m = (hu ** 2 + hw ** 2 - 1) ** 3 <= hu ** 2 * hw ** 3
    return m.to(torch.uint8) * 255


def test_render_matches_full_image_reference():
    g = torch.Generator().manual_seed(0)
    f = sample_factors(300, g)
    # extremes: largest sprites in every corner, every orientation
    corners = torch.tensor([[s, 5, o, x, y] for s in range(3) for o in (0, 5, 10, 15)
                            for x in (0, 31) for y in (0, 31)])
    f = torch.cat([f, corners])
    images = render_shapes(f)
    assert images.shape == (len(f), 1, 64, 64) and images.dtype == torch.uint8
    mismatched = [int((images[i, 0] != _reference(f[i])).sum()) for i in range(len(f))]
    assert max(mismatched) <= 2  # float32 vs float64 on boundary pixels only
    # nothing is cut off: the sprite never touches the border
    assert images[:, 0, [0, -1], :].max() == 0 and images[:, 0, :, [0, -1]].max() == 0


def test_factors_move_and_grow_the_sprite():
    xs = torch.tensor([[1, 3, 0, x, 16] for x in range(32)])
    img = render_shapes(xs)[:, 0].float()
    cols = torch.arange(64).float()
    centroid_x = (img.sum(1) * cols).sum(1) / img.sum((1, 2))
    assert (centroid_x.diff() > 0).all()
    centroid_y = (img.sum(2) * cols).sum(1) / img.sum((1, 2))
    assert (centroid_y - centroid_y[0]).abs().max() < 0.5  # posY fixed
    for shape in range(3):
        area = render_shapes(torch.tensor([[shape, s, 7, 16, 16] for s in range(6)])).sum((1, 2, 3))
        assert (area.diff() > 0).all()
    # rotating a square by 45 degrees changes its pixels but not (much) its area
    sq = render_shapes(torch.tensor([[0, 5, 0, 16, 16], [0, 5, 5, 16, 16]]))
    assert not torch.equal(sq[0], sq[1])
    assert abs(int(sq[0].sum()) - int(sq[1].sum())) / int(sq[0].sum()) < 0.1


def test_index_round_trip_and_sampling():
    idx = torch.tensor([0, 1, 31, 32, 737_279, 123_456])
    f = index_to_factors(idx)
    assert f[-2].tolist() == [s - 1 for s in FACTOR_SIZES]
    assert torch.equal(factors_to_index(f), idx)
    fixed = sample_factors(50, torch.Generator().manual_seed(1), fixed={"scale": 2, 4: 7})
    assert (fixed[:, 1] == 2).all() and (fixed[:, 4] == 7).all() and fixed[:, 3].unique().numel() > 5
    with pytest.raises(GenlabError):
        render_shapes(torch.tensor([[3, 0, 0, 0, 0]]))
    with pytest.raises(GenlabError):
        sample_factors(2, fixed={"scale": 6})


def test_shapes_dataset():
    train = load_dataset("shapes", n_train=500, n_test=100)
    test = load_dataset("shapes", split="test", n_train=500, n_test=100)
    assert train.x.shape == (500, 1, 64, 64) and len(test) == 100
    assert train.factor_names == ["shape", "scale", "orientation", "posX", "posY"]
    assert train.factor_sizes == [3, 6, 40, 32, 32] and train.factors.dtype == torch.int64
    assert set(train.x.unique().tolist()) == {0, 255}
    assert torch.equal(train.x, render_shapes(train.factors)) and torch.equal(train.y, train.factors[:, 0])
    assert not set(factors_to_index(train.factors).tolist()) & set(factors_to_index(test.factors).tolist())
    again = load_dataset("shapes", n_train=500, n_test=100)
    assert torch.equal(again.factors, train.factors)
