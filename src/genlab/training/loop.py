"""Training loops that yield metric dicts: the CLI prints them, the hub streams them.

    for event in train(cfg, "runs/vae1"):
        print(event)   # {"event": "log", "step": 100, "steps": 5000, "loss": ..., ...}

Events (every dict has `event`, `step`, `steps`):
  start       once: `config` (resolved, as a dict), `resumed_from` (step or None)
  log         every `log_every` steps: means of the losses since the last log, `epoch`, `lr`
  sample      a sample grid (images) or scatter (points) was written: `path`
  checkpoint  a checkpoint was written: `path`
  done        the run finished: `seconds`, `path` (the run folder)

The run folder: config.json, metrics.jsonl, samples/step_XXXXXXX.png, checkpoints/ (see
genlab.training.checkpoints). Only rank 0 writes files. One step of the loop is
`advance(state, next_batch)`: the learning rates of the step, the family's step function
(genlab.training.steps.FAMILIES), the step count; `genlab bench` times that same call.

Several processes: under `torchrun` (WORLD_SIZE > 1) `train()` joins the process group itself
and trains with DistributedDataParallel (genlab.training.distributed: gloo on CPUs, nccl on
GPUs, each rank a slice of every global batch, logged losses averaged over ranks); a DDP step equals a
single-process step on the same global batch for models without BatchNorm (tests/
test_distributed.py). Resuming works the same way: every rank loads the latest checkpoint.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from genlab.config import TrainConfig, resolve
from genlab.devices import choose_device, make_deterministic, seed_everything
from genlab.errors import GenlabError
from genlab.training import checkpoints, distributed
from genlab.training.atomic import WriteError, atomic_write_json, write_error
from genlab.training.run_folder import (
    empty_folder,
    prepare_folder,
    resume_config,
    stored_config,
    truncate_metrics,
)
from genlab.training.state import (
    TrainState,
    build_state,
    compile_model,
    finite_weights,
    load_checkpoint_into,
    state_to_checkpoint,
)
from genlab.training.steps import NextBatch, family, normalization_target

KEEP_CHECKPOINTS = 3
SAMPLE_COUNT = 64  # images in a sample grid
SCATTER_COUNT = 2500  # generated points in a scatter (the PacGAN protocol's count)
PRE_ENCODE_BYTES = 1 << 30  # normalize the training set once when its float32 copy fits

log = logging.getLogger("genlab.train")  # the CLI prints its records as `genlab: ...` lines


class TrainingDiverged(GenlabError):
    """A loss or a weight became nan/inf; the last good checkpoint is kept."""

    exit_code = 3


def batch_source(ds, norm, state: TrainState) -> Callable[[], tuple[torch.Tensor, Any]]:
    """`next_batch()` -> (x, y) for the loop: the batch `state.sampler` names, gathered from the
    in-memory training set with one index_select (no per-item Python work) and normalized.

    Unless batches are binarized afresh as drawn (data.binarize "dynamic"), the whole set is
    normalized once up front when its float32 copy fits in PRE_ENCODE_BYTES: the same
    arithmetic per element, so the same values, and each step is a single gather."""
    from genlab.data import batch_binarizer

    cfg, device = state.cfg, state.device
    x_all = ds.x.to(device)
    y_all = ds.y.to(device) if (ds.y is not None and cfg.model.num_classes > 0) else None
    binarize = batch_binarizer(cfg.data.binarize, state.sampler, cfg.seed)  # dynamic, else id
    encoded = cfg.data.binarize != "dynamic" and x_all.numel() * 4 <= PRE_ENCODE_BYTES
    if encoded:  # in cache-sized slices: ~3x faster than one pass with full-size temporaries
        out = torch.empty(x_all.shape, dtype=torch.float32, device=device)
        for i in range(0, len(x_all), 1024):
            out[i:i + 1024] = norm.encode(x_all[i:i + 1024])
        x_all = out

    def next_batch():
        idx = state.sampler.next_batch().to(device)
        x = x_all.index_select(0, idx)
        return (x if encoded else norm.encode(binarize(x))), \
            (None if y_all is None else y_all.index_select(0, idx))

    return next_batch


def load_training_data(cfg: TrainConfig, split: str = "train"):
    """The training split, resized (--image-size) and without the held-out class by the data
    module itself, so a folder of images is resized once from its originals. `split="test"`:
    the test split read with the same options (the hub's labs show a run's test examples)."""
    from genlab.data import load_dataset

    folder = {"strict": True} if cfg.data.strict else {}  # options of image folders only
    if cfg.data.test_fraction is not None:
        folder["test_fraction"] = cfg.data.test_fraction
    return load_dataset(cfg.data.name, split=split, data_dir=cfg.data.data_dir,
                        download=cfg.data.download, image_size=cfg.data.image_size,
                        holdout_class=cfg.data.holdout_class, binarize=cfg.data.binarize,
                        **folder)


def learning_rate(cfg: TrainConfig, base: float, step: int) -> float:
    """Constant, then (lr_decay_start < 1) linear decay to 0 over the last part of training.
    A pure function of the step, so there is no scheduler state to save."""
    start = cfg.lr_decay_start if cfg.lr_decay_start is not None else 1.0
    if start >= 1.0:
        return base
    begin = start * cfg.steps
    if step < begin:
        return base
    return base * max(0.0, (cfg.steps - step) / max(1.0, cfg.steps - begin))


def advance(state: TrainState, next_batch: NextBatch) -> dict[str, torch.Tensor]:
    """One training step, the loop body of `train` and of `genlab bench`: set this step's
    learning rates, run the family's step (it draws its batches from `next_batch()`), count
    it. Returns the step's metrics as detached 0-d tensors."""
    cfg = state.cfg
    fam = family(cfg.model.kind)
    for name, _, lr_field in fam.optimizers:
        lr = learning_rate(cfg, getattr(cfg, lr_field), state.step)
        for group in state.optimizers[name].param_groups:
            group["lr"] = lr
    values = fam.step(state, next_batch)
    state.step += 1
    return values


