"""The state of a training run: everything a step reads or changes, built once for a fresh
run (model, optimizers, grad scalers, EMA, sampler, random streams on the chosen device and
precision) and turned into / restored from a checkpoint (genlab.training.checkpoints) for exact resume.
genlab.training.loop runs the loop over it; genlab.bench and the hub's live simulations build
the same state to time or stream the very steps `genlab train` takes. What differs by model
kind is read from the family table (genlab.training.steps.FAMILIES).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from genlab.config import TrainConfig
from genlab.devices import Precision, choose_precision, make_generator
from genlab.training import checkpoints
from genlab.training.distributed import SINGLE, DistContext
from genlab.training.steps import Units, family


@dataclass
class TrainState:
    """Everything a step reads or changes; everything a checkpoint saves."""

    cfg: TrainConfig
    model: torch.nn.Module
    device: torch.device
    precision: Precision
    optimizers: dict[str, torch.optim.Optimizer]
    scalers: dict[str, Any]
    generators: dict[str, torch.Generator]
    sampler: Any
    units: Units  # what the step calls forward through (DDP wrappers under torchrun)
    ema: Any = None
    step: int = 0
    dist: DistContext = SINGLE  # the process group (genlab.training.distributed.attach)
    cpu_bf16: bool = False  # the CPU bf16 convolution fast path (genlab.training.cpu_bf16)


def build_state(cfg: TrainConfig, ds, device: torch.device, rank: int = 0,
                world_size: int = 1) -> TrainState:
    """Model, optimizers, EMA, scalers, sampler and random streams of a fresh run, once the
    machine is known to hold them (genlab.limits: estimated before anything is allocated)."""
    from genlab.data import EpochSampler
    from genlab.limits import check_training_memory
    from genlab.models import build_model, uses_convolutions
    from genlab.regularizers import make_ema

    check_training_memory(cfg)
    model = build_model(cfg.model).to(device)
    model.train()
    precision = choose_precision(cfg.precision, device,
                                 "points" if len(cfg.model.data_shape) == 1 else "image")
    if device.type in ("cuda", "cpu") and uses_convolutions(cfg.model):
        # channels_last: cuDNN's fastest layout, and on CPUs oneDNN's native one (no reorder
        # around each convolution: DCGAN 64x64 on 1 thread fp32 ~1.2x, bf16 ~1.05x, same
        # results up to summation order). Checkpoints store contiguous copies.
        model.to(memory_format=torch.channels_last)
    betas = tuple(cfg.betas)
    fam = family(cfg.model.kind)
    optimizers = {name: adam((getattr(model, part) if part else model).parameters(), device,
                             lr=getattr(cfg, lr), betas=betas)
                  for name, part, lr in fam.optimizers}
    scalers = {name: torch.amp.GradScaler(device.type, enabled=precision.use_scaler)
               for name in optimizers}
    ema = None
    if fam.generator is not None and cfg.ema_decay > 0:
        ema = make_ema(getattr(model, fam.generator), cfg.ema_decay)
    # faster conv weight gradients under CPU bf16 autocast (genlab.training.cpu_bf16)
    fast_convolutions = (device.type == "cpu" and precision.dtype == torch.bfloat16
                         and not cfg.compile)
    units = fam.units(model, precision, device, fast_convolutions)
    generators = {"noise": make_generator(device, cfg.seed * 1000 + 1),
                  "penalty": make_generator(device, cfg.seed * 1000 + 2)}
    sampler = EpochSampler(len(ds), cfg.batch_size, cfg.seed, drop_last=True, rank=rank,
                           world_size=world_size)
    return TrainState(cfg, model, device, precision, optimizers, scalers, generators, sampler,
                      units, ema, cpu_bf16=fast_convolutions)


def compile_model(model: torch.nn.Module, cfg: TrainConfig) -> None:
    """torch.compile the forward methods in place (the state_dict keys stay the same, so
    checkpoints do not depend on --compile); which ones is the family's choice."""
    family(cfg.model.kind).compile(model, cfg)


def adam(params, device: torch.device, **kw) -> torch.optim.Optimizer:
    """Adam with the fused kernel (one pass over all parameters) where this torch has it for
    `device`, else the multi-tensor (foreach) one: the same update, fewer kernel launches."""
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=device.type in ("cuda", "cpu"), **kw)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, **kw)


# ------------------------------------------------------------------ checkpoint <-> state

def state_to_checkpoint(state: TrainState, normalizer) -> tuple[dict, dict]:
    tensors: dict[str, torch.Tensor] = {}
    checkpoints.module_tensors("model", state.model, tensors)
    if state.ema is not None:
        checkpoints.module_tensors("ema", state.ema, tensors)
    optim = {name: checkpoints.optimizer_to_flat(f"optim/{name}", opt, tensors)
             for name, opt in state.optimizers.items()}
    meta = {
        "kind": state.cfg.model.kind,
        "config": state.cfg.to_dict(),
        "normalizer": normalizer.to_dict(),
        "optimizers": optim,
        "scalers": {name: s.state_dict() for name, s in state.scalers.items()},
        "sampler": state.sampler.state_dict(),
        "rng": checkpoints.rng_state(state.generators, tensors),
        "ema": state.ema is not None,
    }
    return tensors, meta


def load_checkpoint_into(state: TrainState, meta: dict, tensors: dict) -> None:
    state.model.load_state_dict(checkpoints.module_state("model", tensors))
    if state.ema is not None:
        state.ema.load_state_dict(checkpoints.module_state("ema", tensors))
    for name, opt in state.optimizers.items():
        checkpoints.optimizer_from_flat(f"optim/{name}", meta["optimizers"][name], tensors, opt)
    for name, scaler in state.scalers.items():
        if meta["scalers"].get(name):
            scaler.load_state_dict(meta["scalers"][name])
    state.sampler.load_state_dict(meta["sampler"])
    checkpoints.set_rng_state(meta["rng"], tensors, state.generators)
    state.step = int(meta["step"])


def finite_weights(state: TrainState) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in state.model.parameters())
