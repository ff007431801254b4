"""Image tensors in [0, 1] -> PNG grids and strips (Pillow), and a user's image -> tensor.

`make_grid` follows torchvision's layout (nrow images per row, `padding` pixels between and
around them) but returns a uint8 numpy array, so nothing here needs torchvision.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from genlab.errors import GenlabError
from genlab.training.atomic import atomic_path


def make_grid(x: torch.Tensor, nrow: int | None = None, padding: int = 2,
              pad_value: float = 0.0) -> np.ndarray:
    """(B, C, H, W) float in [0, 1], C in {1, 3} -> uint8 (rows*(H+p)+p, nrow*(W+p)+p, C).

    `nrow` is the number of images per row (default: a near-square grid).
    """
    x = torch.as_tensor(x).detach().to("cpu", torch.float32)
    if x.dim() == 3:
        x = x[None]
    if x.dim() != 4 or x.shape[1] not in (1, 3) or x.shape[0] == 0:
        raise GenlabError(f"make_grid needs (B, 1 or 3, H, W) images, got {tuple(x.shape)}")
    b, c, h, w = x.shape
    nrow = max(1, min(b, nrow or math.ceil(math.sqrt(b))))
    rows = math.ceil(b / nrow)
    pixels = (x.nan_to_num(0.0).clamp(0, 1) * 255).round().to(torch.uint8)
    fill = int(round(min(max(pad_value, 0.0), 1.0) * 255))
    grid = torch.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding),
                      fill, dtype=torch.uint8)
    # (rows*nrow, C, H, W) -> (C, rows, H, nrow, W): lay the tiles out in one copy per row/col
    tiles = torch.full((rows * nrow, c, h, w), fill, dtype=torch.uint8)
    tiles[:b] = pixels
    tiles = tiles.reshape(rows, nrow, c, h, w).permute(2, 0, 3, 1, 4)
    view = grid[:, padding:, padding:].unfold(1, h, h + padding).unfold(2, w, w + padding)
    # view: (C, rows, nrow, H, W) windows into grid
    view.copy_(tiles.permute(0, 1, 3, 2, 4))
    return grid.permute(1, 2, 0).contiguous().numpy()


def save_image_grid(x: torch.Tensor, path: str | Path, nrow: int | None = None,
                    padding: int = 2, upscale: int = 1) -> Path:
    """Write images (B, C, H, W) in [0, 1] as one PNG grid; `upscale` enlarges tiny images
    (nearest neighbour, e.g. 8×8 digits). Returns the path. The file appears atomically."""
    return _save(make_grid(x, nrow=nrow, padding=padding), path, upscale)


def save_image_strip(x: torch.Tensor, path: str | Path, padding: int = 2, upscale: int = 1) -> Path:
    """Interpolations: (steps, C, H, W) -> one row; (rows, steps, C, H, W) -> one row per path."""
    x = torch.as_tensor(x)
    if x.dim() == 5:
        rows, steps = x.shape[:2]
        x = x.reshape(rows * steps, *x.shape[2:])
    elif x.dim() == 4:
        steps = x.shape[0]
    else:
        raise GenlabError(f"an image strip needs (steps, C, H, W) or (rows, steps, C, H, W), "
                          f"got {tuple(x.shape)}")
    return _save(make_grid(x, nrow=steps, padding=padding), path, upscale)


def _save(grid: np.ndarray, path: str | Path, upscale: int) -> Path:
    path = Path(path)
    image = Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid,
                            mode="L" if grid.shape[2] == 1 else "RGB")
    if upscale > 1:
        image = image.resize((image.width * upscale, image.height * upscale), Image.NEAREST)
    try:
        with atomic_path(path) as tmp:
            image.save(tmp, format="PNG")
    except OSError as e:
        raise GenlabError(f"{path}: cannot write image ({e.strerror or e})") from None
    return path


def load_image(path: str | Path, size: int = 28, grayscale: bool = True,
               invert: bool | None = None, mnist_style: bool = False) -> torch.Tensor:
    """A user's image -> uint8 (C, size, size) in 0..255, like one row of `Dataset.x`.

    The image is padded to a square with its background colour (so nothing is cut off) and
    resized. `invert=None` inverts dark-on-light drawings (bright border) so digits come out
    light-on-dark like MNIST; pass True/False to force. Feed it to a model with
    `norm.encode(img[None])`.

    `mnist_style=True` (grayscale) mimics MNIST's preprocessing (LeCun et al. 1998): the ink's
    bounding box is scaled to fit 20/28 of the frame and placed by its center of mass.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            image = ImageOps.exif_transpose(im)
    except FileNotFoundError:
        raise GenlabError(f"{path}: no such image file") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise GenlabError(f"{path}: not a readable image ({e})") from None
    if image.mode in ("RGBA", "LA", "P") or "transparency" in image.info:
        rgba = image.convert("RGBA")  # transparent drawing canvas -> white background
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    image = image.convert("L" if grayscale else "RGB")
    a = np.asarray(image)
    border = np.concatenate([a[0].reshape(-1), a[-1].reshape(-1), a[:, 0].reshape(-1),
                             a[:, -1].reshape(-1)])
    if invert is None:
        invert = grayscale and float(border.mean()) > 127.5
    if invert:
        image = ImageOps.invert(image)
        border = 255 - border
    if mnist_style and grayscale:
        return _mnist_style(np.asarray(image), size)
    fill = int(np.median(border)) if grayscale else tuple(int(v) for v in np.median(
        border.reshape(-1, 3), axis=0))
    side = max(image.size)
    square = Image.new(image.mode, (side, side), fill)
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    square = square.resize((size, size), Image.LANCZOS)
    out = torch.from_numpy(np.array(square, dtype=np.uint8))
    return out[None].clone() if grayscale else out.permute(2, 0, 1).contiguous()


def _mnist_style(a: np.ndarray, size: int) -> torch.Tensor:
    """Light-on-dark ink -> (1, size, size): bounding box fit into 20/28 of the frame, center
    of mass at the center."""
    ink = a > 0.2 * a.max() if a.max() > 0 else np.zeros_like(a, dtype=bool)
    if not ink.any():
        return torch.zeros((1, size, size), dtype=torch.uint8)
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = Image.fromarray(a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    box = max(1, round(size * 20 / 28))
    scale = box / max(crop.size)
    crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
                       Image.LANCZOS)
    c = np.asarray(crop, dtype=np.float64)
    total = c.sum() or 1.0
    cy = (c.sum(1) * np.arange(c.shape[0])).sum() / total
    cx = (c.sum(0) * np.arange(c.shape[1])).sum() / total
    canvas = Image.new("L", (size, size), 0)
    canvas.paste(crop, (int(round((size - 1) / 2 - cx)), int(round((size - 1) / 2 - cy))))
    return torch.from_numpy(np.array(canvas, dtype=np.uint8))[None].clone()
