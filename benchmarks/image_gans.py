"""Image GANs on Fashion-MNIST: DCGAN vs WGAN-GP vs spectral norm vs minibatch discrimination,
with Fréchet distance / KID / precision / recall over training time.

Each variant trains genlab's DCGAN ("classic" preset at 28×28) in segments (`--resume` with
more steps); after each segment `genlab.evaluate.evaluate_run` draws samples and computes the
metrics on the features of genlab's Fashion-MNIST classifier, whose test accuracy the page
states: these are genlab scores, comparable with each other, not with Inception FIDs.

    python benchmarks/image_gans.py          # docs/results/image_gans.md + image_gans.png
    python benchmarks/image_gans.py --fast
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

VARIANTS = {  # longest first: with 2 workers WGAN-GP overlaps the rest
    "WGAN-GP": {"loss": "wgan-gp", "precision": "bf16"},
    "DCGAN (non-saturating)": {"loss": "non-saturating", "precision": "bf16"},
    "DCGAN (non-saturating), fp32": {"loss": "non-saturating", "precision": "fp32"},
    "DCGAN + spectral norm": {"loss": "non-saturating", "model.spectral_norm": True,
                              "precision": "bf16"},
    "DCGAN + minibatch discrimination": {"loss": "non-saturating", "model.minibatch_disc": True,
                                         "precision": "bf16"},
}
# bf16 autocast is what `precision: auto` picks on CPUs with native bf16 (this one); the fp32
# row is the same DCGAN in fp32, to check that bf16 reaches the same quality (issue 5).
# WGAN-GP takes 5 critic steps per generator step (Gulrajani et al. 2017, Alg. 1): it is
# evaluated after 1/5 of the generator steps, i.e. after as many discriminator updates as the
# other variants, which also keeps its training time comparable.
STEP_DIVISOR = {"WGAN-GP": 5}
GRID = 64  # samples in each variant's grid (seed 0: the first 64 of the evaluated samples)


def run_job(job: dict) -> dict:
    """Train one variant segment by segment, evaluating after each; every evaluation (and a
    grid of samples) is written to the run folder, so a job killed part-way resumes from its
    last evaluated checkpoint, and one stopped by --stop-at still reports the points it
    reached."""
    from genlab.evaluate import evaluate_run

    out = Path(job["run_dir"])
    curve = read_curve(out)
    done = {c["step"] for c in curve}
    seconds = curve[-1]["train_seconds"] if curve else 0.0
    cpu = curve[-1]["train_cpu_seconds"] if curve else 0.0
    stopped = False
    for steps in job["schedule"]:
        if steps in done:
            continue
        cpu_start = time.process_time()  # this worker's CPU time: robust to a loaded machine
        took = train_segment(job, out, steps, fresh=not curve)
        cpu += time.process_time() - cpu_start
        if took is None:  # --stop-at reached: the segment's steps are not kept
            stopped = True
            break
        seconds += took
        s = evaluate_run(out, n=job["n"], seed=0, classifier_epochs=job["classifier_epochs"],
                         kid_subsets=job["kid_subsets"], kid_subset_size=job["kid_subset_size"],
                         sections=("samples",))
        samples, modes = s["samples"], s.get("mode_count", {})
        curve.append({"step": steps, "train_seconds": round(seconds, 1),
                      "train_cpu_seconds": round(cpu, 1),
                      "frechet": samples["frechet_distance"], "kid": samples["kid_mean"],
                      "kid_std": samples["kid_std"], "precision": samples["precision"],
                      "recall": samples["recall"], "density": samples["density"],
                      "coverage": samples["coverage"], "classes_found": modes.get("modes_found"),
                      "class_kl": modes.get("kl"), "features": samples["features"],
                      "accuracy": samples["classifier_test_accuracy"]})
        save_grid(out)
        common.write_text(out / "curve.json", json.dumps(curve, indent=1))
    return {"variant": job["variant"], "curve": curve,
            "features": curve[-1]["features"] if curve else None,
            "accuracy": curve[-1]["accuracy"] if curve else None, "grid": str(out / "grid.png"),
            "precision_mode": job["config"]["precision"], "stopped_at_deadline": stopped}


def train_segment(job: dict, out: Path, steps: int, fresh: bool) -> float | None:
    """Train (a fresh run, or the run in `out` resumed) up to `steps`; the seconds it took, or
    None when job["deadline"] (epoch seconds) passed first (then nothing is checkpointed)."""
    from genlab import train

    if fresh:
        overrides = {"sample_every": 10 ** 9, "checkpoint_every": 10 ** 9, "log_every": 50,
                     **job["config"], "steps": steps}
        events = train(common.train_config(overrides), out, force=True)
    else:
        events = train(None, out, resume=True, overrides={"steps": steps})
    for event in events:
        if event["event"] == "done":
            return event["seconds"]
        if job.get("deadline") and time.time() > job["deadline"]:
            events.close()
            return None
    raise RuntimeError("training ended without a done event")


def save_grid(out: Path) -> None:
    """64 samples (seed 0) of the run's latest checkpoint -> RUN/grid.png."""
    import torch

    from genlab.imagegrid import save_image_grid
    from genlab.operations import sample
    from genlab.runs import load_run

    with torch.no_grad():
        save_image_grid(sample(load_run(out), GRID, seed=0), out / "grid.png", nrow=8, upscale=2)


