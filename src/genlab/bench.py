"""`genlab bench`: how fast genlab trains here, side by side with the reference scripts.

    genlab bench                       # DCGAN and VAE at 28/32/64 px, fp32 and bf16
    genlab bench --models dcgan --sizes 64 --repeats 5

What is timed is genlab's own training step (genlab.training.state.build_state + loop.advance, the
code `genlab train` runs, with its in-memory batching) on a synthetic in-memory data set of the
right shape: images/s after `--warmup` steps, the median of `--repeats` runs of `--steps` steps.
FLOPs per step are counted once with torch.utils.flop_counter (genlab.flops), so each row also
shows the achieved GFLOP/s, next to this machine's own GEMM peak measured on the spot.

In the same process and run, interleaved round-robin with genlab's runs (so a busy machine slows
both alike), the plain reference loops of the PyTorch examples run on the same shapes:
benchmarks/reference_dcgan.py (dcgan/main.py: 64x64, nz=100, 64 filters, batch 64, BCE, Adam
2e-4 beta1=0.5) and benchmarks/reference_vae.py (vae/main.py: MLP 784-400-20, batch 128, Adam
1e-3). They live in the repository's benchmarks/ folder (found next to the source tree, or
given with --reference-dir); without them the ratios are skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

MODELS = ("dcgan", "vae", "mlp-vae")
SIZES = (28, 32, 64)
PRECISIONS = ("fp32", "bf16")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from genlab.config import option_type

    p.add_argument("--models", default="dcgan,vae,mlp-vae",
                   help="comma list of dcgan, vae (conv, genlab defaults), mlp-vae (784-400-20)")
    p.add_argument("--sizes", default="28,32,64", help="image sizes for dcgan and vae")
    p.add_argument("--precisions", default="fp32,bf16", help="comma list of fp32, bf16, fp16")
    p.add_argument("--batch-size", type=option_type("batch_size"), default=None,
                   help="default: the reference's (DCGAN 64, VAE 128)")
    p.add_argument("--steps", type=option_type("count"), default=5, help="training steps per timed run")
    p.add_argument("--repeats", type=option_type("count"), default=3, help="timed runs (the median is shown)")
    p.add_argument("--warmup", type=option_type("warmup"), default=2, help="untimed steps first")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    p.add_argument("--threads", type=option_type("threads"), default=None, help="torch intra-op threads")
    p.add_argument("--no-reference", action="store_true", help="skip the reference loops")
    p.add_argument("--reference-dir", default=None,
                   help="folder holding reference_dcgan.py and reference_vae.py")
    p.add_argument("--no-peak", action="store_true", help="skip the GEMM peak measurement")
    p.add_argument("--json", default=None, help="also write every measurement to this file")


@dataclass
class Result:
    name: str  # "genlab dcgan 64 bf16", "reference dcgan 64 fp32"
    model: str
    size: int
    precision: str
    batch: int
    images_per_second: list[float] = field(default_factory=list)
    images_per_cpu_second: list[float] = field(default_factory=list)  # per core-second used
    flops_per_step: int = 0
    reference: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.images_per_second) if self.images_per_second else 0.0

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.images_per_cpu_second) if self.images_per_cpu_second \
            else 0.0

    @property
    def gflops(self) -> float:
        return self.flops_per_step * self.median / self.batch / 1e9

    def to_dict(self) -> dict:
        return {**asdict(self), "median_images_per_second": self.median,
                "median_images_per_cpu_second": self.median_cpu,
                "achieved_gflops": self.gflops}


@dataclass
class Workload:
    result: Result
    step: Callable[[], object]  # one training step (forward, backward, optimizer)


# ------------------------------------------------------------------ genlab's side

def synthetic_images(n: int, channels: int, size: int, seed: int = 0):
    """An in-memory uint8 image Dataset (speed does not depend on the pixels)."""
    import torch

    from genlab.data.dataset import Dataset

    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=gen)
    return Dataset(name="synthetic", kind="image", x=x)


def genlab_config(model: str, size: int, precision: str, batch: int | None, device: str):
    """The TrainConfig genlab would train, with the reference's shapes where one exists."""
    from genlab.config import TrainConfig

    cfg = TrainConfig()
    cfg.device, cfg.precision, cfg.steps = device, precision, 10 ** 6
    if model == "dcgan":  # dcgan/main.py: nz 100, ngf = ndf = 64, batch 64, Adam(2e-4, 0.5)
        cfg.model.kind, cfg.model.latent_dim, cfg.model.filters = "dcgan", 100, 64
        cfg.batch_size, cfg.lr, cfg.betas = batch or 64, 2e-4, (0.5, 0.999)
    elif model == "vae":  # genlab's conv VAE with its defaults
        cfg.model.kind, cfg.model.architecture = "vae", "conv"
        cfg.batch_size = batch or 128
    elif model == "mlp-vae":  # vae/main.py: 784-400-20, batch 128, Adam(1e-3)
        cfg.model.kind, cfg.model.architecture = "vae", "mlp"
        cfg.model.hidden_dim, cfg.model.depth, cfg.model.latent_dim = 400, 1, 20
        cfg.batch_size, cfg.lr, cfg.betas = batch or 128, 1e-3, (0.9, 0.999)
    else:
        from genlab.errors import unknown_name
        raise unknown_name("bench model", model, MODELS)
    return cfg


