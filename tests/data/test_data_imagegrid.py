import numpy as np
import pytest
import torch
from PIL import Image

from genlab.errors import GenlabError
from genlab.imagegrid import load_image, make_grid, save_image_grid, save_image_strip


def test_make_grid_layout():
    x = torch.zeros(5, 3, 4, 6)
    x[1] = 1.0
    g = make_grid(x, nrow=2, padding=2)
    assert g.dtype == np.uint8 and g.shape == (3 * 6 + 2, 2 * 8 + 2, 3)
    # image 1 sits in row 0, column 1; padding stays 0
    assert (g[2:6, 10:16] == 255).all() and g[:2].max() == 0 and g[2:6, 2:8].max() == 0
    assert g.sum() == 4 * 6 * 3 * 255


def test_make_grid_gray_and_values():
    x = torch.tensor([0.0, 0.5, 1.0, 2.0]).reshape(1, 1, 2, 2)
    g = make_grid(x, padding=0)
    assert g.shape == (2, 2, 1) and g[..., 0].tolist() == [[0, 128], [255, 255]]
    with pytest.raises(GenlabError):
        make_grid(torch.zeros(2, 2, 4, 4))


def test_save_grid_and_strip(tmp_path):
    p = save_image_grid(torch.rand(6, 1, 8, 8), tmp_path / "sub" / "grid.png", nrow=3, upscale=2)
    with Image.open(p) as im:
        assert im.size == ((3 * 10 + 2) * 2, (2 * 10 + 2) * 2) and im.mode == "L"
    p = save_image_strip(torch.rand(2, 7, 3, 8, 8), tmp_path / "strip.png")
    with Image.open(p) as im:
        assert im.size == (7 * 10 + 2, 2 * 10 + 2) and im.mode == "RGB"
    assert not list(tmp_path.glob("**/*.part"))


def test_load_image_drawn_digit(tmp_path):
    a = np.full((100, 60), 255, np.uint8)  # black stroke on white, not square
    a[20:80, 25:35] = 0
    Image.fromarray(a).save(tmp_path / "d.png")
    img = load_image(tmp_path / "d.png", size=28)
    assert img.shape == (1, 28, 28) and img.dtype == torch.uint8
    assert img[0, 0, 0] == 0 and img[0, 14, 14] > 200  # inverted: light digit on black
    assert load_image(tmp_path / "d.png", size=16, grayscale=False, invert=False).shape == (3, 16, 16)
    m = load_image(tmp_path / "d.png", mnist_style=True)
    assert m.shape == (1, 28, 28)
    rows = (m[0] > 50).any(1).nonzero()
    assert rows.min() >= 3 and rows.max() <= 24 and rows.max() - rows.min() >= 17  # 20 px tall
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(GenlabError, match="bad.png"):
        load_image(tmp_path / "bad.png")
    with pytest.raises(GenlabError, match="missing.png"):
        load_image(tmp_path / "missing.png")
