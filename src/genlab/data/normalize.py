"""`Normalizer`: the one place where pixel range and point scaling live.

encode: raw data (uint8 images 0..255, or float points in data coordinates) -> float32 model
space; decode: model space -> images as float in [0, 1], or points in data coordinates.

Targets:
- "unit":      images x/255 in [0, 1] (AE/VAE with Bernoulli decoders); points mapped
               isotropically (one scale for both axes, so a ring stays a ring) into [0, 1]².
- "symmetric": images x/127.5 - 1 in [-1, 1] (GANs with tanh outputs); points isotropically
               into [-1, 1]².
- "standard":  points: zero mean, unit std per axis; images: per-channel mean/std.

The map is affine, encode(x) = (x - shift) / scale, so `to_dict()` is just the numbers.

encode_examples: what a user hands the library (genlab.operations) -> model space, by dtype:
images as integers are raw pixels 0..255 (what Dataset.x holds); images as floats are image
space [0, 1] (what decode and genlab.sample return); points are data coordinates. Values
outside that range, or nan/inf, are refused.
"""

from __future__ import annotations

from typing import Any

import torch

from genlab.errors import GenlabError, unknown_name

TARGETS = ("unit", "symmetric", "standard")


class Normalizer:
    def __init__(self, kind: str, target: str, shift: list[float], scale: list[float]):
        if kind not in ("points", "image"):
            raise GenlabError(f"normalizer kind must be points or image, got {kind!r}")
        if target not in TARGETS:
            raise unknown_name("normalization", target, TARGETS)
        if len(shift) != len(scale) or not scale or any(s <= 0 for s in scale):
            raise GenlabError(f"normalizer scale must be positive, got {scale}")
        self.kind, self.target = kind, target
        self.shift, self.scale = [float(v) for v in shift], [float(v) for v in scale]
        # broadcast over (N, 2) for points and (N, C, H, W) for images (one value per channel/axis)
        shape = (len(shift),) if kind == "points" else (len(shift), 1, 1)
        self._shift = torch.tensor(self.shift, dtype=torch.float32).reshape(shape)
        self._scale = torch.tensor(self.scale, dtype=torch.float32).reshape(shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Raw data (uint8 images or float points, any device) -> float32 model space."""
        shift, scale = self._params(x.device)
        return (x.to(torch.float32) - shift) / scale

    def encode_examples(self, x) -> torch.Tensor:
        """Examples as a user holds them -> float32 model space. Images: an integer dtype is
        raw 0..255, a floating dtype is image space [0, 1] (the output of `decode`); points:
        data coordinates. GenlabError for a bool tensor, values out of range or nan/inf."""
        x = torch.as_tensor(x)
        if x.dtype == torch.bool or x.is_complex():
            raise GenlabError(f"examples must be numbers, got a {x.dtype} tensor")
        if x.is_floating_point():
            if x.numel() and not bool(torch.isfinite(x).all()):
                raise GenlabError("examples contain nan or inf values")
            if self.kind == "points":
                return self.encode(x)
            if x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
                raise GenlabError(f"float images must be in [0, 1] (image space; pass raw "
                                  f"pixels as uint8), got values in [{float(x.min()):.4g}, "
                                  f"{float(x.max()):.4g}]")
            return self.encode(x.to(torch.float32) * 255.0)  # image space -> raw 0..255
        if self.kind == "image" and x.numel() and (int(x.min()) < 0 or int(x.max()) > 255):
            raise GenlabError(f"integer images must be raw pixels in [0, 255], got values in "
                              f"[{int(x.min())}, {int(x.max())}]")
        return self.encode(x)

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """Model space -> points in data coordinates, or images as float32 in [0, 1] (clamped)."""
        shift, scale = self._params(x.device)
        out = x.to(torch.float32) * scale + shift
        if self.kind == "image":
            out = (out / 255.0).clamp_(0.0, 1.0)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "shift": list(self.shift),
                "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Normalizer:
        try:
            return cls(d["kind"], d["target"], list(d["shift"]), list(d["scale"]))
        except (KeyError, TypeError) as e:
            raise GenlabError(f"bad normalizer record {d!r} ({e})") from None

    def __repr__(self) -> str:
        return f"Normalizer({self.kind!r}, {self.target!r}, shift={self.shift}, scale={self.scale})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Normalizer) and self.to_dict() == other.to_dict()

    def _params(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if self._shift.device != device:
            self._shift, self._scale = self._shift.to(device), self._scale.to(device)
        return self._shift, self._scale


def normalizer_for(ds, target: str) -> Normalizer:
    """The Normalizer for dataset `ds` (training split) and `target` ("unit", "symmetric", "standard")."""
    if target not in TARGETS:
        raise unknown_name("normalization", target, TARGETS)
    if ds.kind == "image":
        channels = ds.x.shape[1]
        if target == "unit":
            return Normalizer("image", target, [0.0] * channels, [255.0] * channels)
        if target == "symmetric":
            return Normalizer("image", target, [127.5] * channels, [127.5] * channels)
        mean, std = _channel_stats(ds.x)
        return Normalizer("image", target, mean, std)
    x = ds.x.double()
    if target == "standard":
        std = x.std(0, unbiased=False).clamp_min(1e-8)
        return Normalizer("points", target, x.mean(0).tolist(), std.tolist())
    low, high = x.min(0).values, x.max(0).values
    center = (low + high) / 2
    half = float((high - low).max() / 2) or 1.0  # one scale for both axes keeps the shape
    if target == "symmetric":
        return Normalizer("points", target, center.tolist(), [half, half])
    return Normalizer("points", target, (center - half).tolist(), [2 * half, 2 * half])


def _channel_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images, in chunks (no full float copy)."""
    c = x.shape[1]
    total = torch.zeros(c, dtype=torch.float64)
    total_sq = torch.zeros(c, dtype=torch.float64)
    for i in range(0, len(x), 2048):
        chunk = x[i:i + 2048].to(torch.float64).transpose(0, 1).reshape(c, -1)
        total += chunk.sum(1)
        total_sq += (chunk * chunk).sum(1)
    count = x.numel() / c
    mean = total / count
    std = (total_sq / count - mean * mean).clamp_min(1e-8).sqrt()
    return mean.tolist(), std.tolist()
