"""`genlab`: thin commands over the library. torch is imported inside commands only, so
`genlab --help` answers at once.

Errors a user can cause end in one line, `genlab: error: ...`, and exit status 2 (a diverged
training run: exit status 3); never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from genlab.config import TRAIN_FIELDS, number_type, option_type  # flags <-> config

MODEL_KINDS = ("ae", "vae", "gan", "dcgan")



class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse's own status)
        sys.stderr.write(f"genlab: error: {message}\n")
        raise SystemExit(2)


def _field_type(dest: str):
    """The type of a `train` flag: its config field's Bounds (genlab.config.FIELD_BOUNDS)."""
    from genlab.config import FIELD_BOUNDS
    return number_type(FIELD_BOUNDS[TRAIN_FIELDS[dest]])


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model into a run folder",
                       description="Train an AE, VAE, GAN or DCGAN. Unset options take the "
                                   "defaults of the model kind (genlab.config.KIND_DEFAULTS).",
                       argument_default=argparse.SUPPRESS)
    p.add_argument("model", choices=MODEL_KINDS, nargs="?", default=None,
                   help="model kind (with --config: the file's, unless given)")
    p.add_argument("--config", metavar="FILE",
                   help="train from this config JSON (a hub export or a run's config.json); "
                        "flags given here override its values")
    p.add_argument("--out", required=True, help="run folder to create (or continue with --resume)")
    p.add_argument("--resume", action="store_true", default=False,
                   help="continue the run in --out from its latest checkpoint")
    p.add_argument("--force", action="store_true", default=False,
                   help="start over in a non-empty --out (deletes what is there)")
    d = p.add_argument_group("data")
    d.add_argument("--data", help="dataset name: ring8, grid25, spiral, moons, circles, "
                                  "checkerboard, digits, mnist5k, mnist, fashion-mnist, cifar10, "
                                  "shapes, csv:PATH, folder:PATH (default mnist5k)")
    d.add_argument("--data-dir", help="where image datasets live ($GENLAB_DATA)")
    d.add_argument("--download", action="store_true", help="download a missing dataset")
    d.add_argument("--image-size", type=_field_type("image_size"),
                   help="resize images to this size")
    d.add_argument("--holdout-class", type=_field_type("holdout_class"),
                   help="leave this class out (anomaly detection)")
    d.add_argument("--binarize", choices=("none", "fixed", "dynamic"),
                   help="images: pixels ~ Bernoulli(intensity), drawn once (fixed) or afresh "
                        "for every training batch (dynamic; the test split once)")
    d.add_argument("--strict", action="store_true",
                   help="image folders: refuse unreadable files instead of skipping them")
    d.add_argument("--test-fraction", type=_field_type("test_fraction"),
                   help="image folders: the share held out as the test split (default 0.1)")
    m = p.add_argument_group("model")
    m.add_argument("--latent-dim", type=_field_type("latent_dim"))
    m.add_argument("--arch", help="ae/vae: mlp or conv")
    m.add_argument("--hidden-dim", type=_field_type("hidden_dim"), help="MLP width")
    m.add_argument("--depth", type=_field_type("depth"), help="MLP hidden layers")
    m.add_argument("--filters", type=_field_type("filters"), help="conv base width")
    m.add_argument("--likelihood", help="ae/vae decoder: bernoulli or gaussian")
    m.add_argument("--conditional", action="store_true", help="condition on the class labels")
    m.add_argument("--spectral-norm", action="store_true", help="spectral norm in D")
    m.add_argument("--minibatch-disc", action="store_true", help="minibatch discrimination in D")
    m.add_argument("--minibatch-std", action="store_true", help="minibatch stddev feature in D")
    m.add_argument("--pack", type=_field_type("pack"), help="PacGAN: samples per D input")
    m.add_argument("--preset", help="dcgan: classic or lesson")
    m.add_argument("--discriminator-norm", help="batch, layer or none")
    t = p.add_argument_group("optimization")
    t.add_argument("--steps", type=_field_type("steps"),
                   help="optimizer steps (GAN: generator steps)")
    t.add_argument("--epochs", type=_field_type("epochs"),
                   help="passes over the data (instead of --steps)")
    t.add_argument("--batch-size", type=_field_type("batch_size"))
    t.add_argument("--lr", type=_field_type("lr"))
    t.add_argument("--lr-d", type=_field_type("lr_d"),
                   help="discriminator learning rate (default: --lr)")
    t.add_argument("--lr-decay-start", type=_field_type("lr_decay_start"),
                   help="fraction of training after which the lr decays linearly to 0 (1: never)")
    t.add_argument("--seed", type=_field_type("seed"))
    t.add_argument("--beta", type=_field_type("beta"), help="VAE KL weight (beta-VAE)")
    t.add_argument("--kl-warmup", type=_field_type("kl_warmup"),
                   help="steps of linear KL warm-up from 0 to beta")
    t.add_argument("--loss", help="GAN loss: minimax, non-saturating, hinge, least-squares, wgan-gp")
    t.add_argument("--n-critic", type=_field_type("n_critic"), help="D steps per G step")
    t.add_argument("--gp-weight", type=_field_type("gp_weight"), help="WGAN-GP lambda")
    t.add_argument("--ema", type=_field_type("ema"), help="generator EMA decay (0: off)")
    r = p.add_argument_group("running")
    r.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    r.add_argument("--precision", help="auto, fp32, bf16 or fp16")
    r.add_argument("--compile", action="store_true", help="torch.compile the model")
    r.add_argument("--deterministic", action="store_true",
                   help="bit-exact kernels: a resumed run equals an uninterrupted one")
    r.add_argument("--checkpoint-every", type=_field_type("checkpoint_every"))
    r.add_argument("--sample-every", type=_field_type("sample_every"))
    r.add_argument("--log-every", type=_field_type("log_every"))
    r.add_argument("--quiet", action="store_true", default=False, help="no progress bar")


