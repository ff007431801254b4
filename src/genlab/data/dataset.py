"""The in-memory `Dataset` every loader returns, and the small helpers loaders share.

Points are float32 (N, 2) in data coordinates; images are uint8 (N, C, H, W) in 0..255.
Pixel range and point scaling are *not* applied here: that is `genlab.data.normalize`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from genlab.errors import GenlabError


@dataclass
class Dataset:
    name: str
    kind: str  # "points" | "image"
    x: torch.Tensor  # points: float32 (N, 2); images: uint8 (N, C, H, W)
    y: torch.Tensor | None = None  # int64 (N,) or None
    num_classes: int = 0
    class_names: list[str] = field(default_factory=list)
    # shapes (dSprites-like): the generative factors of every image
    factors: torch.Tensor | None = None  # int64 (N, F)
    factor_names: list[str] | None = None
    factor_sizes: list[int] | None = None
    # ring8 / grid25: the mixture the points were drawn from
    modes: torch.Tensor | None = None  # float32 (M, 2)
    mode_std: float | None = None
    split: str = "train"

    def __post_init__(self) -> None:
        if self.kind not in ("points", "image"):
            raise ValueError(f"Dataset kind must be 'points' or 'image', got {self.kind!r}")
        if self.kind == "points" and (self.x.dim() != 2 or self.x.dtype != torch.float32):
            raise ValueError(f"points must be float32 (N, 2), got {self.x.dtype} {tuple(self.x.shape)}")
        if self.kind == "image" and (self.x.dim() != 4 or self.x.dtype != torch.uint8):
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.x.dtype} {tuple(self.x.shape)}")
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"{len(self.y)} labels for {len(self.x)} examples")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def example_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def subset(self, index: torch.Tensor) -> Dataset:
        """The examples at `index` (an int64 index tensor or a bool mask), with all metadata."""
        return dataclasses.replace(
            self, x=self.x[index], y=None if self.y is None else self.y[index],
            factors=None if self.factors is None else self.factors[index])

    def without_class(self, label: int) -> Dataset:
        """Leave one class out (anomaly detection: train on the others, score the held-out one)."""
        if self.y is None:
            raise GenlabError(f"{self.name} has no class labels, so no class can be held out")
        if not 0 <= label < self.num_classes:
            raise GenlabError(f"holdout class must be in [0, {self.num_classes - 1}], got {label}")
        return self.subset(self.y != label)

    def to(self, device: torch.device | str) -> Dataset:
        """A copy whose tensors live on `device` (index batches there without host copies)."""
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return dataclasses.replace(self, x=move(self.x), y=move(self.y),
                                   factors=move(self.factors), modes=move(self.modes))


def seed_for(*parts: object) -> int:
    """A 63-bit generator seed that is a pure function of `parts` (stable across runs/hosts)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(*parts: object) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed_for(*parts))
    return g


def stratified_split(y: torch.Tensor, test_fraction: float,
                     seed: object = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic per-class split: (train_index, test_index), both sorted int64.

    Within each class a seeded permutation decides; round(count * test_fraction) go to test.
    """
    n = len(y)
    perm = torch.randperm(n, generator=generator("stratified", seed))
    order = perm[torch.sort(y[perm], stable=True).indices]  # grouped by class, shuffled inside
    counts = torch.bincount(y)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n) - starts[y[order]]  # position of each example inside its class
    n_test = torch.round(counts.double() * test_fraction).long()
    is_test = rank < n_test[y[order]]
    return torch.sort(order[~is_test]).values, torch.sort(order[is_test]).values


def resize_images(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, C, size, size): center-crop to square, antialiased resize."""
    if size is None or (x.shape[-1] == size and x.shape[-2] == size):
        return x
    if size < 1:
        raise GenlabError(f"image size must be positive, got {size}")
    h, w = x.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    x = x[..., top:top + s, left:left + s]
    from genlab.limits import check_fits, tensor_bytes
    check_fits(f"--image-size {size} for {len(x)} images",  # the result + one float chunk
               tensor_bytes(*x.shape[:2], size, size, itemsize=1)
               + tensor_bytes(min(len(x), 4096), x.shape[1], size, size))
    out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8)
    for i in range(0, len(x), 4096):  # chunks bound the float copy
        chunk = x[i:i + 4096].float()
        chunk = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=size < s,
                              align_corners=False)
        out[i:i + 4096] = chunk.round_().clamp_(0, 255).to(torch.uint8)
    return out


def check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise GenlabError(f"unknown split {split!r}: choose one of test, train")
