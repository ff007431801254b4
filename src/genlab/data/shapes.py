"""`shapes`: a procedural dSprites-like data set with known generative factors.

dSprites (Matthey, Higgins, Hassabis, Lerchner 2017, https://github.com/deepmind/dsprites-dataset):
64×64 binary images of one sprite, factors shape 3 (square, ellipse, heart), scale 6
(linspace(0.5, 1, 6)), orientation 40 (linspace(0, 2π, 40), as in dSprites), posX 32 and
posY 32 (linspace(0, 1, 32)) — 737,280 combinations. The sprites are drawn here from implicit
equations (a square, a 2:1 ellipse, the heart curve (x² + y² − 1)³ − x²y³ ≤ 0), so the pixels
differ from the dSprites files but the factor structure is the same, which is what the β-VAE
disentanglement metrics (Higgins et al. 2017; MIG, Chen et al. 2018) need.

The data set is a seeded random sample of factor combinations (train and test disjoint);
`render_shapes(factors)` draws any factor vectors, e.g. batches with one factor held fixed.
Rendering is vectorized over images and pixels.
"""

from __future__ import annotations

import math

import torch

from genlab.data.dataset import Dataset, check_split, generator
from genlab.errors import GenlabError

FACTOR_NAMES = ["shape", "scale", "orientation", "posX", "posY"]
FACTOR_SIZES = [3, 6, 40, 32, 32]
SHAPE_NAMES = ["square", "ellipse", "heart"]
TOTAL = math.prod(FACTOR_SIZES)  # 737,280
SIZE = 64
HALF_SIZE = 0.13  # sprite half-extent at scale 1, in image widths
MARGIN = 0.2  # posX/posY 0..1 map to centers in [MARGIN, 1 - MARGIN]: no sprite is cut off
_CHUNK = 4096
PATCH = 30  # > 2 * (largest sprite reach: sqrt(2) * HALF_SIZE * SIZE ≈ 11.8 px) + 2
PAD = 8  # canvas border so patches near the edge can be pasted without clipping


def factor_values(factors: torch.Tensor) -> dict[str, torch.Tensor]:
    """Integer factor indices (B, 5) -> the dSprites values (scale, radians, positions in [0,1])."""
    f = factors.long()
    return {"shape": f[:, 0],
            "scale": 0.5 + 0.5 * f[:, 1].double() / (FACTOR_SIZES[1] - 1),
            "orientation": 2 * math.pi * f[:, 2].double() / (FACTOR_SIZES[2] - 1),
            "posX": f[:, 3].double() / (FACTOR_SIZES[3] - 1),
            "posY": f[:, 4].double() / (FACTOR_SIZES[4] - 1)}


def check_factors(factors: torch.Tensor) -> torch.Tensor:
    factors = torch.as_tensor(factors)
    if factors.dim() != 2 or factors.shape[1] != len(FACTOR_SIZES):
        raise GenlabError(f"shape factors must be (B, {len(FACTOR_SIZES)}), got {tuple(factors.shape)}")
    sizes = torch.tensor(FACTOR_SIZES)
    if factors.numel() and ((factors < 0) | (factors >= sizes)).any():
        raise GenlabError(f"shape factors out of range: each column k must be in [0, {FACTOR_SIZES}[k])")
    return factors.long()


