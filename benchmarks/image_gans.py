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

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

VARIANTS = {  # cheapest first: a run cut short still has the most rows
    "DCGAN (non-saturating)": {"loss": "non-saturating"},
    "DCGAN + spectral norm": {"loss": "non-saturating", "model.spectral_norm": True},
    "DCGAN + minibatch discrimination": {"loss": "non-saturating", "model.minibatch_disc": True},
    "WGAN-GP": {"loss": "wgan-gp"},
}


def run_job(job: dict) -> dict:
    from genlab.evaluate import evaluate_run
    from genlab.train import train

    out = Path(job["run_dir"])
    curve, seconds = [], 0.0
    for i, steps in enumerate(job["schedule"]):
        if i == 0:
            seconds += common.train({**job["config"], "steps": steps}, out)
        else:
            for event in train(None, out, resume=True, overrides={"steps": steps}):
                if event["event"] == "done":
                    seconds += event["seconds"]
        s = evaluate_run(out, n=job["n"], seed=0, classifier_epochs=job["classifier_epochs"],
                         kid_subsets=job["kid_subsets"], kid_subset_size=job["kid_subset_size"],
                         sections=("samples",))
        samples, modes = s["samples"], s.get("mode_count", {})
        curve.append({"step": steps, "train_seconds": round(seconds, 1),
                      "frechet": samples["frechet_distance"], "kid": samples["kid_mean"],
                      "kid_std": samples["kid_std"], "precision": samples["precision"],
                      "recall": samples["recall"], "density": samples["density"],
                      "coverage": samples["coverage"], "classes_found": modes.get("modes_found"),
                      "class_kl": modes.get("kl")})
    return {"variant": job["variant"], "curve": curve, "features": samples["features"],
            "accuracy": samples["classifier_test_accuracy"]}


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="default fashion-mnist; fast digits")
    p.add_argument("--schedule", default=None,
                   help="comma-separated generator steps at which to evaluate "
                        "(default 250,500,1000,1500; fast 2,4)")
    p.add_argument("--n", type=int, default=None, help="samples per evaluation (default 2000)")
    args = p.parse_args(argv)
    started = time.perf_counter()
    data = args.data or ("digits" if args.fast else "fashion-mnist")
    schedule = [int(s) for s in (args.schedule or ("2,4" if args.fast else
                                                   "250,500,1000,1500")).split(",")]
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
        key = f"{data}|{variant}|{','.join(map(str, schedule))}|{n}|{'fast' if args.fast else 'full'}"
        jobs.append({"key": key, "variant": variant, "config": config, "schedule": schedule,
                     "n": n, "classifier_epochs": classifier_epochs,
                     "kid_subsets": 10 if args.fast else 100,
                     "kid_subset_size": 50 if args.fast else 1000, "show": ("features",),
                     "run_dir": str(work / "runs" / key.replace("|", "_").replace(" ", "")
                                    .replace("(", "").replace(")", "").replace("+", ""))})

    def report(results):
        write_report(args, results, data, schedule, n, len(jobs), started)

    report(common.run_jobs(jobs, run_job, work / "results.jsonl", args, on_result=report))
    return 0


def write_report(args, results, data, schedule, n, planned, started) -> None:
    out = Path(args.out)
    name = "image_gans-fast" if args.fast else "image_gans"
    rows = []
    for r in results:
        for c in r["curve"]:
            rows.append([r["variant"], c["step"], f"{c['train_seconds']:.0f}",
                         f"{c['frechet']:.2f}", f"{c['kid']:.4f} ± {c['kid_std']:.4f}",
                         f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['density']:.3f}",
                         f"{c['coverage']:.3f}", c["classes_found"],
                         "–" if c["class_kl"] is None else f"{c['class_kl']:.3f}"])
    features = results[0]["features"] if results else "(none yet)"
    text = common.header(
        f"Image GANs on {data}: Fréchet distance, KID, precision/recall over training",
        args, started, "0 (one training run per variant; samples seeded with 0)",
        notes=[f"Evaluation network: **{features}** — penultimate-layer (128-d) features of "
               "genlab's classifier trained on the data set's training split; its test-split "
               "accuracy is in the name. Not Inception: numbers are comparable with each other "
               "only",
               f"Each evaluation: {n} generated samples against the whole test split; KID = "
               "mean ± std of unbiased MMD² over 100 subsets of 1,000; precision/recall k=3, "
               "density/coverage k=5; classes found / KL by the same classifier",
               "Model: genlab DCGAN, classic preset at 28×28 (7→14→28), 32 base filters, "
               "batch 64, latent 100; non-saturating variants Adam(2e-4, 0.5, 0.999); "
               "WGAN-GP Adam(1e-4, 0, 0.9), 5 critic steps per generator step, layer norm in "
               "the critic, λ = 10",
               "steps = generator steps; train s = cumulative training seconds (shared, "
               "loaded machine)"],
        progress=(len(results), planned), results=results)
    text += "\n" + common.markdown_table(
        ["variant", "step", "train s", "Fréchet", "KID", "precision", "recall", "density",
         "coverage", "classes", "class KL"], rows)
    common.write_text(out / f"{name}.md", text)
    common.line_plot(out / f"{name}.png",
                     {r["variant"]: [(c["train_seconds"], c["frechet"]) for c in r["curve"]]
                      for r in results},
                     f"Fréchet distance ({features.split(' (')[0]} features) over training",
                     "training seconds", "Fréchet distance")


if __name__ == "__main__":
    sys.exit(main())
