import io
import logging

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
    with pytest.raises(GenlabError, match=r"1 of 1 train image\(s\) unreadable, none left "
                                          r"\(broken.png; the first: cannot identify"):
        load_dataset(f"folder:{tmp_path}")
    with pytest.raises(GenlabError, match="broken.png: not a readable image"):
        load_dataset(f"folder:{tmp_path}", strict=True)


def _broken_folder(root):
    """20 good images in two classes, and three a user's folder really holds: a zero-byte
    PNG, a JPEG that is not one, and a JPEG cut off mid-way."""
    rng = np.random.default_rng(0)
    for k in range(10):
        _save(root / "cats" / f"{k}.png", rng.integers(0, 255, (24, 24, 3), dtype=np.uint8))
        _save(root / "dogs" / f"{k}.jpg", rng.integers(0, 255, (24, 24, 3), dtype=np.uint8))
    (root / "cats" / "a_empty.png").write_bytes(b"")
    (root / "dogs" / "b_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(buf, "JPEG",
                                                                                quality=95)
    (root / "dogs" / "c_truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return root


@pytest.fixture
def messages(caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("genlab"), "propagate", True)
    caplog.set_level(logging.INFO, logger="genlab")
    return caplog


def test_unreadable_images_are_skipped_with_one_warning(tmp_path, messages):
    root = _broken_folder(tmp_path / "photos")
    both = [load_dataset(f"folder:{root}", split=s, image_size=8) for s in ("train", "test")]
    # every good image is in exactly one split, none of the broken ones in either
    assert sum(len(ds) for ds in both) == 20
    assert both[0].class_names == ["cats", "dogs"]
    warnings = [r for r in messages.records if r.levelno == logging.WARNING]
    texts = [r.getMessage() for r in warnings]
    assert len(texts) == 2 and sum(int(t.split(": ", 1)[1].split(" of ")[0]) for t in texts) == 3
    named = " ".join(texts)
    for name in ("a_empty.png", "b_corrupt.jpg", "c_truncated.jpg"):
        assert name in named
    assert all("skipped them (--strict refuses instead)" in t and "\n" not in t for t in texts)
    infos = [r.getMessage() for r in messages.records if r.levelno == logging.INFO]
    assert f"folder:{root}: 2 sub-folder(s) became classes: cats, dogs" in infos


def test_the_warning_names_the_first_few_and_counts_the_rest(tmp_path, messages):
    for k in range(12):
        _save(tmp_path / f"ok{k}.png", np.zeros((8, 8), np.uint8))
    for k in range(6):
        (tmp_path / f"bad{k}.png").write_bytes(b"")
    ds = load_dataset(f"folder:{tmp_path}", image_size=8)
    (text,) = [r.getMessage() for r in messages.records if r.levelno == logging.WARNING]
    bad_in_train = int(text.split(": ", 1)[1].split(" of ")[0])
    assert len(ds) + bad_in_train == int(text.split(" of ")[1].split(" ")[0])
    assert text.count("bad") == 3 and f"and {bad_in_train - 3} more" in text
    assert not [r for r in messages.records if "became classes" in r.getMessage()]


def test_strict_refuses_the_first_unreadable_file(tmp_path):
    root = _broken_folder(tmp_path)
    with pytest.raises(GenlabError, match=r"a_empty.png: not a readable image .*--strict"):
        load_dataset(f"folder:{root}", image_size=8, strict=True)
    (root / "cats" / "a_empty.png").unlink()
    (root / "dogs" / "b_corrupt.jpg").unlink()
    with pytest.raises(GenlabError, match=r"c_truncated.jpg: not a readable image \(.*truncated"):
        load_dataset(f"folder:{root}", image_size=8, strict=True, channels=3)


def test_train_on_a_folder_with_broken_files(tmp_path, cli):
    root = _broken_folder(tmp_path / "photos")
    proc = cli("train", "vae", "--data", f"folder:{root}", "--image-size", "8", "--steps", "2",
               "--batch-size", "4", "--hidden-dim", "8", "--out", tmp_path / "run", "--quiet")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(line.startswith("genlab: warning: folder:") and "unreadable" in line
               for line in lines), proc.stderr
    assert f"genlab: folder:{root}: 2 sub-folder(s) became classes: cats, dogs" in lines
    proc = cli("train", "vae", "--data", f"folder:{root}", "--image-size", "8", "--steps", "2",
               "--strict", "--out", tmp_path / "strict", "--quiet")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("genlab: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in proc.stderr
    assert "a_empty.png: not a readable image" in errors[0] and "--strict" in errors[0]
