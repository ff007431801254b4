"""Shared building blocks: MLP and stride-2 conv encoders/decoders sized from data_shape,
class conditioning, and the discriminator wrapper (packing, projection, add-ons).

Conditioning of generators/decoders: one-hot y concatenated to z (Sohn et al. 2015, "Learning
Structured Output Representation using Deep Conditional Generative Models"; Mirza & Osindero
2014). Conditional VAE encoders get one-hot y concatenated to their input (as constant feature
maps for conv encoders).

Conditional discriminators use the projection discriminator of Miyato & Koyama 2018,
"cGANs with Projection Discriminator", https://arxiv.org/abs/1802.05637, Eq. 3:
    f(x, y) = ψ(φ(x)) + embed(y)ᵀ φ(x)
with φ(x) the (flattened) features fed to the last layer and ψ that last layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genlab.config import ARCHITECTURES, NORMS
from genlab.errors import GenlabError, unknown_name
from genlab.regularizers import MinibatchDiscrimination
from genlab.regularizers import pack as pack_samples


def check_labels(y: torch.Tensor | None, num_classes: int) -> None:
    """A clear error for missing labels, and (on CPU) for labels outside [0, K)."""
    if y is None:
        raise GenlabError("this model is conditional: pass class labels y")
    # range checked on CPU only: on an accelerator the check would synchronize every step
    if y.device.type == "cpu" and y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise GenlabError(f"class labels must be in [0, {num_classes - 1}]")


def one_hot(y: torch.Tensor | None, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """(B,) int64 -> (B, num_classes) float; a clear error for missing / out-of-range labels."""
    check_labels(y, num_classes)
    return F.one_hot(y.long(), num_classes).to(dtype)  # (B, K)


def concat_label(z: torch.Tensor, y: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """[z, onehot(y)]: (B, L) -> (B, L + K); unchanged when unconditional."""
    if num_classes <= 0:
        return z
    return torch.cat([z, one_hot(y, num_classes, z.dtype)], dim=1)  # (B, L + K)


def concat_label_maps(x: torch.Tensor, y: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """[x, onehot(y) as constant maps]: (B, C, H, W) -> (B, C + K, H, W)."""
    if num_classes <= 0:
        return x
    maps = one_hot(y, num_classes, x.dtype)[:, :, None, None]  # (B, K, 1, 1)
    return torch.cat([x, maps.expand(-1, -1, *x.shape[2:])], dim=1)  # (B, C + K, H, W)


def mlp(in_dim: int, hidden_dim: int, depth: int, out_dim: int,
        activation=nn.ReLU) -> nn.Sequential:
    """in_dim -> depth hidden layers of hidden_dim -> out_dim (no output activation)."""
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers.append(nn.Linear(width, hidden_dim))  # (B, hidden_dim)
        layers.append(activation())  # (B, hidden_dim)
        width = hidden_dim
    layers.append(nn.Linear(width, out_dim))  # (B, out_dim)
    return nn.Sequential(*layers)


def downsample_plan(height: int, width: int) -> tuple[int, tuple[int, int]]:
    """How many stride-2 halvings reach the base map: 28 -> 14 -> 7 (2), 32 -> 4 (3),
    64 -> 4 (4), 128 -> 4 (5), 8 -> 4 (1). Halve while both sides are even and > 7
    (so a 28 path stops at 7 and a 2^k path at 4)."""
    n, h, w = 0, height, width
    while h % 2 == 0 and w % 2 == 0 and min(h, w) > 7:
        h, w, n = h // 2, w // 2, n + 1
    if n == 0:
        raise GenlabError(f"image size {height}x{width} is too small or odd for a conv model "
                          f"(use --architecture mlp)")
    return n, (h, w)


class ConvEncoder(nn.Module):
    """(B, C, H, W) -> (B, out_dim): Conv2d(4, 2, 1) halvings with ReLU, then a Linear."""

    def __init__(self, data_shape: tuple[int, ...], filters: int, out_dim: int,
                 num_classes: int = 0):
        super().__init__()
        channels, height, width = data_shape
        n, (h, w) = downsample_plan(height, width)
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        c_in = channels + max(num_classes, 0)
        for i in range(n):
            c_out = filters * min(2 ** i, 8)
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1))  # (B, c_out, H / 2^(i+1), W / 2^(i+1))
            layers.append(nn.ReLU())  # (B, c_out, ., .)
            c_in = c_out
        layers.append(nn.Flatten())  # (B, c_last * h * w)
        layers.append(nn.Linear(c_in * h * w, out_dim))  # (B, out_dim)
        self.net = nn.Sequential(*layers)
        self.channels = [filters * min(2 ** i, 8) for i in range(n)]
        self.base = (h, w)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(concat_label_maps(x, y, self.num_classes))


class ConvDecoder(nn.Module):
    """(B, in_dim) -> (B, C, H, W) exactly data_shape: Linear, then ConvTranspose2d(4, 2, 1)
    doublings mirroring ConvEncoder; no output activation (logits or Gaussian mean)."""

    def __init__(self, in_dim: int, data_shape: tuple[int, ...], filters: int):
        super().__init__()
        channels, height, width = data_shape
        n, (h, w) = downsample_plan(height, width)
        widths = [filters * min(2 ** i, 8) for i in range(n)][::-1]  # e.g. [2f, f]
        layers: list[nn.Module] = [
            nn.Linear(in_dim, widths[0] * h * w),  # (B, c_top * h * w)
            nn.ReLU(),  # (B, c_top * h * w)
            nn.Unflatten(1, (widths[0], h, w)),  # (B, c_top, h, w)
        ]
        for i in range(n):
            c_out = widths[i + 1] if i + 1 < n else channels
            layers.append(nn.ConvTranspose2d(widths[i], c_out, 4, 2, 1))  # (B, c_out, 2x, 2x)
            if i + 1 < n:
                layers.append(nn.ReLU())  # (B, c_out, ., .)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """x -> logits (B // pack,).  body: packed x -> features φ; head: φ -> one logit.

    Conditional (num_classes > 0): projection, logit += embed(y)ᵀ flatten(φ(x))
    (Miyato & Koyama 2018, Eq. 3). Packing and conditioning exclude each other.
    """

    def __init__(self, body: nn.Module, head: nn.Module, feature_dim: int,
                 num_classes: int = 0, pack: int = 1):
        super().__init__()
        if num_classes > 0 and pack > 1:
            raise GenlabError("a conditional discriminator cannot use --pack > 1 "
                              "(a packed group mixes classes)")
        self.body, self.head, self.pack, self.num_classes = body, head, pack, num_classes
        self.embed = None
        if num_classes > 0:
            self.embed = nn.Embedding(num_classes, feature_dim)  # (K, dim φ)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = pack_samples(x, self.pack)  # (B / pack, pack * C, ...)
        h = self.body(x)  # φ(x)
        out = self.head(h).reshape(-1)  # ψ(φ(x)): (B / pack,)
        if self.embed is not None:
            check_labels(y, self.num_classes)
            out = out + (self.embed(y.long()) * h.flatten(1)).sum(1)  # + embed(y)ᵀ φ(x)
        return out


def discriminator_head(feature_shape: tuple[int, ...], minibatch_disc: bool,
                       final: nn.Module | None = None) -> nn.Module:
    """The last layer: `final` (e.g. DCGAN's 4x4 conv) or a Linear on flattened features;
    with minibatch discrimination, Flatten -> MinibatchDiscrimination -> Linear."""
    dim = math.prod(feature_shape)
    if minibatch_disc:
        mbd = MinibatchDiscrimination(dim)
        return nn.Sequential(
            nn.Flatten(),  # (B, dim φ)
            mbd,  # (B, dim φ + num_kernels)
            nn.Linear(dim + mbd.num_kernels, 1),  # (B, 1)
        )
    if final is not None:
        return final
    return nn.Sequential(nn.Flatten(), nn.Linear(dim, 1))  # (B, dim φ) -> (B, 1)


def norm_layer(kind: str, channels: int, conv: bool) -> list[nn.Module]:
    """Discriminator normalization: "batch" | "layer" (GroupNorm(1, C) / LayerNorm) | "none"."""
    if kind == "batch":
        return [nn.BatchNorm2d(channels) if conv else nn.BatchNorm1d(channels)]
    if kind == "layer":
        return [nn.GroupNorm(1, channels) if conv else nn.LayerNorm(channels)]
    if kind == "none":
        return []
    raise unknown_name("discriminator norm", kind, NORMS)


class MLPEncoder(nn.Module):
    """(B, *data_shape) -> (B, out_dim): flatten, [concat onehot(y)], MLP with ReLU."""

    def __init__(self, data_shape: tuple[int, ...], hidden_dim: int, depth: int, out_dim: int,
                 num_classes: int = 0):
        super().__init__()
        self.num_classes = num_classes
        self.flatten = nn.Flatten()  # (B, prod(data_shape))
        self.net = mlp(math.prod(data_shape) + max(num_classes, 0), hidden_dim, depth, out_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(concat_label(self.flatten(x), y, self.num_classes))


class MLPDecoder(nn.Module):
    """(B, in_dim) -> (B, *data_shape): MLP with ReLU, reshaped; no output activation."""

    def __init__(self, in_dim: int, data_shape: tuple[int, ...], hidden_dim: int, depth: int):
        super().__init__()
        layers = list(mlp(in_dim, hidden_dim, depth, math.prod(data_shape)))
        if len(data_shape) > 1:
            layers.append(nn.Unflatten(1, tuple(data_shape)))  # (B, C, H, W)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def build_encoder_decoder(cfg, code_dim: int) -> tuple[nn.Module, nn.Module]:
    """Encoder x, y -> (B, code_dim) and decoder [z, onehot y] -> x_hat (data_shape) from
    cfg.architecture ("mlp" | "conv"), hidden_dim, depth, filters, num_classes."""
    shape, k = tuple(cfg.data_shape), max(cfg.num_classes, 0)
    if cfg.architecture == "conv":
        if len(shape) != 3:
            raise GenlabError(f"a conv model needs image data (C, H, W), got shape {shape}")
        return (ConvEncoder(shape, cfg.filters, code_dim, k),
                ConvDecoder(cfg.latent_dim + k, shape, cfg.filters))
    if cfg.architecture == "mlp":
        return (MLPEncoder(shape, cfg.hidden_dim, cfg.depth, code_dim, k),
                MLPDecoder(cfg.latent_dim + k, shape, cfg.hidden_dim, cfg.depth))
    raise unknown_name("architecture", cfg.architecture, ARCHITECTURES)
