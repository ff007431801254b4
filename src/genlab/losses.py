"""Every scalar added to an objective: ELBO terms and GAN losses.

Per-example terms are (B,) tensors summed over non-batch dimensions (nats); objectives are
batch means. All GAN `d_*` arguments are discriminator logits (raw outputs, no sigmoid).

VAE — Kingma & Welling 2014, "Auto-Encoding Variational Bayes", https://arxiv.org/abs/1312.6114,
Eq. 10 (the SGVB estimator with a closed-form KL, KL from Appendix B):
    L(x) ≈ −KL(q(z|x) ‖ N(0, I)) + log p(x|z),   z = μ + σ ⊙ ε,
    −KL = ½ Σ_j (1 + log σ_j² − μ_j² − σ_j²).
β-VAE — Higgins et al. 2017: loss = −log p(x|z) + β KL (β and its warm-up come from the trainer).

GANs (d = logit, D = σ(d)):
- minimax (Goodfellow et al. 2014, Eq. 1): D maximizes E[log D(x)] + E[log(1 − D(G(z)))];
  G minimizes E[log(1 − D(G(z)))].
- non-saturating (Goodfellow et al. 2014, Sec. 3): G minimizes −E[log D(G(z))].
- hinge (Lim & Ye 2017; Miyato et al. 2018): D: E[max(0, 1 − d_real)] + E[max(0, 1 + d_fake)],
  G: −E[d_fake].
- least-squares (Mao et al. 2017, Eq. 2 with a-b-c = 0-1-1):
  D: ½E[(d_real − 1)²] + ½E[d_fake²],  G: ½E[(d_fake − 1)²].
- wgan-gp (Gulrajani et al. 2017): critic E[d_fake] − E[d_real] (+ λ·penalty, added by the
  trainer from genlab.regularizers.gradient_penalty), G: −E[d_fake].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from genlab.config import GAN_LOSSES, LIKELIHOODS
from genlab.errors import GenlabError, unknown_name


def _sum_per_example(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1).sum(1)  # (B,)


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per example, (B,) — Kingma & Welling 2014, Appendix B."""
    # KL = −½ Σ (1 + log σ² − μ² − σ²)
    return _sum_per_example(-0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()))


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log Bernoulli(x | σ(logits)) summed over non-batch dims, (B,); x in [0, 1]."""
    # log p(x|z) = Σ x log σ(l) + (1 − x) log(1 − σ(l)) = −BCE-with-logits
    return -_sum_per_example(F.binary_cross_entropy_with_logits(logits, x, reduction="none"))


def gaussian_log_likelihood(mean: torch.Tensor, logvar: torch.Tensor | float,
                            x: torch.Tensor) -> torch.Tensor:
    """log N(x | mean, exp(logvar)) summed over non-batch dims, (B,).

    `logvar` broadcasts against `mean` (a learned scalar decoder variance is fine)."""
    logvar = torch.as_tensor(logvar, dtype=mean.dtype, device=mean.device)
    # log N(x; m, σ²) = −½ (log 2π + log σ² + (x − m)² / σ²)
    log_p = -0.5 * (math.log(2 * math.pi) + logvar + (x - mean).pow(2) * torch.exp(-logvar))
    return _sum_per_example(log_p)


def reconstruction_log_likelihood(x: torch.Tensor, x_hat: torch.Tensor, likelihood: str,
                                  decoder_logvar: torch.Tensor | float | None = None
                                  ) -> torch.Tensor:
    """log p(x | x_hat) per example (B,) for the decoder's likelihood."""
    if likelihood == "bernoulli":
        return bernoulli_log_likelihood(x_hat, x)
    if likelihood == "gaussian":
        return gaussian_log_likelihood(x_hat, 0.0 if decoder_logvar is None else decoder_logvar, x)
    raise unknown_name("likelihood", likelihood, LIKELIHOODS)


def vae_loss(x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float = 1.0, likelihood: str = "bernoulli",
             decoder_logvar: torch.Tensor | float | None = None) -> dict[str, torch.Tensor]:
    """Negative (β-)ELBO, Kingma & Welling 2014 Eq. 10 with a β weight on the KL.

    Returns dict(loss = mean(−log p(x|z) + β·KL), recon = mean −log p(x|z), kl = mean KL).
    A Gaussian decoder needs `decoder_logvar` (the model's learned scalar).
    """
    if likelihood == "gaussian" and decoder_logvar is None:
        raise GenlabError("a gaussian VAE decoder needs decoder_logvar")
    recon = -reconstruction_log_likelihood(x, x_hat, likelihood, decoder_logvar)  # −log p(x|z)
    kl = kl_standard_normal(mu, logvar)  # KL(q(z|x) ‖ p(z))
    return dict(loss=(recon + beta * kl).mean(), recon=recon.mean(), kl=kl.mean())


def ae_loss(x: torch.Tensor, x_hat: torch.Tensor,
            likelihood: str = "bernoulli") -> dict[str, torch.Tensor]:
    """Autoencoder reconstruction loss: mean −log p(x | x_hat), in nats.

    Bernoulli: BCE-with-logits summed over dims. Gaussian: unit variance, i.e.
    ½‖x − x_hat‖² + ½ D log 2π. Returns dict(loss, recon) with loss == recon.
    """
    recon = -reconstruction_log_likelihood(x, x_hat, likelihood).mean()
    return dict(loss=recon, recon=recon)


def discriminator_loss(name: str, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's (critic's) loss to minimize, from logits. Scalar."""
    if name in ("minimax", "non-saturating"):
        # −E[log D(x)] − E[log(1 − D(G(z)))];  −log σ(d) = softplus(−d), −log(1 − σ(d)) = softplus(d)
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    if name == "hinge":
        # E[max(0, 1 − d_real)] + E[max(0, 1 + d_fake)]
        return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
    if name == "least-squares":
        # ½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²], a = 0, b = 1
        return 0.5 * (d_real - 1.0).pow(2).mean() + 0.5 * d_fake.pow(2).mean()
    if name == "wgan-gp":
        # E[D(x̃)] − E[D(x)]   (the gradient penalty is added by the trainer)
        return d_fake.mean() - d_real.mean()
    raise unknown_name("loss", name, GAN_LOSSES)


def generator_loss(name: str, d_fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss to minimize, from the discriminator's logits on fakes. Scalar."""
    if name == "minimax":
        # E[log(1 − D(G(z)))] = −E[softplus(d)]   (Goodfellow et al. 2014, Eq. 1)
        return -F.softplus(d_fake).mean()
    if name == "non-saturating":
        # −E[log D(G(z))] = E[softplus(−d)]
        return F.softplus(-d_fake).mean()
    if name in ("hinge", "wgan-gp"):
        # −E[D(G(z))]
        return -d_fake.mean()
    if name == "least-squares":
        # ½E[(D(G(z)) − c)²], c = 1
        return 0.5 * (d_fake - 1.0).pow(2).mean()
    raise unknown_name("loss", name, GAN_LOSSES)