# ------------------------------------------------------------------ the loop

def train(cfg: TrainConfig | None, out_dir: str | Path, resume: bool = False, force: bool = False,
          overrides: dict[str, Any] | None = None, rank: int = 0,
          world_size: int = 1) -> Iterator[dict[str, Any]]:
    """Train `cfg` into `out_dir`, yielding metric dicts.

    With `resume`, continue the run in `out_dir` from its latest checkpoint with its stored
    config; `overrides` ({"steps": 20000}, {"data.data_dir": ...}) may change only
    RESUMABLE_FIELDS, any other value that differs from the stored one is an error. A `cfg`
    given with `resume` is checked the same way on its non-None fields."""
    out = Path(out_dir)
    own_group = world_size == 1 and distributed.env_world_size() > 1  # started by torchrun
    if own_group:
        device_name = (cfg.device if cfg is not None else (overrides or {}).get("device", "auto"))
        ctx, device_name = distributed.setup(device_name)
    else:
        ctx, device_name = distributed.DistContext(rank, world_size), None
    finished = False
    try:
        yield from _train(cfg, out, resume, force, overrides, ctx, device_name)
        finished = True
    finally:
        if own_group:
            distributed.teardown(wait_for_peers=finished)


def _train(cfg, out: Path, resume: bool, force: bool, overrides, ctx,
           device_name: str | None) -> Iterator[dict[str, Any]]:
    rank, world_size = ctx.rank, ctx.world_size
    writer = rank == 0
    if cfg is not None:
        cfg.validate()  # a bad value is refused before anything is written
    meta = tensors = None
    failure = None
    to_empty = False  # --force empties the folder once the run is set up, not before
    if writer:
        try:
            to_empty = prepare_folder(out, resume, force)
        except GenlabError as e:
            failure = e
    failed = distributed.broadcast_object(ctx, None if failure is None else str(failure))
    if failure is not None:
        raise failure
    if failed is not None:  # rank 0 refused the folder: every rank stops with its reason
        raise GenlabError(failed)
    if resume:
        found = checkpoints.load_newest_intact(out)
        if found is None:  # killed before its first checkpoint: nothing to lose, start over
            if writer:
                log.warning(f"{str(out)!r} has no checkpoint yet (the run stopped before its "
                            "first one): starting it at step 0")
            cfg = resume_config(stored_config(out, cfg, overrides or {}), cfg,
                                overrides or {})
        else:
            meta, tensors, passed_over = found
            if passed_over and writer:
                names = ", ".join(name for name, _ in passed_over)
                log.warning(f"passed over {names}: {passed_over[0][1]}; resuming from "
                            f"{checkpoints.step_name(meta['step'])} instead")
            try:
                stored = TrainConfig.from_dict(meta["config"])
            except (KeyError, TypeError, ValueError) as e:
                raise GenlabError(f"cannot resume from {_checkpoint_text(out, meta)}: its "
                                  f"config is incomplete ({e})") from None
            cfg = resume_config(stored, cfg, overrides or {})
    elif cfg is None:
        raise GenlabError("train() needs a config for a new run")
    elif overrides:
        raise GenlabError("overrides apply to a resumed run only")

    device = choose_device(device_name or cfg.device)
    if cfg.deterministic:
        make_deterministic()
    seed_everything(cfg.seed)
    ds = load_training_data(cfg)
    cfg = resolve(cfg, ds.kind, ds.example_shape, ds.num_classes, len(ds))
    from genlab.data import Normalizer, normalizer_for

    norm = normalizer_for(ds, normalization_target(cfg, ds.kind))
    if meta is not None:
        norm = Normalizer.from_dict(meta["normalizer"])
    resumed_from = None
    if meta is None:
        state = build_state(cfg, ds, device, rank, world_size)
    else:
        try:
            state = build_state(cfg, ds, device, rank, world_size)
            load_checkpoint_into(state, meta, tensors)
        except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as e:
            # a hand-edited checkpoint JSON: its config no longer describes its tensors
            raise GenlabError(f"cannot resume from {_checkpoint_text(out, meta)}: its tensors "
                              f"do not fit the model its config describes "
                              f"({checkpoints.first_line(e)})") from None
        resumed_from = state.step
        del tensors
    distributed.attach(state, ctx)  # DDP wrappers (after resume: all ranks hold its weights)
    if cfg.compile:
        compile_model(state.model, cfg)

    metrics_path = out / "metrics.jsonl"
    if writer:
        if to_empty:
            empty_folder(out)
        atomic_write_json(out / "config.json", cfg.to_dict())
        if resume:
            truncate_metrics(metrics_path, state.step)
    tb = _tensorboard(out) if writer else None
    fixed = fixed_inputs(cfg, device)
    yield {"event": "start", "step": state.step, "steps": cfg.steps, "config": cfg.to_dict(),
           "resumed_from": resumed_from, "device": str(device), "precision": state.precision.name,
           "dataset_size": len(ds)}
    next_batch = batch_source(ds, norm, state)  # after "start": its time counts as training

    lr_shown = family(cfg.model.kind).optimizers[-1][0]  # the generator's, or the model's
    last_good = (meta or {}).get("tensors")
    window: list[dict[str, torch.Tensor]] = []
    started = time.perf_counter()
    try:
        metrics_file = open(metrics_path, "a") if writer else None
    except OSError as e:
        raise write_error(metrics_path, e) from None
    try:
        while state.step < cfg.steps:
            window.append(advance(state, next_batch))
            step = state.step
            at_end = step == cfg.steps
            if step % cfg.log_every == 0 or at_end or step % cfg.checkpoint_every == 0:
                record = _summarize(window, step - len(window) + 1, last_good, ctx)
                window = []
                record.update(step=step, steps=cfg.steps, epoch=round(state.sampler.epochs_done, 4),
                              lr=state.optimizers[lr_shown].param_groups[0]["lr"],
                              seconds=round(time.perf_counter() - started, 3))
                if writer:
                    try:
                        metrics_file.write(json.dumps(record) + "\n")
                        metrics_file.flush()
                    except OSError as e:
                        raise write_error(metrics_path, e) from None
                    if tb is not None:
                        for k, v in record.items():
                            if isinstance(v, float) and k not in ("seconds",):
                                tb.add_scalar(k, v, step)
                yield {"event": "log", **record}
            if writer and (step % cfg.sample_every == 0 or at_end):
                path = write_samples(state, norm, ds, fixed, out / "samples" / f"step_{step:07d}.png")
                yield {"event": "sample", "step": step, "steps": cfg.steps, "path": str(path)}
            if step % cfg.checkpoint_every == 0 or at_end:  # every rank checks: all stop alike
                if not finite_weights(state):
                    raise TrainingDiverged(f"a weight became nan/inf by step {step}; "
                                           f"{_last_good_text(last_good)}")
            if writer and (step % cfg.checkpoint_every == 0 or at_end):
                tensor_map, ckpt_meta = state_to_checkpoint(state, norm)
                path = checkpoints.save(out / "checkpoints", step, tensor_map, ckpt_meta,
                                        keep=KEEP_CHECKPOINTS)
                last_good = path.name
                yield {"event": "checkpoint", "step": step, "steps": cfg.steps, "path": str(path)}
    except WriteError as e:  # a full disk, say: what the user can resume from
        raise WriteError(f"{e}; {_last_good_text(last_good)}") from None
    finally:
        if metrics_file is not None:
            try:
                metrics_file.close()
            except OSError:  # the write that failed already said why
                pass
        if tb is not None:
            tb.close()
    if writer:
        atomic_write_json(out / "final.json", {"step": state.step,
                                                           "checkpoint": last_good})
    distributed.barrier(ctx)  # no rank leaves before the last checkpoint is written
    yield {"event": "done", "step": state.step, "steps": cfg.steps, "path": str(out),
           "seconds": round(time.perf_counter() - started, 3)}


