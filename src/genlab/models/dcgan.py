"""Deep convolutional GAN — Radford, Metz & Chintala 2016, "Unsupervised Representation
Learning with Deep Convolutional Generative Adversarial Networks",
https://arxiv.org/abs/1511.06434 (Sec. 3: strided convolutions, batch norm, ReLU in G with a
tanh output, LeakyReLU(0.2) in D, weights ~ N(0, 0.02)); same minimax game as genlab.models.gan.

Presets (ModelConfig.preset):
- "classic": layer for layer the Generator/Discriminator of the PyTorch examples'
  dcgan/main.py (64x64, nz=100, ngf=ndf=64), generalized to 2^k sizes (4x4 base) and 28
  (7x7 base: 7 -> 14 -> 28).
- "lesson": Linear projection of z to (8f, base, base), then ConvTranspose2d(4, 2, 1) blocks
  (BN + ReLU) up to the image size, tanh; D: stride-2 conv blocks then Flatten + Linear.
"""

from __future__ import annotations

import torch
from torch import nn

from genlab.config import DCGAN_PRESETS
from genlab.errors import GenlabError, unknown_name
from genlab.models.gan import GAN
from genlab.models.layers import Discriminator, concat_label, discriminator_head, downsample_plan, norm_layer
from genlab.regularizers import MinibatchStdDev


def weights_init(m: nn.Module) -> None:
    """DCGAN init as in the PyTorch example: Conv* ~ N(0, 0.02); BatchNorm ~ N(1, 0.02), bias 0."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def _plan(cfg) -> tuple[int, int, int]:
    channels, height, width = cfg.data_shape
    if height != width:
        raise GenlabError(f"dcgan needs square images, got {height}x{width}")
    n, (base, _) = downsample_plan(height, width)
    return channels, n, base


class DCGANGenerator(nn.Module):
    """z (B, L) -> x (B, C, S, S) in [-1, 1]."""

    def __init__(self, cfg):
        super().__init__()
        nc, n, base = _plan(cfg)
        self.num_classes = k = max(cfg.num_classes, 0)
        nz, f = cfg.latent_dim + k, cfg.filters
        self.preset = cfg.preset
        layers: list[nn.Module] = []
        if cfg.preset == "classic":
            c = f * 2 ** (n - 1)  # ngf * 8 at 64x64
            layers += [
                nn.ConvTranspose2d(nz, c, base, 1, 0, bias=False),  # (B, c, base, base)
                nn.BatchNorm2d(c),  # (B, c, base, base)
                nn.ReLU(True),  # (B, c, base, base)
            ]
        elif cfg.preset == "lesson":
            c = f * 8  # 512 at f = 64
            layers += [
                nn.Linear(nz, c * base * base),  # (B, c * base * base)
                nn.Unflatten(1, (c, base, base)),  # (B, c, base, base)
                nn.BatchNorm2d(c),  # (B, c, base, base)
                nn.ReLU(True),  # (B, c, base, base)
            ]
        else:
            raise unknown_name("dcgan preset", cfg.preset, DCGAN_PRESETS)
        for _ in range(n - 1):
            c_out = max(c // 2, 1)
            layers += [
                nn.ConvTranspose2d(c, c_out, 4, 2, 1, bias=False),  # (B, c/2, 2s, 2s)
                nn.BatchNorm2d(c_out),  # (B, c/2, 2s, 2s)
                nn.ReLU(True),  # (B, c/2, 2s, 2s)
            ]
            c = c_out
        layers += [
            nn.ConvTranspose2d(c, nc, 4, 2, 1, bias=False),  # (B, C, S, S)
            nn.Tanh(),  # (B, C, S, S)
        ]
        self.main = nn.Sequential(*layers)
        self.apply(weights_init)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = concat_label(z, y, self.num_classes)  # (B, L + K)
        if self.preset == "classic":
            h = h[:, :, None, None]  # (B, L + K, 1, 1)
        return self.main(h)


def dcgan_discriminator(cfg) -> Discriminator:
    """x (B, C, S, S) -> logits (B // pack,)."""
    nc, n, base = _plan(cfg)
    f, norm = cfg.filters, cfg.discriminator_norm
    bias = norm == "none"  # a conv followed by a norm needs no bias (as the reference)
    layers: list[nn.Module] = [
        nn.Conv2d(nc * cfg.pack, f, 4, 2, 1, bias=False),  # (B/pack, f, S/2, S/2)
        nn.LeakyReLU(0.2),  # (B/pack, f, S/2, S/2)
    ]
    c = f
    for _ in range(1, n):
        c_out = c * 2 if cfg.preset == "classic" else min(c * 2, f * 8)
        layers.append(nn.Conv2d(c, c_out, 4, 2, 1, bias=bias))  # (B/pack, 2c, s/2, s/2)
        layers += norm_layer(norm, c_out, conv=True)  # (B/pack, 2c, s/2, s/2)
        layers.append(nn.LeakyReLU(0.2))  # (B/pack, 2c, s/2, s/2)
        c = c_out
    if cfg.minibatch_std:
        layers.append(MinibatchStdDev())  # (B/pack, c + 1, base, base)
        c += 1
    final = None
    if cfg.preset == "classic":
        # DEVIATION: the reference ends in nn.Sigmoid(); we return the logit, and the losses
        # use BCE-with-logits (softplus), the numerically stable equivalent.
        final = nn.Conv2d(c, 1, base, 1, 0, bias=False)  # (B/pack, 1, 1, 1)
    head = discriminator_head((c, base, base), cfg.minibatch_disc, final)
    d = Discriminator(nn.Sequential(*layers), head, c * base * base,
                      max(cfg.num_classes, 0), cfg.pack)
    d.apply(weights_init)
    return d


class DCGAN(GAN):
    """GAN with the convolutional generator and discriminator above."""

    ARCHITECTURE: str | None = "conv"  # always convolutional

    def build_generator(self, cfg) -> nn.Module:
        return DCGANGenerator(cfg)

    def build_discriminator(self, cfg) -> nn.Module:
        return dcgan_discriminator(cfg)
