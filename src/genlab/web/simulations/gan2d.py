"""GAN playground on 2D points: a real MLP GAN (genlab.models) trained live by the library's
own loop body (genlab.training.loop.advance, which runs genlab.training.steps.gan_step:
`# (1) discriminator step`, `# (2) generator step`).

Each state frame (frames.py) carries, in data coordinates:
    real  float32 (512, 2)     a fixed sample of the training data
    fake  float32 (512, 2)     G(z) for a fixed z (so the points move smoothly)
    heat  float32 (40, 40)     the discriminator's logit (critic value) on a grid over the
                               view box, row 0 = top (largest y); eval mode
    arrow float32 (64, 4)      x, y, −∂loss_g/∂x, −∂loss_g/∂y for 64 generated points: where
                               the generator loss pushes each sample (autograd through D)
and in meta: step, loss_d, loss_g, d_real, d_fake, gp, view [x0, x1, y0, y1], run (changes on
every restart), centered (D's values have no fixed zero: the page colours the heat map around
its mean) and, for ring8/grid25, the PacGAN protocol on 2,500 samples
(genlab.metrics.toy2d.mode_coverage): modes, num_modes, hq (high-quality %), kl, and
metrics_step, the step they were measured at. While playing, the metrics are measured at most
5 times a second and the heat map as often as its cost allows (class Every); the points and
arrows are new in every frame.

Packing: a grid point x is scored as the packed group (x, x, ..., x). Minibatch
discrimination: grid points are scored in chunks together with as many generated points (the
batch statistics D sees in training come from generated or real batches, never a lone point).
The playground's discriminator uses no normalization layer (discriminator_norm="none", as the
2D MLPs of the WGAN-GP and PacGAN papers), so the heat map is the critic that is trained.

A CLI-trained GAN on points (`genlab serve --run`, from_run.py) opens here as the model, on its
own data and normalizer; its loss, packing and minibatch discrimination (read from the
trained config, as for the lab's own model) shape the heat map and the arrows. meta adds
from_run (common.run_meta).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from genlab import losses, operations
from genlab.data import load_dataset, normalizer_for, points_dataset
from genlab.errors import GenlabError
from genlab.metrics.toy2d import mode_coverage, mode_protocol
from genlab.models import evaluating
from genlab.web.simulations.common import LiveTraining, open_run, run_meta
from genlab.web.simulations.frames import KIND_STATE, encode_frame

GRID = 40
SHOWN = 512
ARROWS = 64
EVAL_SAMPLES = 2500  # PacGAN protocol
DRAWN_VIEW = (-1.0, 1.0, -1.0, 1.0)  # the drawing canvas, in data coordinates
MIN_DRAWN = 10
# losses whose D is a critic (an unbounded score), not a logit of P(real): no fixed zero
CRITIC_LOSSES = ("wgan-gp", "hinge")
HEAT_BUDGET_S = 0.004  # while playing: a heat map costing more is recomputed less often
METRICS_BUDGET_S = 0.004
METRICS_EVERY_S = 0.2  # while playing, the PacGAN metrics are recomputed ≤ 5 times a second


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
    LIVE = {"lr_g": ("lr",), "lr_d": ("lr_d",), "n_critic": ("n_critic",), "batch": ("batch",),
            "speed": ()}

    def __init__(self, cfg, limits, run: str | None = None):
        self.limits = limits
        self.points: list | None = None
        self.uploaded = None  # a Dataset of the learner's CSV points (uploads.py)
        open_run(self, "gan2d", run)  # self.seed: a CLI-trained run, or None
        self.build(cfg)

    # -- setup
    def build(self, cfg) -> None:
        self.cfg = cfg
        self.live = None
        data = cfg.data
        if self.seed is not None:  # a CLI-trained run: its data, normalizer and weights
            ds = self.seed.dataset("train")
            data = self.seed.run.dataset
        elif cfg.data == "drawn":
            if not self.points or len(self.points) < MIN_DRAWN:
                return  # waiting for the learner's points: frames say so, steps refuse
            ds = points_dataset(self.points)
        elif cfg.data == "uploaded":
            if self.uploaded is None:
                return  # waiting for the learner's file: frames say so, steps refuse
            ds = self.uploaded
        else:
            ds = load_dataset(cfg.data, "train", seed=cfg.seed, n_train=20_000, n_test=10)
        if self.seed is None:
            self.norm = normalizer_for(ds, "standard")
            tc = cfg.train_config()  # schemas.py: what these settings train
            self.live = LiveTraining(tc, ds, self.norm.encode(ds.x), multiple=cfg.pack)
        else:
            self.norm = self.seed.run.normalizer
            self.live = LiveTraining(None, ds, self.norm.encode(ds.x),
                                     state=self.seed.training_state(ds))
        trained = self.live.state.cfg
        g = torch.Generator().manual_seed(trained.seed + 7)
        self.z_eval = torch.randn(EVAL_SAMPLES, trained.model.latent_dim,
                                  generator=g)  # fixed noise
        shown = torch.randperm(len(ds), generator=g)[:SHOWN]
        self.real = ds.x[shown].contiguous().numpy()
        self.view = view_box(data, ds.x)
        x0, x1, y0, y1 = self.view
        xs = torch.linspace(x0, x1, GRID)
        ys = torch.linspace(y1, y0, GRID)  # row 0 = top
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        self.grid = self.norm.encode(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1))
        self.scale = torch.as_tensor(self.norm.to_dict().get("scale", [1.0, 1.0]),
                                     dtype=torch.float32).reshape(1, 2)
        self.protocol = mode_protocol(data) if data in ("ring8", "grid25") else None
        self._heat = Every(HEAT_BUDGET_S)
        self._metrics = Every(METRICS_BUDGET_S, min_period_s=METRICS_EVERY_S)

    # -- training
    def train_step(self) -> None:
        if self.live is None and self.cfg.data == "uploaded":
            raise GenlabError("load a CSV file of points first (x,y a line)")
        if self.live is None:
            raise GenlabError(f"draw at least {MIN_DRAWN} points on the canvas first "
                              f"({len(self.points or [])} so far)")
        self.live.train_step()

    # -- messages
    def handle(self, msg: dict) -> bytes | None:
        if msg["type"] == "points":
            if len(msg["points"]) > self.limits.max_points:
                raise GenlabError(f"at most {self.limits.max_points} points, got "
                                  f"{len(msg['points'])}")
            self.points = [list(p) for p in msg["points"]]
            if self.cfg.data == "drawn":
                self.build(self.cfg)
            return self.frame()
        raise GenlabError(f"the GAN playground does not understand {msg['type']!r}")

    # -- frames
    def _critic(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits for each point of x (model space), each scored as its own packed group;
        with minibatch discrimination, in chunks of 64 beside 64 generated points."""
        model = self.live.state.model
        pack, minibatch = self.live.state.cfg.model.pack, self.live.state.cfg.model.minibatch_disc
        chunk = 64 if minibatch else 2048
        fakes = model.generator(self.z_eval[:chunk]) if minibatch else None
        outs = []
        for i in range(0, len(x), chunk):
            part = x[i:i + chunk]
            if fakes is not None:
                part = torch.cat([part, fakes[:len(part)]])
            logits = model.discriminator(part.repeat_interleave(pack, 0))  # (len(part),)
            outs.append(logits[:min(chunk, len(x) - i)])
        return torch.cat(outs)

    def _protocol(self) -> dict:
        """The PacGAN protocol on EVAL_SAMPLES generated points (data coordinates)."""
        fake = operations.decode_latent(self.live.state.model, None, self.z_eval, None,
                                        self.norm)  # (2500, 2)
        report = mode_coverage(fake, self.protocol.modes, self.protocol.std)
        return dict(modes=report.modes_covered, num_modes=report.num_modes,
                    hq=100.0 * report.high_quality_fraction, kl=report.reverse_kl,
                    metrics_step=self.live.step)

    def frame(self, live: bool = False) -> bytes:
        """The state frame. While playing (`live`), the heat map and the PacGAN metrics are
        recomputed only as often as their cost allows (class Every); otherwise always."""
        if self.live is None:  # drawn data, not enough points yet (or no file loaded yet)
            need = ({"need_upload": True} if self.cfg.data == "uploaded"
                    else {"need_points": MIN_DRAWN})
            return encode_frame(KIND_STATE, 0, {"step": 0, "run": 0, "view": list(
                DRAWN_VIEW), "loss": self.cfg.loss, **need}, {})
        model, cfg = self.live.state.model, self.live.state.cfg  # what trains: loss, pack
        # eval mode: spectral norm does no power iteration outside training steps
        with evaluating(model):
            with torch.no_grad():
                fake_model = model.generator(self.z_eval[:SHOWN])  # (512, 2) model space
                heat = self._heat.get(live, lambda: self._critic(self.grid).reshape(GRID, GRID))
                report = (self._metrics.get(live, self._protocol)
                          if self.protocol is not None else {})
            # −∇_x loss_g for ARROWS generated points (a multiple of pack)
            pack = cfg.model.pack
            x = fake_model[:max(ARROWS - ARROWS % pack, pack)].clone().requires_grad_(True)
            loss_g = losses.generator_loss(cfg.loss, model.discriminator(x))
            (grad,) = torch.autograd.grad(loss_g, x)
            push = -grad / self.scale  # chain rule: x_model = (x_data − shift) / scale
        fake = self.norm.decode(fake_model)  # data coordinates
        arrows = torch.cat([fake[:len(push)], push], 1)[:ARROWS]  # (64, 4)
        last = self.live.last
        meta = {"step": self.live.step, "run": self.live.run, "view": list(self.view),
                "loss": cfg.loss, "centered": cfg.loss in CRITIC_LOSSES, **report, **run_meta(self),
                **{k: last.get(k) for k in ("loss_d", "loss_g", "d_real", "d_fake", "gp")}}
        heat_np = heat.numpy().astype(np.float32)
        if not np.isfinite(heat_np).all():
            meta["diverged"] = True
            heat_np = np.nan_to_num(heat_np, nan=0.0, posinf=1e6, neginf=-1e6)
        return encode_frame(KIND_STATE, self.live.step, meta, {
            "real": self.real, "fake": fake.numpy(), "heat": heat_np, "arrow": arrows.numpy()})


