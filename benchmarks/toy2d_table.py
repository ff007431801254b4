"""Mode collapse on 2D mixtures: ring8 and grid25 × GAN losses and remedies, PacGAN protocol.

Each (data set, variant, seed) trains genlab's MLP GAN (`genlab train gan --data ring8 ...`),
then `genlab.evaluate.evaluate_run` draws 2,500 samples and applies the PacGAN protocol
(Lin et al. 2018, Sec. 5): modes with a high-quality sample (within 3σ), the high-quality
fraction, reverse KL of the mode histogram against uniform. Reported as mean ± standard error
over seeds, beside the published rows (numbers from ../shared/DESIGN.md).

Every row trains with the library's own defaults for its loss / remedy (genlab.config
KIND_DEFAULTS and LOSS_DEFAULTS, as `genlab train gan --data grid25 --loss hinge` would), except
the number of generator steps, which the time budget sets (--steps, --wgan-steps); the page
lists each row's resolved configuration, read back from the run folder's config.json.

    python benchmarks/toy2d_table.py            # full: docs/results/toy2d.md + toy2d.png
    python benchmarks/toy2d_table.py --fast     # seconds: a smoke test
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# variant -> config overrides (non-saturating is the base loss of the remedies)
VARIANTS = {
    "minimax": {"loss": "minimax"},
    "non-saturating": {"loss": "non-saturating"},
    "hinge": {"loss": "hinge"},
    "least-squares": {"loss": "least-squares"},
    "WGAN-GP": {"loss": "wgan-gp"},
    "NS + spectral norm": {"loss": "non-saturating", "model.spectral_norm": True},
    "NS + minibatch discrimination": {"loss": "non-saturating", "model.minibatch_disc": True},
    "NS + packing (pack 4)": {"loss": "non-saturating", "model.pack": 4},
    # Generator weight averaging (Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging
    # in GAN Training"): samples from the EMA of G's weights. Not in the default grid (--long).
    "NS + G EMA 0.999": {"loss": "non-saturating", "ema_decay": 0.999},
    "NS + pack 2 + G EMA 0.999": {"loss": "non-saturating", "model.pack": 2,
                                  "ema_decay": 0.999},
    "NS + latent 8 + G EMA 0.999": {"loss": "non-saturating", "model.latent_dim": 8,
                                    "ema_decay": 0.999},
    # Least squares (Mao et al. 2017) had the smallest spread over seeds at 10,000 steps
    "LS + G EMA 0.999": {"loss": "least-squares", "ema_decay": 0.999},
    # Twice the width (G and D 256 × 3): 4x the multiply-adds of a hidden layer, 2x the time
    "NS + width 256 + G EMA 0.999": {"loss": "non-saturating", "model.hidden_dim": 256,
                                     "ema_decay": 0.999},
}
GRID_VARIANTS = [v for v in VARIANTS if "EMA" not in v]
DATASETS = ("ring8", "grid25")
# Published rows (../shared/DESIGN.md): grid25 unless noted; modes / high-quality % / reverse KL
PUBLISHED = [
    ("GAN (PacGAN, Lin et al. 2018, Table 1)", "grid25", "17.3", "94.8", "0.70"),
    ("PacGAN4 (PacGAN, Table 1)", "grid25", "24.8", "93.6", "0.04"),
    ("GAN (VEEGAN, Srivastava et al. 2017)", "grid25", "3.3", "0.5", "–"),
    ("Unrolled GAN (VEEGAN table)", "grid25", "23.6", "16.0", "–"),
    ("VEEGAN (VEEGAN table)", "grid25", "24.6", "40.0", "–"),
    ("WGAN-GP (GDPP, Elfeki et al. 2019)", "grid25", "24.2", "28.7", "–"),
]
DEFAULTS = "v2"  # bump when the library's 2D GAN defaults change (keys of the resumable log)
GOAL = "every mode, ≥ 95% high-quality samples and reverse KL ≤ 0.02 on both sets"


def run_job(job: dict) -> dict:
    from genlab.evaluate import evaluate_run

    out = Path(job["run_dir"])
    seconds = common.train(job["config"], out)
    started = time.perf_counter()
    result = evaluate_run(out, n=2500, seed=job["seed"])["toy2d"]
    return {"config": describe(json.loads((out / "config.json").read_text())),
            "data": job["data"], "variant": job["variant"], "seed": job["seed"],
            "steps": job["config"]["steps"], "modes": result["modes_covered"],
            "num_modes": result["num_modes"], "high_quality": result["high_quality_fraction"],
            "reverse_kl": result["reverse_kl"], "train_seconds": seconds,
            "eval_seconds": round(time.perf_counter() - started, 2)}


def describe(cfg: dict) -> str:
    """One line for the resolved config of a run: what the library's defaults chose."""
    m = cfg["model"]
    decay = (f", lr → 0 linearly after {cfg['lr_decay_start']:g} of the steps"
             if cfg["lr_decay_start"] < 1 else "")
    extra = [name for name, on in (("spectral norm", m["spectral_norm"]),
                                   ("minibatch discrimination", m["minibatch_disc"]),
                                   (f"pack {m['pack']}", m["pack"] > 1)) if on]
    gp = f", λ {cfg['gp_weight']:g}" if cfg["loss"] == "wgan-gp" else ""
    ema = f", G EMA {cfg['ema_decay']:g}" if cfg["ema_decay"] else ""
    lr_d = cfg.get("lr_d", cfg["lr"])  # resolved: D's own rate, the same as G's unless set
    lr = f"{cfg['lr']:g}" if lr_d in (None, cfg["lr"]) else f"G {cfg['lr']:g} / D {lr_d:g}"
    return (f"{m['hidden_dim']}×{m['depth']} MLPs, batch {cfg['batch_size']}, "
            f"Adam({lr}, β {cfg['betas'][0]:g}/{cfg['betas'][1]:g}){decay}, "
            f"{cfg['n_critic']} D step(s){gp}, D norm {m['discriminator_norm']}{ema}"
            + "".join(f", {e}" for e in extra))


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=None, help="seeds per cell (default 10; fast 1)")
    p.add_argument("--steps", type=int, default=None,
                   help="generator steps per run (default 3000; fast 10)")
    p.add_argument("--wgan-steps", type=int, default=None,
                   help="generator steps of WGAN-GP (5 critic steps each; default: --steps)")
    p.add_argument("--lr", type=float, default=None, help="override the library's lr")
    p.add_argument("--hidden-dim", type=int, default=None, help="override the MLP width")
    p.add_argument("--batch-size", type=int, default=None, help="override the batch size")
    p.add_argument("--variants", default=None,
                   help="comma-separated subset (default all; fast: non-saturating, WGAN-GP)")
    p.add_argument("--long", action="append", default=[], metavar="VARIANT:STEPS:SEEDS",
                   help="extra rows: VARIANT trained for STEPS steps on SEEDS seeds (run first)")
    p.add_argument("--note", action="append", default=[],
                   help="a line for the page's notes (e.g. why these steps); @FILE: one per line")
    args = p.parse_args(argv)
    args.note = [line for note in args.note for line in (
        Path(note[1:]).read_text().splitlines() if note.startswith("@") else [note])
        if line.strip()]
    started = time.perf_counter()
    seeds = args.seeds or (1 if args.fast else 10)
    steps = args.steps or (10 if args.fast else 3000)
    wgan_steps = args.wgan_steps or steps
    chosen = args.variants or ("non-saturating,WGAN-GP" if args.fast else ",".join(GRID_VARIANTS))
    variants = [v.strip() for v in chosen.split(",")]
    for v in variants:
        if v not in VARIANTS:
            p.error(f"unknown variant {v!r}: choose from {', '.join(VARIANTS)}")
    rows = []  # (row name, variant, generator steps, seeds)
    for spec in args.long:  # first: few runs, and the question of what more steps give
        try:
            variant, n, k = spec.rsplit(":", 2)
            n, k = int(n), int(k)
        except ValueError:
            p.error(f"--long {spec!r}: expected VARIANT:STEPS:SEEDS")
        if variant not in VARIANTS:
            p.error(f"unknown variant {variant!r}: choose from {', '.join(VARIANTS)}")
        rows.append((f"{variant}, {n} steps", variant, n, k))
    for variant in variants:
        rows.append((variant, variant,
                     wgan_steps if VARIANTS[variant].get("loss") == "wgan-gp" else steps, seeds))
    work = common.work_dir(args, "toy2d-fast" if args.fast else "toy2d")
    jobs = []
    for first, last in ((0, len(args.long)), (len(args.long), len(rows))):
        for seed in range(max([r[3] for r in rows[first:last]], default=0)):  # seed-major:
            for data in DATASETS:  # a cut-short run still fills every cell
                for name, variant, n, k in rows[first:last]:
                    if seed >= k:
                        continue
                    jobs.append(make_job(args, work, data, name, variant, seed, n))
    def report(results):
        write_report(args, results, [r[0] for r in rows], seeds, steps, wgan_steps, started,
                     len(jobs))

    report(common.run_jobs(jobs, run_job, work / "results.jsonl", args, on_result=report))
    return 0


