"""MNIST and Fashion-MNIST from IDX files (gzip-compressed or raw).

IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
0x00 0x00 <type> <ndim> (type 0x08 = unsigned byte), ndim big-endian int32 sizes, then the
data. Images: magic 0x00000803, (N, 28, 28); labels: magic 0x00000801, (N,).

Files are searched as described in `genlab.data.download`; Fashion-MNIST also in Debian's
/usr/share/datasets/fashion-mnist (package dataset-fashion-mnist). Checksums are those
torchvision uses (MNIST) and those published by Zalando (Fashion-MNIST, Xiao et al. 2017,
https://github.com/zalandoresearch/fashion-mnist); they are checked on download only (a
repackaged local copy, e.g. Debian's re-gzipped files, has other md5s but the same content,
which the parser validates).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from genlab.data.dataset import Dataset, check_split
from genlab.data.download import download, download_dir, find_file, search_dirs
from genlab.errors import GenlabError

SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

SOURCES = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "http://yann.lecun.com/exdb/mnist/"],
        "md5": {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
        "system_dirs": [],
        "torchvision_dir": "MNIST/raw",
        "class_names": [str(k) for k in range(10)],
    },
    "fashion-mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "md5": {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
        "system_dirs": ["/usr/share/datasets/fashion-mnist"],
        "torchvision_dir": "FashionMNIST/raw",
        "class_names": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                        "Shirt", "Sneaker", "Bag", "Ankle boot"],
    },
}

IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801


def _candidates(stem: str) -> list[str]:
    dotted = stem.replace("-idx", ".idx")  # some mirrors (e.g. Kaggle) name them train-images.idx3-ubyte
    return [stem + ".gz", stem, dotted + ".gz", dotted]


def read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise GenlabError(f"{path}: file not found") from None
    except OSError as e:
        raise GenlabError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise GenlabError(f"{path}: corrupt or truncated gzip file ({e})") from None
    return raw


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """Parse an unsigned-byte IDX file with the given magic number -> uint8 array."""
    path = Path(path)
    raw = read_bytes(path)
    kind = "images" if magic == IMAGES_MAGIC else "labels"
    if len(raw) < 4:
        raise GenlabError(f"{path}: not an IDX {kind} file: only {len(raw)} bytes")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise GenlabError(f"{path}: not an IDX {kind} file: bad magic number 0x{found:08x} "
                          f"(expected 0x{magic:08x})")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise GenlabError(f"{path}: truncated IDX file: header needs {header} bytes, found {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    found_bytes = len(raw) - header
    what = "pixel data" if kind == "images" else "labels"
    if found_bytes < expected:
        raise GenlabError(f"{path}: truncated IDX file: expected {expected} bytes of {what}, "
                          f"found {found_bytes}")
    if found_bytes > expected:
        raise GenlabError(f"{path}: corrupt IDX file: expected {expected} bytes of {what}, "
                          f"found {found_bytes} (trailing data)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write a uint8 array as an IDX file (gzip when `compress` or the name ends in .gz)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes()
    if compress or (compress is None and path.suffix == ".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def load_idx_dataset(name: str, split: str = "train", data_dir: str | Path | None = None,
                     download: bool = False) -> Dataset:
    check_split(split)
    source = SOURCES[name]
    image_stem, label_stem = SPLIT_FILES[split]
    dirs = search_dirs(name, data_dir, extra=source["system_dirs"], subdirs=[source["torchvision_dir"]])
    images_path = find_file(dirs, _candidates(image_stem))
    labels_path = find_file([images_path.parent] if images_path else dirs, _candidates(label_stem))
    if images_path is None or labels_path is None:
        if not download:
            missing = image_stem if images_path is None else label_stem
            where = ", ".join(str(d) for d in dirs)
            raise GenlabError(f"no {name} files found ({missing}[.gz]): looked in {where}; "
                              f"pass --data-dir or --download")
        target = download_dir(name, data_dir)
        paths = []
        for stem in (image_stem, label_stem):
            file = stem + ".gz"
            existing = find_file([target], [file])
            paths.append(existing or _download(source, file, target / file))
        images_path, labels_path = paths
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise GenlabError(f"{images_path}: expected 28x28 images, found shape {images.shape[1:]}")
    if len(labels) != len(images):
        raise GenlabError(f"{labels_path}: expected {len(images)} labels (one per image in "
                          f"{images_path.name}), found {len(labels)}")
    if len(labels) and labels.max() > 9:
        raise GenlabError(f"{labels_path}: labels must be 0..9, found {int(labels.max())}")
    x = torch.from_numpy(images.copy()).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))
    return Dataset(name, "image", x, y, 10, list(source["class_names"]), split=split)


def _download(source: dict, file: str, dest: Path) -> Path:
    return download([m + file for m in source["mirrors"]], dest, source["md5"][file])