def genlab_workload(model: str, size: int, precision: str, batch: int | None = None,
                    device: str = "cpu") -> Workload:
    """genlab's training step for `model` at `size` px, exactly as genlab train runs it."""
    from genlab.config import resolve
    from genlab.data import normalizer_for
    from genlab.devices import choose_device
    from genlab.training.loop import advance, batch_source
    from genlab.training.state import build_state
    from genlab.training.steps import normalization_target

    channels = 3 if model == "dcgan" else 1
    cfg = genlab_config(model, size, precision, batch, device)
    ds = synthetic_images(max(8 * (cfg.batch_size or 128), 1024), channels, size)
    cfg = resolve(cfg, ds.kind, ds.example_shape, 0, len(ds))
    dev = choose_device(cfg.device)
    state = build_state(cfg, ds, dev)  # the fast path genlab train takes, as it takes it
    norm = normalizer_for(ds, normalization_target(cfg, ds.kind))
    next_batch = batch_source(ds, norm, state)  # genlab train's in-memory batching
    result = Result(f"genlab {model} {size} {state.precision.name}", model, size,
                    state.precision.name, cfg.batch_size)
    return Workload(result, lambda: advance(state, next_batch))  # the loop body of train


# ------------------------------------------------------------------ the reference loops

def find_reference_dir(given: str | None) -> Path | None:
    candidates = [Path(given)] if given else []
    here = Path(__file__).resolve()
    candidates += [here.parents[2] / "benchmarks", Path.cwd() / "benchmarks"]
    for c in candidates:
        if (c / "reference_dcgan.py").is_file():
            return c
    return None


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_workload(model: str, folder: Path, batch: int | None = None) -> Workload | None:
    """The PyTorch examples' loop for `model` (dcgan at 64 px, mlp-vae at 28 px), fp32, CPU."""

    if model == "dcgan":
        ref = _load(folder / "reference_dcgan.py", "genlab_reference_dcgan")
        b = batch or 64
        x = synthetic_images(8 * b, 3, 64).x.float().div(127.5).sub(1)  # Normalize(0.5, 0.5)
        run, batches = ref.ReferenceDCGAN(), ref.reference_batches(x, b)
        return Workload(Result("reference dcgan 64 fp32", "dcgan", 64, "fp32", b, reference=True),
                        lambda: run.iteration(next(batches)))
    if model == "mlp-vae":
        ref = _load(folder / "reference_vae.py", "genlab_reference_vae")
        b = batch or 128
        x = synthetic_images(8 * b, 1, 28).x
        run = ref.ReferenceVAERun(x, x[:b], batch_size=b)
        return Workload(Result("reference mlp-vae 28 fp32", "mlp-vae", 28, "fp32", b,
                               reference=True), lambda: run.iteration(run.next_batch()))
    return None


# ------------------------------------------------------------------ timing

def time_round_robin(workloads: list[Workload], steps: int, repeats: int, warmup: int,
                     log: Callable[[str], None] = print) -> None:
    """Warm up each workload, count its FLOPs, then `repeats` rounds in which every workload
    runs `steps` steps in turn: drifts in machine load hit every workload alike."""
    from genlab.flops import count_flops

    for w in workloads:
        for _ in range(warmup):
            w.step()
        w.result.flops_per_step = count_flops(w.step)
    for r in range(repeats):
        for w in workloads:
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(steps):
                w.step()
            images = steps * w.result.batch
            w.result.images_per_second.append(images / (time.perf_counter() - start))
            w.result.images_per_cpu_second.append(images / max(1e-9, time.process_time() - cpu))
        log(f"  round {r + 1}/{repeats}: " + ", ".join(
            f"{w.result.name} {w.result.images_per_second[-1]:.1f}" for w in workloads))