def render_shapes(factors: torch.Tensor) -> torch.Tensor:
    """Factor indices (B, 5) -> uint8 images (B, 1, 64, 64) with values 0 or 255.

    Each sprite is evaluated only on a PATCH×PATCH window around its center (it never reaches
    further) and pasted into a padded canvas, so the work is ~5× smaller than the full image.
    """
    factors = check_factors(factors)
    out = torch.empty((len(factors), 1, SIZE, SIZE), dtype=torch.uint8)
    offsets = torch.arange(PATCH)
    for i in range(0, len(factors), _CHUNK):
        v = factor_values(factors[i:i + _CHUNK])
        b = len(v["shape"])
        cx = ((MARGIN + (1 - 2 * MARGIN) * v["posX"]) * SIZE).float()  # (B,) center, pixels
        cy = ((MARGIN + (1 - 2 * MARGIN) * v["posY"]) * SIZE).float()  # (B,) rows grow downward
        x0 = torch.floor(cx).long() - PATCH // 2 + 1  # (B,) first patch column
        y0 = torch.floor(cy).long() - PATCH // 2 + 1
        px = x0[:, None] + offsets + 0.5  # (B, P) pixel-center columns
        py = y0[:, None] + offsets + 0.5  # (B, P)
        radius = (HALF_SIZE * SIZE * v["scale"]).float()[:, None, None]
        cos = torch.cos(v["orientation"]).float()[:, None, None] / radius
        sin = torch.sin(v["orientation"]).float()[:, None, None] / radius
        dx = (px - cx[:, None])[:, None, :]  # (B, 1, P)
        dy = (cy[:, None] - py)[:, :, None]  # (B, P, 1), up is positive
        mask = torch.zeros((b, PATCH, PATCH), dtype=torch.bool)
        for k, inside in enumerate((_square, _ellipse, _heart)):
            sel = torch.nonzero(v["shape"] == k).squeeze(1)
            if len(sel):
                # sprite frame: the pixel offset rotated by -orientation, in sprite-size units
                u = cos[sel] * dx[sel] + sin[sel] * dy[sel]  # (b_k, P, P)
                w = cos[sel] * dy[sel] - sin[sel] * dx[sel]  # (b_k, P, P)
                mask[sel] = inside(u, w)
        canvas = torch.zeros((b, SIZE + 2 * PAD, SIZE + 2 * PAD), dtype=torch.uint8)
        rows = (y0 + PAD)[:, None, None] + offsets[None, :, None]  # (B, P, 1)
        cols = (x0 + PAD)[:, None, None] + offsets[None, None, :]  # (B, 1, P)
        canvas[torch.arange(b)[:, None, None], rows, cols] = mask.to(torch.uint8) * 255
        out[i:i + _CHUNK, 0] = canvas[:, PAD:PAD + SIZE, PAD:PAD + SIZE]
    return out


def _square(u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return torch.maximum(u.abs(), w.abs()) <= 1


def _ellipse(u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return u.square_().add_(w.square_(), alpha=4) <= 1  # semi-axes 1 and 1/2


def _heart(u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    hu, hw = u.mul_(1.15), w.mul_(1.15).add_(0.1)  # the curve spans ~[-1.14, 1.14] x [-1, 1.25]
    hu2, hw3 = hu.square_(), hw.square() * hw
    r = hw.square_().add_(hu2).sub_(1)
    return r.square() * r <= hu2.mul_(hw3)  # (x² + y² − 1)³ ≤ x² y³


def index_to_factors(index: torch.Tensor) -> torch.Tensor:
    """Flat index into the full product (dSprites order: shape slowest, posY fastest) -> (B, 5)."""
    index = torch.as_tensor(index).long()
    columns = []
    for size in reversed(FACTOR_SIZES):
        columns.append(index % size)
        index = index // size
    return torch.stack(columns[::-1], 1)


def factors_to_index(factors: torch.Tensor) -> torch.Tensor:
    factors = check_factors(factors)
    index = torch.zeros(len(factors), dtype=torch.long)
    for k, size in enumerate(FACTOR_SIZES):
        index = index * size + factors[:, k]
    return index


def sample_factors(n: int, generator: torch.Generator | None = None,
                   fixed: dict[int | str, int] | None = None) -> torch.Tensor:
    """n uniform factor vectors (n, 5); `fixed` holds some factors at one value, e.g. {"scale": 2}."""
    columns = [torch.randint(size, (n,), generator=generator) for size in FACTOR_SIZES]
    for key, value in (fixed or {}).items():
        k = FACTOR_NAMES.index(key) if isinstance(key, str) else int(key)
        if not 0 <= value < FACTOR_SIZES[k]:
            raise GenlabError(f"factor {FACTOR_NAMES[k]} must be in [0, {FACTOR_SIZES[k]}), got {value}")
        columns[k] = torch.full((n,), int(value), dtype=torch.long)
    return torch.stack(columns, 1)


def load_shapes(split: str = "train", seed: int = 0, n_train: int = 20_000,
                n_test: int = 2_000) -> Dataset:
    """A seeded sample of factor combinations; train and test never share a combination."""
    check_split(split)
    if n_train < 1 or n_test < 0 or n_train + n_test > TOTAL:
        raise GenlabError(f"shapes: need 1 <= n_train and n_train + n_test <= {TOTAL}, "
                          f"got {n_train} + {n_test}")
    perm = torch.randperm(TOTAL, generator=generator("shapes", seed))
    index = perm[:n_train] if split == "train" else perm[n_train:n_train + n_test]
    factors = index_to_factors(torch.sort(index).values)
    return Dataset("shapes", "image", render_shapes(factors), factors[:, 0].clone(), 3,
                   list(SHAPE_NAMES), factors=factors, factor_names=list(FACTOR_NAMES),
                   factor_sizes=list(FACTOR_SIZES), split=split)