def _add_operations(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained run")
    p.add_argument("run", help="run folder (or checkpoint file)")
    p.add_argument("--n", type=option_type("n"), default=64)
    p.add_argument("--out", required=True, help=".png grid (images), .npy or .csv (any model)")
    p.add_argument("--class", dest="label", type=option_type("class"),
                   help="class for a conditional model")
    p.add_argument("--seed", type=option_type("seed"), default=0)
    p.add_argument("--raw", action="store_true", help="GAN: the raw generator, not its EMA")
    p.add_argument("--device", default="cpu")

    p = sub.add_parser("interpolate", help="walk the latent space between two points")
    p.add_argument("run")
    p.add_argument("--out", required=True, help=".png strip (images), .npy or .csv")
    p.add_argument("--method", default="linear", help="linear or slerp")
    p.add_argument("--steps", type=option_type("steps"), default=10)
    p.add_argument("--from", dest="start", type=option_type("index"),
                   help="test example index (AE/VAE)")
    p.add_argument("--to", dest="end", type=option_type("index"),
                   help="test example index (AE/VAE)")
    p.add_argument("--rows", type=option_type("rows"), default=1,
                   help="random paths (without --from)")
    p.add_argument("--seed", type=option_type("seed"), default=0)
    p.add_argument("--device", default="cpu")

    p = sub.add_parser("reconstruct", help="encode and decode test examples (AE/VAE)")
    p.add_argument("run")
    p.add_argument("--data", help="dataset (default: the run's)")
    p.add_argument("--split", default="test")
    p.add_argument("--data-dir")
    p.add_argument("--n", type=option_type("n"), default=32)
    p.add_argument("--out", required=True, help=".png (originals above reconstructions), .npy")
    p.add_argument("--device", default="cpu")

    p = sub.add_parser("anomaly", help="score examples by how unlikely the model finds them")
    p.add_argument("run")
    p.add_argument("--data", help="dataset (default: the run's)")
    p.add_argument("--split", default="test")
    p.add_argument("--data-dir")
    p.add_argument("--out", required=True, help="CSV: index,label,score; most anomalous first")
    p.add_argument("--method", default="elbo", help="elbo or iwae (VAE)")
    p.add_argument("--k", type=option_type("k"), default=None, help="samples per example")
    p.add_argument("--seed", type=option_type("seed"), default=0)
    p.add_argument("--device", default="cpu")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="genlab", description="Train, sample, interpolate, reconstruct and "
                                                "score generative models (AE, VAE, GAN, DCGAN).")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_train(sub)
    _add_operations(sub)
    p = sub.add_parser("bench", help="time training steps next to the reference scripts")
    from genlab.bench import add_arguments as add_bench_arguments
    add_bench_arguments(p)
    p = sub.add_parser("serve", help="open the lesson hub in a browser")
    from genlab.web.server import add_arguments as add_serve_arguments
    add_serve_arguments(p)
    p = sub.add_parser("export-site", help="write the lesson as static files (no server needed)")
    from genlab.web.site_export import add_arguments as add_site_arguments
    add_site_arguments(p)
    p = sub.add_parser("evaluate", help="compute the metrics papers report for a run",
                       description="The metrics that apply to the run's model and data: PacGAN "
                                   "protocol (2D), Fréchet/KID/precision/recall and mode count "
                                   "(images), ELBO/IWAE NLL (VAE), AUROC (held-out class), "
                                   "MIG/FactorVAE (shapes).")
    from genlab.evaluate_cli import add_arguments as add_evaluate_arguments
    add_evaluate_arguments(p)
    _add_export(sub)
    return parser


