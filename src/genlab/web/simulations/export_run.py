"""Export a live simulation to the library (issue 13 §2): the `genlab train` command and config
that train what the simulation trains, and its current model as a run folder.

- `export_config(sim)`: the simulation's settings model says what it trains
  (schemas.py, `train_config()`; a CLI-trained run open in the lab: the run's own config,
  from_run.RunSeed.live_config, its data named as the run names it); that config,
  resolved by genlab.config.resolve exactly as the lab resolved it, with what a run of
  the library needs to train the same thing:
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

The learner's own data goes with it, and the config names it (run the command in the
unzipped folder): the playground's drawn points as `drawn_points.csv` and its uploaded ones as
`uploaded_points.csv` (`csv:...`); the image labs' uploaded images, as the lab trains on them
(28×28 grey, after the upload's resize), as PNG files under `uploaded_images/` — one
sub-folder per class, the images that had none at the top — named `folder:uploaded_images`
with image_size 28 and test_fraction 0 (the lab trains on every uploaded image).
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
UPLOADED_CSV = "uploaded_points.csv"
UPLOADED_IMAGES = "uploaded_images"


def _library():
    """The training package's writers (one place to follow it when it moves)."""
    from genlab.training import checkpoints
    from genlab.training.loop import fixed_inputs, write_samples
    from genlab.training.state import state_to_checkpoint

    return checkpoints, state_to_checkpoint, fixed_inputs, write_samples


def _drawn(sim) -> bool:
    return getattr(sim.cfg, "data", None) == "drawn"


def _uploaded(sim):
    """The uploaded Dataset `sim` trains on, or None (its own data, or none loaded yet)."""
    if getattr(sim.cfg, "data", None) != "uploaded":
        return None
    return getattr(sim, "uploaded", None)


def _own_data(sim) -> bool:
    """Whether the exported config reads data shipped beside it (drawn or uploaded)."""
    return _drawn(sim) or _uploaded(sim) is not None


def _csv(points) -> str:
    """Points as the CSV `csv:PATH` reads (repr: a float32 read back is the same float32)."""
    return "x,y\n" + "".join(f"{float(x)!r},{float(y)!r}\n" for x, y in points)


def write_uploaded_images(ds, folder: Path) -> None:
    """The uploaded images (uint8 (N, 1, H, W)) as grey PNGs under `folder`, laid out so
    that `folder:` reads back the same images and classes: one sub-folder per class, the
    images that came without one (uploads.ROOT_CLASS) directly in `folder`."""
    from PIL import Image

    from genlab.web.simulations.uploads import ROOT_CLASS

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(len(ds)):
        sub = folder
        if ds.y is not None and ds.class_names[int(ds.y[i])] != ROOT_CLASS:
            sub = folder / ds.class_names[int(ds.y[i])]
            sub.mkdir(exist_ok=True)
        Image.fromarray(ds.x[i, 0].numpy(), mode="L").save(sub / f"{i:05d}.png")


def export_config(sim) -> TrainConfig:
    """The resolved TrainConfig of the library that trains what `sim` trains (see above)."""
    live = sim.live
    if live is None:
        raise GenlabError("nothing to export yet: the simulation has no model (draw points "
                          "or fix the settings first)")
    trained = live.state.cfg  # the lab's own resolved config (or an open run's)
    seed = getattr(sim, "seed", None)  # a CLI-trained run open in the lab (from_run.py)
    cfg = sim.cfg.train_config() if seed is None else seed.live_config()
    uploaded = _uploaded(sim)
    if _drawn(sim):
        cfg.data.name = f"csv:{DRAWN_CSV}"
    elif uploaded is not None and uploaded.kind == "points":
        cfg.data.name = f"csv:{UPLOADED_CSV}"
    elif uploaded is not None:  # as the lab read them: every image, at its size
        cfg.data.name = f"folder:{UPLOADED_IMAGES}"
        cfg.data.image_size = int(uploaded.x.shape[-1])
        cfg.data.test_fraction = 0.0
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
    if _uploaded(sim) is not None:
        return _uploaded(sim)
    return load_dataset(sim.cfg.data, "train", seed=sim.cfg.seed, n_train=20_000, n_test=10)


def write_run(sim, folder: str | Path) -> TrainConfig:
    """Write `sim`'s current model as run folder `folder` (new or empty); its config."""
    checkpoints, state_to_checkpoint, fixed_inputs, write_samples = _library()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = export_config(sim)
    state = sim.live.state
    checkpoints.atomic_write_json(folder / "config.json", cfg.to_dict())
    uploaded = _uploaded(sim)
    if _drawn(sim):
        (folder / DRAWN_CSV).write_text(_csv(sim.points))
    elif uploaded is not None and uploaded.kind == "points":
        (folder / UPLOADED_CSV).write_text(_csv(uploaded.x.tolist()))
    elif uploaded is not None:
        write_uploaded_images(uploaded, folder / UPLOADED_IMAGES)
    tensors, meta = state_to_checkpoint(state, sim.norm)
    meta["config"] = cfg.to_dict()  # what a resume continues: the library's run, not the lab's
    path = checkpoints.save(folder / "checkpoints", state.step, tensors, meta, keep=1)
    checkpoints.atomic_write_json(folder / "final.json", {"step": state.step,
                                                          "checkpoint": path.name})
    with evaluating(state.model):
        write_samples(state, sim.norm, _sample_dataset(sim), fixed_inputs(cfg, torch.device("cpu")),
                      folder / "samples" / f"step_{state.step:07d}.png")
    return cfg


def command(kind: str, config_name: str, own_data: bool = False) -> str:
    """The shell command that trains the exported config with the library."""
    run = f"runs/{kind}"
    if own_data:  # the config reads the points or images next to it
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
            "command": command(kind, config_name, own_data=_own_data(sim))}
    return encode_frame(KIND_REPLY, step, meta, {"zip": np.frombuffer(data, dtype=np.uint8)})
