"""genlab.data: every dataset, the Normalizer (pixel range lives only here), the EpochSampler.

    ds = load_dataset("ring8")                      # Dataset: x float32 (100000, 2), y, modes
    ds = load_dataset("mnist5k", split="test")       # x uint8 (500, 1, 28, 28), y int64
    norm = normalizer_for(ds, "symmetric")           # uint8 0..255 -> float32 [-1, 1]
    sampler = EpochSampler(len(ds), 64, seed=0)
    batch = norm.encode(ds.x[sampler.next_batch()])  # (64, 1, 28, 28) float32, model space

Names: ring8, grid25, spiral, moons, circles, checkerboard, csv:PATH, digits, mnist5k (default),
mnist, fashion-mnist, cifar10, folder:PATH, shapes. One name -> loader dict (`DATASETS`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from genlab.config import BINARIZATIONS, check_binarize
from genlab.data.batches import EpochSampler
from genlab.data.binarize import DynamicBinarizer, batch_binarizer, binarize_fixed
from genlab.data.dataset import Dataset, resize_images, stratified_split
from genlab.data.normalize import TARGETS, Normalizer, normalizer_for
from genlab.data.shapes import FACTOR_NAMES, FACTOR_SIZES, render_shapes, sample_factors
from genlab.data.toy2d import load_csv, load_toy, points_dataset
from genlab.errors import GenlabError, unknown_name

DEFAULT_DATASET = "mnist5k"


def _toy(name: str) -> Callable[..., Dataset]:
    def load(split: str, seed: int = 0, n_train: int = 100_000, n_test: int = 10_000) -> Dataset:
        return load_toy(name, split, seed=seed, n_train=n_train, n_test=n_test)
    return load


def _csv(split: str, path: str) -> Dataset:
    return load_csv(path, split)


def _digits(split: str) -> Dataset:
    from genlab.data.embedded import load_digits
    return load_digits(split)


def _mnist5k(split: str) -> Dataset:
    from genlab.data.embedded import load_mnist5k
    return load_mnist5k(split)


def _idx(name: str) -> Callable[..., Dataset]:
    def load(split: str, data_dir: str | None = None, download: bool = False) -> Dataset:
        from genlab.data.idx import load_idx_dataset
        return load_idx_dataset(name, split, data_dir=data_dir, download=download)
    return load


def _cifar10(split: str, data_dir: str | None = None, download: bool = False) -> Dataset:
    from genlab.data.cifar import load_cifar10
    return load_cifar10(split, data_dir=data_dir, download=download)


def _folder(split: str, path: str, image_size: int | None = 64, channels: int | None = None,
            test_fraction: float = 0.1, strict: bool = False) -> Dataset:
    from genlab.data.folder import load_folder
    return load_folder(path, split, image_size=image_size or 64, channels=channels,
                       test_fraction=test_fraction, strict=strict)


def _shapes(split: str, seed: int = 0, n_train: int = 20_000, n_test: int = 2_000) -> Dataset:
    from genlab.data.shapes import load_shapes
    return load_shapes(split, seed=seed, n_train=n_train, n_test=n_test)


# name -> loader(split, [path,] [data_dir, download,] **options). "csv" and "folder" take "name:PATH".
DATASETS: dict[str, Callable[..., Dataset]] = {
    "ring8": _toy("ring8"), "grid25": _toy("grid25"), "spiral": _toy("spiral"),
    "moons": _toy("moons"), "circles": _toy("circles"), "checkerboard": _toy("checkerboard"),
    "csv": _csv, "digits": _digits, "mnist5k": _mnist5k, "mnist": _idx("mnist"),
    "fashion-mnist": _idx("fashion-mnist"), "cifar10": _cifar10, "folder": _folder,
    "shapes": _shapes,
}
PATH_DATASETS = ("csv", "folder")
DATASET_NAMES = tuple(f"{n}:PATH" if n in PATH_DATASETS else n for n in DATASETS)


def load_dataset(name: str = DEFAULT_DATASET, split: str = "train", data_dir: str | None = None,
                 download: bool = False, image_size: int | None = None,
                 holdout_class: int | None = None, binarize: str = "none",
                 **options: Any) -> Dataset:
    """Load dataset `name` ("csv:PATH" / "folder:PATH" for your own files) -> `Dataset`.

    `image_size` resizes (center crop + antialiased resize) images; `holdout_class` drops one
    class from the *train* split (anomaly detection); `binarize` ("none", "fixed", "dynamic";
    genlab.data.binarize): "fixed" binarizes the split once, "dynamic" the test split once and
    leaves the train split grey (the trainer binarizes each batch as it is drawn). Other
    options go to the loader, e.g. `seed`, `n_train`, `n_test` (toy sets, shapes), `channels`.
    """
    if split not in ("train", "test"):
        raise GenlabError(f"unknown split {split!r}: choose one of test, train")
    key, _, path = str(name).partition(":")
    if key not in DATASETS or (key in PATH_DATASETS) != bool(path):
        if key in PATH_DATASETS:
            raise GenlabError(f"dataset {key!r} needs a path: {key}:PATH")
        raise unknown_name("dataset", name, DATASET_NAMES)
    loader = DATASETS[key]
    accepted = inspect.signature(loader).parameters
    kwargs: dict[str, Any] = dict(options)
    if path:
        kwargs["path"] = path
    if "data_dir" in accepted:
        kwargs.update(data_dir=data_dir, download=download)
    if key == "folder":
        kwargs["image_size"] = image_size
    bad = sorted(set(kwargs) - set(accepted))
    if bad:
        raise GenlabError(f"dataset {key!r} does not take option(s) {', '.join(bad)}")
    ds = loader(split, **kwargs)
    if image_size is not None and ds.kind == "image" and key != "folder":
        ds.x = resize_images(ds.x, int(image_size))
    elif image_size is not None and ds.kind == "points":
        raise GenlabError(f"--image-size applies to image data, not {name!r}")
    check_binarize(binarize, ds.kind)
    if binarize == "fixed" or (binarize == "dynamic" and split == "test"):
        ds.x = binarize_fixed(ds.x, str(name), split)  # before the holdout: the same draw
    if holdout_class is not None and split == "train":
        ds = ds.without_class(int(holdout_class))
    return ds


__all__ = ["BINARIZATIONS", "Dataset", "DATASETS", "DynamicBinarizer", "batch_binarizer",
           "binarize_fixed", "DATASET_NAMES", "DEFAULT_DATASET", "EpochSampler",
           "FACTOR_NAMES", "FACTOR_SIZES", "Normalizer", "TARGETS", "load_dataset",
           "normalizer_for", "points_dataset", "render_shapes", "resize_images",
           "sample_factors", "stratified_split"]
