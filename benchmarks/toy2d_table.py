"""Mode collapse on 2D mixtures: ring8 and grid25 × GAN losses and remedies, PacGAN protocol.

Each (data set, variant, seed) trains genlab's MLP GAN (`genlab train gan --data ring8 ...`),
then `genlab.evaluate.evaluate_run` draws 2,500 samples and applies the PacGAN protocol
(Lin et al. 2018, Sec. 5): modes with a high-quality sample (within 3σ), the high-quality
fraction, reverse KL of the mode histogram against uniform. Reported as mean ± standard error
over seeds, beside the published rows (numbers from ../shared/DESIGN.md).

    python benchmarks/toy2d_table.py            # full: docs/results/toy2d.md + toy2d.png
    python benchmarks/toy2d_table.py --fast     # seconds: a smoke test
"""

from __future__ import annotations

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
}
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
GOAL = "every mode, ≥ 95% high-quality samples and reverse KL ≤ 0.02 on both sets"


def run_job(job: dict) -> dict:
    from genlab.evaluate import evaluate_run

    out = Path(job["run_dir"])
    seconds = common.train(job["config"], out)
    started = time.perf_counter()
    result = evaluate_run(out, n=2500, seed=job["seed"])["toy2d"]
    return {"data": job["data"], "variant": job["variant"], "seed": job["seed"],
            "steps": job["config"]["steps"], "modes": result["modes_covered"],
            "num_modes": result["num_modes"], "high_quality": result["high_quality_fraction"],
            "reverse_kl": result["reverse_kl"], "train_seconds": seconds,
            "eval_seconds": round(time.perf_counter() - started, 2)}


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=None, help="seeds per cell (default 10; fast 1)")
    p.add_argument("--steps", type=int, default=None,
                   help="generator steps per run (default 2000; fast 10)")
    p.add_argument("--wgan-steps", type=int, default=None,
                   help="generator steps of WGAN-GP (5 critic steps each; default: --steps)")
    p.add_argument("--lr", type=float, default=1e-3, help="generator and discriminator lr")
    p.add_argument("--hidden-dim", type=int, default=128, help="MLP width of G and D")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--variants", default=None,
                   help="comma-separated subset (default all; fast: non-saturating, WGAN-GP)")
    args = p.parse_args(argv)
    started = time.perf_counter()
    seeds = args.seeds or (1 if args.fast else 10)
    steps = args.steps or (10 if args.fast else 2000)
    wgan_steps = args.wgan_steps or steps
    chosen = args.variants or ("non-saturating,WGAN-GP" if args.fast else ",".join(VARIANTS))
    variants = [v.strip() for v in chosen.split(",")]
    for v in variants:
        if v not in VARIANTS:
            p.error(f"unknown variant {v!r}: choose from {', '.join(VARIANTS)}")
    work = common.work_dir(args, "toy2d-fast" if args.fast else "toy2d")
    jobs = []
    for seed in range(seeds):  # seed-major: a cut-short run still fills every cell
        for data in DATASETS:
            for variant in variants:
                n = wgan_steps if VARIANTS[variant].get("loss") == "wgan-gp" else steps
                config = {"model.kind": "gan", "data.name": data, "seed": seed, "steps": n,
                          "lr": args.lr, "lr_decay_start": 0.5, "batch_size": args.batch_size,
                          "model.hidden_dim": args.hidden_dim, **VARIANTS[variant]}
                if VARIANTS[variant].get("loss") == "wgan-gp":
                    config.pop("lr")  # WGAN-GP keeps its own recipe: Adam(1e-4, 0, 0.9)
                if args.fast:
                    config.update({"model.hidden_dim": 16, "batch_size": 32})
                key = (f"{data}|{variant}|{seed}|{n}|{args.lr}|{args.hidden_dim}|"
                       f"{args.batch_size}|{'fast' if args.fast else 'full'}")
                jobs.append({"key": key, "data": data, "variant": variant, "seed": seed,
                             "config": config, "show": ("modes", "high_quality", "reverse_kl"),
                             "run_dir": str(work / "runs" / key.replace("|", "_").replace(
                                 " ", "").replace("+", "").replace("(", "").replace(")", ""))})
    def report(results):
        write_report(args, results, variants, seeds, steps, wgan_steps, started, len(jobs))

    report(common.run_jobs(jobs, run_job, work / "results.jsonl", args, on_result=report))
    return 0


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
                         common.fmt_mean_se([r["reverse_kl"] for r in cell], "{:.3f}"),
                         sum(r["modes"] == m for r in cell),
                         f"{sum(r['train_seconds'] for r in cell) / len(cell):.0f}"])
            best.setdefault(variant, {})[data] = cell
    verdicts = []
    for variant, by_data in best.items():
        ok = len(by_data) == len(DATASETS) and all(
            common.mean_se([r["modes"] for r in c])[0] == c[0]["num_modes"]
            and common.mean_se([r["high_quality"] for r in c])[0] >= 0.95
            and common.mean_se([r["reverse_kl"] for r in c])[0] <= 0.02 for c in by_data.values())
        if ok:
            verdicts.append(variant)
    goal = (f"**Reached** by: {', '.join(verdicts)}." if verdicts else
            "**Not reached** by any variant at these settings (see the table for how close).")
    text = common.header(
        "Mode collapse on 2D mixtures (PacGAN protocol)", args, started,
        f"0..{seeds - 1} per cell (training seed; the 2,500 evaluation samples use the same seed)",
        notes=[f"genlab MLP GAN (hidden {args.hidden_dim}, depth 3, latent 2, batch "
               f"{args.batch_size}), {steps} generator "
               f"steps (WGAN-GP: {wgan_steps} generator steps × 5 critic steps, Adam(1e-4, 0, "
               f"0.9), its paper's recipe), others Adam(lr {args.lr}, β=(0.5, 0.999)); "
               "lr constant for the first half, then linear decay to 0",
               "PacGAN/VEEGAN used longer training and their own architectures: the published "
               "rows are context, not a like-for-like comparison"],
        progress=(len(results), planned), results=results)
    text += (f"\nGoal: {GOAL}. {goal}\n\n"
             "Mean ± standard error over seeds. *all modes* = seeds that covered every mode; "
             "*s/run* = training seconds per run.\n\n")
    text += common.markdown_table(
        ["data", "variant", "seeds", "modes", "high-quality %", "reverse KL", "all modes",
         "s/run"], rows)
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
        common.bar_chart(out / f"{name}-{metric.replace('_', '-')}.png", variants, series,
                         f"{label}: mean over seeds, {steps} steps", label, ymax=1.0)

if __name__ == "__main__":
    sys.exit(main())
