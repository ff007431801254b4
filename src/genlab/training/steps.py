"""The model families and one optimizer step of each.

`FAMILIES` is the one table of what a model kind is: what it optimizes (its optimizers and
their parameter groups), its step function, the units a step calls forward through (what
DistributedDataParallel wraps), the pixel range it trains in, and what a trained model of it
can do (sample, encode, score, reconstruct). Everything that depends on the kind reads it
here; nothing else tests the kind's name.

A step function `step(state, next_batch)` draws the batches it needs from `next_batch()` and
returns a dict of detached 0-d tensors (the trainer turns them into numbers only when it
logs, so a GPU is not synchronized every step). Every random number comes from the trainer's
own generators (`state.generators`), never from torch's global stream, so a checkpoint
restores them exactly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from genlab import losses
from genlab.errors import unknown_name
from genlab.regularizers import gradient_penalty
from genlab.training import cpu_bf16
from genlab.training.distributed import randn_shard

Batch = tuple[torch.Tensor, "torch.Tensor | None"]
NextBatch = Callable[[], Batch]


@dataclass
class Units:
    """The modules a step calls forward through: the model's own modules in one process,
    their DistributedDataParallel wrappers under torchrun (genlab.training.distributed.attach).
    A family uses `model` (AE: the model; VAE: VAEForward) or `generator` + `discriminator`."""

    model: nn.Module | None = None
    generator: nn.Module | None = None
    discriminator: nn.Module | None = None


def noise(state, shape: tuple[int, ...]) -> torch.Tensor:
    """N(0, I) noise from the trainer's stream for this process's slice of the global batch
    (one process: the whole draw; under DDP see genlab.training.distributed.randn_shard)."""
    return randn_shard(shape, state.generators["noise"], state.device, state.dist)


def autocast(state):
    """The forward passes' precision, and on CPU bf16 the fast convolutions (the one switch:
    `state.cpu_bf16`, see genlab.training.cpu_bf16)."""
    return _autocast(state.precision, state.device, state.cpu_bf16)


def _autocast(precision, device: torch.device, fast_convolutions: bool):
    if not fast_convolutions:
        return precision.autocast(device)
    stack = contextlib.ExitStack()
    stack.enter_context(precision.autocast(device))
    stack.enter_context(cpu_bf16.convolutions())
    return stack


def autoencoder_step(state, next_batch: NextBatch) -> dict[str, torch.Tensor]:
    """AE: minimize −log p(x | decode(encode(x))), in nats per example."""
    x, y = next_batch()
    cfg = state.cfg
    with autocast(state):
        x_hat = state.units.model(x, y)
    out = losses.ae_loss(x, x_hat.float(), likelihood=cfg.model.likelihood)  # fp32 loss
    _backward_step(state, "model", out["loss"])
    return {"loss": out["loss"].detach(), "recon": out["recon"].detach()}


def vae_step(state, next_batch: NextBatch) -> dict[str, torch.Tensor]:
    """VAE: minimize −ELBO = −log p(x|z) + β_t KL(q(z|x) ‖ N(0, I)), z = μ + σ ⊙ ε.

    β_t rises linearly from 0 to β over the first `kl_warmup_steps` steps (KL warm-up,
    Bowman et al. 2016; Sønderby et al. 2016), then stays at β (β-VAE, Higgins et al. 2017).
    """
    x, y = next_batch()
    model, cfg = state.model, state.cfg
    eps = noise(state, (x.shape[0], model.latent_dim))  # ε ~ N(0, I)
    x_hat, mu, logvar = state.units.model(x, y, eps)  # VAEForward
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

    def __init__(self, model: nn.Module, precision, device: torch.device,
                 fast_convolutions: bool = False):
        super().__init__()
        self.model, self.precision, self.device = model, precision, device
        self.fast_convolutions = fast_convolutions

    def forward(self, x, y, eps):
        with _autocast(self.precision, self.device, self.fast_convolutions):
            mu, logvar = self.model.encode(x, y)
        mu, logvar = mu.float(), logvar.float()
        z = self.model.reparameterize(mu, logvar, eps=eps)  # z = μ + σ ⊙ ε
        with _autocast(self.precision, self.device, self.fast_convolutions):
            x_hat = self.model.decode(z, y)
        return x_hat, mu, logvar


def kl_weight(beta: float, warmup_steps: int, step: int) -> float:
    """β_t = β · min(1, step / warmup_steps) — linear KL warm-up (step counts from 1)."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)


