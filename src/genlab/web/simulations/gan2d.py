"""GAN playground on 2D points: a real MLP GAN (genlab.models) trained live by the library's
own step (genlab.train_steps.gan_step: `# (1) discriminator step`, `# (2) generator step`).

Each state frame (frames.py) carries, in data coordinates:
    real  float32 (512, 2)     a fixed sample of the training data
    fake  float32 (512, 2)     G(z) for a fixed z (so the points move smoothly)
    heat  float32 (40, 40)     the discriminator's logit (critic value) on a grid over the
                               view box, row 0 = top (largest y); eval mode
    arrow float32 (64, 4)      x, y, −∂loss_g/∂x, −∂loss_g/∂y for 64 generated points: where
                               the generator loss pushes each sample (autograd through D)
and in meta: step, loss_d, loss_g, d_real, d_fake, gp, view [x0, x1, y0, y1], run (changes on
every restart) and, for ring8/grid25, the PacGAN protocol on 2,500 samples
(genlab.metrics.toy2d.mode_coverage): modes, num_modes, hq (high-quality %), kl.

Packing: a grid point x is scored as the packed group (x, x, ..., x). Minibatch
discrimination: grid points are scored in chunks together with as many generated points (the
batch statistics D sees in training come from generated or real batches, never a lone point).
The playground's discriminator uses no normalization layer (discriminator_norm="none", as the
2D MLPs of the WGAN-GP and PacGAN papers), so the heat map is the critic that is trained.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from genlab import losses
from genlab.data import EpochSampler, load_dataset, normalizer_for, points_dataset
from genlab.errors import GenlabError
from genlab.metrics.toy2d import mode_coverage, mode_protocol
from genlab.train_steps import gan_step
from genlab.web.simulations.common import make_state, set_lr, train_config
from genlab.web.simulations.frames import KIND_STATE, encode_frame

GRID = 40
SHOWN = 512
ARROWS = 64
EVAL_SAMPLES = 2500  # PacGAN protocol
DRAWN_VIEW = (-1.0, 1.0, -1.0, 1.0)  # the drawing canvas, in data coordinates
LIVE_KEYS = {"lr_g", "lr_d", "n_critic", "speed", "batch"}
MIN_DRAWN = 10
HEAT_BUDGET_S = 0.008


def view_box(name: str, x: torch.Tensor) -> tuple[float, float, float, float]:
    """A square box around the data (quantiles, with a margin)."""
    if name == "drawn":
        return DRAWN_VIEW
    lo = torch.quantile(x[:20000], 0.001, dim=0)
    hi = torch.quantile(x[:20000], 0.999, dim=0)
    center, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * 1.25 + 0.1
    return (float(center[0]) - half, float(center[0]) + half,
            float(center[1]) - half, float(center[1]) + half)


class GanPlayground:
    def __init__(self, cfg, limits):
        self.limits = limits
        self.points: list | None = None
        self.run = 0
        self._build(cfg)

    @property
    def speed(self) -> int:
        return self.cfg.speed

    # -- setup
    def _build(self, cfg) -> None:
        self.cfg = cfg
        self.run += 1
        self.state = None
        if cfg.data == "drawn":
            if not self.points or len(self.points) < MIN_DRAWN:
                return  # waiting for the learner's points: frames say so, steps refuse
            ds = points_dataset(self.points)
        else:
            ds = load_dataset(cfg.data, "train", seed=cfg.seed, n_train=20_000, n_test=10)
        self.ds = ds
        self.norm = normalizer_for(ds, "standard")
        self.x_model = self.norm.encode(ds.x)  # (N, 2) model space
        tc = train_config("gan", cfg.data if cfg.data != "drawn" else "ring8",
                          latent_dim=cfg.latent, hidden_dim=cfg.width, depth=cfg.depth,
                          spectral_norm=cfg.spectral_norm, minibatch_disc=cfg.minibatch_disc,
                          pack=cfg.pack, discriminator_norm="none", loss=cfg.loss,
                          lr=cfg.lr_g, lr_d=cfg.lr_d, n_critic=cfg.n_critic,
                          batch_size=cfg.batch, seed=cfg.seed)  # betas, λ: the library's
        self.state = make_state(tc, ds)
        self._sampler(cfg)
        g = torch.Generator().manual_seed(cfg.seed + 7)
        self.z_eval = torch.randn(EVAL_SAMPLES, cfg.latent, generator=g)  # fixed noise
        shown = torch.randperm(len(ds), generator=g)[:SHOWN]
        self.real = ds.x[shown].contiguous()
        self.view = view_box(cfg.data, ds.x)
        x0, x1, y0, y1 = self.view
        xs = torch.linspace(x0, x1, GRID)
        ys = torch.linspace(y1, y0, GRID)  # row 0 = top
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        self.grid = self.norm.encode(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1))
        self.protocol = mode_protocol(cfg.data) if cfg.data in ("ring8", "grid25") else None
        self.last: dict[str, float] = {}
        self._heat_cache, self._heat_age, self._heat_every = None, 0, 1

    def _sampler(self, cfg) -> None:
        batch = min(cfg.batch, len(self.ds) - len(self.ds) % cfg.pack)
        if batch < cfg.pack or batch < 2:
            raise GenlabError(f"too few points ({len(self.ds)}) for a batch")
        self.sampler = EpochSampler(len(self.ds), batch, seed=cfg.seed)

    def reconfigure(self, cfg) -> bool:
        """Apply new settings: learning rates, n_critic, batch and speed live; the rest rebuild."""
        changed = {k for k in type(cfg).model_fields if getattr(cfg, k) != getattr(self.cfg, k)}
        if changed <= LIVE_KEYS and self.state is not None:
            st = self.state
            set_lr(st.optimizers["g"], cfg.lr_g)
            set_lr(st.optimizers["d"], cfg.lr_d)
            st.cfg.n_critic, st.cfg.lr, st.cfg.lr_d = cfg.n_critic, cfg.lr_g, cfg.lr_d
            if cfg.batch != self.cfg.batch:
                self.cfg = cfg
                self._sampler(cfg)
            self.cfg = cfg
        else:
            self._build(cfg)
        return True

    def reset(self) -> None:
        self._build(self.cfg)

    # -- training
    def _next_batch(self):
        return self.x_model[self.sampler.next_batch()], None

    def train_step(self) -> None:
        if self.state is None:
            raise GenlabError(f"draw at least {MIN_DRAWN} points on the canvas first "
                              f"({len(self.points or [])} so far)")
        out = gan_step(self.state, self._next_batch)
        self.state.step += 1
        self.last = {k: float(v) for k, v in out.items()}

    # -- messages
    def handle(self, msg: dict) -> bytes | None:
        if msg["type"] == "points":
            if len(msg["points"]) > self.limits.max_points:
                raise GenlabError(f"at most {self.limits.max_points} points, got "
                                  f"{len(msg['points'])}")
            self.points = [list(p) for p in msg["points"]]
            if self.cfg.data == "drawn":
                self._build(self.cfg)
            return self.frame()
        raise GenlabError(f"the GAN playground does not understand {msg['type']!r}")

    # -- frames
    def _critic(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits for each point of x (model space), each scored as its own packed group;
        with minibatch discrimination, in chunks of 64 beside 64 generated points."""
        d = self.state.model.discriminator
        pack = self.cfg.pack
        chunk = 64 if self.cfg.minibatch_disc else 1024
        fakes = self.state.model.generator(self.z_eval[:chunk]) if self.cfg.minibatch_disc else None
        outs = []
        for i in range(0, len(x), chunk):
            part = x[i:i + chunk]
            if fakes is not None:
                part = torch.cat([part, fakes[:len(part)]])
            logits = d(part.repeat_interleave(pack, 0))  # (len(part),)
            outs.append(logits[:min(chunk, len(x) - i)])
        return torch.cat(outs)

    def _heat(self) -> torch.Tensor:
        """The heat map, recomputed every frame when cheap; when it costs more than
        HEAT_BUDGET_S (minibatch discrimination: every pair in a chunk), reused for a few frames
        so training keeps its share of the frame."""
        if self._heat_cache is None or self._heat_age >= self._heat_every:
            t0 = time.perf_counter()
            with torch.no_grad():
                self._heat_cache = self._critic(self.grid).reshape(GRID, GRID)
            cost = time.perf_counter() - t0
            self._heat_every = max(1, min(30, math.ceil(cost / HEAT_BUDGET_S)))
            self._heat_age = 0
        self._heat_age += 1
        return self._heat_cache

    def frame(self) -> bytes:
        if self.state is None:  # drawn data, not enough points yet
            return encode_frame(KIND_STATE, 0, {"step": 0, "run": self.run, "view": list(
                DRAWN_VIEW), "loss": self.cfg.loss, "need_points": MIN_DRAWN}, {})
        model, cfg = self.state.model, self.cfg
        model.eval()
        try:
            with torch.no_grad():
                fake_model = model.generator(self.z_eval)  # (2500, 2)
                heat = self._heat()
            fake = self.norm.decode(fake_model)  # data coordinates
            # −∇_x loss_g for a subset of generated points (batch of a multiple of pack)
            n_arrows = ARROWS - ARROWS % cfg.pack or cfg.pack
            x = fake_model[:max(n_arrows, 64)].clone().requires_grad_(True)
            d = model.discriminator
            d_fake = d(x)  # (64 // pack,) logits
            loss_g = losses.generator_loss(cfg.loss, d_fake)
            (grad,) = torch.autograd.grad(loss_g, x)
            model.zero_grad(set_to_none=True)
            scale = torch.as_tensor(self.norm.to_dict().get("scale", [1.0, 1.0]),
                                    dtype=torch.float32).reshape(1, 2)
            push = -grad / scale  # chain rule: x_model = (x_data − shift) / scale
            arrows = torch.cat([fake[:len(push)].detach(), push.detach()], 1)[:ARROWS]
        finally:
            model.train()
        meta = {"step": self.state.step, "run": self.run, "view": list(self.view),
                "loss": cfg.loss, **{k: self.last.get(k) for k in
                                     ("loss_d", "loss_g", "d_real", "d_fake", "gp")}}
        if self.protocol is not None:
            report = mode_coverage(fake.detach(), self.protocol.modes, self.protocol.std)
            meta.update(modes=report.modes_covered, num_modes=report.num_modes,
                        hq=100.0 * report.high_quality_fraction, kl=report.reverse_kl)
        heat_np = heat.numpy().astype(np.float32)
        if not np.isfinite(heat_np).all():
            meta["diverged"] = True
            heat_np = np.nan_to_num(heat_np, nan=0.0, posinf=1e6, neginf=-1e6)
        return encode_frame(KIND_STATE, self.state.step, meta, {
            "real": self.real.numpy(),
            "fake": fake[:SHOWN].detach().numpy(),
            "heat": heat_np,
            "arrow": arrows.numpy(),
        })
