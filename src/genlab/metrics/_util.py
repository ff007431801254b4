"""Small input helpers shared by the metrics (not public API)."""

from __future__ import annotations

import numpy as np
import torch

from genlab.errors import GenlabError


def as_float64(value, what: str, ndim: int | None = 2) -> torch.Tensor:
    """Tensor, array or nested list -> float64 CPU tensor, shape-checked."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    elif not isinstance(value, torch.Tensor):
        value = torch.as_tensor(value)
    value = value.detach().to("cpu", torch.float64)
    if ndim is not None and value.ndim != ndim:
        raise GenlabError(f"{what} must have {ndim} dimensions, got shape {tuple(value.shape)}")
    return value


def same_width(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise GenlabError(f"{what}: feature sizes differ ({a.shape[1]} vs {b.shape[1]})")
