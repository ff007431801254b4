import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

from genlab.data import load_dataset
from genlab.data.cifar import unpickle_batch
from genlab.errors import GenlabError


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _batch(n, seed):
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"test", b"labels": rng.integers(0, 10, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"f%d.png" % i for i in range(n)]}


def _write_folder(root, n=4):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        batches[name] = _batch(n, k)
        (folder / name).write_bytes(pickle.dumps(batches[name], protocol=2))
    return folder, batches


def test_folder_layout(tmp_path):
    _, batches = _write_folder(tmp_path)
    train = load_dataset("cifar10", data_dir=tmp_path)
    assert train.x.shape == (20, 3, 32, 32) and train.x.dtype == torch.uint8
    first = batches["data_batch_1"][b"data"][0]
    # channel-major rows: red plane first, then green, then blue
    assert train.x[0, 0, 0, :].tolist() == first[:32].tolist()
    assert train.x[0, 1, 0, 0] == first[1024] and train.x[0, 2, 31, 31] == first[3071]
    assert train.y[:4].tolist() == batches["data_batch_1"][b"labels"]
    test = load_dataset("cifar10", split="test", data_dir=tmp_path)
    assert len(test) == 4 and test.class_names[0] == "airplane"


def test_archive_without_extraction(tmp_path):
    folder, batches = _write_folder(tmp_path / "src")
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    test = load_dataset("cifar10", split="test", data_dir=tmp_path)
    assert test.y.tolist() == batches["test_batch"][b"labels"]
    assert not (tmp_path / "cifar-10-batches-py").exists()


def test_missing_and_corrupt(tmp_path):
    with pytest.raises(GenlabError, match="no cifar10 files found.*--download"):
        load_dataset("cifar10", data_dir=tmp_path)
    folder, _ = _write_folder(tmp_path)
    (folder / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(GenlabError, match="data_batch_3: not a CIFAR-10 python batch"):
        load_dataset("cifar10", data_dir=tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(GenlabError, match="data_batch_3: missing CIFAR-10 batch"):
        load_dataset("cifar10", data_dir=tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8bnot really")
    with pytest.raises(GenlabError, match="corrupt or truncated archive"):
        load_dataset("cifar10", split="test", data_dir=bad)


def test_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with pytest.raises(GenlabError, match="refusing to load"):
        unpickle_batch(pickle.dumps({b"data": Evil(), b"labels": []}), "evil")
    assert not marker.exists()
    for proto in (2, 4, 5):  # numpy arrays pickled any way still load
        x, y = unpickle_batch(pickle.dumps(_batch(3, 0), protocol=proto), "ok")
        assert x.shape == (3, 3, 32, 32) and y.dtype == np.int64
    bad = _batch(3, 0)
    bad[b"labels"] = [1, 2]
    with pytest.raises(GenlabError, match="expected 3 integer labels"):
        unpickle_batch(pickle.dumps(bad), "short")
