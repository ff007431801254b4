"""The run folder around a training loop: creating it safely, resuming it with a checked
config, and trimming metrics a killed run wrote after its last checkpoint."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from genlab.config import TrainConfig
from genlab.errors import GenlabError
from genlab.training.atomic import atomic_write_bytes, check_writable, remove_temp_files, write_error

# Fields a resumed run may change: they do not change what is computed, only how long or where.
RESUMABLE_FIELDS = {"steps", "epochs", "device", "checkpoint_every", "sample_every", "log_every",
                    "compile", "data.data_dir", "data.download", "data.strict"}

log = logging.getLogger("genlab.train")


def resume_config(stored: TrainConfig, given: TrainConfig | None,
                  overrides: dict[str, Any]) -> TrainConfig:
    """The stored config with `overrides` applied; anything but RESUMABLE_FIELDS that differs
    from the stored run is a GenlabError that names the flag."""
    wanted = dict(overrides)
    if given is not None:
        if given.model.kind != stored.model.kind:
            raise GenlabError(f"this run trained a {stored.model.kind}, not a "
                              f"{given.model.kind}; resume it with the same model kind")
        wanted.update({k: v for k, v in _flatten(given.to_dict()).items() if v is not None})
    current = _flatten(stored.to_dict())
    for key, value in sorted(wanted.items()):
        if key not in current:
            raise GenlabError(f"unknown config field {key!r}")
        if key == "model.kind" and value != current[key]:
            raise GenlabError(f"this run trained a {current[key]}, not a {value}; "
                              "resume it with the same model kind")
        if key in RESUMABLE_FIELDS:
            continue
        if _norm(value) != _norm(current[key]):
            flag = "--" + key.split(".")[-1].replace("_", "-")
            raise GenlabError(f"--resume: {flag} {value!r} conflicts with the run's "
                              f"{current[key]!r}; drop the flag, or start a new run")
    cfg = TrainConfig.from_dict(stored.to_dict())
    for key, value in wanted.items():
        if key in RESUMABLE_FIELDS:
            section, _, name = key.rpartition(".")
            setattr(getattr(cfg, section) if section else cfg, name, value)
    if "epochs" in wanted and "steps" not in wanted:
        cfg.steps = None  # recomputed from the new epochs by resolve()
    return cfg


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _norm(v):
    return list(v) if isinstance(v, tuple) else v


def prepare_folder(out: Path, resume: bool, force: bool) -> bool:
    """Check that `out` can hold the run before any work; create it (a new run) or clean it
    (--resume: temp files that a killed write left). True when --force is to empty it: the
    caller does that with `empty_folder` once the run is set up, so that a run refused during
    set-up (bad data, not enough memory) loses nothing."""
    if resume:
        if not out.is_dir():
            raise GenlabError(f"cannot resume: no run folder {str(out)!r}")
        check_writable(out, folder=True)
        removed = [p for sub in (out, out / "checkpoints", out / "samples")
                   for p in remove_temp_files(sub)]
        if removed:
            log.info(f"removed {len(removed)} temporary file(s) an interrupted write left "
                     f"({', '.join(str(p.relative_to(out)) for p in removed[:3])})")
        return False
    check_writable(out, folder=True)
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise GenlabError(f"run folder {str(out)!r} is not empty: use --resume to continue "
                              "it, --force to start over in it, or another --out")
        return True
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(out, e) from None
    return False


def empty_folder(out: Path) -> None:
    """--force: start over in `out` (the user asked for it)."""
    for child in out.iterdir():
        try:
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        except OSError as e:
            raise write_error(child, e) from None


def stored_config(out: Path, given: TrainConfig | None,
                  overrides: dict[str, Any]) -> TrainConfig:
    """The config of a run killed before its first checkpoint: its config.json when it got
    that far, else the one given, else the one the flags describe (`overrides`: flat field ->
    value)."""
    try:
        return TrainConfig.from_dict(json.loads((out / "config.json").read_text()))
    except (OSError, ValueError, TypeError, AttributeError, GenlabError):
        pass
    if given is not None:
        return TrainConfig.from_dict(given.to_dict())
    cfg = TrainConfig.from_dict({"model": {"kind": overrides.get("model.kind", "vae")}})
    for key, value in overrides.items():
        section, _, name = key.rpartition(".")
        setattr(getattr(cfg, section) if section else cfg, name, value)
    return cfg


def truncate_metrics(path: Path, step: int) -> None:
    """On resume, forget metric lines written after the checkpoint (they will be redone)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                keep.append(line)
        except ValueError:  # a line cut by a kill
            continue
    atomic_write_bytes(path, ("\n".join(keep) + "\n" if keep else "").encode())
