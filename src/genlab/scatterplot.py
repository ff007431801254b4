"""2D points -> a PNG scatter of generated (red) points over real ones (grey, behind), drawn
with Pillow; the legend names only what is drawn."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

from genlab.training.atomic import atomic_path

REAL = (150, 150, 150)
FAKE = (220, 40, 40)
MODE = (30, 90, 220)


def save_scatter(path: str | Path, real: torch.Tensor | None, fake: torch.Tensor,
                 modes: torch.Tensor | None = None, size: int = 480, margin: int = 16) -> Path:
    """Draw `real` and `fake` (N, 2) in data coordinates on one square canvas (equal axes);
    mode centres, when given, as small blue crosses. The file appears atomically."""
    fake = torch.as_tensor(fake).detach().float().cpu()
    clouds = [fake] + ([torch.as_tensor(real).float().cpu()] if real is not None else [])
    ref = clouds[-1]  # frame the real data (generated outliers may fall off the canvas)
    finite = ref[torch.isfinite(ref).all(1)]
    if len(finite) == 0:
        finite = torch.zeros(1, 2)
    low, high = finite.min(0).values, finite.max(0).values
    centre, half = (low + high) / 2, float((high - low).max()) / 2 * 1.1 or 1.0
    scale = (size - 2 * margin) / (2 * half)

    def pixel(p: torch.Tensor) -> torch.Tensor:  # (N, 2) -> (N, 2) pixel coords, y up
        q = (p - centre) * scale + size / 2
        return torch.stack([q[:, 0], size - q[:, 1]], 1)

    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, size - 1, size - 1], outline=(200, 200, 200))
    if real is not None:
        for x, y in pixel(clouds[1]).tolist():
            draw.point((x, y), fill=REAL)
    for x, y in pixel(fake[torch.isfinite(fake).all(1)]).tolist():
        draw.rectangle([x - 1, y - 1, x, y], fill=FAKE)
    if modes is not None:
        for x, y in pixel(torch.as_tensor(modes).float().cpu()).tolist():
            draw.line([x - 4, y, x + 4, y], fill=MODE)
            draw.line([x, y - 4, x, y + 4], fill=MODE)
    legend = ([("real", REAL)] if real is not None else []) + [("generated", FAKE)] + (
        [("modes", MODE)] if modes is not None else [])  # only what is drawn
    x = 6
    for label, colour in legend:
        draw.text((x, 4), label, fill=colour)
        x += int(draw.textlength(label)) + 10
    path = Path(path)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path
