"""One optimizer step of each model kind. Each returns a dict of detached 0-d tensors (the
trainer turns them into numbers only when it logs, so a GPU is not synchronized every step).

Every random number comes from the trainer's own generators (`state.generators`), never from
torch's global stream, so a checkpoint restores them exactly.
"""

from __future__ import annotations

from typing import Callable

import torch

from torch import nn

from genlab import losses
from genlab.distributed import SINGLE, randn_shard
from genlab.regularizers import gradient_penalty

Batch = tuple[torch.Tensor, "torch.Tensor | None"]


def noise(state, shape: tuple[int, ...]) -> torch.Tensor:
    """N(0, I) noise from the trainer's stream for this process's slice of the global batch
    (one process: the whole draw; under DDP see genlab.distributed.randn_shard)."""
    return randn_shard(shape, state.generators["noise"], state.device,
                       state.extra.get("dist", SINGLE))


def _ddp(state, name: str, default):
    """The DistributedDataParallel wrapper of `name` under torchrun, else `default`."""
    return state.extra.get("ddp", {}).get(name, default)


def autoencoder_step(state, batch: Batch) -> dict[str, torch.Tensor]:
    """AE: minimize −log p(x | decode(encode(x))), in nats per example."""
    x, y = batch
    model, cfg = state.model, state.cfg
    with state.precision.autocast(state.device):
        x_hat = _ddp(state, "model", model)(x, y)
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
    eps = noise(state, (x.shape[0], model.latent_dim))  # ε ~ N(0, I)
    forward = _ddp(state, "vae", None) or VAEForward(model, state.precision, state.device)
    x_hat, mu, logvar = forward(x, y, eps)
    beta_t = kl_weight(cfg.beta, cfg.kl_warmup_steps, state.step + 1)
    out = losses.vae_loss(x, x_hat.float(), mu, logvar, beta=beta_t,
                          likelihood=cfg.model.likelihood,
                          decoder_logvar=getattr(model, "decoder_logvar", None))
    _backward_step(state, "model", out["loss"])
    return {"loss": out["loss"].detach(), "recon": out["recon"].detach(),
            "kl": out["kl"].detach(), "beta": torch.tensor(beta_t)}


class VAEForward(nn.Module):
    """encode → z = μ + σ ⊙ ε → decode as one forward call (the unit DDP wraps); the encoder
    and decoder run under the precision's autocast, the reparameterization in fp32."""

    def __init__(self, model: nn.Module, precision, device: torch.device):
        super().__init__()
        self.model, self.precision, self.device = model, precision, device

    def forward(self, x, y, eps):
        with self.precision.autocast(self.device):
            mu, logvar = self.model.encode(x, y)
        mu, logvar = mu.float(), logvar.float()
        z = self.model.reparameterize(mu, logvar, eps=eps)  # z = μ + σ ⊙ ε
        with self.precision.autocast(self.device):
            x_hat = self.model.decode(z, y)
        return x_hat, mu, logvar


def kl_weight(beta: float, warmup_steps: int, step: int) -> float:
    """β_t = β · min(1, step / warmup_steps) — linear KL warm-up (step counts from 1)."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)


def gan_step(state, next_batch: Callable[[], Batch]) -> dict[str, torch.Tensor]:
    """n_critic discriminator steps on fresh real batches, then one generator step.

    The generator step reuses the fake batch of the last discriminator step (scored again by
    the updated D), as the PyTorch examples' dcgan/main.py does with `fake` for errG: one
    generator forward per step instead of two, the same update order."""
    cfg, device = state.cfg, state.device
    generator = _ddp(state, "generator", state.model.generator)
    discriminator = _ddp(state, "discriminator", state.model.discriminator)
    plain_d = state.model.discriminator  # no gradient sync needed where D is not updated
    latent_dim = state.model.latent_dim
    out: dict[str, torch.Tensor] = {}

    # (1) discriminator step
    for i in range(cfg.n_critic):
        x_real, y = next_batch()
        z = noise(state, (x_real.shape[0], latent_dim))  # z ~ N(0, I)
        last = i == cfg.n_critic - 1
        with state.precision.autocast(device):
            with torch.set_grad_enabled(last):  # the last fake is reused in step (2)
                x_fake = generator(z, y)
            d_real = discriminator(x_real, y)
            d_fake = discriminator(x_fake.detach(), y)
        loss_d = losses.discriminator_loss(cfg.loss, d_real.float(), d_fake.float())
        if cfg.loss == "wgan-gp":
            # λ · E[(‖∇D(x̂)‖ − 1)²], in fp32 (Gulrajani et al. 2017, Algorithm 1, line 7)
            penalty = gradient_penalty(plain_d, x_real, x_fake.detach().float(), y,
                                       pack=cfg.model.pack, generator=state.generators["penalty"])
            out["gp"] = penalty.detach()
            loss_d = loss_d + cfg.gp_weight * penalty
        _backward_step(state, "d", loss_d)

    # (2) generator step
    d_params = list(plain_d.parameters())  # walked once (a 2D playground step is ~1 ms)
    for p in d_params:
        p.requires_grad_(False)  # no D gradients needed: saves a third of the work
    try:
        with state.precision.autocast(device):
            d_fake_g = plain_d(x_fake, y)  # the same labels as the last real batch (conditional)
        loss_g = losses.generator_loss(cfg.loss, d_fake_g.float())
        _backward_step(state, "g", loss_g)
    finally:
        for p in d_params:
            p.requires_grad_(True)
    if state.ema is not None:
        state.ema.update_parameters(state.model.generator)
        copy_buffers(state.model.generator, state.ema.module)

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
