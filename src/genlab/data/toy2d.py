"""2D toy distributions, generated on the fly from a data seed (deterministic).

- `ring8`, `grid25`: the mode-collapse benchmarks of the PacGAN protocol — Lin et al. 2018,
  "PacGAN: The power of two samples in generative adversarial networks",
  https://arxiv.org/abs/1712.04086 (Sec. 5.1; the same mixtures as VEEGAN). Ring: 8 Gaussians,
  means at angle 2πk/8 (k = 0..7) on the unit circle, std 0.01. Grid: 25 Gaussians at
  {-4,-2,0,2,4}², std 0.05. Each point picks a mode uniformly; `y` is the mode index.
  (Beware: means from linspace(0, 2π, 8) put modes 0 and 7 on the same spot.)
- `spiral`: the "Swiss roll" toy of WGAN-GP (Gulrajani et al. 2017, code `gan_toy.py`):
  sklearn's make_swiss_roll(noise=0.25) columns (x, z) divided by 7.5.
- `moons`, `circles`: as sklearn's make_moons / make_circles (noise 0.05, factor 0.5), y = part.
- `checkerboard`: as in FFJORD (Grathwohl et al. 2019), 8 filled cells of a 4×4 board in [-4, 4]².
- `csv:PATH` and `points_dataset(points)`: a learner's own points.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from genlab.data.dataset import Dataset, check_split, generator
from genlab.errors import GenlabError

TRAIN_SIZE = 100_000
TEST_SIZE = 10_000


def ring8_modes() -> torch.Tensor:
    """(8, 2) float32: angles 2πk/8, k = 0..7 — eight distinct points on the unit circle."""
    angle = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
    return torch.stack([torch.cos(angle), torch.sin(angle)], 1).float()


def grid25_modes() -> torch.Tensor:
    """(25, 2) float32: {-4,-2,0,2,4}²; mode index = 5 * i + j for (values[i], values[j])."""
    values = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], dtype=torch.float64)
    gx, gy = torch.meshgrid(values, values, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).float()


def _mixture(name: str, modes: torch.Tensor, std: float, n: int, g: torch.Generator) -> Dataset:
    y = torch.randint(len(modes), (n,), generator=g)
    x = modes.double()[y] + std * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return Dataset(name, "points", x.float(), y, num_classes=len(modes),
                   class_names=[f"mode {k}" for k in range(len(modes))],
                   modes=modes, mode_std=std)


def ring8(n: int, g: torch.Generator) -> Dataset:
    return _mixture("ring8", ring8_modes(), 0.01, n, g)


def grid25(n: int, g: torch.Generator) -> Dataset:
    return _mixture("grid25", grid25_modes(), 0.05, n, g)


def spiral(n: int, g: torch.Generator) -> Dataset:
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g, dtype=torch.float64))
    roll = torch.stack([t * torch.cos(t), t * torch.sin(t)], 1)
    roll = roll + 0.25 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return Dataset("spiral", "points", (roll / 7.5).float())


def moons(n: int, g: torch.Generator) -> Dataset:
    y = torch.randint(2, (n,), generator=g)
    theta = math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    outer = torch.stack([torch.cos(theta), torch.sin(theta)], 1)
    inner = torch.stack([1 - torch.cos(theta), 0.5 - torch.sin(theta)], 1)
    x = torch.where(y[:, None] == 0, outer, inner)
    x = x + 0.05 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return Dataset("moons", "points", x.float(), y, 2, ["outer moon", "inner moon"])


def circles(n: int, g: torch.Generator) -> Dataset:
    y = torch.randint(2, (n,), generator=g)
    theta = 2 * math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    radius = torch.where(y == 0, 1.0, 0.5).double()
    x = radius[:, None] * torch.stack([torch.cos(theta), torch.sin(theta)], 1)
    x = x + 0.05 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return Dataset("circles", "points", x.float(), y, 2, ["outer circle", "inner circle"])


def checkerboard(n: int, g: torch.Generator) -> Dataset:
    x1 = torch.rand(n, generator=g, dtype=torch.float64) * 4 - 2
    x2 = torch.rand(n, generator=g, dtype=torch.float64) - 2 * torch.randint(2, (n,), generator=g)
    x2 = x2 + torch.floor(x1) % 2
    return Dataset("checkerboard", "points", (2 * torch.stack([x1, x2], 1)).float())


GENERATORS = {"ring8": ring8, "grid25": grid25, "spiral": spiral, "moons": moons,
              "circles": circles, "checkerboard": checkerboard}


def load_toy(name: str, split: str = "train", seed: int = 0, n_train: int = TRAIN_SIZE,
             n_test: int = TEST_SIZE) -> Dataset:
    """`n_train` / `n_test` points of toy set `name`; a pure function of (name, split, seed)."""
    check_split(split)
    n = n_train if split == "train" else n_test
    if n < 1:
        raise GenlabError(f"{name}: number of points must be positive, got {n}")
    ds = GENERATORS[name](n, generator("toy2d", name, split, seed))
    ds.split = split
    return ds


def points_dataset(points: Iterable[Sequence[float]] | torch.Tensor, name: str = "drawn") -> Dataset:
    """A points Dataset from (x, y) pairs, e.g. the points a learner draws in the hub."""
    try:
        x = torch.as_tensor(points if isinstance(points, torch.Tensor) else list(points),
                            dtype=torch.float32)
    except (TypeError, ValueError) as e:
        raise GenlabError(f"{name}: points must be (x, y) number pairs ({e})") from None
    if x.dim() != 2 or x.shape[1] != 2:
        raise GenlabError(f"{name}: points must be (x, y) pairs, got shape {tuple(x.shape)}")
    if len(x) == 0:
        raise GenlabError(f"{name}: no points")
    if not torch.isfinite(x).all():
        raise GenlabError(f"{name}: points must be finite numbers")
    return Dataset(name, "points", x.contiguous())


def load_csv(path: str | Path, split: str = "train") -> Dataset:
    """Points from a CSV file: two numeric columns, an optional header line.

    A user's file has no held-out part: both splits return every point.
    """
    check_split(split)
    path = Path(path).expanduser()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise GenlabError(f"{path}: no such CSV file") from None
    except OSError as e:
        raise GenlabError(f"{path}: cannot read CSV file ({e})") from None
    ds = parse_points_csv(raw, str(path))
    ds.name = f"csv:{path}"
    ds.split = split
    return ds


def parse_points_csv(raw: bytes, name: str, max_points: int | None = None) -> Dataset:
    """The points of a CSV file's bytes (`load_csv`, and the hub's uploads): two finite numbers
    a line, an optional header line, blank lines skipped; at most `max_points` points.
    Errors name `name` and the line."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise GenlabError(f"{name}: cannot read CSV file (not UTF-8 text: {e.reason} at byte "
                          f"{e.start})") from None
    if "\0" in text:
        raise GenlabError(f"{name}: cannot read CSV file (binary data, not text)")
    try:
        rows = list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
    except csv.Error as e:
        raise GenlabError(f"{name}: cannot read CSV file ({e})") from None
    values: list[tuple[float, float]] = []
    for line, row in rows:
        cells = [c.strip() for c in row]
        if not any(cells):
            continue  # blank line
        if len(cells) != 2:
            raise GenlabError(f"{name}: line {line}: expected 2 numeric columns, got {len(cells)}: "
                              f"{','.join(row)!r:.80}")
        try:
            a, b = float(cells[0]), float(cells[1])
        except ValueError:
            if not values and line == _first_nonblank(rows):
                continue  # header line
            raise GenlabError(f"{name}: line {line}: expected two numbers, got "
                              f"{','.join(row)!r:.80}") from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise GenlabError(f"{name}: line {line}: expected finite numbers, got "
                              f"{','.join(row)!r:.80}")
        values.append((a, b))
        if max_points is not None and len(values) > max_points:
            raise GenlabError(f"{name}: more than {max_points} points (line {line})")
    if not values:
        raise GenlabError(f"{name}: no points found (expected lines of two numbers, e.g. 0.5,-1.2)")
    return points_dataset(values, name=name)


def _first_nonblank(rows: list[tuple[int, list[str]]]) -> int:
    for line, row in rows:
        if any(c.strip() for c in row):
            return line
    return 0
