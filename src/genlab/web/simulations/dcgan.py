"""DCGAN lab: a small DCGAN (genlab.models.DCGAN, "classic" preset at 28×28: 7 → 14 → 28)
trained live on mnist5k by the library's loop body (genlab.training.loop.advance: gan_step),
with the non-saturating loss or the WGAN-GP variant (critic with layer norm, gradient penalty).

State frame (frames.py):
    grid  uint8 (16, 28, 28)   G(z) for 16 fixed noise vectors (the same z all along, so the
                               grid shows one set of samples learning to be digits)
    meta: step, run, loss, critic (true for WGAN-GP), loss_d, loss_g, gp, d_real, d_fake, and
          p_real / p_fake: mean σ(D(x)) on a fixed real batch and mean σ(D(G(z))) on the
          fixed noise (the discriminator's probabilities; for WGAN-GP the critic's raw
          values are in d_real / d_fake and p_* are omitted — a critic is not a classifier).
Reply (kind 2): {"reply": "interpolate", "a", "b"} with images (steps, H, W): G along the
straight line from the grid's z_a to its z_b (a, b in 0..15).

A CLI-trained image GAN (gan or dcgan; `genlab serve --run`, from_run.py) opens here as the
model, with its own latent size, loss, normalizer and image size (grid (16, H, W), RGB ones
(16, H, W, 3)); Play trains it on its own data — when that data cannot be read here, the lab
still shows the run's samples and says why it cannot train. meta adds from_run
(common.run_meta).
"""

from __future__ import annotations

import torch

from genlab import operations
from genlab.data import normalizer_for
from genlab.errors import GenlabError
from genlab.models import evaluating
from genlab.web.simulations.common import (
    LiveTraining,
    cached_dataset,
    open_run,
    run_meta,
    to_uint8,
)
from genlab.web.simulations.frames import KIND_REPLY, KIND_STATE, encode_frame

GRID = 16
PROBE = 64


class DcganLab:
    LIVE = {"lr": ("lr", "lr_d"), "n_critic": ("n_critic",), "batch": ("batch",), "speed": ()}

    def __init__(self, cfg, limits, run: str | None = None):
        self.limits = limits
        self.uploaded = None  # a Dataset of the learner's images (uploads.py)
        open_run(self, "dcgan", run)  # self.seed: a CLI-trained run, or None
        self.build(cfg)

    def build(self, cfg) -> None:
        self.cfg = cfg
        self.no_data = None  # why Play cannot train (a run whose data is not here)
        if self.seed is not None:
            return self._build_from_run()
        # mnist5k, or the uploaded images (until a set is loaded, the digits)
        self.need_upload = cfg.data == "uploaded" and self.uploaded is None
        self.train = (self.uploaded if cfg.data == "uploaded" and self.uploaded is not None
                      else cached_dataset("mnist5k", "train"))
        self.norm = normalizer_for(self.train, "symmetric")  # tanh generator: [-1, 1]
        self.x_train = self.norm.encode(self.train.x)  # (4500, 1, 28, 28)
        tc = cfg.train_config()  # schemas.py: what these settings train
        self.live = LiveTraining(tc, self.train, self.x_train)
        g = torch.Generator().manual_seed(cfg.seed + 11)
        self.z_fixed = torch.randn(GRID, cfg.latent, generator=g)  # fixed noise for the grid
        self.probe = self.x_train[torch.randperm(len(self.train), generator=g)[:PROBE]]

    def _build_from_run(self) -> None:
        """The run's weights (and, from a run folder, its optimizers...) on its own data."""
        seed = self.seed
        self.need_upload = False
        self.norm = seed.run.normalizer
        try:
            self.train = seed.dataset("train")
        except GenlabError as e:  # the samples still show; Play says why it cannot train
            self.train, self.no_data = None, str(e)
        shape = tuple(seed.run.config.model.data_shape)
        # without its data the state's sampler has nothing to draw, and never draws (no Play)
        ds = self.train if self.train is not None else range(seed.run.config.batch_size)
        self.x_train = (torch.zeros((0, *shape)) if self.train is None
                        else self.norm.encode(self.train.x))
        self.live = LiveTraining(None, ds, self.x_train, state=seed.training_state(ds))
        trained = self.live.state.cfg
        g = torch.Generator().manual_seed(trained.seed + 11)
        self.z_fixed = torch.randn(GRID, trained.model.latent_dim, generator=g)
        self.probe = (None if self.train is None else
                      self.x_train[torch.randperm(len(self.train), generator=g)[:PROBE]])

    def train_step(self) -> None:
        if self.no_data is not None:
            raise GenlabError(f"cannot continue training: {self.no_data}")
        self.live.train_step()

    @torch.no_grad()
    def _probabilities(self, fake: torch.Tensor) -> tuple[float, float]:
        """Mean σ(D(·)) on the fixed real batch and on `fake`, with D as it trains (batch-norm
        on batch statistics); momentum 0 leaves the running statistics untouched."""
        d = self.live.state.model.discriminator
        norms = [m for m in d.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        saved = [m.momentum for m in norms]
        for m in norms:
            m.momentum = 0.0
        try:
            return (float(torch.sigmoid(d(self.probe)).mean()),
                    float(torch.sigmoid(d(fake)).mean()))
        finally:
            for m, momentum in zip(norms, saved):
                m.momentum = momentum

    @torch.no_grad()
    def frame(self, live: bool = False) -> bytes:
        model = self.live.state.model
        with evaluating(model.generator):
            fake = model.generator(self.z_fixed)  # (16, 1, 28, 28) in [-1, 1]
        images = self.norm.decode(fake)  # [0, 1]
        last = self.live.last
        loss = self.live.state.cfg.loss  # the lab's setting, or the run's
        critic = loss == "wgan-gp"
        meta = {"step": self.live.step, "run": self.live.run, "loss": loss, "critic": critic,
                "data": self.live.state.cfg.data.name if self.train is None else self.train.name,
                "need_upload": self.need_upload, "cannot_train": self.no_data, **run_meta(self),
                **{k: last.get(k) for k in ("loss_d", "loss_g", "gp", "d_real", "d_fake")}}
        if not critic and self.probe is not None:
            meta["p_real"], meta["p_fake"] = self._probabilities(fake)
        return encode_frame(KIND_STATE, self.live.step, meta, {"grid": to_uint8(images)})

    @torch.no_grad()
    def handle(self, msg: dict) -> bytes | None:
        if msg["type"] == "interpolate":
            a, b, n = msg["a"], msg["b"], msg["steps"]
            if max(a, b) >= GRID:
                raise GenlabError(f"pick two of the grid's samples 0..{GRID - 1}")
            path = operations.latent_path(self.z_fixed[a], self.z_fixed[b], n)  # (n, L)
            model = self.live.state.model
            images = operations.decode_latent(model, None, path, None, self.norm)  # [0, 1]
            return encode_frame(KIND_REPLY, self.live.step,
                                {"reply": "interpolate", "a": a, "b": b},
                                {"images": to_uint8(images)})
        raise GenlabError(f"the DCGAN lab does not understand {msg['type']!r}")
