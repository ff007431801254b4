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

`load_images(files, ...)` is the same loader on named files that are paths or bytes in
memory (the hub's uploads: nothing is written to disk); `max_pixels` refuses an image whose
header claims more pixels before it is decoded (a decompression bomb).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from genlab.data.dataset import Dataset, check_split, stratified_split
from genlab.errors import GenlabError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
NAMED = 3  # unreadable files named in the warning
STRICT_NOTE = " (--strict: every file must be readable)"

log = logging.getLogger("genlab.data")
Source = Path | bytes  # a file on disk, or its bytes in memory
_UNREADABLE = (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def list_images(root: Path) -> list[Path]:
    """Image files under `root`, sorted, skipping hidden files and folders."""
    return sorted(p for p in root.rglob("*")
                  if p.suffix.lower() in EXTENSIONS and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _read(source: Source):
    return io.BytesIO(source) if isinstance(source, bytes) else source


def _check_pixels(im: Image.Image, max_pixels: int | None) -> None:
    if max_pixels is not None and im.width * im.height > max_pixels:
        raise ValueError(f"{im.width}×{im.height} pixels, more than the {max_pixels:,} allowed")


def _open(path: str, source: Source, size: int, max_pixels: int | None = None) -> Image.Image:
    """The decoded image (every pixel read: a truncated file fails here, not later)."""
    try:
        with Image.open(_read(source)) as im:
            _check_pixels(im, max_pixels)
            im.draft("RGB" if im.mode not in GRAY_MODES else "L", (size, size))  # fast JPEG decode
            im.load()
            return ImageOps.exif_transpose(im)
    except _UNREADABLE as e:
        raise _Unreadable(path, e) from None


def _mode(path: str, source: Source, max_pixels: int | None = None) -> str:
    try:
        with Image.open(_read(source)) as im:
            _check_pixels(im, max_pixels)
            return im.mode
    except _UNREADABLE as e:
        raise _Unreadable(path, e) from None


class _Unreadable(GenlabError):
    def __init__(self, path: str | Path, e: Exception):
        reason = " ".join(str(e).split()).replace(f" {str(path)!r}", "")  # named already
        reason = re.sub(r" <_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", reason)
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
    root = Path(path).expanduser()
    check_split(split)
    if not root.is_dir():
        raise GenlabError(f"{root}: no such folder")
    files = list_images(root)
    if not files:
        raise GenlabError(f"{root}: no images found (looked for {', '.join(sorted(EXTENSIONS))})")
    return load_images([(str(f.relative_to(root)), f) for f in files], f"folder:{path}", split,
                       image_size, channels, test_fraction, strict, root_class=root.name or ".",
                       where=str(root))


def load_images(files: Sequence[tuple[str, Source]], name: str, split: str = "train",
                image_size: int = 64, channels: int | None = None, test_fraction: float = 0.1,
                strict: bool = False, max_pixels: int | None = None, root_class: str = ".",
                where: str | None = None) -> Dataset:
    """`load_folder` on `files`: (relative name, path or bytes) pairs, sorted by name; a name's
    first folder is its class. `where` prefixes the names in errors (default: `name`)."""
    check_split(split)
    where = name if where is None else where
    if channels not in (None, 1, 3):
        raise GenlabError(f"channels must be 1 or 3, got {channels}")
    if not 1 <= int(image_size) <= 1024:
        raise GenlabError(f"image size must be in [1, 1024], got {image_size}")
    if not files:
        raise GenlabError(f"{where}: no images found (looked for {', '.join(sorted(EXTENSIONS))})")
    names = [n for n, _ in files]
    sources = [src for _, src in files]
    shown = [str(src) if isinstance(src, Path) else f"{where}/{n}" if where else n
             for n, src in files]  # what an error names
    tops = [Path(n).parts[0] if len(Path(n).parts) > 1 else None for n in names]
    class_names = sorted({t for t in tops if t is not None})
    y = None
    if class_names:
        subfolders = list(class_names)
        if None in tops:
            class_names.append(root_class)  # images lying directly in the root folder
        log.info(f"{name}: {len(subfolders)} sub-folder(s) became classes: "
                 f"{', '.join(subfolders)}"
                 + (f"; the images directly in it are class {class_names[-1]!r}"
                    if None in tops else ""))
        index = {c: k for k, c in enumerate(class_names)}
        y = torch.tensor([index[t if t is not None else class_names[-1]] for t in tops])
        train, test = stratified_split(y, test_fraction, seed="folder")
    else:
        train, test = stratified_split(torch.zeros(len(files), dtype=torch.long), test_fraction,
                                       seed="folder")
    chosen = (train if split == "train" else test).tolist()
    if not chosen:
        raise GenlabError(f"{where}: too few images ({len(files)}) for a {split} split")
    in_split = set(chosen)
    unreadable: dict[int, str] = {}  # file index -> reason, in this split

    def refuse_or_note(i: int, e: _Unreadable) -> None:
        if strict:
            raise GenlabError(f"{e}{STRICT_NOTE}") from None
        if i in in_split:
            unreadable[i] = e.reason

    modes: dict[int, str] = {}
    if channels is None:  # decided on the whole folder so both splits agree (headers only: cheap)
        for i, src in enumerate(sources):
            try:
                modes[i] = _mode(shown[i], src, max_pixels)
            except _Unreadable as e:
                refuse_or_note(i, e)
        channels = 1 if all(m in GRAY_MODES for m in modes.values()) else 3
    mode = "L" if channels == 1 else "RGB"
    images, kept = [], []
    for i in chosen:
        if i in unreadable:
            continue
        try:
            images.append(_fit(_open(shown[i], sources[i], image_size, max_pixels), image_size,
                               mode))
            kept.append(i)
        except _Unreadable as e:
            refuse_or_note(i, e)
    if unreadable:
        bad = [names[i] for i in sorted(unreadable)]
        more = f" and {len(bad) - NAMED} more" if len(bad) > NAMED else ""
        first = unreadable[min(unreadable)]
        message = (f"{name}: {len(bad)} of {len(chosen)} {split} image(s) unreadable "
                   f"({', '.join(bad[:NAMED])}{more}; the first: {first})")
        if not kept:
            raise GenlabError(message.replace("unreadable", "unreadable, none left", 1))
        log.warning(f"{message}: skipped them (--strict refuses instead)")
    x = np.stack(images)
    x = torch.from_numpy(x[:, None] if channels == 1 else x.transpose(0, 3, 1, 2).copy())
    if y is None:
        return Dataset(name, "image", x.contiguous(), split=split)
    return Dataset(name, "image", x.contiguous(), y[kept], len(class_names), class_names,
                   split=split)