def kl_cell(values: list[float]) -> str:
    """Mean ± SE of the reverse KL; it is undefined (nan) for a seed with no high-quality
    sample, so such seeds are left out and counted."""
    text = common.fmt_mean_se(values, "{:.3f}")
    undefined = sum(v != v for v in values)
    return text + (f" (undefined for {undefined} of {len(values)} seeds: no high-quality "
                   "sample)" if undefined else "")


def kl_gap(kl: float) -> str:
    if kl != kl:  # nan: no high-quality sample at all
        return "undefined: no high-quality sample"
    return "meets 0.02" if kl <= 0.02 else f"{kl - 0.02:.3f} above 0.02"


def make_job(args, work: Path, data: str, name: str, variant: str, seed: int, n: int) -> dict:
    config = {"model.kind": "gan", "data.name": data, "seed": seed, "steps": n,
              **VARIANTS[variant]}  # everything else: the library's defaults
    for key, value in (("lr", args.lr), ("batch_size", args.batch_size),
                       ("model.hidden_dim", args.hidden_dim)):
        if value is not None:
            config[key] = value
    if args.fast:
        config.update({"model.hidden_dim": 16, "batch_size": 32})
    key = (f"{data}|{variant}|{seed}|{n}|{args.lr}|{args.hidden_dim}|"
           f"{args.batch_size}|{'fast' if args.fast else 'full'}|defaults-{DEFAULTS}")
    return {"key": key, "data": data, "variant": name, "seed": seed, "config": config,
            "show": ("modes", "high_quality", "reverse_kl"),
            "run_dir": str(work / "runs" / key.replace("|", "_").replace(" ", "").replace(
                "+", "").replace("(", "").replace(")", ""))}


