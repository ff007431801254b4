"""One optimizer step of each model kind. Each returns a dict of detached 0-d tensors (the
trainer turns them into numbers only when it logs, so a GPU is not synchronized every step).

Every random number comes from the trainer's own generators (`state.generators`), never from
torch's global stream, so a checkpoint restores them exactly.
"""

from __future__ import annotations

from typing import Callable

import torch

from genlab import losses
from genlab.devices import randn
from genlab.regularizers import gradient_penalty

Batch = tuple[torch.Tensor, "torch.Tensor | None"]


def autoencoder_step(state, batch: Batch) -> dict[str, torch.Tensor]:
    """AE: minimize −log p(x | decode(encode(x))), in nats per example."""
    x, y = batch
    model, cfg = state.model, state.cfg
    with state.precision.autocast(state.device):
        x_hat = model(x, y)
    out = losses.ae_loss(x, x_hat.float(), likelihood=cfg.model.likelihood)  # fp32 loss
    _backward_step(state, "model", out["loss"])
    return {"loss": out["loss"].detach(), "recon": out["recon"].detach()}


def vae_step(state, batch: Batch) -> dict[str, torch.Tensor]:
    """VAE: minimize −ELBO = −log p(x|z) + β_t KL(q(z|x) ‖ N(0, I)), z = μ + σ ⊙ ε.

    β_t rises linearly from 0 to β over the first `kl_warmup_steps` steps (KL warm-up,
    Bowman et al. 2016; Sønderby et al. 2016), then stays at β (β-VAE, Higgins et al. 2017).
    """
    x, y = batch
    model, cfg = state.model, state.cfg
    with state.precision.autocast(state.device):
        mu, logvar = model.encode(x, y)
    mu, logvar = mu.float(), logvar.float()
    eps = randn(mu.shape, state.generators["noise"], state.device)  # ε ~ N(0, I)
    z = mu + torch.exp(0.5 * logvar) * eps  # reparameterization: z = μ + σ ⊙ ε
    with state.precision.autocast(state.device):
        x_hat = model.decode(z, y)
    beta_t = kl_weight(cfg.beta, cfg.kl_warmup_steps, state.step + 1)
    out = losses.vae_loss(x, x_hat.float(), mu, logvar, beta=beta_t,
                          likelihood=cfg.model.likelihood,
                          decoder_logvar=getattr(model, "decoder_logvar", None))
    _backward_step(state, "model", out["loss"])
    return {"loss": out["loss"].detach(), "recon": out["recon"].detach(),
            "kl": out["kl"].detach(), "beta": torch.tensor(beta_t)}


def kl_weight(beta: float, warmup_steps: int, step: int) -> float:
    """β_t = β · min(1, step / warmup_steps) — linear KL warm-up (step counts from 1)."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)


def gan_step(state, next_batch: Callable[[], Batch]) -> dict[str, torch.Tensor]:
    """n_critic discriminator steps on fresh real batches, then one generator step."""
    cfg, device = state.cfg, state.device
    generator, discriminator = state.model.generator, state.model.discriminator
    noise = state.generators["noise"]
    latent_dim = state.model.latent_dim
    out: dict[str, torch.Tensor] = {}

    # (1) discriminator step
    for _ in range(cfg.n_critic):
        x_real, y = next_batch()
        z = randn((x_real.shape[0], latent_dim), noise, device)  # z ~ N(0, I)
        with state.precision.autocast(device):
            with torch.no_grad():
                x_fake = generator(z, y)
            d_real = discriminator(x_real, y)
            d_fake = discriminator(x_fake, y)
        loss_d = losses.discriminator_loss(cfg.loss, d_real.float(), d_fake.float())
        if cfg.loss == "wgan-gp":
            # λ · E[(‖∇D(x̂)‖ − 1)²], in fp32 (Gulrajani et al. 2017, Algorithm 1, line 7)
            penalty = gradient_penalty(discriminator, x_real, x_fake.float(), y,
                                       pack=cfg.model.pack, generator=state.generators["penalty"])
            out["gp"] = penalty.detach()
            loss_d = loss_d + cfg.gp_weight * penalty
        _backward_step(state, "d", loss_d)

    # (2) generator step
    discriminator.requires_grad_(False)  # no D gradients needed: saves a third of the work
    try:
        z = randn((x_real.shape[0], latent_dim), noise, device)
        with state.precision.autocast(device):
            x_fake = generator(z, y)  # the same labels as the last real batch (conditional)
            d_fake_g = discriminator(x_fake, y)
        loss_g = losses.generator_loss(cfg.loss, d_fake_g.float())
        _backward_step(state, "g", loss_g)
    finally:
        discriminator.requires_grad_(True)
    if state.ema is not None:
        state.ema.update_parameters(generator)
        copy_buffers(generator, state.ema.module)

    out.update(loss_d=loss_d.detach(), loss_g=loss_g.detach(),
               d_real=d_real.detach().float().mean(), d_fake=d_fake.detach().float().mean())
    return out


@torch.no_grad()
def copy_buffers(source: torch.nn.Module, target: torch.nn.Module) -> None:
    """EMA averages parameters only (use_buffers=False); batch-norm statistics are copied."""
    for b_target, b_source in zip(target.buffers(), source.buffers()):
        b_target.copy_(b_source)


def _backward_step(state, name: str, loss: torch.Tensor) -> None:
    optimizer, scaler = state.optimizers[name], state.scalers[name]
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