def groups(models: list[str], sizes: list[int]) -> list[tuple[str, int]]:
    out = []
    for m in models:
        if m == "mlp-vae":
            out.append((m, 28))
        else:
            out += [(m, s) for s in sizes]
    return out


def measure(args, log: Callable[[str], None] = print) -> dict:
    """Every measurement `genlab bench` prints: {"peak", "results", "ratios", "cpu_ratios"}."""
    import torch

    from genlab.errors import GenlabError, unknown_name
    from genlab.flops import gemm_rates

    if args.threads:
        torch.set_num_threads(args.threads)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            raise unknown_name("bench model", m, MODELS)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        raise GenlabError(f"--sizes: expected numbers like 28,32,64, got {args.sizes!r}") from None
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    ref_dir = None if args.no_reference else find_reference_dir(args.reference_dir)
    log(f"genlab bench: torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"device {args.device}, {torch.backends.cpu.get_cpu_capability()}")
    peak: dict[str, float] = {}
    if not args.no_peak:
        parts = []
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            rates = gemm_rates(dtype, device=args.device)
            peak[name] = max(rates.values())
            parts.append(f"{name} {peak[name]:.0f} GFLOP/s ("
                         + ", ".join(f"{k} {v:.0f}" for k, v in rates.items()) + ")")
        log(f"GEMM peak (best warmed-up run of a 2048² torch.mm and a DCGAN convolution, "
            f"{torch.get_num_threads()} threads, measured now): " + "; ".join(parts))
    if not args.no_reference and ref_dir is None:
        log("reference loops not found (they live in the repository's benchmarks/ folder; "
            "give --reference-dir): ratios skipped")
    results: list[Result] = []
    ratios: dict[str, float] = {}
    cpu_ratios: dict[str, float] = {}
    for model, size in groups(models, sizes):
        workloads = []
        reference = None
        if ref_dir is not None and ((model == "dcgan" and size == 64) or model == "mlp-vae"):
            reference = reference_workload(model, ref_dir, args.batch_size)
            workloads.append(reference)
        for p in precisions:
            workloads.append(genlab_workload(model, size, p, args.batch_size, args.device))
        log(f"{model} {size}x{size}: " + ", ".join(w.result.name for w in workloads))
        time_round_robin(workloads, args.steps, args.repeats, args.warmup, log=log)
        results += [w.result for w in workloads]
        if reference is not None:
            for w in workloads[1:]:
                label = (f"{'DCGAN' if model == 'dcgan' else 'MLP VAE'} {size}×{size} "
                         f"{w.result.precision}")
                ratios[label] = w.result.median / reference.result.median
                cpu_ratios[label] = w.result.median_cpu / reference.result.median_cpu
    return {"peak": peak, "results": results, "ratios": ratios, "cpu_ratios": cpu_ratios,
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def run(args) -> int:
    report = measure(args, log=lambda s: print(s, flush=True))
    print_table(report["results"], report["peak"])
    for label, ratio in report["ratios"].items():
        print(f"{label}: {ratio:.2f}× reference "
              f"(per CPU-second: {report['cpu_ratios'][label]:.2f}×)")
    if args.json:
        from genlab.training.atomic import atomic_write_bytes

        atomic_write_bytes(Path(args.json), json.dumps(
            {**report, "results": [r.to_dict() for r in report["results"]]}, indent=1).encode())
    return 0


def print_table(results: list[Result], peak: dict[str, float]) -> None:
    print(f"{'run':28s} {'batch':>5s} {'images/s':>9s} {'img/CPU-s':>9s} {'GFLOP/step':>10s} "
          f"{'GFLOP/s':>8s} {'% peak':>6s}")
    for r in results:
        top = peak.get(r.precision if r.precision in peak else "fp32")
        share = f"{100 * r.gflops / top:.0f}%" if top else "-"
        print(f"{r.name:28s} {r.batch:5d} {r.median:9.1f} {r.median_cpu:9.1f} "
              f"{r.flops_per_step / 1e9:10.2f} "
              f"{r.gflops:8.1f} {share:>6s}")
