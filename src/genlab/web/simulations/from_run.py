"""A CLI-trained run seeding a lab's live simulation (issue 13 §3: `genlab serve --run RUN`).

The server keeps the list of runs it may open (genlab.web.runs_browser.RunList, from --run /
--runs); a page names a run by its index in that list (`{"type": "config", ..., "run": id}`,
schemas.ConfigMsg), never by a path. The worker (worker.py) is handed the path and the lab
(vae.py, gan2d.py, dcgan.py) builds its simulation from the run instead of from its settings:

    read(lab, path)          genlab.load_run reads the run (model built from its resolved
                             config by the library, weights verified); refused in one line
                             when the run does not fit `lab` (which lab it fits, or why none)
    RunSeed.dataset(split)   the run's own data, read by the trainer's loader with the run's
                             options (training.loop.load_training_data)
    RunSeed.training_state   the trainer's TrainState (training.state.build_state) of the
                             run's config, holding the run's weights — and, from a run folder,
                             its optimizers, EMA, sampler and random streams as `--resume`
                             restores them (training.state.load_checkpoint_into), so Play
                             continues training where the run stopped.

The copy lives in the worker's memory only: the run folder is read, never written.
# DEVIATION: a lab trains open-ended at the run's base learning rates (lr_decay_start 1), as
# the labs' own models do; a run whose schedule decayed them continues at the base rates.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.config import TrainConfig
from genlab.errors import GenlabError

LAB_TITLES = {"vae": "VAE lab", "gan2d": "GAN playground", "dcgan": "DCGAN lab"}
OPEN_ENDED = 10**9  # steps of the copy's config: the learner stops it


def lab_of(kind: str, data_shape) -> str:
    """The lab a model of `kind` on examples of `data_shape` opens in."""
    if kind in ("ae", "vae"):
        return "vae"
    return "gan2d" if len(tuple(data_shape)) == 1 else "dcgan"


def misfit(lab: str, cfg: TrainConfig) -> str | None:
    """Why a run of `cfg` cannot open in `lab` (one line's end), or None when it can."""
    right = lab_of(cfg.model.kind, cfg.model.data_shape)
    if right != lab:
        return f"a {cfg.model.kind} on {cfg.data.name} opens in the {LAB_TITLES[right]}"
    if cfg.model.num_classes:
        return ("a conditional model: the labs draw unconditional samples (try genlab sample "
                "--label)")
    shape = tuple(cfg.model.data_shape)
    if len(shape) == 3 and shape[0] not in (1, 3):
        return f"images of {shape[0]} channels: the labs draw grey or RGB images"
    if lab == "vae" and (cfg.model.latent_dim or 0) < 2:
        return "one latent dimension: the latent map needs two"
    return None


@dataclass
class RunSeed:
    """A run read to seed a lab: `run` (genlab.runs.Run, from genlab.load_run), its name."""

    path: Path
    run: Any
    has_checkpoint: bool  # a run folder (full state), not a `genlab export` (weights only)

    @property
    def name(self) -> str:
        return self.path.name

    def live_config(self) -> TrainConfig:
        """The run's resolved config as the lab trains it: CPU, fp32, open-ended, constant
        learning rates (see DEVIATION above)."""
        cfg = copy.deepcopy(self.run.config)
        cfg.steps, cfg.epochs, cfg.lr_decay_start = OPEN_ENDED, None, 1.0
        cfg.precision, cfg.device, cfg.compile = "fp32", "cpu", False
        return cfg

    def dataset(self, split: str = "train"):
        """The run's data (`split`), read as the trainer reads it; one line if it cannot."""
        from genlab.training.loop import load_training_data

        try:
            return load_training_data(self.run.config, split=split)
        except GenlabError as e:
            raise GenlabError(f"run {self.name}: its data {self.run.dataset!r} cannot be read "
                              f"here ({e})") from None

    def training_state(self, ds):
        """The trainer's state of the run's config on `ds`, holding the run's weights (and,
        from a run folder, the rest of its checkpoint), in this process's memory."""
        import torch

        from genlab.training import checkpoints
        from genlab.training.state import build_state, load_checkpoint_into

        state = build_state(self.live_config(), ds, torch.device("cpu"))
        if self.has_checkpoint:  # exactly what --resume restores
            meta, tensors = checkpoints.load(self.path)
            load_checkpoint_into(state, meta, tensors)
        else:  # a `genlab export`: its weights, fresh optimizers
            state.model.load_state_dict(self.run.model.state_dict())
            state.step = self.run.step
        return state

    def describe(self) -> dict[str, Any]:
        """What the page shows of the run: its name, kind, data and settings (read-only)."""
        from genlab.models import uses_convolutions

        cfg = self.run.config
        m = cfg.model
        conv = uses_convolutions(m)
        settings = [["model", m.kind], ["data", cfg.data.name],
                    ["data shape", "×".join(str(s) for s in m.data_shape)],
                    ["latent dim", m.latent_dim], ["architecture", "conv" if conv else "mlp"]]
        for label, value in (("width", None if conv else m.hidden_dim),
                             ("depth", None if conv else m.depth),
                             ("filters", m.filters if conv else None),
                             ("loss", cfg.loss if m.kind in ("gan", "dcgan") else None),
                             ("β", cfg.beta if m.kind == "vae" else None),
                             ("binarize", None if cfg.data.binarize == "none" else cfg.data.binarize),
                             ("spectral norm", m.spectral_norm or None),
                             ("pack", m.pack if m.pack > 1 else None),
                             ("learning rate", cfg.lr), ("batch", cfg.batch_size)):
            if value is not None:
                settings.append([label, value])
        return {"name": self.name, "kind": m.kind, "data": cfg.data.name,
                "step": self.run.step, "latent_dim": m.latent_dim, "settings": settings,
                "export": not self.has_checkpoint}


def read(lab: str, path: str | Path) -> RunSeed:
    """Read run `path` for `lab` (genlab.load_run: the raw weights, not an EMA average, since
    the lab trains them on); a run that does not fit the lab is one line saying why."""
    import genlab
    from genlab.hub_layout import is_export

    path = Path(path)
    run = genlab.load_run(path, use_ema=False)
    reason = misfit(lab, run.config)
    if reason is not None:
        raise GenlabError(f"run {path.name} does not open in the {LAB_TITLES[lab]}: {reason}")
    return RunSeed(path, run, has_checkpoint=not is_export(path))
