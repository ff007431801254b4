"""Export a live simulation to the library (issue 13 §2): the `genlab train` command and config
that train what the simulation trains, and its current model as a run folder.

- `export_config(sim)`: the simulation's settings model says what it trains
  (schemas.py, `train_config()`); that config, resolved by genlab.config.resolve exactly as
  the lab resolved it, with what a run of the library needs to train the same thing:
      steps           the steps the lab has taken (at least 1): the command trains as far
      lr_decay_start  1.0, as train_config() says: the lab holds its learning rates
                      constant (the library's default for 2-D GANs decays them over the
                      second half)
      precision       fp32, as the lab trains
      batch_size      the one the lab trains with (at most its data)
  and serialized with TrainConfig.to_dict — the config.json of a run folder.
- `write_run(sim, folder)`: the run folder — config.json, one checkpoint written by the
  trainer's own writer (training.state.state_to_checkpoint + training.checkpoints.save:
  safetensors with its SHA-256, latest.json), final.json and a sample image
  (training.loop.write_samples), so `genlab.load_run`, `genlab sample` and
  `genlab train --resume` accept it.
- `export_frame(sim, kind)`: the worker's reply to {"type": "export"}: a reply frame whose
  meta holds the config, its file name and the command, and whose array `zip` holds the run
  folder zipped (built in a temporary folder, removed before the reply leaves: nothing stays
  on disk).

The playground's drawn points go with it as `drawn_points.csv` (the config names
`csv:drawn_points.csv`: run the command in the unzipped folder).
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

from genlab.config import TrainConfig, resolve
from genlab.errors import GenlabError
from genlab.models import evaluating
from genlab.web.simulations.frames import KIND_REPLY, encode_frame

DRAWN_CSV = "drawn_points.csv"


def _library():
    """The training package's writers (one place to follow it when it moves)."""
    from genlab.training import checkpoints
    from genlab.training.loop import fixed_inputs, write_samples
    from genlab.training.state import state_to_checkpoint

    return checkpoints, state_to_checkpoint, fixed_inputs, write_samples


def _drawn(sim) -> bool:
    return getattr(sim.cfg, "data", None) == "drawn"


def export_config(sim) -> TrainConfig:
    """The resolved TrainConfig of the library that trains what `sim` trains (see above)."""
    live = sim.live
    if live is None:
        raise GenlabError("nothing to export yet: the simulation has no model (draw points "
                          "or fix the settings first)")
    trained = live.state.cfg  # the lab's own resolved config
    cfg = sim.cfg.train_config()
    if _drawn(sim):
        cfg.data.name = f"csv:{DRAWN_CSV}"
    cfg.steps = max(1, live.step)
    cfg.epochs = None
    cfg.precision = "fp32"
    cfg.batch_size = trained.batch_size
    shape = tuple(trained.model.data_shape)
    return resolve(cfg, "points" if len(shape) == 1 else "image", shape,
                   num_classes=trained.model.num_classes)


def _sample_dataset(sim):
    """The data the sample image shows beside the model's samples (points) or its kind."""
    ds = getattr(sim, "train", None)
    if ds is not None:
        return ds
    from genlab.data import load_dataset, points_dataset

    if _drawn(sim):
        return points_dataset(sim.points)
    return load_dataset(sim.cfg.data, "train", seed=sim.cfg.seed, n_train=20_000, n_test=10)


def write_run(sim, folder: str | Path) -> TrainConfig:
    """Write `sim`'s current model as run folder `folder` (new or empty); its config."""
    checkpoints, state_to_checkpoint, fixed_inputs, write_samples = _library()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = export_config(sim)
    state = sim.live.state
    checkpoints.atomic_write_json(folder / "config.json", cfg.to_dict())
    if _drawn(sim):
        text = "".join(f"{x!r},{y!r}\n" for x, y in sim.points)
        (folder / DRAWN_CSV).write_text("x,y\n" + text)
    tensors, meta = state_to_checkpoint(state, sim.norm)
    meta["config"] = cfg.to_dict()  # what a resume continues: the library's run, not the lab's
    path = checkpoints.save(folder / "checkpoints", state.step, tensors, meta, keep=1)
    checkpoints.atomic_write_json(folder / "final.json", {"step": state.step,
                                                          "checkpoint": path.name})
    with evaluating(state.model):
        write_samples(state, sim.norm, _sample_dataset(sim), fixed_inputs(cfg, torch.device("cpu")),
                      folder / "samples" / f"step_{state.step:07d}.png")
    return cfg


def command(kind: str, config_name: str, drawn: bool = False) -> str:
    """The shell command that trains the exported config with the library."""
    run = f"runs/{kind}"
    if drawn:  # the config reads the points next to it
        return f"cd genlab-{kind} && genlab train --config config.json --out {run}"
    return f"genlab train --config {config_name} --out {run}"


def export_zip(sim, kind: str) -> tuple[bytes, TrainConfig, str]:
    """The run folder of `sim` (simulation `kind`: gan2d, vae, ...) zipped (top folder
    `genlab-KIND`), its config, that folder's name."""
    name = f"genlab-{kind}"
    with tempfile.TemporaryDirectory(prefix="genlab-export-") as tmp:
        root = Path(tmp) / name
        cfg = write_run(sim, root)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    zf.write(path, f"{name}/{path.relative_to(root).as_posix()}")
    return buffer.getvalue(), cfg, name


def export_frame(sim, kind: str) -> bytes:
    """The reply to {"type": "export"}: meta {reply, kind, step, config, config_name, command,
    zip_name}, array `zip` (uint8: the zipped run folder)."""
    data, cfg, name = export_zip(sim, kind)
    config_name = f"genlab-{kind}.json"
    step = sim.live.step
    meta = {"reply": "export", "kind": kind, "step": step, "config": cfg.to_dict(),
            "config_name": config_name, "zip_name": f"{name}-step{step}.zip",
            "command": command(kind, config_name, drawn=_drawn(sim))}
    return encode_frame(KIND_REPLY, step, meta, {"zip": np.frombuffer(data, dtype=np.uint8)})
