"""`folder:PATH`: any folder of images (searched recursively), e.g. your own photos or CelebA.

Each image is resized so its shorter side is `image_size` and center-cropped to a square
(the DCGAN recipe for CelebA/LSUN). Images in top-level subfolders get that subfolder's
name as their class; with no subfolders there are no labels. All-grayscale folders load as 1
channel, anything else as RGB (or force with `channels`). A deterministic stratified 10% of
each class is the test split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from genlab.data.dataset import Dataset, check_split, stratified_split
from genlab.errors import GenlabError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def list_images(root: Path) -> list[Path]:
    """Image files under `root`, sorted, skipping hidden files and folders."""
    return sorted(p for p in root.rglob("*")
                  if p.suffix.lower() in EXTENSIONS and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _open(path: Path, size: int) -> Image.Image:
    try:
        with Image.open(path) as im:
            im.draft("RGB" if im.mode not in GRAY_MODES else "L", (size, size))  # fast JPEG decode
            im.load()
            return ImageOps.exif_transpose(im)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise GenlabError(f"{path}: not a readable image ({e})") from None


def _mode(path: Path) -> str:
    try:
        with Image.open(path) as im:
            return im.mode
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise GenlabError(f"{path}: not a readable image ({e})") from None


def _fit(image: Image.Image, size: int, mode: str) -> np.ndarray:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image)
    image = ImageOps.fit(image.convert(mode), (size, size), Image.BICUBIC, centering=(0.5, 0.5))
    return np.asarray(image, dtype=np.uint8)


def load_folder(path: str | Path, split: str = "train", image_size: int = 64,
                channels: int | None = None, test_fraction: float = 0.1) -> Dataset:
    check_split(split)
    root = Path(path).expanduser()
    if not root.is_dir():
        raise GenlabError(f"{root}: no such folder")
    if channels not in (None, 1, 3):
        raise GenlabError(f"channels must be 1 or 3, got {channels}")
    if not 1 <= int(image_size) <= 1024:
        raise GenlabError(f"image size must be in [1, 1024], got {image_size}")
    files = list_images(root)
    if not files:
        raise GenlabError(f"{root}: no images found (looked for {', '.join(sorted(EXTENSIONS))})")
    tops = [f.relative_to(root).parts[0] if len(f.relative_to(root).parts) > 1 else None for f in files]
    class_names = sorted({t for t in tops if t is not None})
    y = None
    if class_names:
        if None in tops:
            class_names.append(root.name or ".")  # images lying directly in the root folder
        index = {name: k for k, name in enumerate(class_names)}
        y = torch.tensor([index[t if t is not None else class_names[-1]] for t in tops])
        train, test = stratified_split(y, test_fraction, seed="folder")
    else:
        train, test = stratified_split(torch.zeros(len(files), dtype=torch.long), test_fraction,
                                       seed="folder")
    chosen = (train if split == "train" else test).tolist()
    if not chosen:
        raise GenlabError(f"{root}: too few images ({len(files)}) for a {split} split")
    if channels is None:  # decided on the whole folder so both splits agree (headers only: cheap)
        channels = 1 if all(_mode(f) in GRAY_MODES for f in files) else 3
    mode = "L" if channels == 1 else "RGB"
    x = np.stack([_fit(_open(files[i], image_size), image_size, mode) for i in chosen])
    x = torch.from_numpy(x[:, None] if channels == 1 else x.transpose(0, 3, 1, 2).copy())
    name = f"folder:{path}"
    if y is None:
        return Dataset(name, "image", x.contiguous(), split=split)
    return Dataset(name, "image", x.contiguous(), y[chosen], len(class_names), class_names, split=split)
