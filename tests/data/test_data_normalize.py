import json

import pytest
import torch

from genlab.data import Dataset, Normalizer, load_dataset, normalizer_for
from genlab.errors import GenlabError


def _images():
    x = torch.randint(0, 256, (50, 3, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    return Dataset("t", "image", x)


@pytest.mark.parametrize("target,low,high", [("unit", 0, 1), ("symmetric", -1, 1)])
def test_image_ranges(target, low, high):
    ds = _images()
    norm = normalizer_for(ds, target)
    z = norm.encode(ds.x)
    assert z.dtype == torch.float32
    pixels = torch.tensor([0, 255], dtype=torch.uint8).reshape(1, 1, 1, 2).expand(1, 3, 1, 2)
    assert norm.encode(pixels).tolist()[0][0][0] == [low, high]
    assert torch.allclose(norm.decode(z), ds.x.float() / 255, atol=1e-6)


def test_standard_images_and_points():
    ds = _images()
    z = normalizer_for(ds, "standard").encode(ds.x)
    assert torch.allclose(z.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(z.std((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)
    pts = load_dataset("moons", n_train=2000)
    norm = normalizer_for(pts, "standard")
    z = norm.encode(pts.x)
    assert torch.allclose(z.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(z.std(0, unbiased=False), torch.ones(2), atol=1e-4)
    assert torch.allclose(norm.decode(z), pts.x, atol=1e-5)


@pytest.mark.parametrize("target,low,high", [("unit", 0, 1), ("symmetric", -1, 1)])
def test_points_isotropic(target, low, high):
    pts = load_dataset("grid25", n_train=3000)
    norm = normalizer_for(pts, target)
    z = norm.encode(pts.x)
    assert z.min() >= low - 1e-6 and z.max() <= high + 1e-6
    assert norm.scale[0] == norm.scale[1]  # one scale: the grid stays square
    assert torch.allclose(norm.decode(z), pts.x, atol=1e-5)


def test_to_dict_round_trip():
    for ds in (_images(), load_dataset("ring8", n_train=100)):
        for target in ("unit", "symmetric", "standard"):
            norm = normalizer_for(ds, target)
            again = Normalizer.from_dict(json.loads(json.dumps(norm.to_dict())))
            assert again == norm
            assert torch.equal(again.encode(ds.x[:5]), norm.encode(ds.x[:5]))


def test_bad_target():
    with pytest.raises(GenlabError, match="unknown normalization 'zero'"):
        normalizer_for(_images(), "zero")
    with pytest.raises(GenlabError):
        Normalizer.from_dict({"kind": "image"})
