"""Small PNG plots for the benchmark pages, drawn with Pillow (no matplotlib needed): line and
scatter plots, panels of them, grouped bar charts; DejaVu Sans for β, −, ‖. Re-exported by
common (common.line_plot, ...)."""

from __future__ import annotations

import math
from pathlib import Path

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf"]


def line_plot(path: Path, series: dict[str, list[tuple[float, float]]], title: str,
              xlabel: str, ylabel: str, size=(720, 460), markers_only: bool = False,
              labels: dict[str, list[str]] | None = None) -> Path:
    """A small line (or scatter) plot with axes, ticks and a legend, drawn with Pillow."""
    img = _line_plot_image(series, title, xlabel, ylabel, size, markers_only, labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    print(f"wrote {path}")
    return path


def panel_plot(path: Path, plots: list[tuple[dict, str, str, str]], columns: int = 2,
               size=(720, 460)) -> Path:
    """Several line plots side by side in one PNG: `plots` = [(series, title, xlabel, ylabel)]."""
    from PIL import Image

    rows = -(-len(plots) // columns)
    sheet = Image.new("RGB", (size[0] * columns, size[1] * rows), "white")
    for i, (series, title, xlabel, ylabel) in enumerate(plots):
        tile = _line_plot_image(series, title, xlabel, ylabel, size)
        sheet.paste(tile, ((i % columns) * size[0], (i // columns) * size[1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    print(f"wrote {path}")
    return path


def _line_plot_image(series, title, xlabel, ylabel, size=(720, 460), markers_only=False,
                     labels=None):
    from PIL import Image, ImageDraw

    w, h = size
    left, right, top, bottom = 70, 190, 36, 50
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    font = _font()
    points = [p for s in series.values() for p in s if all(math.isfinite(v) for v in p)]
    if not points:
        points = [(0.0, 0.0), (1.0, 1.0)]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = _span(min(xs), max(xs))
    y0, y1 = _span(min(ys), max(ys))

    def px(x, y):
        return (left + (x - x0) / (x1 - x0) * (w - left - right),
                h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom))

    d.rectangle([left, top, w - right, h - bottom], outline="black")
    for i in range(6):
        tx = x0 + (x1 - x0) * i / 5
        ty = y0 + (y1 - y0) * i / 5
        X, _ = px(tx, y0)
        _, Y = px(x0, ty)
        d.line([X, h - bottom, X, h - bottom + 4], fill="black")
        d.text((X - 15, h - bottom + 6), _tick(tx, (x1 - x0) / 5), fill="black", font=font)
        d.line([left - 4, Y, left, Y], fill="black")
        d.text((4, Y - 6), _tick(ty, (y1 - y0) / 5), fill="black", font=font)
    d.text((left, 0), title, fill="black", font=font)
    d.text(((left + w - right) // 2 - 3 * len(xlabel), h - 20), xlabel, fill="black", font=font)
    d.text((4, top - 20), ylabel, fill="black", font=font)
    ly = top
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        pts = [p for p in pts if all(math.isfinite(v) for v in p)]
        coords = [px(x, y) for x, y in pts]
        if len(coords) > 1 and not markers_only:
            d.line(coords, fill=color, width=2)
        for j, (X, Y) in enumerate(coords):
            d.ellipse([X - 3, Y - 3, X + 3, Y + 3], fill=color)
            if labels and name in labels and j < len(labels[name]):
                d.text((X + 5, Y - 12), labels[name][j], fill=color, font=font)
        d.line([w - right + 10, ly + 6, w - right + 28, ly + 6], fill=color, width=3)
        for part in _fit(d, name, font, right - 36):  # long names wrap inside the legend
            d.text((w - right + 32, ly), part, fill="black", font=font)
            ly += 14
        ly += 4
    return img


def _fit(d, text: str, font, width: int) -> list[str]:
    """`text` wrapped at spaces into lines narrower than `width` pixels."""
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and d.textlength(trial, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + ([line] if line else [])


def bar_chart(path: Path, groups: list[str], series: dict[str, list[float]], title: str,
              ylabel: str, size=(900, 480), ymax: float | None = None) -> Path:
    """Grouped vertical bars: one group per label in `groups`, one bar per series (Pillow)."""
    from PIL import Image, ImageDraw

    w, h = size
    left, right, top, bottom = 60, 150, 36, 110
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    font = _font()
    values = [v for s in series.values() for v in s if v is not None and math.isfinite(v)]
    top_value = ymax if ymax is not None else (max(values) * 1.05 if values else 1.0) or 1.0
    d.rectangle([left, top, w - right, h - bottom], outline="black")
    for i in range(6):
        y = top_value * i / 5
        Y = h - bottom - (h - top - bottom) * i / 5
        d.line([left - 4, Y, w - right, Y], fill="#dddddd" if i else "black")
        d.text((4, Y - 6), _tick(y), fill="black", font=font)
    slot = (w - left - right) / max(1, len(groups))
    bar = slot * 0.8 / max(1, len(series))
    for g, label in enumerate(groups):
        x_start = left + g * slot + slot * 0.1
        for s, vals in enumerate(series.values()):
            v = vals[g] if g < len(vals) else None
            if v is None or not math.isfinite(v):
                continue
            X = x_start + s * bar
            Y = h - bottom - (h - top - bottom) * min(v, top_value) / top_value
            d.rectangle([X, Y, X + bar - 2, h - bottom], fill=PALETTE[s % len(PALETTE)])
        for j, part in enumerate(_fit(d, label, font, slot - 6)):  # wrapped by pixel width
            d.text((left + g * slot + 4, h - bottom + 6 + 12 * j), part, fill="black", font=font)
    for s, name in enumerate(series):
        ly = top + 14 * s
        d.rectangle([w - right + 10, ly + 2, w - right + 24, ly + 10], fill=PALETTE[s % len(PALETTE)])
        d.text((w - right + 30, ly), name, fill="black", font=font)
    d.text((left, 0), title, fill="black", font=font)
    d.text((4, top - 20), ylabel, fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    print(f"wrote {path}")
    return path


def _font(size: int = 12):
    """DejaVu Sans (system, else matplotlib's copy) for β, −, ‖; Pillow's default otherwise."""
    from PIL import ImageFont

    candidates = ["DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]
    try:
        import matplotlib

        candidates.append(str(Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"
                              / "DejaVuSans.ttf"))
    except ImportError:  # matplotlib is optional
        pass
    for candidate in candidates:
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default()


def _span(lo: float, hi: float) -> tuple[float, float]:
    if hi - lo < 1e-12:
        return lo - 1.0, hi + 1.0
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def _tick(v: float, step: float | None = None) -> str:
    """A tick label with enough decimals that ticks `step` apart read differently."""
    if step is None or not 1e-6 < step < 1e6 or abs(v) >= 1e6:
        return f"{v:.3g}"
    decimals = max(0, 1 - math.floor(math.log10(step)))
    return f"{v:.{decimals}f}"