def _version() -> str:
    from genlab import __version__
    return f"genlab {__version__}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from genlab.errors import GenlabError

    _show_library_messages()
    try:
        _check_output(args)
        return COMMANDS[args.command](args) or 0
    except GenlabError as e:
        sys.stderr.write(f"genlab: error: {_one_line(e)}\n")
        return getattr(e, "exit_code", 2)
    except KeyboardInterrupt:
        sys.stderr.write("genlab: interrupted (resume with --resume)\n")
        return 130
    except OSError as e:  # the last net: a write or read that no genlab writer wrapped
        from genlab.training.atomic import os_reason
        where = f"{str(e.filename)!r}: " if e.filename else ""
        sys.stderr.write(f"genlab: error: {where}{_one_line(os_reason(e))}\n")
        return 2


# The files each command writes (flag dest -> what it must be): checked before any work, so a
# path that cannot be written fails at once, not after the metrics or the samples.
OUTPUT_FILES = {"sample": ("out", (".png", ".npy", ".csv")),
                "interpolate": ("out", (".png", ".npy", ".csv")),
                "reconstruct": ("out", (".png", ".npy", ".csv")),
                "anomaly": ("out", None), "evaluate": ("out", None), "bench": ("json", None)}


def _check_output(args) -> None:
    """`--out` of a command that writes one file: a known type, and a place that takes files
    (genlab.training.atomic.check_writable). `train --out` is checked by the trainer (a folder)."""
    from genlab.training.atomic import check_writable

    dest, suffixes = OUTPUT_FILES.get(args.command, (None, None))
    path = getattr(args, dest, None) if dest else None
    if not path:
        return
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise _error(f"--{dest} {str(path)!r}: unknown output type "
                     f"{path.suffix or '(none)'}; use {', '.join(suffixes)}")
    check_writable(path)


class _OneLineHandler(logging.Handler):
    def emit(self, record):
        prefix = "genlab: warning: " if record.levelno >= logging.WARNING else "genlab: "
        sys.stderr.write(prefix + _one_line(record.getMessage()) + "\n")


def _show_library_messages() -> None:
    """The library's warnings and notes (logger "genlab": skipped images, a corrupt
    checkpoint passed over) as one `genlab: ...` line each on stderr."""
    logger = logging.getLogger("genlab")
    if not any(isinstance(h, _OneLineHandler) for h in logger.handlers):
        logger.addHandler(_OneLineHandler())
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _one_line(e) -> str:
    return " ".join(str(e).split()) or type(e).__name__


# ------------------------------------------------------------------ train

def _train_overrides(args) -> dict:
    given = vars(args)
    return {field: given[dest] for dest, field in TRAIN_FIELDS.items() if dest in given}


