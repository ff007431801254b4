"""`folder:PATH`: any folder of images (searched recursively), e.g. your own photos or CelebA.

Each image is resized so its shorter side is `image_size` and center-cropped to a square
(the DCGAN recipe for CelebA/LSUN). Images in top-level subfolders get that subfolder's
name as their class (said in one info line); with no subfolders there are no labels.
All-grayscale folders load as 1 channel, anything else as RGB (or force with `channels`). A
deterministic stratified 10% of each class is the test split (of every file found, so an
unreadable file does not move the others between splits).

Unreadable files (zero bytes, corrupt, truncated) are skipped with one warning that counts
them and names the first few; `strict=True` (`genlab train --strict`) refuses instead.
Messages go to the logger "genlab.data" (the CLI prints them as `genlab: ...` lines).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from genlab.data.dataset import Dataset, check_split, stratified_split
from genlab.errors import GenlabError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
NAMED = 3  # unreadable files named in the warning

log = logging.getLogger("genlab.data")
_UNREADABLE = (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def list_images(root: Path) -> list[Path]:
    """Image files under `root`, sorted, skipping hidden files and folders."""
    return sorted(p for p in root.rglob("*")
                  if p.suffix.lower() in EXTENSIONS and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _open(path: Path, size: int) -> Image.Image:
    """The decoded image (every pixel read: a truncated file fails here, not later)."""
    try:
        with Image.open(path) as im:
            im.draft("RGB" if im.mode not in GRAY_MODES else "L", (size, size))  # fast JPEG decode
            im.load()
            return ImageOps.exif_transpose(im)
    except _UNREADABLE as e:
        raise _Unreadable(path, e) from None


def _mode(path: Path) -> str:
    try:
        with Image.open(path) as im:
            return im.mode
    except _UNREADABLE as e:
        raise _Unreadable(path, e) from None


class _Unreadable(GenlabError):
    def __init__(self, path: Path, e: Exception):
        reason = " ".join(str(e).split()).replace(f" {str(path)!r}", "")  # named already
        self.reason = reason or type(e).__name__
        super().__init__(f"{path}: not a readable image ({self.reason})")


def _fit(image: Image.Image, size: int, mode: str) -> np.ndarray:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image)
    image = ImageOps.fit(image.convert(mode), (size, size), Image.BICUBIC, centering=(0.5, 0.5))
    return np.asarray(image, dtype=np.uint8)


def load_folder(path: str | Path, split: str = "train", image_size: int = 64,
                channels: int | None = None, test_fraction: float = 0.1,
                strict: bool = False) -> Dataset:
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
        subfolders = list(class_names)
        if None in tops:
            class_names.append(root.name or ".")  # images lying directly in the root folder
        log.info(f"folder:{path}: {len(subfolders)} sub-folder(s) became classes: "
                 f"{', '.join(subfolders)}"
                 + (f"; the images directly in it are class {class_names[-1]!r}"
                    if None in tops else ""))
        index = {name: k for k, name in enumerate(class_names)}
        y = torch.tensor([index[t if t is not None else class_names[-1]] for t in tops])
        train, test = stratified_split(y, test_fraction, seed="folder")
    else:
        train, test = stratified_split(torch.zeros(len(files), dtype=torch.long), test_fraction,
                                       seed="folder")
    chosen = (train if split == "train" else test).tolist()
    if not chosen:
        raise GenlabError(f"{root}: too few images ({len(files)}) for a {split} split")
    in_split = set(chosen)
    unreadable: dict[int, str] = {}  # file index -> reason, in this split

    def refuse_or_note(i: int, e: _Unreadable) -> None:
        if strict:
            raise GenlabError(f"{e} (--strict: every file must be readable)") from None
        if i in in_split:
            unreadable[i] = e.reason

    modes: dict[int, str] = {}
    if channels is None:  # decided on the whole folder so both splits agree (headers only: cheap)
        for i, f in enumerate(files):
            try:
                modes[i] = _mode(f)
            except _Unreadable as e:
                refuse_or_note(i, e)
        channels = 1 if all(m in GRAY_MODES for m in modes.values()) else 3
    mode = "L" if channels == 1 else "RGB"
    images, kept = [], []
    for i in chosen:
        if i in unreadable:
            continue
        try:
            images.append(_fit(_open(files[i], image_size), image_size, mode))
            kept.append(i)
        except _Unreadable as e:
            refuse_or_note(i, e)
    if unreadable:
        names = [str(files[i].relative_to(root)) for i in sorted(unreadable)]
        more = f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
        first = unreadable[min(unreadable)]
        message = (f"folder:{path}: {len(names)} of {len(chosen)} {split} image(s) unreadable "
                   f"({', '.join(names[:NAMED])}{more}; the first: {first})")
        if not kept:
            raise GenlabError(message.replace("unreadable", "unreadable, none left", 1))
        log.warning(f"{message}: skipped them (--strict refuses instead)")
    x = np.stack(images)
    x = torch.from_numpy(x[:, None] if channels == 1 else x.transpose(0, 3, 1, 2).copy())
    name = f"folder:{path}"
    if y is None:
        return Dataset(name, "image", x.contiguous(), split=split)
    return Dataset(name, "image", x.contiguous(), y[kept], len(class_names), class_names,
                   split=split)
