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
"""

from __future__ import annotations

import torch

from genlab.data import normalizer_for
from genlab.models import evaluating
from genlab.web.simulations.common import LiveTraining, cached_dataset, to_uint8
from genlab.web.simulations.frames import KIND_STATE, encode_frame

GRID = 16
PROBE = 64


class DcganLab:
    LIVE = {"lr": ("lr", "lr_d"), "n_critic": ("n_critic",), "batch": ("batch",), "speed": ()}

    def __init__(self, cfg, limits):
        self.limits = limits
        self.uploaded = None  # a Dataset of the learner's images (uploads.py)
        self.build(cfg)

    def build(self, cfg) -> None:
        self.cfg = cfg
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

    def train_step(self) -> None:
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
        critic = self.cfg.loss == "wgan-gp"
        meta = {"step": self.live.step, "run": self.live.run, "loss": self.cfg.loss,
                "critic": critic, "data": self.train.name, "need_upload": self.need_upload,
                **{k: last.get(k) for k in ("loss_d", "loss_g", "gp", "d_real", "d_fake")}}
        if not critic:
            meta["p_real"], meta["p_fake"] = self._probabilities(fake)
        return encode_frame(KIND_STATE, self.live.step, meta, {"grid": to_uint8(images)})

    def handle(self, msg: dict) -> bytes | None:
        from genlab.errors import GenlabError

        raise GenlabError(f"the DCGAN lab does not understand {msg['type']!r}")
