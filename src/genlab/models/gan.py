"""Generative adversarial network with MLP generator and discriminator —
Goodfellow et al. 2014, "Generative Adversarial Nets", https://arxiv.org/abs/1406.2661, Eq. 1:
    min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))]
The losses live in genlab.losses; this module only maps tensors to tensors.

- generator(z, y=None) -> x: linear output for 2D points, tanh reshaped to (C, H, W) for images.
- discriminator(x, y=None) -> logits (B // pack,). Options from ModelConfig: packing (PacGAN),
  minibatch discrimination / stddev before the last layer, spectral norm on every layer,
  class projection when conditional (see genlab.models.layers).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.models.layers import Discriminator, concat_label, discriminator_head, mlp, norm_layer
from genlab.regularizers import MinibatchStdDev, apply_spectral_norm


class MLPGenerator(nn.Module):
    """[z, onehot(y)] -> MLP(ReLU) -> x; tanh + reshape for images."""

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], hidden_dim: int, depth: int,
                 num_classes: int = 0):
        super().__init__()
        self.num_classes = num_classes
        layers = list(mlp(latent_dim + num_classes, hidden_dim, depth, math.prod(data_shape)))
        if len(data_shape) > 1:
            layers.append(nn.Tanh())  # (B, C * H * W), in [-1, 1]
            layers.append(nn.Unflatten(1, tuple(data_shape)))  # (B, C, H, W)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(concat_label(z, y, self.num_classes))


def mlp_discriminator(cfg) -> Discriminator:
    """Flatten(packed x) -> [Linear, (norm), LeakyReLU(0.2)] x depth -> (mbstd) -> head."""
    in_dim = math.prod(cfg.data_shape) * cfg.pack
    h = cfg.hidden_dim
    layers: list[nn.Module] = [nn.Flatten()]  # (B/pack, pack * prod(data_shape))
    width = in_dim
    for i in range(cfg.depth):
        layers.append(nn.Linear(width, h))  # (B/pack, hidden_dim)
        if i > 0:  # no normalization on the input layer (as DCGAN)
            layers += norm_layer(cfg.discriminator_norm, h, conv=False)  # (B/pack, hidden_dim)
        layers.append(nn.LeakyReLU(0.2))  # (B/pack, hidden_dim)
        width = h
    if cfg.minibatch_std:
        layers.append(MinibatchStdDev())  # (B/pack, hidden_dim + 1)
        width += 1
    head = discriminator_head((width,), cfg.minibatch_disc)
    return Discriminator(nn.Sequential(*layers), head, width, max(cfg.num_classes, 0), cfg.pack)


class GAN(nn.Module):
    """`.generator`, `.discriminator`, `sample_latent`; forward(z, y) = generator(z, y)."""

    ARCHITECTURE: str | None = "mlp"  # always an MLP

    def __init__(self, cfg):
        super().__init__()
        if cfg.num_classes > 0 and cfg.pack > 1:
            raise GenlabError("--conditional and --pack > 1 cannot be combined "
                              "(a packed group mixes classes)")
        self.config = cfg
        self.latent_dim = cfg.latent_dim
        self.num_classes = max(cfg.num_classes, 0)
        self.pack = cfg.pack
        self.generator = self.build_generator(cfg)
        self.discriminator = self.build_discriminator(cfg)
        if cfg.spectral_norm:
            apply_spectral_norm(self.discriminator)  # Miyato et al. 2018, every Linear / Conv

    def build_generator(self, cfg) -> nn.Module:
        return MLPGenerator(cfg.latent_dim, tuple(cfg.data_shape), cfg.hidden_dim, cfg.depth,
                            max(cfg.num_classes, 0))

    def build_discriminator(self, cfg) -> nn.Module:
        return mlp_discriminator(cfg)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z, y)

    def sample_latent(self, n: int, device=None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=device, generator=generator)  # z ~ N(0, I)
