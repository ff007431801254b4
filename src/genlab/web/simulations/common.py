"""What every simulation shares: the trainer's state, datasets cached per process, helpers.

A live simulation builds the trainer's own `TrainState` (genlab.training.state.build_state)
in memory (CPU, fp32, no run folder, no checkpoints) and trains it with the trainer's loop
body, `genlab.training.loop.advance`, one step at a time; what it shows of the model comes
from genlab.operations on `genlab.runs.Run.from_state` (LiveTraining.as_run).

A simulation (gan2d.py, vae.py, dcgan.py, beyond.py) holds a `LiveTraining` (the state, the
batches, the settings that change without a restart) and offers to the worker:
    cfg                 its validated settings (schemas.py; every one has `speed`)
    live                its LiveTraining, or None while it cannot train yet (no drawn points)
    LIVE                {setting: LiveTraining.update keywords}: what applies live
    build(cfg)          (re)start training with `cfg` (also Reset)
    train_step()        one training step (LiveTraining.train_step)
    frame(live=False)   the state frame; live=True while playing (it may reuse costly parts)
    handle(msg)         a simulation's own message, answered by a reply frame or None
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from genlab.config import TrainConfig, resolve
from genlab.data import Dataset, EpochSampler, batch_binarizer, load_dataset
from genlab.errors import GenlabError
from genlab.runs import Run
from genlab.training import loop

_DATASETS: dict[tuple[str, str], Dataset] = {}


def cached_dataset(name: str, split: str, binarize: str = "none") -> Dataset:
    """A dataset loaded once per process. The forkserver loads mnist5k before it forks any
    worker, so every worker starts with the digits already in (copy-on-write) memory.
    `binarize` as genlab.data.load_dataset takes it ("dynamic": the test split binarized once)."""
    key = (name, split, binarize)
    if key not in _DATASETS:
        _DATASETS[key] = load_dataset(name, split, binarize=binarize)
    return _DATASETS[key]


def make_state(cfg: TrainConfig, ds: Dataset, num_classes: int = 0):
    """Resolve `cfg` against `ds` and build the trainer's own state (genlab.training.state.build_state:
    model, Adam optimizers, scalers, random streams, sampler) on the CPU in fp32."""
    from genlab.training.state import build_state

    cfg = resolve(cfg, ds.kind, ds.example_shape, num_classes=num_classes,
                  dataset_size=len(ds))
    cfg.precision = "fp32"
    torch.manual_seed(cfg.seed)  # initial weights: a pure function of the seed
    return build_state(cfg, ds, torch.device("cpu"))


_RUNS = itertools.count(1)


class LiveTraining:
    """One training run of a live simulation: the trainer's state (make_state), batches of `x`
    (model space; `y` labels or None) drawn by an EpochSampler, and the settings that change
    while it trains (`update`). `run` is new for every LiveTraining (the page clears its
    curves when it changes). `multiple`: batches are a multiple of it (packing).
    `encode`: `x` holds the raw uint8 images, and each batch is binarized afresh as it is drawn
    (cfg.data.binarize "dynamic", genlab.data.batch_binarizer, as the trainer does it), then
    mapped to model space by `encode` (the Normalizer's).
    `state`: a state built already (a CLI-trained run's, from_run.py): trained as it is, its
    config and batch size unchanged."""

    def __init__(self, cfg: TrainConfig | None, ds: Dataset, x: torch.Tensor,
                 y: torch.Tensor | None = None, num_classes: int = 0, multiple: int = 1,
                 encode=None, state=None):
        self.x, self.y, self.multiple, self.encode = x, y, multiple, encode
        if state is None:
            cfg.batch_size = self._fit(cfg.batch_size)
            state = make_state(cfg, ds, num_classes=num_classes)
        self.state = state
        self.run = next(_RUNS)
        self._out: dict[str, torch.Tensor] = {}

    def _fit(self, batch: int) -> int:
        """The batch size, at most the data (in whole multiples), or a clear error."""
        fitted = min(batch, len(self.x) - len(self.x) % self.multiple)
        if fitted < max(2, self.multiple):
            raise GenlabError(f"too few examples ({len(self.x)}) for a batch")
        return fitted

    @property
    def step(self) -> int:
        return self.state.step

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        st = self.state
        idx = st.sampler.next_batch()
        x = self.x[idx]
        if self.encode is not None:  # a fresh binary draw of this batch, then model space
            x = self.encode(batch_binarizer(st.cfg.data.binarize, st.sampler, st.cfg.seed)(x))
        return x, None if self.y is None else self.y[idx]

    def train_step(self) -> None:
        """One step of the trainer's loop body (it sets the learning rates from the config,
        steps the model's family, counts the step); its metrics are kept as tensors: they
        become numbers only when a frame reads them."""
        self._out = loop.advance(self.state, self.next_batch)

    def as_run(self, normalizer) -> Run:
        """The model as it is now, for genlab.operations (`normalizer`: the one its batches
        went through)."""
        return Run.from_state(self.state, normalizer)

    @property
    def last(self) -> dict[str, float]:
        return {k: float(v) for k, v in self._out.items()}

    @last.setter
    def last(self, values: dict[str, float]) -> None:  # a fork's restored losses (fork.py)
        self._out = {k: torch.tensor(v) for k, v in values.items()}

    def update(self, lr: float | None = None, lr_d: float | None = None,
               n_critic: int | None = None, beta: float | None = None,
               batch: int | None = None) -> None:
        """Settings that apply from the next step on, without a restart: `lr` is the model's
        (AE/VAE) or the generator's learning rate, `lr_d` the discriminator's (advance sets
        the optimizers' rates from these config fields at every step)."""
        st = self.state
        if lr is not None:
            st.cfg.lr = lr
        if lr_d is not None:
            st.cfg.lr_d = lr_d
        if n_critic is not None:
            st.cfg.n_critic = n_critic
        if beta is not None:
            st.cfg.beta = beta  # β-VAE: the KL weight of the next steps
        if batch is not None and self._fit(batch) != st.sampler.batch_size:
            st.cfg.batch_size = self._fit(batch)
            st.sampler = EpochSampler(len(self.x), st.cfg.batch_size, seed=st.cfg.seed)


def reconfigure(sim, cfg) -> None:
    """Apply new settings to a simulation: if only settings in `sim.LIVE` changed they apply
    to the running training (LiveTraining.update); any other change restarts it."""
    if getattr(sim, "seed", None) is not None:  # a run is open: its own config trains; the
        sim.cfg = cfg  # lab's settings (speed) apply when it goes back to its own model
        return
    changed = {k for k in type(cfg).model_fields if getattr(cfg, k) != getattr(sim.cfg, k)}
    if sim.live is not None and changed <= set(sim.LIVE):
        sim.live.update(**{keyword: getattr(cfg, k) for k in changed
                           for keyword in sim.LIVE[k]})
        sim.cfg = cfg
    else:
        sim.build(cfg)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images in [0, 1] (B, 1, H, W) -> uint8 (B, H, W) for a frame; RGB ones (B, 3, H, W)
    -> (B, H, W, 3) (the page reads the channels from the shape)."""
    u8 = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8)
    if u8.shape[1] == 1:
        return u8.reshape(u8.shape[0], u8.shape[-2], u8.shape[-1]).numpy()
    return u8.permute(0, 2, 3, 1).contiguous().numpy()


def open_run(sim, lab: str, run: str | None) -> None:
    """`sim.seed`: the CLI-trained run at path `run` (from_run.read), or None: the lab's own
    model. The simulation's `build` reads it."""
    from genlab.web.simulations import from_run

    sim.seed = None if run is None else from_run.read(lab, run)


def run_meta(sim) -> dict:
    """The frame's `from_run`: what the page shows of an open run (None: the lab's own)."""
    return {"from_run": None if sim.seed is None else sim.seed.describe()}

