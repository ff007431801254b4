"""CIFAR-10 from the "python version" batches (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html).

`cifar-10-python.tar.gz` (md5 c58f30108f718f92721af3b95e74349a) holds cifar-10-batches-py/
data_batch_1..5 (train, 50,000) and test_batch (10,000): pickled dicts with b"data", uint8
(10000, 3072) in channel-major order (1024 R, 1024 G, 1024 B, rows of 32), and b"labels".
We read either the extracted folder or the archive itself (no extraction needed).

The pickles are read with an Unpickler that only resolves numpy's array-reconstruction
callables, so a tampered file cannot run code.
"""

from __future__ import annotations

import codecs
import importlib
import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.data.dataset import Dataset, check_split
from genlab.data.download import download, download_dir, find_file, search_dirs
from genlab.errors import GenlabError

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE = "cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
BATCHES = {"train": [f"data_batch_{k}" for k in range(1, 6)], "test": ["test_batch"]}
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class _SafeUnpickler(pickle.Unpickler):
    """Resolves only what a pickled dict of numpy arrays needs."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy.core.numeric", "_frombuffer"),  # protocol 5
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("_codecs", "encode")}  # protocol-2 pickles written by Python 3 wrap bytes in it

    def find_class(self, module: str, name: str) -> Any:
        canonical = module.replace("numpy._core", "numpy.core")
        if (canonical, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module == "_codecs":
            return codecs.encode
        if canonical.startswith("numpy.core"):
            try:  # numpy >= 2 moved numpy.core to numpy._core
                module = importlib.import_module(canonical.replace("numpy.core", "numpy._core"))
            except ImportError:  # pragma: no cover - numpy 1.x
                module = importlib.import_module(canonical)
            return getattr(module, name)
        return getattr(np, name)


def unpickle_batch(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch -> (images uint8 (N, 3, 32, 32), labels int64 (N,))."""
    try:
        batch = _SafeUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as e:  # any malformed pickle: report it as a corrupt file
        raise GenlabError(f"{name}: not a CIFAR-10 python batch ({type(e).__name__}: {e})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise GenlabError(f"{name}: not a CIFAR-10 python batch (expected a dict with data and labels)")
    x, labels = batch[b"data"], np.asarray(batch[b"labels"])
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072:
        raise GenlabError(f"{name}: expected data as uint8 (N, 3072), found "
                          f"{getattr(x, 'dtype', type(x).__name__)} {getattr(x, 'shape', '')}")
    if labels.shape != (len(x),) or not np.issubdtype(labels.dtype, np.integer):
        raise GenlabError(f"{name}: expected {len(x)} integer labels, found {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise GenlabError(f"{name}: labels must be 0..9")
    return x.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _read_folder(folder: Path, split: str) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for b in BATCHES[split]:
        path = folder / b
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise GenlabError(f"{path}: missing CIFAR-10 batch (expected {', '.join(BATCHES[split])} "
                              f"in {folder})") from None
        out.append(unpickle_batch(data, str(path)))
    return out


def _read_archive(archive: Path, split: str) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for b in BATCHES[split]:
                try:
                    member = tar.getmember(f"{FOLDER}/{b}")
                except KeyError:
                    raise GenlabError(f"{archive}: no {FOLDER}/{b} inside the archive") from None
                f = tar.extractfile(member)
                if f is None:
                    raise GenlabError(f"{archive}: {FOLDER}/{b} is not a regular file")
                out.append(unpickle_batch(f.read(), f"{archive}:{b}"))
    except (tarfile.TarError, OSError, EOFError) as e:
        raise GenlabError(f"{archive}: corrupt or truncated archive ({e})") from None
    return out


def load_cifar10(split: str = "train", data_dir: str | Path | None = None,
                 download: bool = False) -> Dataset:
    check_split(split)
    dirs = search_dirs("cifar10", data_dir)
    folder = next((d / FOLDER for d in dirs if (d / FOLDER).is_dir()), None)
    if folder is None:
        folder = next((d for d in dirs if (d / BATCHES[split][0]).is_file()), None)
    archive = None if folder is not None else find_file(dirs, [ARCHIVE])
    if folder is None and archive is None:
        if not download:
            where = ", ".join(str(d) for d in dirs)
            raise GenlabError(f"no cifar10 files found ({FOLDER}/ or {ARCHIVE}): looked in {where}; "
                              f"pass --data-dir or --download")
        archive = _download(download_dir("cifar10", data_dir) / ARCHIVE)
    parts = _read_folder(folder, split) if folder is not None else _read_archive(archive, split)
    x = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    y = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    return Dataset("cifar10", "image", x, y, 10, list(CLASS_NAMES), split=split)


def _download(dest: Path) -> Path:
    return download([URL], dest, MD5)
