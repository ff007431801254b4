"""Variational autoencoder — Kingma & Welling 2014, "Auto-Encoding Variational Bayes",
https://arxiv.org/abs/1312.6114.

Gaussian encoder q(z|x) = N(μ(x), diag σ²(x)); prior p(z) = N(0, I); decoder p(x|z) Bernoulli
(logits) or Gaussian (mean, learned scalar `decoder_logvar`). Reparameterization (Sec. 2.4):
    z = μ + σ ⊙ ε,  ε ~ N(0, I),  σ = exp(½ log σ²)
The objective (Eq. 10, negative ELBO with β weight) lives in genlab.losses.vae_loss.
Conditional VAE (Sohn et al. 2015): one-hot y concatenated to the encoder input and to z.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from genlab.models.layers import build_encoder_decoder, concat_label


class VAEOutput(NamedTuple):
    x_hat: torch.Tensor  # decoder parameters, (B, *data_shape)
    mu: torch.Tensor  # (B, L)
    logvar: torch.Tensor  # (B, L)
    z: torch.Tensor  # (B, L)


class VAE(nn.Module):

    ARCHITECTURE: str | None = None  # cfg.architecture picks mlp or conv
    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.latent_dim = cfg.latent_dim
        self.num_classes = max(cfg.num_classes, 0)
        self.likelihood = cfg.likelihood
        # the encoder emits [μ, log σ²]: (B, 2L)
        self.encoder, self.decoder = build_encoder_decoder(cfg, 2 * cfg.latent_dim)
        if cfg.likelihood == "gaussian":
            self.decoder_logvar = nn.Parameter(torch.zeros(()))  # log σ² of p(x|z), scalar
        else:
            self.decoder_logvar = None

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None):
        h = self.encoder(x, y)  # (B, 2L)
        mu, logvar = h.chunk(2, dim=1)  # (B, L), (B, L)
        return mu, logvar

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor,
                       generator: torch.Generator | None = None,
                       eps: torch.Tensor | None = None) -> torch.Tensor:
        """z = μ + σ ⊙ ε (Sec. 2.4), the one place it is computed (training calls it too).

        `eps` (B, L): ε ~ N(0, I) drawn by the caller (the trainer draws it from the run's own
        random stream, so a resumed run repeats it); else drawn here from `generator`."""
        if eps is None:
            eps = torch.randn(mu.shape, dtype=mu.dtype, device=mu.device, generator=generator)
        return mu + torch.exp(0.5 * logvar) * eps  # z = μ + σ ⊙ ε

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(concat_label(z, y, self.num_classes))  # x_hat: (B, *data_shape)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> VAEOutput:
        mu, logvar = self.encode(x, y)
        z = self.reparameterize(mu, logvar)
        return VAEOutput(self.decode(z, y), mu, logvar, z)

    def mean(self, x_hat: torch.Tensor) -> torch.Tensor:
        """E[x | z] in model space: σ(logits) for Bernoulli, the mean itself for Gaussian."""
        return torch.sigmoid(x_hat) if self.likelihood == "bernoulli" else x_hat

    def sample_latent(self, n: int, device=None, generator: torch.Generator | None = None):
        return torch.randn(n, self.latent_dim, device=device, generator=generator)  # z ~ p(z)
