"""grid25 time to goal: the PacGAN bar on the 5×5 grid (every seed 25/25 modes, mean high-quality
fraction ≥ 95%, mean reverse KL ≤ 0.02 over 10 seeds) and the training time one seed takes.

Trains the recipe below for seeds 0..N-1 (no seed is chosen or dropped), one after another in
one process with one torch thread unless --workers/--threads say otherwise, evaluates each run
with the protocol of benchmarks/toy2d_table.py (`genlab.evaluate.evaluate_run(run, n=2500,
seed=seed)["toy2d"]`), and writes its section of docs/results/speed.md between the
`toy2d_time_to_goal` markers (the rest of the page is left as it is). It ends with the line

    grid25 time to goal: X s/seed (median), modes a/25 worst, HQ m ± s %, KL k

Time per seed = wall time of the whole `genlab.train` call (data, model, the loop, the final
samples and checkpoint; not the evaluation), with the process's CPU seconds beside it: on a
shared machine the wall time grows with the others' load, the CPU time much less.

    python benchmarks/toy2d_time_to_goal.py            # 10 seeds, ~5 min on one thread
    python benchmarks/toy2d_time_to_goal.py --fast     # seconds: a smoke test (speed-fast.md)
"""

from __future__ import annotations

import json
import shlex
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from toy2d_table import describe  # noqa: E402

# The recipe (docs/results/toy2d.md, "time to goal"): least squares + generator EMA as in the
# 30,000-step row, with 12,000 steps, the linear lr decay to 0 starting at 30% of them, and the
# generator's learning rate 1.5x the discriminator's (third screen: G slower than D lost, G
# faster lifted every weak seed).
RECIPE = {"model.kind": "gan", "data.name": "grid25", "loss": "least-squares",
          "ema_decay": 0.999, "steps": 12000, "lr_decay_start": 0.3, "lr": 1.5e-3, "lr_d": 1e-3}


