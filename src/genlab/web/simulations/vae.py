"""VAE lab: a 2-latent VAE (or a plain autoencoder) on mnist5k, trained live by the library's
loop body (genlab.training.loop.advance: the family's vae_step / autoencoder_step) on
genlab.models.VAE / Autoencoder; codes and decodings come from genlab.operations.

State frame (frames.py):
    latent   float32 (500, 2)   encoder means μ(x) (AE: codes z) of the 500 test digits
    label    uint8   (500,)     their digits
    orig     uint8   (8, 28, 28) eight test digits ...
    recon    uint8   (8, 28, 28) ... and their reconstructions (decoder mean at z = μ)
    manifold uint8   (144, 28, 28) the decoder's mean on a 12×12 grid over the view box,
                                 row-major from the top-left (sent every 15th frame and on
                                 steps/resets): the holes of an AE's latent space are visible
    meta: step, run, model, beta, loss (−ELBO or AE loss, nats), recon (−log p(x|z)), kl,
          view [z1_min, z1_max, z2_min, z2_max]
Replies (kind 2): {"reply": "decode", "z"} with image uint8 (1, 28, 28);
                  {"reply": "interpolate", "a", "b", "path"} with images uint8 (steps, 28, 28).
"""

from __future__ import annotations

import torch

from genlab import operations
from genlab.data import normalizer_for
from genlab.errors import GenlabError
from genlab.models import evaluating
from genlab.web.simulations.common import LiveTraining, cached_dataset, to_uint8
from genlab.web.simulations.frames import KIND_REPLY, KIND_STATE, encode_frame

SHOWN_RECON = 8
MANIFOLD = 12
MANIFOLD_EVERY = 15
SHOWN_TEST = 500


class VaeLab:
    LIVE = {"beta": ("beta",), "lr": ("lr",), "batch": ("batch",), "speed": ()}

    def __init__(self, cfg, limits):
        self.limits = limits
        self.uploaded = None  # a Dataset of the learner's images (uploads.py)
        self.build(cfg)

    def _use_data(self, cfg) -> None:
        """mnist5k (4500 train, 500 shown), or the uploaded images: a user's set has no
        held-out part, so the map and the reconstructions show (up to 500 of) its images."""
        self.need_upload = cfg.data == "uploaded" and self.uploaded is None
        if cfg.data == "uploaded" and self.uploaded is not None:
            self.train = self.test = self.uploaded
        else:  # until a set is loaded, the digits
            self.train = cached_dataset("mnist5k", "train")
            self.test = cached_dataset("mnist5k", "test")
        self.norm = normalizer_for(self.train, "unit")  # Bernoulli decoder: x in [0, 1]
        self.x_train = self.norm.encode(self.train.x)  # (4500, 1, 28, 28)
        shown = torch.arange(min(len(self.test), SHOWN_TEST))
        if self.test is self.uploaded:  # a fixed shuffle: the first 8 shown mix its classes
            shown = torch.randperm(len(self.test), generator=torch.Generator().manual_seed(0))[
                :SHOWN_TEST]
        self.x_test = self.norm.encode(self.test.x[shown])  # (500, 1, 28, 28)
        y = self.test.y
        self.labels = (torch.zeros(len(shown), dtype=torch.uint8) if y is None
                       else y[shown].to(torch.uint8)).numpy()

    def build(self, cfg) -> None:
        self.cfg = cfg
        self._use_data(cfg)
        self.frames = 0
        tc = cfg.train_config()  # schemas.py: what these settings train
        self.live = LiveTraining(tc, self.train, self.x_train)

    def train_step(self) -> None:
        self.live.train_step()

    # -- helpers
    def _codes(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean μ(x) (AE: the code z) of images `x` in [0, 1]."""
        return operations.encode(self.live.as_run(self.norm), x)

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean E[x | z], in [0, 1]."""
        return operations.decode_latent(self.live.state.model, None, z, None, self.norm)

    def _view(self, codes: torch.Tensor) -> list[float]:
        lo = torch.quantile(codes, 0.01, dim=0)
        hi = torch.quantile(codes, 0.99, dim=0)
        if self.cfg.model == "vae":  # keep the prior's ±3σ in view
            lo, hi = torch.minimum(lo, torch.full_like(lo, -3)), torch.maximum(hi, torch.full_like(hi, 3))
        center, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * 1.15 + 1e-3
        return [float(center[0]) - half, float(center[0]) + half,
                float(center[1]) - half, float(center[1]) + half]

    def frame(self, live: bool = False) -> bytes:
        with evaluating(self.live.state.model):  # one switch for the whole frame
            codes = self._codes(self.x_test)  # (500, 2)
            recon = self._decode(codes[:SHOWN_RECON])
            view = self._view(codes)
            arrays = {"latent": codes.numpy(), "label": self.labels,
                      "orig": to_uint8(self.x_test[:SHOWN_RECON]), "recon": to_uint8(recon)}
            if self.frames % MANIFOLD_EVERY == 0:
                x0, x1, y0, y1 = view
                # cell centres, row 0 at the top (largest z2)
                zs1 = x0 + (torch.arange(MANIFOLD) + 0.5) * (x1 - x0) / MANIFOLD
                zs2 = y1 - (torch.arange(MANIFOLD) + 0.5) * (y1 - y0) / MANIFOLD
                g2, g1 = torch.meshgrid(zs2, zs1, indexing="ij")
                grid = torch.stack([g1.reshape(-1), g2.reshape(-1)], 1)  # (144, 2)
                arrays["manifold"] = to_uint8(self._decode(grid))
        self.frames += 1
        last = self.live.last
        meta = {"step": self.live.step, "run": self.live.run, "model": self.cfg.model,
                "beta": self.cfg.beta, "view": view, "loss": last.get("loss"),
                "recon": last.get("recon"), "kl": last.get("kl"), "data": self.train.name,
                "need_upload": self.need_upload,
                "classes": list(self.test.class_names) if self.test is self.uploaded else None}
        return encode_frame(KIND_STATE, self.live.step, meta, arrays)

    def handle(self, msg: dict) -> bytes | None:
        kind = msg["type"]
        with evaluating(self.live.state.model):
            if kind == "decode":
                if len(msg["z"]) != 2:
                    raise GenlabError(f"this VAE has 2 latent dimensions, got {len(msg['z'])}")
                z = torch.tensor([msg["z"]], dtype=torch.float32)
                return encode_frame(KIND_REPLY, self.live.step,
                                    {"reply": "decode", "z": list(msg["z"])},
                                    {"image": to_uint8(self._decode(z))})
            if kind == "interpolate":
                a, b, n = msg["a"], msg["b"], msg["steps"]
                if max(a, b) >= len(self.x_test):
                    raise GenlabError(f"pick test digits 0..{len(self.x_test) - 1}")
                codes = self._codes(self.x_test[[a, b]])  # (2, 2)
                path = operations.latent_path(codes[0], codes[1], n)  # (1 − t) z_a + t z_b
                return encode_frame(KIND_REPLY, self.live.step,
                                    {"reply": "interpolate", "a": a, "b": b,
                                     "path": path.tolist()},
                                    {"images": to_uint8(self._decode(path))})
        raise GenlabError(f"the VAE lab does not understand {kind!r}")
