"""`load_run(path) -> Run`: a trained model ready to use, in one call.

    run = genlab.load_run("runs/vae1")        # latest checkpoint, EMA weights when trained with EMA
    x = genlab.sample(run, 64)                # data space: images in [0, 1], points in data coords
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genlab.config import TrainConfig
from genlab.errors import GenlabError
from genlab.training import checkpoints
from genlab.training.steps import family


@dataclass
class Run:
    path: Path | None  # None: a model as it trains (Run.from_state)
    config: TrainConfig  # the resolved config the run was trained with
    model: torch.nn.Module  # eval mode; a GAN's generator holds the EMA weights if any
    normalizer: Any  # genlab.data.Normalizer: data <-> model space
    device: torch.device
    step: int  # the checkpoint's step
    ema: bool  # True when the generator weights are the EMA average

    @classmethod
    def from_state(cls, state, normalizer) -> Run:
        """A training's model as it is now (genlab.training.state.TrainState and the
        Normalizer its batches went through): the hub's live simulations sample, encode and
        score with it. The weights are the training's own (no copy; the raw generator, not
        its EMA), left in the mode training needs; `step` is the state's at this call."""
        return cls(None, state.cfg, state.model, normalizer, state.device, state.step, False)

    @property
    def kind(self) -> str:
        return self.config.model.kind

    @property
    def dataset(self) -> str:
        return self.config.data.name

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def num_classes(self) -> int:
        return self.config.model.num_classes

    @property
    def data_kind(self) -> str:
        return "points" if len(self.config.model.data_shape) == 1 else "image"


def _read(path: str | Path, use_ema: bool):
    """(meta, tensors) of a run folder or checkpoint, or of a folder `genlab export` wrote
    (genlab.hub_layout: Hugging Face layout, weights checked against their SHA-256)."""
    from genlab import hub_layout

    if hub_layout.is_export(path):
        return hub_layout.read(path, use_ema=use_ema)
    return checkpoints.load(path)


def load_run(path: str | Path, device: str | torch.device = "cpu", use_ema: bool = True,
             kind: str | None = None) -> Run:
    """Load the latest checkpoint of run folder `path` (or a checkpoint file, or a folder
    `genlab export` wrote).

    `kind` ("vae", "gan", ...) checks the model kind; `use_ema=False` keeps the raw generator.
    """
    from genlab.data import Normalizer
    from genlab.devices import choose_device
    from genlab.models import build_model

    device = choose_device(str(device)) if not isinstance(device, torch.device) else device
    meta, tensors = _read(path, use_ema)
    try:
        cfg = TrainConfig.from_dict(meta["config"])
        norm = Normalizer.from_dict(meta["normalizer"])
    except (KeyError, TypeError, ValueError) as e:
        raise GenlabError(f"{str(path)!r}: checkpoint record is incomplete ({e})") from None
    if kind is not None and cfg.model.kind != kind:
        raise GenlabError(f"{str(path)!r} holds a {cfg.model.kind} run, not a {kind}")
    try:
        model = build_model(cfg.model)
    except (TypeError, ValueError, RuntimeError, KeyError) as e:  # a hand-edited config
        raise GenlabError(f"{str(path)!r}: the checkpoint's model config does not build a "
                          f"model ({checkpoints.first_line(e)})") from None
    try:
        model.load_state_dict(checkpoints.module_state("model", tensors))
        used_ema = False
        part = family(cfg.model.kind).generator  # the net the EMA averaged
        if use_ema and meta.get("ema") and part is not None:
            ema = checkpoints.module_state("ema", tensors)
            weights = {k[len("module."):]: v for k, v in ema.items() if k.startswith("module.")}
            getattr(model, part).load_state_dict(weights)
            used_ema = True
    except RuntimeError as e:
        raise GenlabError(f"{str(path)!r}: weights do not fit the model "
                          f"({checkpoints.first_line(e)})") from None
    model.to(device).eval()
    return Run(Path(path), cfg, model, norm, device, int(meta["step"]), used_ema)

