"""Likelihood evaluation of VAEs: ELBO terms, the importance-weighted bound, active units.

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014,
https://arxiv.org/abs/1312.6114 (Eq. 3, 10):

    ELBO(x) = E_q(z|x)[log p(x|z)] − KL(q(z|x) ‖ p(z))            (recon − kl)

Burda, Grosse, Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016,
https://arxiv.org/abs/1509.00519 (Eq. 8; Sec. 5 for test NLL with k = 5000 and for active
units):

    L_k(x) = E_{z_1..z_k ~ q}[ log (1/k) Σ_i p(x, z_i) / q(z_i|x) ]
    ELBO = L_1 ≤ L_k ≤ L_{k+1} ≤ log p(x),   L_k → log p(x) as k → ∞
    unit u is active when A_u = Cov_x( E_{q(z|x)}[z_u] ) > 0.01

Every log-density here comes from torch.distributions (Normal, Bernoulli), independently of
genlab.losses, so these functions can cross-check the training losses. The model contract
(docs/ARCHITECTURE.md): `encode(x, y) -> (mu, logvar)` of a diagonal Gaussian q(z|x),
`decode(z, y) -> x_hat` (Bernoulli logits or Gaussian mean), `config.likelihood` in
{"bernoulli", "gaussian"}, and a scalar `decoder_logvar` (log σ²) for Gaussian decoders;
the prior is N(0, I). All values are per example (B,) in nats, in the model's space (x as the
model sees it, e.g. [0, 1] pixels for Bernoulli decoders). The functions run under
`torch.no_grad()` and leave the model's train/eval mode alone (call `model.eval()` first).
Bernoulli log-likelihoods of non-binary x in [0, 1] are the usual cross-entropy form
x log σ(l) + (1 − x) log(1 − σ(l)), which is a likelihood only for binarized x.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from genlab.errors import GenlabError

__all__ = ["log_likelihood", "elbo_terms", "iwae_bound", "active_units"]


def _likelihood_name(model) -> str:
    config = getattr(model, "config", None)
    name = getattr(config, "likelihood", None) or getattr(model, "likelihood", None)
    if name not in ("bernoulli", "gaussian"):
        raise GenlabError(f"unknown likelihood {name!r}: choose one of bernoulli, gaussian")
    return name


def log_likelihood(model, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x | z) summed over the non-batch dims: (B, ...) -> (B,)."""
    if _likelihood_name(model) == "bernoulli":
        dist = Bernoulli(logits=x_hat, validate_args=False)  # x may be soft in [0, 1]
    else:
        std = torch.exp(0.5 * model.decoder_logvar).to(x_hat.dtype)  # σ = exp(log σ² / 2)
        dist = Normal(x_hat, std.expand_as(x_hat))
    return dist.log_prob(x).flatten(1).sum(dim=1)


def _standard_normal(shape, like: torch.Tensor, generator: torch.Generator | None):
    """ε ~ N(0, I) drawn on the generator's device (a CPU generator works for CUDA models)."""
    device = generator.device if generator is not None else like.device
    eps = torch.randn(shape, dtype=like.dtype, device=device, generator=generator)
    return eps.to(like.device)


def _posterior(model, x, y):
    mu, logvar = model.encode(x, y)  # (B, L), (B, L)
    return Normal(mu, torch.exp(0.5 * logvar))  # q(z|x)


@torch.no_grad()
def elbo_terms(model, x: torch.Tensor, y: torch.Tensor | None = None, n_samples: int = 1,
               generator: torch.Generator | None = None) -> dict:
    """{"recon", "kl", "elbo"}, each (B,) nats: recon = Monte-Carlo E_q[log p(x|z)] over
    `n_samples` draws, kl = KL(q(z|x) ‖ N(0, I)) in closed form, elbo = recon − kl."""
    if n_samples < 1:
        raise GenlabError(f"n_samples must be >= 1, got {n_samples}")
    q = _posterior(model, x, y)
    prior = Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale))
    kl = kl_divergence(q, prior).sum(dim=1)  # (B,) KL term, analytic
    recon = torch.zeros_like(kl)
    for _ in range(n_samples):
        eps = _standard_normal(q.loc.shape, q.loc, generator)
        z = q.loc + q.scale * eps  # z = μ + σ ⊙ ε
        recon += log_likelihood(model, model.decode(z, y), x)  # log p(x|z)
    recon /= n_samples  # (B,) reconstruction term
    return {"recon": recon, "kl": kl, "elbo": recon - kl}


@torch.no_grad()
def iwae_bound(model, x: torch.Tensor, k: int, y: torch.Tensor | None = None,
               batch_k: int = 100, generator: torch.Generator | None = None) -> torch.Tensor:
    """L_k(x) (B,) nats: log (1/k) Σ_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (Burda et al. Eq. 8).

    The k samples are drawn `batch_k` at a time, so k = 5000 needs the memory of a batch of
    batch_k · B decodes; the k log-weights (k, B) are combined with one logsumexp.
    """
    if k < 1 or batch_k < 1:
        raise GenlabError(f"k and batch_k must be >= 1, got k={k}, batch_k={batch_k}")
    q = _posterior(model, x, y)
    batch = x.shape[0]
    log_weights = []
    done = 0
    while done < k:
        kc = min(batch_k, k - done)
        eps = _standard_normal((kc, *q.loc.shape), q.loc, generator)
        z = q.loc + q.scale * eps  # (kc, B, L)
        log_q = q.log_prob(z).sum(dim=2)  # (kc, B) log q(z|x)
        log_prior = Normal(0.0, 1.0).log_prob(z).sum(dim=2)  # (kc, B) log p(z)
        z_flat = z.reshape(kc * batch, -1)  # (kc·B, L), row i·B + b holds (sample i, example b)
        x_rep = x.unsqueeze(0).expand(kc, *x.shape).reshape(kc * batch, *x.shape[1:])
        y_rep = None if y is None else y.repeat(kc)  # (kc·B,) same ordering
        log_px_z = log_likelihood(model, model.decode(z_flat, y_rep), x_rep).reshape(kc, batch)
        log_weights.append(log_px_z + log_prior - log_q)  # log p(x, z_i) − log q(z_i|x)
        done += kc
    log_w = torch.cat(log_weights, dim=0)  # (k, B)
    return torch.logsumexp(log_w, dim=0) - math.log(k)  # log (1/k) Σ_i w_i


@torch.no_grad()
def active_units(model, x: torch.Tensor, y: torch.Tensor | None = None,
                 threshold: float = 0.01, batch_size: int = 500) -> dict:
    """Burda et al. Sec. 5: A_u = Cov_x(E_q[z_u]) over the data x (N, ...); a unit is active
    when A_u > threshold. Returns {"active", "num_units", "activity" (L,) tensor}."""
    if x.shape[0] < 2:
        raise GenlabError("active units need at least 2 examples")
    means = []
    for start in range(0, x.shape[0], batch_size):
        yb = None if y is None else y[start:start + batch_size]
        mu, _ = model.encode(x[start:start + batch_size], yb)  # E_q[z] = μ: (b, L)
        means.append(mu.double())
    mu_all = torch.cat(means, dim=0)  # (N, L)
    activity = mu_all.var(dim=0, unbiased=True)  # (L,) Cov_x(E_q[z_u])
    return {
        "active": int((activity > threshold).sum()),
        "num_units": int(activity.numel()),
        "activity": activity,
    }
