"""Speed: genlab's training steps next to the PyTorch examples' reference loops, measured side by
side in one run, and written to docs/results/speed.md.

    python benchmarks/speed.py            # everything (tens of minutes on a busy 2-core machine)
    python benchmarks/speed.py --fast     # seconds: a smoke test of every section, on
                                          # embedded data only (no IDX files needed)

Sections:
1. this machine's GEMM peak (fp32, bf16), measured now (genlab.flops.gemm_peak);
2. training-step throughput (genlab.bench.measure): DCGAN and conv VAE at 28/32/64 px in fp32
   and bf16, the MLP VAE 784-400-20, each next to its reference loop where the script defines
   one (benchmarks/reference_dcgan.py at 64x64, benchmarks/reference_vae.py at 28x28), runs
   interleaved round-robin so that the load of a shared machine hits all alike; images/s (wall
   clock) and images per CPU-second (the work a core does, less sensitive to other load);
3. time to quality: the reference MLP VAE script's 3 epochs on Fashion-MNIST (wall time, test
   loss) against `genlab.train` on the same model and data — the wall time genlab needs to
   reach the reference's 3-epoch test loss, in fp32 and bf16 (bf16 reaching the same test
   ELBO is the quality check of bf16 training), once with the script's optimizer settings
   (the per-step gain alone) and once with genlab's defaults for an MLP VAE on images
   (genlab.config.MLP_IMAGE_VAE_DEFAULTS) for RECIPE_EPOCHS epochs (what a user gets);
4. start-up of `genlab` commands that do not train (--help, sample), next to `import torch`.
The hub's sessions table (benchmarks/hub_sessions.py) is kept in the same page.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import COMMIT_AT_START, ROOT, format_seconds, machine, markdown_table  # noqa: E402

from genlab.errors import GenlabError  # noqa: E402

PAGE = ROOT / "docs" / "results" / "speed.md"
TOLERANCE = 0.5  # nats: seed-to-seed spread of the 3-epoch test loss is larger than this
RECIPE_EPOCHS = 1.75  # genlab's defaults for the MLP VAE: epochs of the time-to-quality run
# The quality section's data: the published reference (≈ 250 nats after 3 epochs) is on
# Fashion-MNIST, so the full run needs its IDX files; --fast is a smoke test that must run on a
# machine with nothing but the project installed, so it uses the embedded mnist5k digits.
QUALITY_DATA, FAST_QUALITY_DATA = "fashion-mnist", "mnist5k"
DATA_TITLES = {"fashion-mnist": "Fashion-MNIST", "mnist5k": "mnist5k (embedded MNIST digits)"}
HUB_BEGIN, HUB_END = "<!-- hub_sessions: begin -->", "<!-- hub_sessions: end -->"
# benchmarks/toy2d_time_to_goal.py keeps its block after the hub's
TTG_BEGIN, TTG_END = "<!-- toy2d_time_to_goal: begin -->", "<!-- toy2d_time_to_goal: end -->"


def bench_args(fast: bool, threads: int | None, repeats: int = 3) -> argparse.Namespace:
    from genlab import bench

    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    argv = ["--steps", "1", "--repeats", "1", "--warmup", "1", "--sizes", "28"] if fast else \
        ["--steps", "3", "--repeats", str(repeats), "--warmup", "2"]
    if threads:
        argv += ["--threads", str(threads)]
    return p.parse_args(argv)


# ------------------------------------------------------------------ time to quality (VAE)

def test_loss(model, x_test, batch: int = 1000) -> float:
    """The reference script's test number for a genlab VAE: mean over the test set of
    −log p(x|z) + KL (Bernoulli on x/255, one z per image), in nats."""
    import torch

    from genlab import losses

    gen = torch.Generator().manual_seed(0)
    total = 0.0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(x_test), batch):
            x = x_test[i:i + batch].float().div(255)
            mu, logvar = model.encode(x)
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen)
            out = losses.vae_loss(x, model.decode(z).float(), mu.float(), logvar.float())
            total += float(out["loss"]) * len(x)
    return total / len(x_test)


class GenlabVAERun:
    """`genlab.train` of the reference's model (784-400-20) on Fashion-MNIST, driven one epoch
    at a time (`epoch()` runs train() until its next checkpoint: one per epoch, and one at the
    end). `recipe` "reference": the script's batch 128, Adam 1e-3, 3 epochs (the per-step gain
    alone); "defaults": what `genlab train` picks for an MLP VAE on images (genlab.config
    MLP_IMAGE_VAE_DEFAULTS) for `epochs` epochs. Its clock runs only inside train(), from its
    start event (data loading excluded, as for the reference); the test loss after each
    checkpoint is computed from the checkpoint, off the clock."""

    def __init__(self, precision: str, epochs: float, work: Path, x_train, x_test,
                 recipe: str, data: str):
        from genlab import train
        from genlab.config import TrainConfig, resolve

        cfg = TrainConfig(epochs=epochs, seed=1, precision=precision, sample_every=10 ** 9,
                          log_every=10 ** 9)
        if recipe == "reference":  # the script's: no lr schedule
            cfg.batch_size, cfg.lr, cfg.betas, cfg.lr_decay_start = 128, 1e-3, (0.9, 0.999), 1.0
        cfg.data.name = data
        cfg.model.kind, cfg.model.architecture = "vae", "mlp"
        cfg.model.hidden_dim, cfg.model.depth, cfg.model.latent_dim = 400, 1, 20
        batch = resolve(cfg, "image", (1, 28, 28), 0, len(x_train)).batch_size
        cfg.checkpoint_every = len(x_train) // batch  # one checkpoint per epoch (+ the last)
        self.precision, self.recipe, self.x_test = precision, recipe, x_test
        self.events = train(cfg, work / f"vae-{recipe}-{precision}", force=True)
        start = next(self.events)  # the start event: data loaded, model built
        self.config = start["config"]
        self.steps_per_epoch = start["dataset_size"] // self.config["batch_size"]
        self.clock, self.history = 0.0, []

    def epoch(self) -> None:
        from genlab.runs import load_run

        while True:
            t0 = time.perf_counter()
            event = next(self.events, None)
            self.clock += time.perf_counter() - t0
            if event is None:
                return
            if event["event"] == "checkpoint":
                run = load_run(event["path"])
                self.history.append({"epoch": round(event["step"] / self.steps_per_epoch, 2),
                                     "seconds": self.clock,
                                     "test_loss": test_loss(run.model, self.x_test)})
                return


def time_to_quality(fast: bool, work: Path, data: str) -> dict:
    """The reference script and genlab trained epoch by epoch in turn (reference, then each
    genlab run for one epoch), so that the machine's load hits all alike. genlab runs twice
    per precision: with the script's settings (3 epochs), and with its own defaults for this
    model for RECIPE_EPOCHS epochs."""
    from genlab.data import load_dataset

    ref_module = _reference_module("reference_vae")
    train_ds, test_ds = load_dataset(data, "train"), load_dataset(data, "test")
    x_train, x_test = train_ds.x, test_ds.x
    epochs = 3
    if fast:
        x_train, x_test, epochs = x_train[:2560], x_test[:1000], 1
    reference = ref_module.ReferenceVAERun(x_train, x_test)
    ref_history, ref_clock = [], 0.0
    scale = len(x_train) / 60000 if fast else 1.0  # --fast: a slice of an epoch
    runs = [GenlabVAERun(p, e * scale, work, x_train, x_test, recipe, data)
            for recipe, e in (("reference", epochs), ("defaults", RECIPE_EPOCHS))
            for p in ("fp32", "bf16")]
    for epoch in range(1, max(epochs, math.ceil(RECIPE_EPOCHS)) + 1):
        if epoch <= epochs:
            t0 = time.perf_counter()
            reference.train_epoch()
            loss = reference.test()
            ref_clock += time.perf_counter() - t0
            ref_history.append({"epoch": epoch, "test_loss": loss, "seconds": ref_clock})
        for run in runs:
            run.epoch()  # a finished run returns at once
    return {"reference": {"seconds": ref_clock, "test_loss": ref_history[-1]["test_loss"],
                          "history": ref_history},
            "genlab": [{"precision": r.precision, "recipe": r.recipe, "config": r.config,
                        "history": r.history} for r in runs],
            "epochs": epochs, "scale": scale, "data": data}


def _reference_module(name: str):
    import importlib

    return importlib.import_module(name)


# ------------------------------------------------------------------ start-up

def startup_times(repeats: int, work: Path) -> list[tuple[str, float]]:
    exe = shutil.which("genlab") or f"{sys.executable} -m genlab"
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    run_dir = work / "startup-run"
    subprocess.run([*exe.split(), "train", "vae", "--data", "digits", "--steps", "2", "--out",
                    str(run_dir), "--force", "--quiet"], check=True, env=env,
                   capture_output=True)
    commands = [
        ("python -c 'import torch'", [sys.executable, "-c", "import torch"]),
        ("genlab --help", [*exe.split(), "--help"]),
        ("genlab train --help", [*exe.split(), "train", "--help"]),
        ("genlab sample RUN --n 16 --out x.png",
         [*exe.split(), "sample", str(run_dir), "--n", "16", "--out", str(work / "x.png")]),
    ]
    out = []
    for label, cmd in commands:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, capture_output=True)
            times.append(time.perf_counter() - t0)
        out.append((label, statistics.median(times)))
    return out


# ------------------------------------------------------------------ the page

def _block(name: str, text: str) -> str:
    return f"<!-- speed:{name} -->\n{text.rstrip()}\n<!-- /speed:{name} -->\n"


def _old_block(old: str, name: str) -> str | None:
    begin, end = f"<!-- speed:{name} -->", f"<!-- /speed:{name} -->"
    if begin in old and end in old:
        return old[old.index(begin):old.index(end) + len(end)] + "\n"
    return None


def write_page(sections: dict[str, str], started: float, args, page: Path = PAGE) -> None:
    """The page: a header, then each section; a section skipped in this run keeps the text
    of the previous run (its own header line says when and at which commit it was measured)."""
    m = machine()
    command = "python benchmarks/speed.py " + shlex.join(sys.argv[1:])  # as it was typed
    head = ["# Speed: genlab against the PyTorch examples' reference loops", "",
            f"- Last produced by `{command.rstrip()}` in "
            f"{format_seconds(time.perf_counter() - started)}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            f"- Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, torch {m['torch']} "
            "(a shared machine while measured: absolute numbers are noisy; the ratios are "
            "measured side by side in one run, which cancels much of it)",
            "- Reference numbers from DESIGN.md for comparison (same machine, idle): fp32 GEMM "
            "≈ 150 GFLOP/s, bf16 ≈ 365; the dcgan/main.py script ≈ 52 images/s; vae/main.py "
            "≈ 10 s/epoch, test loss ≈ 250 after 3 epochs.", ""]
    old = page.read_text() if page.exists() else ""
    body = []
    for name in ("steps-1t", "steps-2t", "steps", "quality", "startup"):
        if name in sections:
            omp = os.environ.get("OMP_NUM_THREADS")
            stamp = (f"_Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit "
                     f"`{COMMIT_AT_START}`, load average at the end {machine()['load_average']}; "
                     f"`{'OMP_NUM_THREADS=' + omp + ' ' if omp else ''}{command.rstrip()}`._\n\n")
            title, _, rest = sections[name].partition("\n\n")
            body.append(_block(name, f"{title}\n\n{stamp}{rest}"))
        elif (kept := _old_block(old, name)) is not None:
            body.append(kept)
    hub = ""
    if HUB_BEGIN in old and HUB_END in old:
        # the hub block and what other scripts keep after it (toy2d_time_to_goal.py's block)
        hub = old[old.index(HUB_BEGIN):].rstrip("\n") + "\n"
    else:
        hub = (f"{HUB_BEGIN}\n## Hub sessions\n\nNot measured yet: run "
               f"`python benchmarks/hub_sessions.py`.\n{HUB_END}\n")
        if TTG_BEGIN in old and TTG_END in old:
            hub += "\n" + old[old.index(TTG_BEGIN):old.index(TTG_END) + len(TTG_END)] + "\n"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("\n".join(head) + "\n" + "\n".join(body) + "\n" + hub)
    print(f"wrote {page}")


def throughput_section(report: dict) -> str:
    peak = report["peak"]
    lines = [f"## Training steps, {report['threads']} thread(s)", "",
             f"GEMM peak measured now (best warmed-up run of a 2048² torch.mm and of a "
             f"DCGAN convolution, {report['threads']} thread(s)): "
             f"fp32 **{peak.get('fp32', 0):.0f} GFLOP/s**, "
             f"bf16 **{peak.get('bf16', 0):.0f} GFLOP/s**; {report['threads']} torch "
             f"thread(s) for every run (`--threads`).",
             "", "Ratios (genlab ÷ reference, medians of runs interleaved round-robin; in "
             "brackets the same per CPU-second used):", ""]
    for label, ratio in report["ratios"].items():
        lines.append(f"- **{label}: {ratio:.2f}× reference** ({report['cpu_ratios'][label]:.2f}× "
                     "per CPU-second)")
    rows = []
    for r in report["results"]:
        top = peak.get(r.precision if r.precision in peak else "fp32")
        rows.append([r.name, r.batch, f"{r.median:.1f}", f"{r.median_cpu:.1f}",
                     f"{r.flops_per_step / 1e9:.2f}", f"{r.gflops:.1f}",
                     f"{100 * r.gflops / top:.0f}%" if top else "–",
                     " ".join(f"{v:.1f}" for v in r.images_per_second)])
    lines += ["", markdown_table(["run", "batch", "images/s", "images/CPU-s", "GFLOP/step",
                                  "GFLOP/s", "of GEMM peak", "runs (images/s)"], rows),
              "FLOPs: torch.utils.flop_counter on one whole training step (forward, backward; "
              "matmuls and convolutions only). The reference loops use 64 filters/batch 64 "
              "(DCGAN, 3×64×64) and 784-400-20/batch 128 (VAE); genlab's rows use the same "
              "shapes and optimizer settings. Command: `genlab bench` (same code).", ""]
    return "\n".join(lines)


def quality_section(q: dict) -> str:
    ref = q["reference"]
    target = ref["test_loss"]
    epochs_text = ", ".join(f"epoch {h['epoch']}: {h['test_loss']:.1f} at {h['seconds']:.1f} s"
                            for h in ref["history"])
    import torch

    lines = [f"## Time to quality: MLP VAE on {DATA_TITLES.get(q['data'], q['data'])}", "",
             f"{torch.get_num_threads()} torch thread(s) for every run.", "",
             f"Reference script (benchmarks/reference_vae.py, {q['epochs']} epochs): "
             f"**{ref['seconds']:.1f} s**, test loss **{target:.1f}** nats "
             f"({epochs_text}).",
             ""]
    rows = []
    for run in q["genlab"]:
        hist, c = run["history"], run["config"]
        reached = next((h for h in hist if h["test_loss"] <= target + TOLERANCE), None)
        settings = (f"batch {c['batch_size']}, Adam {c['lr']:g}"
                    + (f" decaying linearly to 0 over the last {1 - c['lr_decay_start']:.0%} "
                       "of the steps" if c["lr_decay_start"] < 1 else "")
                    + f", {c['epochs'] / q.get('scale', 1.0):g} epochs")
        label = ("the script's settings" if run["recipe"] == "reference"
                 else "genlab's defaults for this model")
        rows.append([f"genlab train, {run['precision']}, {label}", settings,
                     "; ".join(f"{h['test_loss']:.1f} @ {h['seconds']:.1f} s (epoch "
                               f"{h['epoch'] / q.get('scale', 1.0):.3g})" for h in hist),
                     f"**{reached['seconds']:.1f} s**" if reached else "not reached",
                     f"**{ref['seconds'] / reached['seconds']:.2f}×**" if reached else "–"])
    lines += [markdown_table(["run", "settings", "test loss after each epoch (seconds on "
                              "genlab's clock)", "reaches the reference's "
                              f"{q['epochs']}-epoch loss (+{TOLERANCE} nats)", "speed-up"], rows),
              "Same model (784-400-20, ReLU, Bernoulli decoder) and objective (BCE summed over "
              "pixels + KL) everywhere. The rows with the script's settings (batch 128, Adam "
              "1e-3) show the per-step gain alone; the rows with genlab's defaults for an MLP "
              "VAE on images (`genlab train vae --architecture mlp ...` with no --lr: Adam 4e-3 "
              "held for the first half, then decayed linearly to 0; genlab.config "
              "MLP_IMAGE_VAE_DEFAULTS) show what a user gets. All runs are trained epoch by "
              "epoch in turn so the machine's load hits all alike. genlab's clock runs while "
              "`genlab.train` runs (checkpoint writes included, test evaluations excluded); the "
              "reference's includes its test pass after each epoch; both exclude loading the "
              "data. The bf16 rows are the quality check of bf16 training (autocast with fp32 "
              "master weights; the ELBO terms in fp32): they must reach the same test loss.", ""]
    return "\n".join(lines)


def startup_section(times: list[tuple[str, float]]) -> str:
    rows = [[f"`{label}`", f"{seconds:.2f} s"] for label, seconds in times]
    return "\n".join(["## Start-up", "", markdown_table(["command", "median wall time"], rows),
                      "genlab imports torch only inside the commands that need it.", ""])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fast", action="store_true", help="tiny settings: a smoke test")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed rounds of the training-step section (the median is shown)")
    p.add_argument("--page", type=Path, default=PAGE, help="the page to (re)write")
    p.add_argument("--quality-data", default=None,
                   help=f"data set of the time-to-quality section (default: {QUALITY_DATA}, "
                        f"whose IDX files it needs; with --fast: the embedded "
                        f"{FAST_QUALITY_DATA})")
    p.add_argument("--skip", default="", help="comma list of sections to skip: "
                                              "steps, quality, startup")
    args = p.parse_args()
    try:
        return run(args)
    except GenlabError as e:  # e.g. the Fashion-MNIST IDX files are not on this machine
        print(f"speed.py: error: {e}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    skip = set(filter(None, args.skip.split(",")))
    import torch

    from genlab import bench

    if args.threads:  # every section: genlab's steps, the references, genlab.train
        torch.set_num_threads(args.threads)

    sections: dict[str, str] = {}
    work = Path(tempfile.mkdtemp(prefix="genlab-speed-"))
    try:
        if "steps" not in skip:
            report = bench.measure(bench_args(args.fast, args.threads, args.repeats),
                                   log=lambda s: print(s, flush=True))
            sections[f"steps-{report['threads']}t"] = throughput_section(report)
            for label, ratio in report["ratios"].items():
                print(f"{label}: {ratio:.2f}× reference")
        if "quality" not in skip:
            data = args.quality_data or (FAST_QUALITY_DATA if args.fast else QUALITY_DATA)
            sections["quality"] = quality_section(time_to_quality(args.fast, work, data))
        if "startup" not in skip:
            sections["startup"] = startup_section(startup_times(2 if args.fast else 7, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_page(sections, started, args, args.page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
