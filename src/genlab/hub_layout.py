"""The folder `genlab export` writes, as a reader sees it (the Hugging Face Hub's layout): its
file names, how to recognise one, and how to read its weights back, checked against the
SHA-256 its config.json records. `genlab.runs.load_run` reads exports through this module and
`genlab.export` writes them; neither imports the other.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError

FORMAT = "genlab-export-1"
CONFIG, WEIGHTS, CARD, IMAGE = "config.json", "model.safetensors", "README.md", "samples.png"


def is_export(path: str | Path) -> bool:
    """True for a folder `genlab export` wrote (a run folder has no model.safetensors)."""
    path = Path(path)
    return path.is_dir() and (path / WEIGHTS).is_file() and (path / CONFIG).is_file()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_config(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """An export's config.json as (the training config, the export's "genlab" section); any
    other config (a run folder's) as (itself, None). A "genlab" key that is not this format's
    section stays in the config, for TrainConfig to refuse by name."""
    info = record.get("genlab")
    if isinstance(info, dict) and info.get("format") == FORMAT:
        return {k: v for k, v in record.items() if k != "genlab"}, info
    return record, None


def read(path: str | Path, use_ema: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """An exported folder as (meta, tensors) shaped like `checkpoints.load` gives them, after
    checking the weights against the SHA-256 that config.json records."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    try:
        record, info = split_config(json.loads((path / CONFIG).read_text()))
        assert info is not None
    except (OSError, ValueError, AttributeError, AssertionError):
        raise GenlabError(f"{str(path / CONFIG)!r} is not a genlab export config") from None
    digest = sha256_file(path / WEIGHTS)
    if digest != info.get("sha256"):
        raise GenlabError(f"{str(path / WEIGHTS)!r} does not match the SHA-256 in {CONFIG} "
                          "(corrupt or replaced); export the run again")
    if info.get("ema") and not use_ema:
        raise GenlabError(f"{str(path)!r} holds only the generator's EMA weights; the raw "
                          "generator is in the run folder it was exported from")
    try:
        weights = load_file(str(path / WEIGHTS))
    except (OSError, SafetensorError) as e:
        raise GenlabError(f"cannot read {str(path / WEIGHTS)!r}: {e}") from None
    tensors = {f"model/{k}": v for k, v in weights.items()}
    if info.get("ema"):  # the generator's weights are its EMA: offer them as the EMA too
        tensors.update({f"ema/module.{k[len('generator.'):]}": v for k, v in weights.items()
                        if k.startswith("generator.")})
    meta = {"config": record, "normalizer": info.get("normalizer"), "step": info.get("step", 0),
            "ema": bool(info.get("ema"))}
    return meta, tensors
