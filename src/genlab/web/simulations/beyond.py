"""Beyond the playground: what a learned distribution gives, trained live on mnist5k.

- task "anomaly": a VAE (genlab.models.VAE, MLP, `latent` dims) trained by
  genlab.training.loop.advance (vae_step), optionally without one digit (`holdout`). Each test
  digit is scored by its −ELBO (genlab.operations.anomaly_scores, 1 sample, nats; higher = less
  likely under the model). With a held-out digit, the AUROC of that score for "is the held-out
  digit" comes from genlab.metrics.anomaly.anomaly_auc. A digit the learner draws (28×28 in
  [0, 1]) is scored the same way and placed among the test scores.
- task "conditional": a conditional VAE (one-hot y into encoder and decoder; Sohn et al. 2015)
  trained live; the frame shows 4 samples of every digit from fixed z, "generate" gives 8
  fresh samples of one class.

State frame (frames.py):
    anomaly:     worst uint8 (8, 28, 28) the least likely test digits, wscore float32 (8,),
                 wlabel uint8 (8,), scores float32 (500,) every test digit's −ELBO,
                 labels uint8 (500,); meta: step, run, task, loss, recon, kl, holdout, auroc
    conditional: cond uint8 (40, 28, 28): rows of digits 0..9 × 4 samples (row-major by digit)
Replies (kind 2): {"reply": "score", "score", "percentile"} with recon uint8 (1, 28, 28);
                  {"reply": "generate", "label"} with images uint8 (8, 28, 28).
"""

from __future__ import annotations

import time

import torch

from genlab import operations
from genlab.data import normalizer_for
from genlab.errors import GenlabError
from genlab.metrics.anomaly import anomaly_auc
from genlab.models import evaluating
from genlab.web.simulations.common import LiveTraining, cached_dataset, to_uint8
from genlab.web.simulations.frames import KIND_REPLY, KIND_STATE, encode_frame

WORST = 8
PER_CLASS = 4
SCORE_EVERY_S = 0.25  # the 500 test digits are scored again at most 4 times a second


class BeyondLab:
    LIVE = {"beta": ("beta",), "speed": ()}

    def __init__(self, cfg, limits):
        self.limits = limits
        self.full_train = cached_dataset("mnist5k", "train")
        self.test = cached_dataset("mnist5k", "test")
        self.norm = normalizer_for(self.full_train, "unit")
        self.x_test = self.norm.encode(self.test.x)  # (500, 1, 28, 28)
        self.build(cfg)

    def build(self, cfg) -> None:
        self.cfg = cfg
        conditional = cfg.task == "conditional"
        train = self.full_train
        if cfg.task == "anomaly" and cfg.holdout >= 0:
            train = train.without_class(cfg.holdout)  # the model never sees this digit
        self.train = train
        self.x_train = self.norm.encode(train.x)
        tc = cfg.train_config()  # schemas.py: what these settings train
        self.live = LiveTraining(tc, train, self.x_train, train.y if conditional else None,
                                 num_classes=10 if conditional else 0)
        g = torch.Generator().manual_seed(cfg.seed + 13)
        self.z_fixed = torch.randn(10 * PER_CLASS, cfg.latent, generator=g)
        self.y_fixed = torch.arange(10).repeat_interleave(PER_CLASS)  # (40,) 0,0,0,0,1,...
        self.gen = torch.Generator().manual_seed(cfg.seed + 17)
        self.scores: torch.Tensor | None = None
        self.frames = 0
        self.scored_step, self.scored_at = -1, 0.0

    def train_step(self) -> None:
        self.live.train_step()

    def _score(self, x: torch.Tensor) -> torch.Tensor:
        """−ELBO per image of `x` (in [0, 1]; nats), one posterior sample from a fixed stream,
        all of `x` in one batch (so one stream for all)."""
        return operations.anomaly_scores(self.live.as_run(self.norm), x, "elbo", k=1,
                                         batch_size=len(x), seed=self.cfg.seed + 19)

    @torch.no_grad()
    def frame(self, live: bool = False) -> bytes:
        last = self.live.last
        meta = {"step": self.live.step, "run": self.live.run, "task": self.cfg.task,
                **{k: last.get(k) for k in ("loss", "recon", "kl")}}
        with evaluating(self.live.state.model):
            if self.cfg.task == "anomaly":
                now = time.monotonic()
                # while playing at most every SCORE_EVERY_S; a frame not live (a step, a
                # reset, a recording) always scores the model it shows
                if self.scores is None or (self.scored_step != self.live.step and (
                        not live or now - self.scored_at > SCORE_EVERY_S)):
                    self.scores = self._score(self.x_test)  # (500,)
                    self.scored_step, self.scored_at = self.live.step, now
                scores = self.scores
                worst = torch.argsort(scores, descending=True)[:WORST]
                labels = self.test.y.to(torch.uint8)
                meta["holdout"] = self.cfg.holdout
                if self.cfg.holdout >= 0 and torch.isfinite(scores).all():
                    meta["auroc"] = anomaly_auc(scores, (self.test.y == self.cfg.holdout).long())["auroc"]
                arrays = {"worst": to_uint8(self.x_test[worst]), "wscore": scores[worst],
                          "wlabel": labels[worst], "scores": scores, "labels": labels}
            else:
                x = operations.decode_latent(self.live.state.model, None, self.z_fixed,
                                             self.y_fixed, self.norm)
                arrays = {"cond": to_uint8(x)}
        self.frames += 1
        return encode_frame(KIND_STATE, self.live.step, meta, arrays)

    @torch.no_grad()
    def handle(self, msg: dict) -> bytes | None:
        with evaluating(self.live.state.model):
            if msg["type"] == "score":
                if self.cfg.task != "anomaly":
                    raise GenlabError("switch to the anomaly task to score a drawing")
                x = torch.tensor(msg["image"], dtype=torch.float32).reshape(1, 1, 28, 28)
                score = float(self._score(x)[0])
                if self.scores is None:
                    self.scores = self._score(self.x_test)
                percentile = float((self.scores < score).float().mean() * 100)
                recon = operations.reconstruct(self.live.as_run(self.norm), x)
                return encode_frame(KIND_REPLY, self.live.step,
                                    {"reply": "score", "score": score, "percentile": percentile},
                                    {"recon": to_uint8(recon)})
            if msg["type"] == "generate":
                if self.cfg.task != "conditional":
                    raise GenlabError("switch to the conditional task to generate a chosen digit")
                z = torch.randn(8, self.cfg.latent, generator=self.gen)  # z ~ N(0, I)
                y = torch.full((8,), msg["label"], dtype=torch.long)
                x = operations.decode_latent(self.live.state.model, None, z, y, self.norm)
                return encode_frame(KIND_REPLY, self.live.step,
                                    {"reply": "generate", "label": msg["label"]},
                                    {"images": to_uint8(x)})
        raise GenlabError(f"this simulation does not understand {msg['type']!r}")