def read_curve(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "curve.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else []
    except ValueError:  # cut by a kill: start the job over
        return []


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="default fashion-mnist; fast digits")
    p.add_argument("--schedule", default=None,
                   help="comma-separated generator steps at which to evaluate "
                        "(default 250,500,1000,1500,2000; fast 5,10; WGAN-GP: 1/5 of these)")
    p.add_argument("--n", type=int, default=None, help="samples per evaluation (default 2000)")
    p.add_argument("--stop-at", default=None, metavar="HH:MM",
                   help="UTC time after which no variant trains further: each keeps the "
                        "evaluations it reached (for a hard deadline on a shared machine)")
    p.add_argument("--note", action="append", default=[],
                   help="a line for the page's notes (repeatable), e.g. with --report-only")
    args = p.parse_args(argv)
    started = time.perf_counter()
    deadline = stop_time(args.stop_at) if args.stop_at else None
    data = args.data or ("digits" if args.fast else "fashion-mnist")
    schedule = [int(s) for s in (args.schedule or ("5,10" if args.fast else
                                                   "250,500,1000,1500,2000")).split(",")]
    n = args.n or (100 if args.fast else 2000)
    classifier_epochs = 1 if args.fast else 4
    work = common.work_dir(args, "image-gans-fast" if args.fast else "image-gans")
    if not args.report_only:  # train (or load) the evaluation classifier once, up front
        from genlab.metrics.features import FeatureExtractor
        net = FeatureExtractor.for_dataset(data, epochs=classifier_epochs)
        print(f"evaluation network: {net.name}", flush=True)
    jobs = []
    for variant, overrides in VARIANTS.items():
        config = {"model.kind": "dcgan", "data.name": data, "batch_size": 64, "seed": 0,
                  "model.filters": 8 if args.fast else 32, **overrides}
        steps = [max(1, s // STEP_DIVISOR.get(variant, 1)) for s in schedule]
        key = f"{data}|{variant}|{','.join(map(str, steps))}|{n}|{'fast' if args.fast else 'full'}"
        jobs.append({"key": key, "variant": variant, "config": config, "schedule": steps,
                     "n": n, "classifier_epochs": classifier_epochs,
                     "kid_subsets": 10 if args.fast else 100,
                     "kid_subset_size": 50 if args.fast else 1000, "show": ("features",),
                     "deadline": deadline,  # the folder does not depend on the schedule:
                     # a longer schedule later resumes from the last evaluated checkpoint
                     "run_dir": str(work / "runs" / slug(f"{data} {variant} {n} "
                                                         f"{'fast' if args.fast else 'full'}"))})

    name = "image_gans-fast" if args.fast else "image_gans"
    earlier = None  # evaluations already in the run folders were made by an earlier invocation
    if not args.report_only and any(read_curve(Path(j["run_dir"])) for j in jobs):
        earlier = common._training_run(Path(args.out) / f"{name}.md") or "(its page is gone)"

    def report(results):
        write_report(args, results, data, schedule, n, jobs, started, earlier)

    report(common.run_jobs(jobs, run_job, work / "results.jsonl", args, on_result=report))
    return 0


def write_report(args, results, data, schedule, n, jobs, started, earlier=None) -> None:
    out = Path(args.out)
    name = "image_gans-fast" if args.fast else "image_gans"
    finished = {r["variant"] for r in results}
    partial = []  # jobs cut short (a deadline, a kill): the evaluations they reached
    for job in jobs:
        curve = [] if job["variant"] in finished else read_curve(Path(job["run_dir"]))
        if curve:
            partial.append({"variant": job["variant"] + " (unfinished)", "curve": curve,
                            "base": job["variant"],
                            "features": curve[-1]["features"], "accuracy": curve[-1]["accuracy"],
                            "grid": str(Path(job["run_dir"]) / "grid.png")})
    stopped = [r["variant"] for r in results if r.get("stopped_at_deadline")]
    shown = [r for r in results if r["curve"]] + partial
    rows = []
    for r in shown:
        for c in r["curve"]:
            rows.append([r["variant"], c["step"], f"{c['train_cpu_seconds']:.0f}",
                         f"{c['train_seconds']:.0f}",
                         f"{c['frechet']:.2f}", f"{c['kid']:.4f} ± {c['kid_std']:.4f}",
                         f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['density']:.3f}",
                         f"{c['coverage']:.3f}", c["classes_found"],
                         "–" if c["class_kl"] is None else f"{c['class_kl']:.3f}"])
    features = shown[0]["features"] if shown else "(none yet)"
    notes = [f"Evaluation network: **{features}** — penultimate-layer (128-d) features of "
             "genlab's classifier (genlab.metrics.features.ClassifierNet, 4 epochs, seed 0) "
             "trained on the data set's training split; its test-split accuracy is in the "
             "name. Not Inception: numbers are comparable with each other only",
             f"Each evaluation: {n} generated samples (seed 0) against the whole test split; "
             f"KID = mean ± std of unbiased MMD² over {jobs[0]['kid_subsets']} subsets of "
             f"{jobs[0]['kid_subset_size']:,}; precision/recall "
             "k=3, density/coverage k=5; classes found / class KL (sample class histogram vs "
             "the test split's) by the same classifier",
             "Model: genlab DCGAN, classic preset at 28×28 (7→14→28), 32 base filters, "
             "batch 64, latent 100; non-saturating variants Adam(2e-4, 0.5, 0.999); "
             "WGAN-GP Adam(1e-4, 0, 0.9), 5 critic steps per generator step, layer norm in "
             "the critic, λ = 10; bf16 autocast (`precision: bf16`, what `auto` picks on "
             "this CPU; losses in fp32) except the row marked fp32 — the same DCGAN in fp32, "
             "to check that bf16 training reaches the same quality",
             "step = generator steps (WGAN-GP: 5 critic steps each, so it is evaluated at "
             "1/5 of the others' generator steps: the same number of discriminator updates); "
             "train CPU s = cumulative CPU seconds of the variant's training (one torch "
             "thread, evaluation excluded), the measure of training time used in the plot; "
             "train wall s = the same in wall-clock time, which depends on what else the "
             "machine ran meanwhile (see the notes below): CPU seconds are the comparable "
             "measure"]
    if partial:
        notes.append(f"{len(partial)} variant(s) marked *unfinished* were still training (or "
                     "were killed) when this page was written: their rows are the evaluations "
                     "they had written")
    if stopped:
        notes.append(f"**Stopped by the deadline** (`--stop-at`) before the last evaluation: "
                     f"{', '.join(stopped)} — their last rows are the last evaluations they "
                     "reached; the training after those was discarded")
    from genlab.data import load_dataset

    if earlier:
        notes.append("The evaluations the run folders already held when this invocation "
                     f"started (the first steps of each curve) were made by: {earlier}; this "
                     "invocation resumed each variant from its last evaluated checkpoint")
    notes += list(getattr(args, "note", []))
    last, n_train = max(schedule), len(load_dataset(data, "train"))
    notes.append(f"**Short training budget**: at most {last:,} generator steps of batch 64 "
                 f"(≈ {last * 64 / n_train:.1f} epochs of the {n_train:,} training images; WGAN-GP "
                 f"{last // STEP_DIVISOR['WGAN-GP']:,} generator steps) on one CPU thread each, "
                 "far from converged (DCGAN-style runs on such data usually train for tens "
                 "of epochs). The page shows early training: which variant learns fastest per "
                 "CPU second, not which is best when trained out, and the ranking can change "
                 "later. One seed per variant: no error bars over training runs, so "
                 "differences smaller than the jumps along one curve are not evidence")
    text = common.header(
        f"Image GANs on {data}: Fréchet distance, KID, precision/recall over training",
        args, started, "0 (one training run per variant; samples seeded with 0)",
        notes=notes, progress=(len(results), len(jobs)), results=results,
        page=out / f"{name}.md")
    text += "\n" + common.markdown_table(
        ["variant", "step", "train CPU s", "train wall s", "Fréchet", "KID", "precision", "recall", "density",
         "coverage", "classes", "class KL"], rows)
    short = features.split(" (")[0]
    metrics = [("frechet", "Fréchet distance", "Fréchet distance (lower is better)"),
               ("kid", "KID", "KID (lower is better)"),
               ("precision", "precision", "precision (higher is better)"),
               ("recall", "recall", "recall (higher is better)")]
    common.panel_plot(out / f"{name}.png", [
        ({r["variant"]: [(c["train_cpu_seconds"], c[key]) for c in r["curve"]] for r in shown},
         f"{title} on {short} features", "training CPU seconds (one thread)", ylabel)
        for key, title, ylabel in metrics], columns=2)
    text += f"\n![metrics over training time]({name}.png)\n"
    text += precision_comparison(shown)
    text += "\n## Samples at the last step\n\n"
    text += (f"{GRID} samples (seed 0) of each variant's generator at its last evaluated step "
             "(the same latent vectors for every variant), 2× enlarged.\n")
    for r in shown:
        if r.get("grid") and Path(r["grid"]).is_file():
            png = f"{name}-samples-{slug(r.get('base', r['variant']))}.png"
            shutil.copyfile(r["grid"], out / png)
            text += f"\n**{r['variant']}** (step {r['curve'][-1]['step']})\n\n![{r['variant']}]({png})\n"
    common.write_text(out / f"{name}.md", text)


def precision_comparison(shown: list[dict]) -> str:
    """The DCGAN in bf16 beside the same DCGAN in fp32, at the steps both reached (issue 5)."""
    by_name = {r.get("base", r["variant"]): r for r in shown}
    bf16, fp32 = by_name.get("DCGAN (non-saturating)"), by_name.get("DCGAN (non-saturating), fp32")
    if not bf16 or not fp32:
        return ""
    at = {c["step"]: c for c in fp32["curve"]}
    rows = [[c["step"], f"{c['frechet']:.1f} / {at[c['step']]['frechet']:.1f}",
             f"{c['kid']:.2f} ± {c['kid_std']:.2f} / {at[c['step']]['kid']:.2f} ± "
             f"{at[c['step']]['kid_std']:.2f}",
             f"{c['precision']:.3f} / {at[c['step']]['precision']:.3f}",
             f"{c['recall']:.3f} / {at[c['step']]['recall']:.3f}",
             f"{c['coverage']:.3f} / {at[c['step']]['coverage']:.3f}",
             f"{c['train_cpu_seconds']:.0f} / {at[c['step']]['train_cpu_seconds']:.0f}"]
            for c in bf16["curve"] if c["step"] in at]
    if not rows:
        return ""
    return ("\n## bf16 vs fp32 (the same DCGAN, seed and data order)\n\n"
            "Each cell: bf16 / fp32, at the generator steps both reached. One seed each, so a "
            "difference is only meaningful if it is larger than the change between successive "
            "evaluations of one run.\n\n" + common.markdown_table(
                ["step", "Fréchet", "KID", "precision", "recall", "coverage", "train CPU s"],
                rows))


def stop_time(hhmm: str) -> float:
    """Epoch seconds of the next HH:MM UTC (today, or tomorrow when that has passed)."""
    import datetime as dt

    try:
        hour, minute = (int(v) for v in hhmm.split(":"))
        now = dt.datetime.now(dt.timezone.utc)
        at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        raise SystemExit(f"error: --stop-at takes HH:MM (UTC), got {hhmm!r}") from None
    return (at if at > now else at + dt.timedelta(days=1)).timestamp()


def slug(variant: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in variant.lower()).split())


if __name__ == "__main__":
    sys.exit(main())