def _checkpoint_text(out: Path, meta: dict) -> str:
    return repr(str(out / "checkpoints" / checkpoints.step_name(meta["step"])) + ".json")


def _last_good_text(last_good: str | None) -> str:
    if not last_good:
        return "no checkpoint was written yet"
    return f"the last good checkpoint is {last_good.removesuffix('.safetensors')}"


def _summarize(window: list[dict[str, torch.Tensor]], first_step: int,
               last_good: str | None, ctx=None) -> dict[str, Any]:
    """Means over the window; the first non-finite loss stops the run with its exact step."""
    record: dict[str, Any] = {}
    for key in window[0]:
        values = torch.stack([w[key].float() for w in window])  # (n,)
        if ctx is not None and ctx.enabled:  # the mean over ranks (each logs its local batch)
            values = distributed.all_mean(ctx, values.to(window[0]["loss_d" if "loss_d" in window[0]
                                                       else "loss"].device))
        values = values.cpu()  # one sync
        bad = ~torch.isfinite(values)
        if bad.any() and key != "beta":
            i = int(bad.nonzero()[0])
            what = "nan" if math.isnan(float(values[i])) else "inf"
            raise TrainingDiverged(f"{key} became {what} at step {first_step + i}; "
                                   f"{_last_good_text(last_good)}")
        record[key] = float(values.mean())
    return record


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(out / "tensorboard"))


