"""The `genlab evaluate RUN` command: its options, the table it prints and the JSON it writes.
The metrics themselves are computed by genlab.evaluate.evaluate_run."""

from __future__ import annotations

import math
from pathlib import Path

from genlab.evaluate import IWAE_EXAMPLES, IWAE_K, PAPER_IWAE_K, SECTIONS, evaluate_run

# numpy and torch are imported inside the functions: `genlab --help` must not load torch

__all__ = ["add_arguments", "run_command", "to_jsonable", "print_table"]


def add_arguments(parser) -> None:
    """The options of `genlab evaluate` (ranges: genlab.config.OPTION_BOUNDS)."""
    from genlab.config import option_type
    parser.add_argument("run", help="run folder (or checkpoint file)")
    parser.add_argument("--data", help="evaluation dataset (default: the run's)")
    parser.add_argument("--data-dir")
    parser.add_argument("--n", type=option_type("eval_n"), default=None,
                        help="generated samples (default 2500 for 2D points, 5000 for images)")
    parser.add_argument("--k", type=option_type("k"), default=IWAE_K,
                        help=f"IWAE importance samples (VAE; default {IWAE_K}, about one training "
                             f"run's time; Burda et al.'s protocol: --k {PAPER_IWAE_K})")
    parser.add_argument("--iwae-examples", type=option_type("count"), default=IWAE_EXAMPLES,
                        help="test examples the IWAE bound is averaged over")
    parser.add_argument("--n-test", type=option_type("count"), default=None,
                        help="use at most N test examples")
    parser.add_argument("--features", default="classifier",
                        help="evaluation network: classifier (genlab's, per dataset) or "
                             "inception:PATH (TorchScript inception-2015-12-05.pt)")
    parser.add_argument("--factor-votes", type=option_type("factor_votes"), default=10000,
                        help="FactorVAE training votes (shapes; evaluation uses half)")
    parser.add_argument("--sections", help="comma-separated subset of " + ", ".join(SECTIONS)
                        + " (default: all that apply)")
    parser.add_argument("--seed", type=option_type("seed"), default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", help="write the results as JSON to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run_command(args) -> int:
    """`genlab evaluate`: compute, print a table, write JSON."""
    import json

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    bars = Progress(TextColumn("[bold]{task.description:<16}"), BarColumn(), TaskProgressColumn(),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=console, disable=args.quiet)
    tasks: dict[str, int] = {}

    def progress(section: str, done: int, total: int) -> None:
        if not tasks:
            bars.start()  # not before: a refused run prints its one error line and nothing else
        if section not in tasks:
            tasks[section] = bars.add_task(section, total=total)
        bars.update(tasks[section], completed=done)

    try:
        result = evaluate_run(args.run, data=args.data, n=args.n, k=args.k,
                              features=args.features, n_test=args.n_test,
                              iwae_examples=args.iwae_examples, factor_votes=args.factor_votes,
                              data_dir=args.data_dir, seed=args.seed, device=args.device,
                              sections=args.sections.split(",") if args.sections else None,
                              log=lambda m: bars.console.print(f"[dim]{m}[/]"),
                              progress=progress)
    finally:
        if tasks:
            bars.stop()
    print_table(result)
    if args.out:
        from genlab.training.atomic import atomic_write_bytes
        atomic_write_bytes(Path(args.out), (json.dumps(to_jsonable(result), indent=2) + "\n")
                           .encode())
        console.print(f"wrote {args.out}")
    return 0


def to_jsonable(value):
    """Tensors / numpy values -> lists and numbers; NaN and ±inf -> "nan" / "inf" / "-inf"
    (valid JSON that still says what the value was)."""
    import numpy as np
    import torch

    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


ROWS = {  # section -> (key, label, format)
    "toy2d": [("modes", "modes covered", "{}"),
              ("high_quality_fraction", "high-quality samples", "{:.1%}"),
              ("reverse_kl", "reverse KL (nats)", "{:.4f}"),
              ("frechet_distance_2d", "Fréchet distance (2D coordinates)", "{:.4g}")],
    "samples": [("features", "features", "{}"), ("frechet_distance", "Fréchet distance", "{:.4g}"),
                ("kid", "KID (mean ± std)", "{}"), ("precision", "precision (k=3)", "{:.3f}"),
                ("recall", "recall (k=3)", "{:.3f}"), ("density", "density (k=5)", "{:.3f}"),
                ("coverage", "coverage (k=5)", "{:.3f}"), ("skipped", "skipped", "{}")],
    "mode_count": [("modes_found", "classes found", "{}"), ("kl", "KL(classes ‖ data)", "{:.4f}")],
    "likelihood": [("elbo", "test ELBO (nats)", "{:.2f}"),
                   ("recon_nll", "  reconstruction −E log p(x|z)", "{:.2f}"),
                   ("kl", "  KL(q(z|x) ‖ p(z))", "{:.2f}"),
                   ("nll_text", "NLL ≈ −L_k (nats, ± standard error)", "{}"),
                   ("iwae_text", "  k (importance samples)", "{}"),
                   ("active_units", "active units", "{}"),
                   ("note", "note", "{}")],
    "anomaly": [("holdout_class", "held-out class", "{}"), ("auroc", "AUROC", "{:.4f}"),
                ("auprc", "AUPRC", "{:.4f}"), ("score", "score", "{}")],
    "disentanglement": [("mig", "MIG", "{:.4f}"), ("factor_vae_score", "FactorVAE score", "{:.4f}"),
                        ("num_active_dims", "active latents", "{}")],
}


def print_table(result: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"genlab evaluate {result['run']} ({result['kind']}, step "
                        f"{result['step']}, data {result['dataset']})")
    table.add_column("section")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for section, rows in ROWS.items():
        values = result.get(section)
        if not values:
            continue
        values = dict(values)
        if "modes_covered" in values:
            values["modes"] = f"{values['modes_covered']} / {values['num_modes']}"
        if "nll" in values:
            values["nll_text"] = f"{values['nll']:.2f} ± {values['nll_se']:.2f}"
            values["iwae_text"] = (f"{values['iwae_k']} over {values['iwae_examples']} test "
                                   "examples" + ("" if values["iwae_k"] >= values["paper_iwae_k"]
                                                 else f" (a looser bound than Burda et al.'s k = "
                                                      f"{values['paper_iwae_k']}: --k "
                                                      f"{values['paper_iwae_k']})"))
        if "kid_mean" in values:
            values["kid"] = f"{values['kid_mean']:.4g} ± {values['kid_std']:.2g}"
        for key, label, fmt in rows:
            if key in values and values[key] is not None:
                value = values[key]
                try:
                    text = fmt.format(value)
                except (TypeError, ValueError):
                    text = str(value)
                table.add_row(section, label, text)
                section = ""
    console.print(table)
    parts = ", ".join(f"{name} {sec:.1f} s" for name, sec in result["section_seconds"].items())
    console.print(f"evaluated in {result['seconds']:.1f} s" + (f" ({parts})" if parts else ""))
