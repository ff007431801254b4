"""Autoencoder: x -> z = f(x) -> x_hat = g(z), trained to reconstruct x
(Hinton & Salakhutdinov 2006, "Reducing the Dimensionality of Data with Neural Networks").

The decoder returns the *parameters* of p(x|z): Bernoulli logits or a Gaussian mean;
`mean(x_hat)` turns them into the expected x. The loss lives in genlab.losses.ae_loss.
"""

from __future__ import annotations

import torch
from torch import nn

from genlab.models.layers import build_encoder_decoder, concat_label


class Autoencoder(nn.Module):

    ARCHITECTURE: str | None = None  # cfg.architecture picks mlp or conv
    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.latent_dim = cfg.latent_dim
        self.num_classes = max(cfg.num_classes, 0)
        self.likelihood = cfg.likelihood
        self.encoder, self.decoder = build_encoder_decoder(cfg, cfg.latent_dim)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x, y)  # z: (B, L)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(concat_label(z, y, self.num_classes))  # x_hat: (B, *data_shape)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x, y), y)

    def mean(self, x_hat: torch.Tensor) -> torch.Tensor:
        """E[x | z] in model space: σ(logits) for Bernoulli, the mean itself for Gaussian."""
        return torch.sigmoid(x_hat) if self.likelihood == "bernoulli" else x_hat