def fixed_inputs(cfg: TrainConfig, device: torch.device) -> dict[str, torch.Tensor]:
    """The same latent vectors (and classes) for every sample grid of a run: progress shows."""
    gen = torch.Generator().manual_seed(cfg.seed + 12345)  # never touches the training streams
    n = SCATTER_COUNT if len(cfg.model.data_shape) == 1 else SAMPLE_COUNT
    z = torch.randn(n, cfg.model.latent_dim, generator=gen).to(device)
    k = cfg.model.num_classes
    y = (torch.arange(n) % k).to(device) if k > 0 else None
    return {"z": z, "y": y}


@torch.no_grad()
def write_samples(state: TrainState, norm, ds, fixed: dict, path: Path) -> Path:
    """A PNG of samples from the fixed latents: an image grid, or real-vs-generated points."""
    from genlab.operations import decode_latent

    x = decode_latent(state.model, state.ema, fixed["z"], fixed["y"], norm)
    if ds.kind == "points":
        from genlab.scatterplot import save_scatter

        real = ds.x[torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:2500]]
        return save_scatter(path, real=real.cpu(), fake=x.cpu(), modes=ds.modes)
    from genlab.imagegrid import save_image_grid

    upscale = max(1, 64 // x.shape[-1])
    k = state.cfg.model.num_classes
    return save_image_grid(x.cpu(), path, nrow=k if 0 < k <= 16 else 8, upscale=upscale)