def train_command(recipe: dict) -> str:
    """The `genlab train` line of a recipe (flat config fields), through the CLI's one table
    of flags (genlab.config.TRAIN_FIELDS), so the page's command cannot drift from RECIPE;
    with an --out, so it runs as printed."""
    from genlab.config import TRAIN_FIELDS

    flag = {field: "--" + dest.replace("_", "-") for dest, field in TRAIN_FIELDS.items()}
    words = ["genlab", "train", recipe["model.kind"]]
    for field, value in recipe.items():
        if field != "model.kind":
            words += [flag[field], f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join(words + ["--out", "runs/grid25"])


BASELINE = ("LS + G EMA 0.999, 30,000 steps (lr decay from 0.5; docs/results/toy2d.md): "
            "95.3 ± 0.8% high quality, KL 0.007, every seed 25/25, 96 s/seed; this schedule "
            "with G and D both at lr 1e-3: 94.5 ± 0.6%, KL 0.006, 27.4 s/seed")
GOAL_SECONDS = 30.0
BEGIN, END = "<!-- toy2d_time_to_goal: begin -->", "<!-- toy2d_time_to_goal: end -->"
DEFAULTS = "v2"  # as toy2d_table.DEFAULTS: part of the log's keys


def run_job(job: dict) -> dict:
    from genlab.evaluate import evaluate_run

    out = Path(job["run_dir"])
    wall, cpu = time.perf_counter(), time.process_time()
    loop_seconds = common.train(job["config"], out)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = evaluate_run(out, n=2500, seed=job["seed"])["toy2d"]
    return {"seed": job["seed"], "modes": result["modes_covered"],
            "num_modes": result["num_modes"], "high_quality": result["high_quality_fraction"],
            "reverse_kl": result["reverse_kl"], "train_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2), "loop_seconds": loop_seconds,
            "config": describe(json.loads((out / "config.json").read_text()))}


def summary(results: list[dict]) -> dict:
    hq_mean, hq_se, _ = common.mean_se([r["high_quality"] for r in results])
    kl_mean, _, _ = common.mean_se([r["reverse_kl"] for r in results])
    worst = min(results, key=lambda r: r["modes"])
    median = statistics.median(r["train_seconds"] for r in results)
    met = {"modes": all(r["modes"] == r["num_modes"] for r in results),
           "high quality": hq_mean >= 0.95, "reverse KL": kl_mean <= 0.02,
           "time": median <= GOAL_SECONDS}
    return {"median": median, "max": max(r["train_seconds"] for r in results),
            "cpu_median": statistics.median(r["cpu_seconds"] for r in results),
            "worst_modes": worst["modes"], "num_modes": worst["num_modes"],
            "hq": hq_mean, "hq_se": hq_se, "kl": kl_mean,
            "kl_worst": max(r["reverse_kl"] for r in results), "met": met}


def goal_line(s: dict) -> str:
    return (f"grid25 time to goal: {s['median']:.1f} s/seed (median), modes "
            f"{s['worst_modes']}/{s['num_modes']} worst, HQ {100 * s['hq']:.1f} ± "
            f"{100 * s['hq_se']:.1f} %, KL {s['kl']:.3f}")


def section(args, results: list[dict], planned: int, recipe: dict) -> str:
    s = summary(results)
    m = common.machine()
    missed = [k for k, ok in s["met"].items() if not ok]
    verdict = ("**Goal met**" if not missed and len(results) == planned else
               f"**Partial**: {len(results)} of {planned} seeds" if len(results) < planned else
               f"**Goal missed** on: {', '.join(missed)}")
    rows = [[r["seed"], f"{r['modes']}/{r['num_modes']}", f"{100 * r['high_quality']:.1f}",
             f"{r['reverse_kl']:.4f}", f"{r['train_seconds']:.1f}", f"{r['cpu_seconds']:.1f}"]
            for r in sorted(results, key=lambda r: r["seed"])]
    lines = [
        BEGIN, "## grid25 time to goal (least squares + generator EMA)", "",
        f"_Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit "
        f"`{common.COMMIT_AT_START}`, {m['cpu']}, {m['cores']} cores (shared: load average "
        f"at the end {m['load_average']}), torch {m['torch']}, {args.workers} worker "
        f"process(es) × {args.threads} thread(s); "
        f"`{('python benchmarks/toy2d_time_to_goal.py ' + shlex.join(sys.argv[1:])).rstrip()}`._",
        "",
        f"Goal (issue 14): the PacGAN bar on grid25 — every seed 25/25 modes, mean high-quality "
        f"fraction ≥ 95%, mean reverse KL ≤ 0.02 over seeds 0–{planned - 1} — in ≤ "
        f"{GOAL_SECONDS:.0f} s of training per seed on one thread. {verdict}.", "",
        f"Recipe: `{train_command(recipe) if not args.fast else 'fast smoke-test settings'}` "
        f"({results[0]['config']}). Before: {BASELINE}.", "",
        "*train s* = wall time of the whole `genlab.train` call (data, model, loop, final "
        "samples and checkpoint; evaluation excluded); *CPU s* = the process's CPU time over "
        "the same span.", "",
        common.markdown_table(["seed", "modes", "high-quality %", "reverse KL", "train s",
                               "CPU s"], rows).rstrip(), "",
        f"Median {s['median']:.1f} s/seed (max {s['max']:.1f}; CPU median "
        f"{s['cpu_median']:.1f} s); high quality {100 * s['hq']:.1f} ± {100 * s['hq_se']:.1f}% "
        f"(mean ± SE); reverse KL mean {s['kl']:.4f}, worst seed {s['kl_worst']:.4f}.", "",
        f"`{goal_line(s)}`", END, ""]
    return "\n".join(lines)


def write_section(page: Path, text: str) -> None:
    """Replace this script's block of `page` (between BEGIN and END), or append it; every
    other line of the page stays as it was."""
    old = page.read_text() if page.exists() else "# Speed\n"
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END):].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    common.write_text(page, new)


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.set_defaults(workers=1)  # timings: one run at a time unless asked otherwise
    p.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 10; fast 1)")
    args = p.parse_args(argv)
    seeds = args.seeds or (1 if args.fast else 10)
    recipe = dict(RECIPE)
    if args.fast:
        recipe.update({"steps": 20, "model.hidden_dim": 16, "batch_size": 32})
    work = common.work_dir(args, "toy2d-time-to-goal-fast" if args.fast else "toy2d-time-to-goal")
    jobs = []
    for seed in range(seeds):
        key = (f"{json.dumps(recipe, sort_keys=True)}|{seed}|{args.threads}|"
               f"{'fast' if args.fast else 'full'}|defaults-{DEFAULTS}")
        jobs.append({"key": key, "seed": seed, "config": {**recipe, "seed": seed},
                     "run_dir": str(work / "runs" / f"seed{seed}"),
                     "show": ("modes", "high_quality", "reverse_kl", "train_seconds")})
    page = Path(args.out) / ("speed-fast.md" if args.fast else "speed.md")

    def report(results):
        write_section(page, section(args, results, len(jobs), recipe))

    results = common.run_jobs(jobs, run_job, work / "results.jsonl", args, on_result=report)
    if not results:
        raise SystemExit("error: no results logged for these settings yet")
    report(results)
    print(goal_line(summary(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
