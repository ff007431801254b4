"""What every simulation shares: the trainer's state, datasets cached per process, helpers.

`genlab.train_steps` (vae_step, autoencoder_step, gan_step) take the trainer's `TrainState`
(genlab.train.build_state); a live simulation builds the same state in memory (CPU, fp32, no
run folder, no checkpoints) and calls the same steps, one at a time.
"""

from __future__ import annotations

import numpy as np
import torch

from genlab.data import Dataset, load_dataset
from genlab.config import DataConfig, ModelConfig, TrainConfig, resolve


_DATASETS: dict[tuple[str, str], Dataset] = {}


def cached_dataset(name: str, split: str) -> Dataset:
    """A dataset loaded once per process. The forkserver loads mnist5k before it forks any
    worker, so every worker starts with the digits already in (copy-on-write) memory."""
    key = (name, split)
    if key not in _DATASETS:
        _DATASETS[key] = load_dataset(name, split)
    return _DATASETS[key]


def make_state(cfg: TrainConfig, ds: Dataset, num_classes: int = 0):
    """Resolve `cfg` against `ds` and build the trainer's own state (genlab.train.build_state:
    model, Adam optimizers, scalers, random streams, sampler) on the CPU in fp32."""
    from genlab.train import build_state

    cfg = resolve(cfg, ds.kind, ds.example_shape, num_classes=num_classes,
                  dataset_size=len(ds))
    cfg.precision = "fp32"
    torch.manual_seed(cfg.seed)  # initial weights: a pure function of the seed
    return build_state(cfg, ds, torch.device("cpu"))


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