def gan_step(state, next_batch: NextBatch) -> dict[str, torch.Tensor]:
    """n_critic discriminator steps on fresh real batches, then one generator step.

    The generator step reuses the fake batch of the last discriminator step (scored again by
    the updated D), as the PyTorch examples' dcgan/main.py does with `fake` for errG: one
    generator forward per step instead of two, the same update order."""
    cfg = state.cfg
    generator, discriminator = state.units.generator, state.units.discriminator
    plain_d = state.model.discriminator  # no gradient sync needed where D is not updated
    latent_dim = state.model.latent_dim
    out: dict[str, torch.Tensor] = {}

    # (1) discriminator step
    for i in range(cfg.n_critic):
        x_real, y = next_batch()
        z = noise(state, (x_real.shape[0], latent_dim))  # z ~ N(0, I)
        last = i == cfg.n_critic - 1
        with autocast(state):
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
        with autocast(state):
            d_fake_g = plain_d(x_fake, y)  # the same labels as the last real batch (conditional)
        loss_g = losses.generator_loss(cfg.loss, d_fake_g.float())
        _backward_step(state, "g", loss_g)
    finally:
        for p in d_params:
            p.requires_grad_(True)
    if state.ema is not None:  # W_ema ← lerp(W_ema, W, 1 − decay); buffers copied from G
        state.ema.update_parameters(state.model.generator)

    out.update(loss_d=loss_d.detach(), loss_g=loss_g.detach(),
               d_real=d_real.detach().float().mean(), d_fake=d_fake.detach().float().mean())
    return out


def _backward_step(state, name: str, loss: torch.Tensor) -> None:
    optimizer, scaler = state.optimizers[name], state.scalers[name]
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()


# ------------------------------------------------------------------ the family table

def _compile_autoencoder(model: nn.Module, cfg) -> None:
    for name in ("encode", "decode", "forward"):
        setattr(model, name, torch.compile(getattr(model, name)))


def _compile_gan(model: nn.Module, cfg) -> None:
    # The WGAN-GP critic stays eager: its penalty needs a double backward, which compiled
    # graphs do not support.
    nets = [model.generator] + ([] if cfg.loss == "wgan-gp" else [model.discriminator])
    for net in nets:
        net.forward = torch.compile(net.forward)


def _autoencoder_units(model, precision, device, fast_convolutions) -> Units:
    return Units(model=model)


def _vae_units(model, precision, device, fast_convolutions) -> Units:
    return Units(model=VAEForward(model, precision, device, fast_convolutions))


def _gan_units(model, precision, device, fast_convolutions) -> Units:
    return Units(generator=model.generator, discriminator=model.discriminator)


@dataclass(frozen=True)
class Family:
    """What one model kind optimizes, how it steps, and what a trained one can do."""

    step: Callable[..., dict[str, torch.Tensor]]  # step(state, next_batch)
    # (optimizer name, the submodule it optimizes or None for the whole model, its lr field),
    # in the order a checkpoint stores them
    optimizers: tuple[tuple[str, str | None, str], ...]
    units: Callable[..., Units]  # units(model, precision, device, fast_convolutions)
    image_range: str  # the Normalizer target for images: "unit" [0, 1] or "symmetric" [-1, 1]
    compile: Callable[[nn.Module, object], None]  # torch.compile in place (--compile)
    generator: str | None = None  # the submodule that maps z -> x (EMA averages it); None: decode
    adversarial: bool = False  # trained against a discriminator (--loss, --n-critic, --ema)
    samples: bool = False  # has a prior to sample from (sample-quality metrics)
    encodes: bool = False  # x -> z (encode, reconstruct, interpolate between examples)
    scores: bool = False  # a likelihood-based anomaly score per example
    elbo: bool = False  # a likelihood bound: ELBO and IWAE


_AE_OPTIMIZERS = (("model", None, "lr"),)
_GAN_OPTIMIZERS = (("d", "discriminator", "lr_d"), ("g", "generator", "lr"))

FAMILIES: dict[str, Family] = {
    "ae": Family(autoencoder_step, _AE_OPTIMIZERS, _autoencoder_units, "unit",
                 _compile_autoencoder, encodes=True, scores=True),
    "vae": Family(vae_step, _AE_OPTIMIZERS, _vae_units, "unit", _compile_autoencoder,
                  samples=True, encodes=True, scores=True, elbo=True),
    "gan": Family(gan_step, _GAN_OPTIMIZERS, _gan_units, "symmetric", _compile_gan,
                  generator="generator", adversarial=True, samples=True),
    "dcgan": Family(gan_step, _GAN_OPTIMIZERS, _gan_units, "symmetric", _compile_gan,
                    generator="generator", adversarial=True, samples=True),
}


def family(kind: str) -> Family:
    """The family of model kind `kind` (a resolved config's kinds are always in the table)."""
    try:
        return FAMILIES[kind]
    except KeyError:
        raise unknown_name("model", kind, tuple(FAMILIES)) from None


def normalization_target(cfg, data_kind: str) -> str:
    """Points: zero mean, unit std. Images: the family's range ([0, 1] for AE/VAE Bernoulli
    decoders, [-1, 1] for GAN tanh outputs)."""
    return "standard" if data_kind == "points" else family(cfg.model.kind).image_range
