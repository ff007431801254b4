"""What every simulation shares: the training state the library's step functions expect.

`genlab.train_steps` (vae_step, autoencoder_step, gan_step) take a `state` with `model`,
`cfg` (a resolved TrainConfig), `device`, `precision`, `generators` ("noise", "penalty"),
`optimizers`, `scalers`, `ema` and `step`. The trainer builds one for a run folder; a live
simulation builds this in-memory one (CPU, fp32, no checkpoints) and calls the same steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from genlab.data import Dataset, load_dataset
from genlab.config import DataConfig, ModelConfig, TrainConfig, resolve
from genlab.devices import FP32, make_generator
from genlab.models import build_model


_DATASETS: dict[tuple[str, str], Dataset] = {}


def cached_dataset(name: str, split: str) -> Dataset:
    """A dataset loaded once per process. The forkserver loads mnist5k before it forks any
    worker, so every worker starts with the digits already in (copy-on-write) memory."""
    key = (name, split)
    if key not in _DATASETS:
        _DATASETS[key] = load_dataset(name, split)
    return _DATASETS[key]


@dataclass
class LiveState:
    model: torch.nn.Module
    cfg: TrainConfig
    device: torch.device
    precision: Any
    generators: dict[str, torch.Generator]
    optimizers: dict[str, torch.optim.Optimizer]
    scalers: dict[str, Any]
    ema: Any = None
    step: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def make_state(cfg: TrainConfig, data_kind: str, example_shape: tuple[int, ...],
               num_classes: int = 0, lr_d: float | None = None) -> LiveState:
    """Resolve `cfg` against the data, build the model with the library, and its optimizers
    (Adam with the config's betas: one for a VAE/AE, "d" and "g" for a GAN)."""
    cfg = resolve(cfg, data_kind, example_shape, num_classes=num_classes)
    torch.manual_seed(cfg.seed)  # initial weights: a pure function of the seed
    model = build_model(cfg.model)
    device = torch.device("cpu")
    gens = {"noise": make_generator(device, cfg.seed + 1),
            "penalty": make_generator(device, cfg.seed + 2)}
    betas = tuple(cfg.betas)
    if cfg.model.kind in ("gan", "dcgan"):
        optimizers = {
            "d": torch.optim.Adam(model.discriminator.parameters(), lr=lr_d or cfg.lr_d,
                                  betas=betas),
            "g": torch.optim.Adam(model.generator.parameters(), lr=cfg.lr, betas=betas)}
    else:
        optimizers = {"model": torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=betas)}
    scalers = {k: torch.amp.GradScaler("cpu", enabled=False) for k in optimizers}
    return LiveState(model, cfg, device, FP32, gens, optimizers, scalers)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images in [0, 1] (B, 1, H, W) -> uint8 (B, H, W) for a frame."""
    return (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).reshape(
        images.shape[0], images.shape[-2], images.shape[-1]).numpy()


def train_config(kind: str, data: str, **fields) -> TrainConfig:
    model_fields = {k: fields.pop(k) for k in list(fields) if k in ModelConfig.__dataclass_fields__}
    return TrainConfig(model=ModelConfig(kind=kind, **model_fields), data=DataConfig(name=data),
                       steps=10**9, **fields)
