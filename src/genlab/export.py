"""`genlab export RUN --to DIR [--push REPO]`: a run's model in the layout the Hugging Face Hub
uses, loadable anywhere with `genlab.load_run(DIR)` / `genlab sample DIR`.

    DIR/config.json        the run's resolved config + {"genlab": format, library version, step,
                           ema, normalizer, the weights' SHA-256, the command that trained it}
    DIR/model.safetensors  the model's weights only (a GAN's generator: its EMA when it has one)
    DIR/README.md          the model card: YAML metadata (huggingface_hub.ModelCardData) + text
    DIR/samples.png        a sample grid (images) or a scatter over the training data (2-D points)

DIR is built in a temporary folder beside it and renamed into place at the end, so a failed
export leaves nothing half-written. The card's metadata is written by huggingface_hub's own
ModelCardData / ModelCard (https://huggingface.co/docs/hub/model-cards), not by hand.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from genlab.errors import GenlabError
from genlab.hub_layout import CARD, CONFIG, FORMAT, IMAGE, WEIGHTS, sha256_file
from genlab.training.atomic import _FILE_MODE, _UMASK

# ---------------------------------------------------------------- what the card says

def train_command(cfg, out: str = "runs/RUN") -> str:
    """A `genlab train` command that reproduces the resolved config `cfg`: the flags whose
    values differ from what the same kind, data, steps, loss and architecture resolve to.
    (device and data_dir are left out: they describe the machine, not the model.)"""
    from genlab.config import TRAIN_FIELDS, TrainConfig, resolve
    from genlab.models import MODELS

    m = cfg.model
    base = TrainConfig.from_dict({"model": {"kind": m.kind, "architecture": m.architecture},
                                  "data": {"name": cfg.data.name}, "steps": cfg.steps,
                                  "loss": cfg.loss})
    if m.conditional:
        base.model.conditional = True
    base = resolve(base, "points" if len(m.data_shape) == 1 else "image", tuple(m.data_shape),
                   m.num_classes)
    words = ["genlab", "train", m.kind, "--data", cfg.data.name, "--steps", str(cfg.steps)]
    for dest, field in TRAIN_FIELDS.items():
        if dest in ("data", "steps", "epochs", "device", "data_dir"):
            continue
        value, default = (_get(c, field) for c in (cfg, base))
        if (field in ("loss", "model.conditional")
                or (field == "model.architecture" and MODELS[m.kind].ARCHITECTURE is None)) \
                and value is not None:
            default = None  # always say these: they pick the other defaults
        if value == default or value is None:
            continue
        flag = "--" + dest.replace("_", "-")
        words += [flag] if value is True else [] if value is False else [flag, str(value)]
    return shlex.join(words + ["--out", out])


def _get(cfg, field: str):
    section, _, name = field.rpartition(".")
    return getattr(getattr(cfg, section) if section else cfg, name)


def evaluation_files(run_path: Path) -> list[Path]:
    """The `genlab evaluate RUN --out FILE` results kept in the run folder (RUN/*.json)."""
    return sorted(p for p in run_path.glob("*.json") if _evaluation(p) is not None)


def _evaluation(path: Path) -> dict | None:
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    keys = {"run", "kind", "step", "dataset", "seconds"}
    return result if isinstance(result, dict) and keys <= set(result) else None


def eval_results(results: list[dict], image: bool) -> list:
    """Every number `genlab evaluate` reports (the rows of its table) as an EvalResult."""
    from huggingface_hub import EvalResult

    from genlab.evaluate_cli import ROWS

    out = []
    for result in results:
        for section, rows in ROWS.items():
            values = result.get(section) or {}
            extra = [("modes_covered", "modes covered"), ("kid_mean", "KID")]
            for key, label in [(k, lab) for k, lab, _ in rows] + extra:
                value = values.get(key)
                if key == "iwae_k" or isinstance(value, bool) \
                        or not isinstance(value, (int, float)) or not math.isfinite(value):
                    continue
                out.append(EvalResult(
                    task_type="unconditional-image-generation" if image else "density-estimation",
                    dataset_type=result["dataset"], dataset_name=result["dataset"],
                    dataset_split="test", metric_type=f"{section}/{key}",
                    metric_name=label.strip(), metric_value=value))
    return out


def model_card(run, command: str, results: list[dict], license: str, name: str,
               repo: str | None = None):
    """The README.md: huggingface_hub.ModelCardData's YAML, then what the model is, a sample
    picture, how to load it, how it was trained and what `genlab evaluate` measured."""
    from huggingface_hub import ModelCard, ModelCardData

    from genlab import __version__
    from genlab.training.steps import family

    image = run.data_kind == "image"
    cfg, own_data = run.config, ":" not in run.dataset  # csv:PATH / folder:PATH: a local path
    what = {"ae": "autoencoder", "vae": "variational autoencoder", "gan": "GAN (MLP)",
            "dcgan": "DCGAN"}[run.kind]
    data = ModelCardData(
        library_name="genlab", license=license, model_name=name,
        tags=["genlab", "pytorch", run.kind, "generative-model"]
        + (["conditional"] if run.num_classes else []) + (["2d-points"] if not image else []),
        datasets=[run.dataset] if own_data else None,
        pipeline_tag="unconditional-image-generation" if image and family(run.kind).samples
        else None,
        eval_results=eval_results(results, image) or None)
    weights = (f"the generator's exponential moving average (decay {cfg.ema_decay}), not its "
               "raw weights" if run.ema else "the model's weights as trained (no EMA)")
    shape = "×".join(map(str, cfg.model.data_shape)) + " images" if image else "2-D points"
    lines = [f"# {name}", "",
             f"A {what} trained with genlab {__version__} on `{run.dataset}` ({shape}) for "
             f"{run.step} steps; latent dimension {run.latent_dim}"
             + (f", conditioned on {run.num_classes} classes" if run.num_classes else "") + ".",
             "", f"![{'samples' if image else 'generated points (red) over the training data (grey)'}]"
             f"({IMAGE})", "",
             f"`{WEIGHTS}` holds {weights}; `{CONFIG}` the resolved training config, the data "
             "normalizer and the weights' SHA-256, checked on load.", "",
             "## How to use", "", "```python", "import genlab", ""]
    if repo:
        lines += ["from huggingface_hub import snapshot_download", "",
                  f'folder = snapshot_download("{repo}")']
    folder = "folder" if repo else '"path/to/this/folder"'
    lines += [f"run = genlab.load_run({folder})", "x = genlab.sample(run, 16)  "
              + ("# images in [0, 1], (16, C, H, W)" if image else "# points in data coordinates")]
    if run.num_classes:
        lines.append("x3 = genlab.sample(run, 16, y=3)  # class 3")
    lines += ["```", "", "```bash"]
    lines += [f"genlab sample path/to/this/folder --n 64 --out samples.{'png' if image else 'npy'}",
             "```", "", "## How it was trained", "", "```bash", command, "```", "",
             "To train it again from this folder's config (flags given beside it override it):",
             "", "```bash", "genlab train --config path/to/this/folder --out runs/again", "```",
             ""]
    if results:
        lines += ["## Evaluation", "", "| section | metric | value |", "|---|---|---|"]
        for r in eval_results(results, image):
            label = r.metric_name.replace("|", "\\|")  # a bar would end the table cell
            lines.append(f"| {r.metric_type.split('/')[0]} | {label} | "
                         f"{r.metric_value:.4g} |")
        first = results[0]
        k = (first.get("likelihood") or {}).get("iwae_k")
        lines += ["", f"Measured by `genlab evaluate` on the `{first['dataset']}` test split"
                  f" ({first.get('num_test')} examples, seed {first.get('seed')})."
                  + (f" L_k: the IWAE bound with k = {k}." if k else "")
                  + (f" Fréchet distances use `{first['samples'].get('features')}` features."
                     if first.get("samples") else ""), ""]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines))


# ---------------------------------------------------------------- writing an export

def export_run(run_path: str | Path, to: str | Path, force: bool = False, license: str = "mit",
               metrics: str | Path | None = None, repo: str | None = None,
               log: Callable[[str], None] = lambda m: None) -> Path:
    """Write `to` from run folder `run_path` (see the module doc). Refuses a non-empty `to`
    unless `force`; never writes into the run itself."""
    from genlab.runs import load_run

    run_path, to = Path(run_path), Path(to)
    run = load_run(run_path)
    if to.exists() and not to.is_dir():
        raise GenlabError(f"--to {str(to)!r} is a file, not a folder")
    if to.resolve() == run_path.resolve() or to.resolve() in run_path.resolve().parents \
            or run_path.resolve() in to.resolve().parents:
        raise GenlabError(f"--to {str(to)!r} overlaps the run folder {str(run_path)!r}")
    if to.is_dir() and any(to.iterdir()) and not force:
        raise GenlabError(f"--to {str(to)!r} is not empty (use --force to replace it)")
    results = _results(run_path, run, metrics, log)
    try:
        to.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{to.name}.", suffix=".export", dir=to.parent))
    except FileExistsError:
        raise GenlabError(f"--to {str(to)!r}: cannot write there (a file is in the way)") from None
    except OSError as e:
        raise GenlabError(f"--to {str(to)!r}: cannot write there ({e.strerror})") from None
    try:
        _write(run, run_path, tmp, results, license, run_path.resolve().name, repo)
        for p in [tmp, *tmp.iterdir()]:  # mkdtemp and safetensors make them private
            os.chmod(p, 0o777 & ~_UMASK if p.is_dir() else _FILE_MODE)
        old = Path(tempfile.mkdtemp(prefix=f".{to.name}.", suffix=".old", dir=to.parent))
        try:
            if to.exists():
                os.replace(to, old / "x")  # --force: the old folder steps aside ...
            os.replace(tmp, to)  # ... and the new one takes its name in one rename
        except OSError:
            if (old / "x").exists() and not to.exists():
                os.replace(old / "x", to)  # put the old one back
            raise
        shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        raise GenlabError(f"--to {str(to)!r}: cannot write there ({e.strerror})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return to


def _results(run_path: Path, run, metrics, log) -> list[dict]:
    if metrics is not None:
        result = _evaluation(Path(metrics))
        if result is None:
            raise GenlabError(f"--metrics {str(metrics)!r} is not a `genlab evaluate --out` file")
        if (result["kind"], result["step"]) != (run.kind, run.step):
            raise GenlabError(f"--metrics {str(metrics)!r} evaluated a {result['kind']} at step "
                              f"{result['step']}, not this {run.kind} at step {run.step}")
        return [result]
    results = []
    for path in evaluation_files(run_path):
        result = _evaluation(path)
        if (result["kind"], result["step"]) == (run.kind, run.step):
            results.append(result)
            log(f"metrics from {path}")
        else:
            log(f"skipped {path}: it evaluated step {result['step']}, not {run.step}")
    return results


def _write(run, run_path: Path, tmp: Path, results, license: str, name: str,
           repo: str | None) -> None:
    import torch
    from safetensors.torch import save_file

    from genlab import __version__
    from genlab.operations import reference_points, sample

    weights = {k: v.detach().cpu().contiguous().clone() for k, v in run.model.state_dict().items()}
    save_file(weights, str(tmp / WEIGHTS), metadata={"format": "pt"})
    command = train_command(run.config, f"runs/{run_path.resolve().name}")
    info = {"format": FORMAT, "library": "genlab", "version": __version__,
            "torch": torch.__version__, "step": run.step, "ema": run.ema,
            "normalizer": run.normalizer.to_dict(), "weights": WEIGHTS,
            "sha256": sha256_file(tmp / WEIGHTS), "trained_with": command}
    config = run.config.to_dict()
    config["data"]["data_dir"] = None  # a folder on the trainer's machine: not published
    (tmp / CONFIG).write_text(json.dumps(dict(config, genlab=info), indent=1,
                                         sort_keys=True) + "\n")
    if run.data_kind == "points":
        from genlab.scatterplot import save_scatter
        real, modes = reference_points(run)
        save_scatter(tmp / IMAGE, real=real, fake=sample(run, 2500), modes=modes)
    else:
        from genlab.imagegrid import save_image_grid
        k = run.num_classes
        x = sample(run, k * (64 // k) if 0 < k <= 16 else 64)  # whole rows of classes
        save_image_grid(x, tmp / IMAGE, nrow=k if 0 < k <= 16 else 8,
                        upscale=max(1, 64 // x.shape[-1]))
    model_card(run, command, results, license, name, repo).save(tmp / CARD)


# ---------------------------------------------------------------- the Hub

def push(folder: str | Path, repo_id: str) -> str:
    """Upload `folder` to the model repository `repo_id` (created if missing). Every failure
    a user can cause (offline, no token, bad name, refused) is one GenlabError line."""
    import huggingface_hub
    from huggingface_hub import utils as errors  # 0.23+: the Hub's exceptions live here

    check_can_push(repo_id)
    failures = (errors.HfHubHTTPError, errors.HFValidationError, errors.OfflineModeIsEnabled,
                errors.LocalTokenNotFoundError, OSError, ValueError) + _transport_errors()
    try:
        api = huggingface_hub.HfApi()
        url = api.create_repo(repo_id, repo_type="model", exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model",
                          commit_message="genlab export")
    except failures as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise GenlabError(f"--push {repo_id}: upload failed ({first}); the export is in "
                          f"{str(folder)!r}") from None
    return str(url)


def check_can_push(repo_id: str) -> None:
    """Before exporting: refuse at once when offline (HF_HUB_OFFLINE) or without a token."""
    import huggingface_hub
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or _truthy(os.environ.get("HF_HUB_OFFLINE")):
        raise GenlabError(f"--push {repo_id}: HF_HUB_OFFLINE is set; unset it to upload")
    if not huggingface_hub.get_token():
        raise GenlabError(f"--push {repo_id}: no Hugging Face token; run `hf auth login` "
                          "(huggingface-cli login before huggingface_hub 0.34) or set HF_TOKEN")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().upper() in ("1", "ON", "YES", "TRUE")


def _transport_errors() -> tuple:
    """The HTTP client's connection errors (httpx2 / httpx / requests by hub version)."""
    found = []
    for module, name in (("httpx2", "TransportError"), ("httpx", "TransportError"),
                         ("requests", "RequestException")):
        try:
            found.append(getattr(__import__(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(found)