class Every:
    """A costly part of a frame, recomputed while playing at most every `min_period_s` and,
    when one computation costs more than `budget_s`, only every ⌈cost / budget_s⌉ frames
    (at most 30), so that training keeps its share of each frame. A frame sent when not
    playing (a step, a reset, new settings) is always computed afresh."""

    def __init__(self, budget_s: float, min_period_s: float = 0.0):
        self.budget_s, self.min_period_s = budget_s, min_period_s
        self.value, self.age, self.every, self.at = None, 0, 1, -math.inf

    def get(self, live: bool, compute):
        now = time.perf_counter()
        if (self.value is None or not live
                or (self.age >= self.every and now - self.at >= self.min_period_s)):
            self.value = compute()
            cost = time.perf_counter() - now
            self.every = max(1, min(30, math.ceil(cost / self.budget_s)))
            self.age, self.at = 0, now
        self.age += 1
        return self.value


def measure_presets(steps: int = 4000, seeds: tuple[int, ...] = (0, 1)) -> None:
    """Train every preset (schemas.GAN_PRESETS) for `steps` generator steps per seed and print
    the PacGAN protocol: the numbers quoted beside GAN_PRESETS come from here.
        OMP_NUM_THREADS=1 python -m genlab.web.simulations.gan2d [steps] [seeds, e.g. 0,1]"""
    from genlab.web.simulations.frames import decode_frame
    from genlab.web.simulations.schemas import GAN_PRESETS, SimLimits, parse_config

    torch.set_num_threads(1)
    for name, preset in GAN_PRESETS.items():
        for seed in seeds:
            sim = GanPlayground(parse_config("gan2d", {**preset["values"], "seed": seed}),
                                SimLimits())
            started = time.perf_counter()
            while sim.live.step < steps:
                sim.train_step()
            meta = decode_frame(sim.frame())[2]
            print(f"{name:26s} seed {seed}: {meta['modes']:2d} / {meta['num_modes']} modes, "
                  f"{meta['hq']:4.1f} % high quality, reverse KL {meta['kl']:.2f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    import sys

    measure_presets(int(sys.argv[1]) if len(sys.argv) > 1 else 4000,
                    tuple(int(s) for s in sys.argv[2].split(",")) if len(sys.argv) > 2 else (0, 1))