def write_report(args, results, variants, seeds, steps, wgan_steps, started, planned) -> None:
    out = Path(args.out)
    name = "toy2d-fast" if args.fast else "toy2d"
    rows, best = [], {}
    for data in DATASETS:
        for variant in variants:
            cell = [r for r in results if r["data"] == data and r["variant"] == variant]
            if not cell:
                continue
            m = cell[0]["num_modes"]
            rows.append([data, variant, len(cell),
                         common.fmt_mean_se([r["modes"] for r in cell], "{:.1f}") + f" / {m}",
                         common.fmt_mean_se([r["high_quality"] for r in cell], "{:.1f}", 100),
                         kl_cell([r["reverse_kl"] for r in cell]),
                         sum(r["modes"] == m for r in cell),
                         f"{sum(r['train_seconds'] for r in cell) / len(cell):.0f}"])
            best.setdefault(variant, {})[data] = cell
    verdicts, gaps = [], []
    for variant, by_data in best.items():
        if len(by_data) < len(DATASETS):
            continue
        stats = {d: (common.mean_se([r["modes"] for r in c])[0], c[0]["num_modes"],
                     common.mean_se([r["high_quality"] for r in c])[0],
                     common.mean_se([r["reverse_kl"] for r in c])[0]) for d, c in by_data.items()}
        if all(m == n and hq >= 0.95 and kl <= 0.02 for m, n, hq, kl in stats.values()):
            verdicts.append(variant)
        worst_hq = min(hq for _, _, hq, _ in stats.values())
        gaps.append((worst_hq, variant, stats))
    if verdicts:
        goal = f"**Reached** by: {', '.join(verdicts)}."
    elif gaps:
        worst_hq, variant, stats = max(gaps)
        goal = ("**Not reached.** Closest (highest worst-case high-quality fraction): "
                f"{variant} — " + "; ".join(
                    f"{d}: {m:.1f}/{n} modes, {100 * hq:.1f}% high quality "
                    f"({'meets' if hq >= 0.95 else f'{100 * (0.95 - hq):.1f} points short of'}"
                    f" 95%), reverse KL {kl:.3f} "
                    f"({kl_gap(kl)})"
                    for d, (m, n, hq, kl) in stats.items()) + ".")
    else:
        goal = "**Not evaluated**: no variant has results on both sets yet."
    configs = []
    for variant in variants:
        cell = [r for r in results if r["variant"] == variant and "config" in r]
        if cell:
            configs.append([variant, cell[0]["steps"], cell[0]["config"]])
    text = common.header(
        "Mode collapse on 2D mixtures (PacGAN protocol)", args, started,
        f"0..{seeds - 1} per cell (training seed; the 2,500 evaluation samples use the same seed)",
        notes=[f"every row: the library's defaults for its loss / remedy (listed below), "
               f"latent 2, {steps} generator steps (WGAN-GP: {wgan_steps}, each with its 5 "
               "critic steps); the step count is set by the time budget, the defaults train "
               "10,000 (3,000 for WGAN-GP)",
               "PacGAN/VEEGAN used longer training and their own architectures: the published "
               "rows are context, not a like-for-like comparison", *args.note],
        progress=(len(results), planned), results=results, page=out / f"{name}.md")
    text += (f"\nGoal: {GOAL}. {goal}\n\n"
             "Mean ± standard error over seeds. *all modes* = seeds that covered every mode; "
             "*s/run* = training seconds per run.\n\n")
    text += common.markdown_table(
        ["data", "variant", "seeds", "modes", "high-quality %", "reverse KL", "all modes",
         "s/run"], rows)
    text += (f"\n![modes covered]({name}-modes.png)\n"
             f"![high-quality fraction]({name}-high-quality.png)\n")
    text += "\nConfiguration of each row (resolved by `genlab.config.resolve`):\n\n"
    text += common.markdown_table(["variant", "generator steps", "configuration"], configs)
    text += ("\nPublished (grid of 25, 2,500 samples; PacGAN Table 1, VEEGAN Table 1, GDPP "
             "Table 1, as collected in DESIGN.md):\n\n")
    text += common.markdown_table(["method", "data", "modes", "high-quality %", "reverse KL"],
                                  [list(r) for r in PUBLISHED])
    common.write_text(out / f"{name}.md", text)
    for metric, label, scale in (("modes", "modes covered (fraction of all modes)", None),
                                 ("high_quality", "high-quality samples (fraction)", 1.0)):
        series = {}
        for data in DATASETS:
            series[data] = [
                common.mean_se([r[metric] / (r["num_modes"] if scale is None else scale)
                                for r in best[v][data]])[0] if data in best.get(v, {}) else None
                for v in variants]
        # the width grows with the rows: ~74 px a group keeps "WGAN-GP" clear of its neighbour
        common.bar_chart(out / f"{name}-{metric.replace('_', '-')}.png",
                         [short_name(v) for v in variants], series,
                         f"mean over seeds; {steps} generator steps unless the bar says",
                         label, size=(max(1100, 210 + 74 * len(variants)), 480), ymax=1.0)


def short_name(row: str) -> str:
    """A bar label that fits under its bar: "NS + spectral norm" -> "NS+SN"."""
    for long, short in (("non-saturating", "NS"), ("least-squares", "LS"),
                        (" + spectral norm", "+SN"), (" + minibatch discrimination", "+MBD"),
                        (" + packing (pack 4)", "+pack4"), (" + pack 2", " +pk2"),
                        (" + latent 8", " +z8"), (" + width 256", " +w256"),
                        (" + G EMA 0.999", " +EMA"), ("100000 steps", "100k"),
                        ("30000 steps", "30k"),
                        ("10000 steps", "10k"), ("3000 steps", "3k")):
        row = row.replace(long, short)
    return row.replace(", ", " ")

if __name__ == "__main__":
    sys.exit(main())
