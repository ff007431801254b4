import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import load_dataset
from genlab.errors import GenlabError


def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)


def test_classes_from_subfolders(tmp_path):
    for k in range(10):
        _save(tmp_path / "cats" / f"{k}.png", np.full((40, 60, 3), (200, 10, 10), np.uint8))
        _save(tmp_path / "dogs" / "deep" / f"{k}.jpg", np.full((50, 50, 3), 30, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden").mkdir()
    _save(tmp_path / ".hidden" / "x.png", np.zeros((4, 4, 3), np.uint8))
    train = load_dataset(f"folder:{tmp_path}", image_size=16)
    test = load_dataset(f"folder:{tmp_path}", split="test", image_size=16)
    assert train.class_names == ["cats", "dogs"] and train.num_classes == 2
    assert train.x.shape == (18, 3, 16, 16) and test.x.shape == (2, 3, 16, 16)
    assert torch.bincount(test.y).tolist() == [1, 1]
    cat = train.x[train.y == 0][0]
    assert cat[:, 8, 8].tolist() == [200, 10, 10]


def test_grayscale_default_size_and_crop(tmp_path):
    a = np.zeros((100, 200), np.uint8)
    a[:, 50:150] = 255  # the center square survives a center crop; the sides do not
    for k in range(3):
        _save(tmp_path / f"{k}.png", a)
    ds = load_dataset(f"folder:{tmp_path}")
    assert ds.x.shape == (3, 1, 64, 64) and ds.y is None  # 10% of 3 rounds to 0 test images
    assert ds.x.float().mean() > 250
    assert load_dataset(f"folder:{tmp_path}", channels=3).x.shape == (3, 3, 64, 64)


def test_folder_errors(tmp_path):
    with pytest.raises(GenlabError, match="no such folder"):
        load_dataset(f"folder:{tmp_path / 'nope'}")
    with pytest.raises(GenlabError, match="no images found"):
        load_dataset(f"folder:{tmp_path}")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG nope")
    with pytest.raises(GenlabError, match="broken.png: not a readable image"):
        load_dataset(f"folder:{tmp_path}")
