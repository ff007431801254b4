import gzip

import numpy as np
import pytest
import torch

from genlab.data import idx as idx_module
from genlab.data import load_dataset
from genlab.data.idx import IMAGES_MAGIC, read_idx, write_idx
from genlab.errors import GenlabError


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No $GENLAB_DATA, no system folders, an empty cache: only what the test writes."""
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setitem(idx_module.SOURCES["fashion-mnist"], "system_dirs", [])


def _write_split(folder, prefix, n, gz, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    ext = ".gz" if gz else ""
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_round_trip(tmp_path, gz):
    images, labels = _write_split(tmp_path, "train", 37, gz)
    test_images, _ = _write_split(tmp_path, "t10k", 11, gz, seed=1)
    ds = load_dataset("mnist", data_dir=tmp_path)
    assert ds.x.shape == (37, 1, 28, 28) and ds.x.dtype == torch.uint8 and ds.y.dtype == torch.int64
    assert np.array_equal(ds.x[:, 0].numpy(), images) and np.array_equal(ds.y.numpy(), labels)
    test = load_dataset("fashion-mnist", split="test", data_dir=tmp_path)
    assert np.array_equal(test.x[:, 0].numpy(), test_images) and test.class_names[0] == "T-shirt/top"


def test_found_in_named_subfolder_and_env(tmp_path, monkeypatch):
    _write_split(tmp_path / "fashion-mnist", "train", 5, True)
    assert len(load_dataset("fashion-mnist", data_dir=tmp_path)) == 5
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    assert len(load_dataset("fashion-mnist")) == 5


def test_missing_files(tmp_path):
    with pytest.raises(GenlabError) as e:
        load_dataset("mnist", data_dir=tmp_path)
    msg = str(e.value)
    assert msg.startswith("no mnist files found") and str(tmp_path) in msg and "--download" in msg
    _write_split(tmp_path, "train", 5, True)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(GenlabError, match="train-labels-idx1-ubyte"):
        load_dataset("mnist", data_dir=tmp_path)


def test_truncated(tmp_path):
    _write_split(tmp_path, "train", 20, False)
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:16 + 1024])
    with pytest.raises(GenlabError) as e:
        load_dataset("mnist", data_dir=tmp_path)
    assert str(e.value) == (f"{p}: truncated IDX file: expected 15680 bytes of pixel data, found 1024")


def test_truncated_gzip(tmp_path):
    _write_split(tmp_path, "train", 20, True)
    p = tmp_path / "train-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:100])
    with pytest.raises(GenlabError, match="train-images-idx3-ubyte.gz: corrupt or truncated gzip"):
        load_dataset("mnist", data_dir=tmp_path)


def test_bad_magic_and_label_count(tmp_path):
    _write_split(tmp_path, "train", 20, True)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    images = tmp_path / "train-images-idx3-ubyte.gz"
    labels.write_bytes(images.read_bytes())  # an images file where labels belong
    with pytest.raises(GenlabError, match="bad magic number 0x00000803 \\(expected 0x00000801\\)"):
        load_dataset("mnist", data_dir=tmp_path)
    write_idx(labels, np.zeros(19, np.uint8))
    with pytest.raises(GenlabError, match="expected 20 labels .* found 19"):
        load_dataset("mnist", data_dir=tmp_path)
    p = tmp_path / "junk"
    p.write_bytes(b"\x00\x00")
    with pytest.raises(GenlabError, match="junk"):
        read_idx(p, IMAGES_MAGIC)


def test_raw_file_named_gz_and_trailing_data(tmp_path):
    p = tmp_path / "x"
    write_idx(p, np.zeros((2, 28, 28), np.uint8))
    assert read_idx(p, IMAGES_MAGIC).shape == (2, 28, 28)
    p.write_bytes(p.read_bytes() + b"extra")
    with pytest.raises(GenlabError, match="trailing"):
        read_idx(p, IMAGES_MAGIC)
    q = tmp_path / "y.gz"
    q.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + (1).to_bytes(4, "big") * 3 + b"\x07"))
    assert read_idx(q, IMAGES_MAGIC).tolist() == [[[7]]]


@pytest.mark.skipif(not (idx_module.Path("/usr/share/datasets/fashion-mnist") /
                         "t10k-labels-idx1-ubyte.gz").exists(), reason="Debian Fashion-MNIST not installed")
def test_debian_fashion_mnist(monkeypatch):
    monkeypatch.setitem(idx_module.SOURCES["fashion-mnist"], "system_dirs",
                        ["/usr/share/datasets/fashion-mnist"])
    ds = load_dataset("fashion-mnist", split="test")
    assert ds.x.shape == (10_000, 1, 28, 28) and torch.bincount(ds.y).tolist() == [1000] * 10