def cmd_train(args) -> int:
    from genlab import train
    from genlab.config import TrainConfig

    overrides = _train_overrides(args)
    if "steps" in overrides and "epochs" in overrides:
        raise _error("give --steps or --epochs, not both")
    model = getattr(args, "model", None)
    config_file = getattr(args, "config", None)
    if config_file is None and model is None:
        raise _error("give a model kind (ae, vae, gan, dcgan) or --config FILE")
    base = _config_file(config_file) if config_file is not None else None
    if base is not None and model is not None and model != base.model.kind:
        raise _error(f"--config {config_file!r} trains a {base.model.kind}, not a {model}; "
                     f"drop the model kind or give {base.model.kind}")
    if args.resume:
        if model is not None:
            overrides["model.kind"] = model
        if base is not None:  # the file's values, then the flags: checked like flags are
            overrides = {**_flat(base.to_dict()), **overrides}
        events = train(None, args.out, resume=True, overrides=overrides)
    else:
        cfg = base if base is not None else TrainConfig.from_dict({"model": {"kind": model}})
        if base is not None:  # a file's steps (or epochs) give way to the other flag
            if "epochs" in overrides:
                cfg.steps = None
            elif "steps" in overrides:
                cfg.epochs = None
        for key, value in overrides.items():
            section, _, name = key.rpartition(".")
            setattr(getattr(cfg, section) if section else cfg, name, value)
        cfg.validate()  # before --force touches the folder
        events = train(cfg, args.out, force=args.force)
    import os

    if os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 alone reports progress
        for _ in events:
            pass
        return 0
    return _show_progress(events, quiet=getattr(args, "quiet", False))


def _flat(d: dict, prefix: str = "") -> dict:
    """{"model": {"depth": 3}} -> {"model.depth": 3}, leaving out unset (None) values."""
    out = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif value is not None:
            out[prefix + key] = value
    return out


