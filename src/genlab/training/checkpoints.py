"""Checkpoints: tensors in safetensors, everything else in JSON. No pickle anywhere.

A checkpoint is a pair in `RUN/checkpoints/`:
  step_0001000.safetensors   every tensor: weights, EMA, optimizer moments, RNG states
  step_0001000.json          step, config, normalizer, scalars, and the name of its tensor file
and `latest.json`, a copy of the newest JSON. The tensor file is written first and the JSON
last, each atomically (temp file in the same folder, fsync, os.replace), so a kill at any
moment leaves `latest.json` naming a complete tensor file. The last `keep` pairs are kept.

The JSON records the SHA-256 of its tensor file (`sha256`); `load` verifies it, so flipped
bytes are refused instead of resumed from, and refuses weights that are not finite (training
never saves them). Checkpoints written before the digest existed load unverified.
`load_newest_intact` is what `--resume` reads: the newest checkpoint that loads, and the
ones it had to pass over.

Tensor keys are paths: `model/generator.net.0.weight`, `ema/module.net.0.weight`,
`optim/g/state/3/exp_avg`, `rng/torch_cpu`, `rng/gen/noise`, ...
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.training.atomic import atomic_write_bytes, atomic_write_json, remove_temp_files

FORMAT = "genlab-checkpoint-1"
LATEST = "latest.json"
_STEP_FILE = re.compile(r"^step_(\d{7,})\.json$")


# ---------------------------------------------------------------- state <-> (tensors, json)

def _cpu(t: torch.Tensor) -> torch.Tensor:
    # clone: safetensors refuses tensors that share storage (tied weights, views)
    return t.detach().to("cpu", copy=True).contiguous()


def optimizer_to_flat(prefix: str, optimizer: torch.optim.Optimizer,
                      tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Put every tensor of `optimizer.state_dict()` into `tensors` under `prefix/state/i/k`;
    return the rest (param groups, non-tensor state) for the JSON."""
    sd = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for index, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}/state/{index}/{key}"] = _cpu(value)
            else:
                scalars.setdefault(str(index), {})[key] = value
    return {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_flat(prefix: str, meta: dict[str, Any], tensors: dict[str, torch.Tensor],
                        optimizer: torch.optim.Optimizer) -> None:
    state: dict[int, dict[str, Any]] = {}
    head = f"{prefix}/state/"
    for key, value in tensors.items():
        if key.startswith(head):
            index, name = key[len(head):].split("/", 1)
            state.setdefault(int(index), {})[name] = value
    for index, scalars in meta.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(scalars)
    groups = [{k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
              for g in meta["param_groups"]]  # JSON turned tuples (betas) into lists
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    # Checkpoints store contiguous copies; a channels_last parameter's moments must take its
    # layout again: the fused Adam kernel walks a parameter and its moments as flat memory,
    # so mismatched strides would pair each weight with another weight's moments.
    for group in optimizer.param_groups:
        for p in group["params"]:
            for name, value in optimizer.state.get(p, {}).items():
                if (isinstance(value, torch.Tensor) and value.shape == p.shape
                        and value.stride() != p.stride()):
                    optimizer.state[p][name] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def rng_state(generators: dict[str, torch.Generator],
              tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Every random stream: torch CPU + CUDA, the trainer's generators, python, numpy."""
    tensors["rng/torch_cpu"] = _cpu(torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = _cpu(s)
    for name, gen in generators.items():
        tensors[f"rng/gen/{name}"] = _cpu(gen.get_state())
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    return {
        "python": [version, list(internal), gauss],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]),
                  float(np_state[4])],
    }


def set_rng_state(meta: dict[str, Any], tensors: dict[str, torch.Tensor],
                  generators: dict[str, torch.Generator]) -> None:
    torch.set_rng_state(tensors["rng/torch_cpu"])
    cuda = sorted((int(k.rsplit("/", 1)[1]), v) for k, v in tensors.items()
                  if k.startswith("rng/cuda/"))
    if cuda and torch.cuda.is_available():
        for i, s in cuda[: torch.cuda.device_count()]:
            torch.cuda.set_rng_state(s, i)
    for name, gen in generators.items():
        key = f"rng/gen/{name}"
        if key not in tensors:
            raise GenlabError(f"checkpoint has no random stream {name!r}")
        gen.set_state(tensors[key].to(gen.get_state().device))
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


def module_tensors(prefix: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    for key, value in module.state_dict().items():
        tensors[f"{prefix}/{key}"] = _cpu(value)


def module_state(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    head = prefix + "/"
    return {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}


# ---------------------------------------------------------------- files

def step_name(step: int) -> str:
    return f"step_{step:07d}"


def save(folder: str | Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
         keep: int = 3) -> Path:
    """Write one checkpoint pair, then point `latest.json` at it, then prune old pairs."""
    from safetensors.torch import save as st_save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = step_name(step)
    tensor_file = name + ".safetensors"
    data = st_save(tensors, metadata={"format": FORMAT})
    atomic_write_bytes(folder / tensor_file, data)
    meta = dict(meta, format=FORMAT, step=step, tensors=tensor_file,
                sha256=hashlib.sha256(data).hexdigest())
    atomic_write_json(folder / (name + ".json"), meta)
    atomic_write_json(folder / LATEST, meta)  # written last: names a complete tensor file
    prune(folder, keep)
    return folder / tensor_file


def prune(folder: Path, keep: int) -> None:
    """Delete all but the newest `keep` numbered pairs (never the one latest.json names)."""
    latest = None
    if (folder / LATEST).exists():
        try:
            latest = json.loads((folder / LATEST).read_text())["tensors"]
        except (ValueError, KeyError):
            latest = None
    steps = sorted(int(m.group(1)) for p in folder.iterdir() if (m := _STEP_FILE.match(p.name)))
    for step in steps[: max(0, len(steps) - keep)]:
        name = step_name(step)
        if latest == name + ".safetensors":
            continue
        for suffix in (".json", ".safetensors"):
            try:
                (folder / (name + suffix)).unlink()
            except FileNotFoundError:
                pass
    remove_temp_files(folder)  # temp files of a write that a kill interrupted


def read_meta(path: str | Path) -> tuple[dict[str, Any], Path]:
    """`path`: a run folder, its checkpoints folder, or a checkpoint .json/.safetensors file.
    Returns (meta, tensor file path)."""
    path = Path(path)
    if not path.exists():
        raise GenlabError(f"no such run or checkpoint: {str(path)!r}")
    if path.is_dir():
        folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        json_path = folder / LATEST
        if not json_path.exists():
            raise GenlabError(f"{str(path)!r} holds no checkpoint (no {LATEST}); "
                              "is it a genlab run folder?")
    elif path.suffix == ".safetensors":
        json_path = path.with_suffix(".json")
    else:
        json_path = path
    try:
        meta = json.loads(json_path.read_text())
    except (OSError, ValueError) as e:
        raise GenlabError(f"cannot read checkpoint {str(json_path)!r}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise GenlabError(f"{str(json_path)!r} is not a genlab checkpoint")
    check_meta(meta, json_path)
    return meta, json_path.parent / meta["tensors"]


def check_meta(meta: dict[str, Any], json_path: Path) -> None:
    """The fields every reader relies on, with the types it relies on (a hand-edited JSON
    fails here, in one line, instead of deep inside a loader)."""
    def bad(field: str, wanted: str):
        return GenlabError(f"checkpoint {str(json_path)!r}: {field!r} must be {wanted}, "
                           f"got {meta.get(field)!r}")

    step = meta.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise bad("step", "a whole number >= 0")
    tensors = meta.get("tensors")
    if not isinstance(tensors, str) or not tensors or Path(tensors).name != tensors:
        raise bad("tensors", "the name of a file beside it")
    for field in ("config", "normalizer"):
        if field in meta and not isinstance(meta[field], dict):
            raise bad(field, "an object")
    digest = meta.get("sha256")
    if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}",
                                                                            digest)):
        raise bad("sha256", "64 hexadecimal digits")


def load(path: str | Path, device: str | torch.device = "cpu"
         ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a checkpoint: (meta, tensors). Errors a user can cause become GenlabError."""
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    meta, tensor_path = read_meta(path)
    try:
        data = tensor_path.read_bytes()
    except OSError as e:
        raise GenlabError(f"cannot read checkpoint tensors {str(tensor_path)!r}: "
                          f"{e.strerror or e}") from None
    if meta.get("sha256") is not None and hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise GenlabError(f"cannot read checkpoint tensors {str(tensor_path)!r}: they are "
                          "corrupt (their SHA-256 differs from the one recorded with them)")
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise GenlabError(f"cannot read checkpoint tensors {str(tensor_path)!r}: "
                          f"{' '.join(str(e).split())}") from None
    del data
    for key, value in tensors.items():  # training never saves these: the file was altered
        if key.startswith(("model/", "ema/")) and value.is_floating_point() \
                and not bool(torch.isfinite(value).all()):
            raise GenlabError(f"checkpoint tensors {str(tensor_path)!r} hold non-finite "
                              f"weights (nan/inf in {key})")
    if str(device) != "cpu":
        tensors = {k: v.to(device) for k, v in tensors.items()}
    return meta, tensors


def first_line(e: Exception) -> str:
    """The informative line of a torch loading error (load_state_dict lists every mismatch
    under a header line), for a one-line message."""
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("Error(s) in loading state_dict"):
        return lines[1]
    return lines[0] if lines else type(e).__name__


def step_files(folder: Path) -> list[Path]:
    """The numbered checkpoint JSONs in `folder`, newest first."""
    try:
        found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_FILE.match(p.name))]
    except OSError:
        return []
    return [p for _, p in sorted(found, reverse=True)]


def load_newest_intact(run: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor],
                                                 list[tuple[str, str]]] | None:
    """The newest checkpoint of run folder `run` that loads and verifies: (meta, tensors,
    passed_over), `passed_over` naming each newer one that did not, with its reason. None
    when the run has no checkpoint at all; a GenlabError when none of them loads."""
    folder = Path(run) / "checkpoints"
    candidates = step_files(folder)
    if (folder / LATEST).exists():
        candidates.insert(0, folder / LATEST)
    passed_over: list[tuple[str, str]] = []
    failed_tensors = set()
    for json_path in candidates:
        name = LATEST if json_path.name == LATEST else json_path.stem
        try:
            _, tensor_path = read_meta(json_path)
        except GenlabError as e:
            passed_over.append((name, str(e)))
            continue
        if tensor_path.name in failed_tensors:
            continue  # the pair a latest.json named, already found unusable
        try:
            meta, tensors = load(json_path)
        except GenlabError as e:
            passed_over.append((tensor_path.stem, str(e)))  # the pair, whoever named it
            failed_tensors.add(tensor_path.name)
            continue
        return meta, tensors, passed_over
    if not candidates:
        return None
    raise GenlabError(f"no intact checkpoint in {str(run)!r}: {passed_over[0][1]}")