def _config_file(path: str):
    """The TrainConfig of `--config FILE`: a run folder's or an export's config.json (the
    export's "genlab" section, which describes the weights, set aside), or a folder holding
    one; JSON read here, every field checked by TrainConfig.from_dict."""
    import json

    from genlab.config import TrainConfig
    from genlab.errors import GenlabError
    from genlab.hub_layout import CONFIG, split_config

    if Path(path).is_dir():
        path = str(Path(path) / CONFIG)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error(f"--config {path!r}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not UTF-8 text"
        raise _error(f"--config {path!r}: cannot read it ({reason})") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise _error(f"--config {path!r} is not valid JSON ({_one_line(e)})") from None
    if isinstance(data, dict):
        data, _ = split_config(data)
    try:
        return TrainConfig.from_dict(data)
    except GenlabError as e:
        raise _error(f"--config {path!r}: {e}") from None
    except (TypeError, ValueError) as e:
        raise _error(f"--config {path!r}: {_one_line(e)}") from None


def _error(message: str):
    from genlab.errors import GenlabError
    return GenlabError(message)


def _StepsPerSecond():
    """A progress column: training steps per second over rich's recent window."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class StepsPerSecond(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:.0f} steps/s" if task.speed else "- steps/s")

    return StepsPerSecond()


def _two_line_progress(*columns, **kw):
    """A rich Progress that draws the bar's columns on one line and the task's `losses` field
    on the next: together they need ~130 columns, and on one line rich squeezes them into an
    80-column terminal with ellipses ("30…", "0:…")."""
    from rich.progress import Progress
    from rich.text import Text

    class TwoLineProgress(Progress):
        def get_renderables(self):
            yield self.make_tasks_table(self.tasks)
            for task in self.tasks:
                if task.fields.get("losses"):
                    yield Text("  " + task.fields["losses"], overflow="fold")

    return TwoLineProgress(*columns, **kw)


def _show_progress(events, quiet: bool = False) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    start = next(events)
    console.print(f"[bold]genlab[/] training {start['config']['model']['kind']} on "
                  f"{start['config']['data']['name']} ({start['dataset_size']} examples) -> "
                  f"device {start['device']}, {start['precision']}"
                  + (f", resumed at step {start['resumed_from']}" if start["resumed_from"] is not None
                     else ""))
    progress = _two_line_progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=24),
                                  MofNCompleteColumn(), _StepsPerSecond(), TimeElapsedColumn(),
                                  TimeRemainingColumn(), console=console, disable=quiet,
                                  transient=False)
    with progress:
        task = progress.add_task("train", total=start["steps"], completed=start["step"], losses="")
        for event in events:
            if event["event"] == "log":
                shown = "  ".join([f"epoch {event['epoch']:.2f}", f"lr {event['lr']:.3g}"]
                                  + [f"{k} {v:.4g}" for k, v in event.items()
                                     if k in ("loss", "recon", "kl", "loss_d", "loss_g", "gp")])
                progress.update(task, completed=event["step"], losses=shown)
            elif event["event"] == "done":
                progress.update(task, completed=event["step"])
                done = event
    console.print(f"done: {done['step']} steps in {done['seconds']:.1f} s -> {done['path']}")
    return 0


# ------------------------------------------------------------------ operations

def _load(args, **kw):
    from genlab.runs import load_run
    return load_run(args.run, device=args.device, **kw)


def _write_tensor(path: Path, x, image_writer=None) -> None:
    """.png through `image_writer`, .npy / .csv as numbers (images flattened per row)."""
    import numpy as np

    from genlab.errors import GenlabError
    from genlab.training.atomic import atomic_write_bytes

    suffix = path.suffix.lower()
    if suffix == ".png":
        if image_writer is None:
            raise GenlabError(f"{path}: PNG is for image models; use .npy or .csv")
        image_writer(path)
    elif suffix == ".npy":
        import io
        buf = io.BytesIO()
        np.save(buf, x.numpy(), allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())
    elif suffix == ".csv":
        rows = x.reshape(len(x), -1).numpy()
        buf = "\n".join(",".join(f"{v:.6g}" for v in row) for row in rows) + "\n"
        atomic_write_bytes(path, buf.encode())
    else:
        raise GenlabError(f"{path}: unknown output type {suffix or '(none)'}; use .png, .npy or .csv")


def _image_or_scatter(run, x, path_nrow=None, strip=False):
    def write(path):
        if run.data_kind == "points":
            from genlab.operations import reference_points
            from genlab.scatterplot import save_scatter
            real, modes = reference_points(run)  # the training data, light grey, behind
            return save_scatter(path, real=real, fake=x.reshape(-1, 2), modes=modes)
        from genlab.imagegrid import save_image_grid, save_image_strip
        upscale = max(1, 64 // x.shape[-1])
        if strip:
            return save_image_strip(x, path, upscale=upscale)
        return save_image_grid(x, path, nrow=path_nrow, upscale=upscale)
    return write


def cmd_sample(args) -> int:
    from genlab.operations import sample

    run = _load(args, use_ema=not args.raw)
    x = sample(run, args.n, y=args.label, seed=args.seed)
    k = run.num_classes
    columns = k if 0 < k <= 16 and args.label is None else None
    _write_tensor(Path(args.out), x, _image_or_scatter(run, x, columns))
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def _dataset_for(run, args, split="test"):
    """The images a command feeds the run's model, prepared as it was trained: a run trained
    on binarized pixels sees the split binarized once (genlab.data.binarize, "fixed")."""
    from genlab.data import load_dataset
    return load_dataset(getattr(args, "data", None) or run.dataset, split=split,
                        data_dir=getattr(args, "data_dir", None) or run.config.data.data_dir,
                        image_size=run.config.data.image_size,
                        binarize=run.config.data.binarize)


def cmd_interpolate(args) -> int:
    import torch

    from genlab.operations import interpolate

    run = _load(args)
    if (args.start is None) != (args.end is None):
        raise _error("give both --from and --to, or neither")
    if args.start is not None:
        ds = _dataset_for(run, args)
        for i in (args.start, args.end):
            if not 0 <= i < len(ds):
                raise _error(f"example index {i} is outside the test set [0, {len(ds) - 1}]")
        y = None if not run.num_classes else int(ds.y[args.start])
        x = interpolate(run, args.steps, args.method, ds.x[args.start], ds.x[args.end],
                        y=y, space="data")[None]
    else:
        from genlab.limits import check_fits, tensor_bytes
        check_fits(f"--rows {args.rows} of --steps {args.steps}",
                   2 * tensor_bytes(args.rows, args.steps, *run.config.model.data_shape), run.device)
        x = torch.stack([interpolate(run, args.steps, args.method, seed=args.seed + r)
                         for r in range(args.rows)])  # (rows, steps, ...)
    _write_tensor(Path(args.out), x.reshape(-1, *x.shape[2:]), _image_or_scatter(run, x, strip=True))
    print(f"wrote {args.rows if args.start is None else 1} path(s) of {args.steps} steps to {args.out}")
    return 0


def cmd_reconstruct(args) -> int:
    import torch

    from genlab.operations import reconstruct

    run = _load(args)
    ds = _dataset_for(run, args, args.split)
    n = min(args.n, len(ds))
    index = torch.linspace(0, len(ds) - 1, n).round().long()  # spread: test sets may be sorted
    x_raw = ds.x[index]
    y = ds.y[index] if run.num_classes else None
    x_hat = reconstruct(run, x_raw, y=y)
    original = run.normalizer.decode(run.normalizer.encode(x_raw)).cpu()
    both = torch.cat([original, x_hat])
    _write_tensor(Path(args.out), x_hat, _image_or_scatter(run, both, path_nrow=min(n, 16) if n > 16 else n))
    print(f"wrote {n} reconstructions to {args.out}")
    return 0


def cmd_anomaly(args) -> int:
    import torch

    from genlab.operations import anomaly_scores
    from genlab.training.atomic import atomic_write_bytes

    run = _load(args)
    ds = _dataset_for(run, args, args.split)
    k = args.k or (100 if args.method == "iwae" else 1)
    scores = anomaly_scores(run, ds, method=args.method, k=k, seed=args.seed)
    order = torch.argsort(scores, descending=True, stable=True)
    lines = ["index,label,score"]
    for i in order.tolist():
        label = "" if ds.y is None else int(ds.y[i])
        lines.append(f"{i},{label},{float(scores[i]):.6f}")
    atomic_write_bytes(Path(args.out), ("\n".join(lines) + "\n").encode())
    print(f"wrote {len(ds)} scores to {args.out} (most anomalous first)")
    return 0


def cmd_evaluate(args) -> int:
    from genlab.evaluate_cli import run_command
    return run_command(args)


def cmd_serve(args) -> int:
    from genlab.web.server import limits_from_args
    try:
        import fastapi  # noqa: F401 - the hub's own dependencies
        import uvicorn  # noqa: F401

        from genlab.web.server import serve
    except ImportError as e:
        raise _error(f"the lesson hub is not available ({e})") from None
    extra = ({"runs": {"run_paths": args.run or [], "runs_dir": args.runs}}
             if args.run or args.runs else {})  # the runs page (genlab.web.runs_browser)
    serve(host=args.host, port=args.port, open_browser=args.open, **extra,
          **limits_from_args(args))
    return 0


def cmd_export_site(args) -> int:
    from genlab.web.site_export import run_command
    return run_command(args)


def cmd_bench(args) -> int:
    from genlab.bench import run
    return run(args)


COMMANDS = {"train": cmd_train, "bench": cmd_bench, "sample": cmd_sample, "interpolate": cmd_interpolate,
            "reconstruct": cmd_reconstruct, "anomaly": cmd_anomaly, "evaluate": cmd_evaluate,
            "serve": cmd_serve}
COMMANDS["export-site"] = cmd_export_site


# ------------------------------------------------------------------ export

def _add_export(sub) -> None:
    p = sub.add_parser("export", help="write a run's model in the Hugging Face layout",
                       description="Write config.json, model.safetensors (weights only; a "
                                   "GAN's EMA generator when it has one), a sample picture and a "
                                   "README.md model card into DIR; genlab.load_run(DIR) and "
                                   "`genlab sample DIR` load it. --push uploads DIR to the Hub.")
    p.add_argument("run", help="run folder")
    p.add_argument("--to", required=True, help="folder to write (must be empty or missing)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --to")
    p.add_argument("--license", default="mit", help="the model card's license field (default mit)")
    p.add_argument("--metrics", help="a `genlab evaluate --out` JSON file for the card (default: "
                                     "those in the run folder, RUN/*.json, of the same step)")
    p.add_argument("--push", metavar="REPO", help="then upload to the Hub model repo REPO "
                                                  "(user/name; needs a token, not HF_HUB_OFFLINE)")


def cmd_export(args) -> int:
    from genlab.export import check_can_push, export_run, push

    if args.push:
        check_can_push(args.push)  # offline or no token: say so before writing anything
    out = export_run(args.run, args.to, force=args.force, license=args.license,
                     metrics=args.metrics, repo=args.push, log=print)
    print(f"exported {args.run} to {out}")
    if args.push:
        print(f"pushed to {push(out, args.push)}")
    return 0


COMMANDS["export"] = cmd_export
