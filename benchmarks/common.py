"""Shared by the benchmark scripts: machine and commit, timing, training a config, running jobs
in worker processes with results kept in a JSONL file (a killed run resumes where it stopped),
mean ± standard error, Markdown tables and small PNG line plots (Pillow).

Benchmarks are never part of the test run; tests/test_benchmarks_fast.py runs each in --fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"


# ------------------------------------------------------------------ arguments, machine, commit

def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--fast", action="store_true", help="tiny settings (seconds): a smoke test")
    p.add_argument("--out", default=str(RESULTS), help="folder for the Markdown table and plots")
    p.add_argument("--work", default=None, help="folder for run folders and the JSONL log "
                                               "(default: runs/benchmarks/NAME, git-ignored)")
    p.add_argument("--workers", type=int, default=2, help="training processes in parallel")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: write the report from the results logged so far")
    return p


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """HEAD's short hash, with "+dirty" when benchmarks/ or src/ differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "benchmarks"],
                               cwd=ROOT, text=True, capture_output=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _preload() -> None:
    """Import the genlab code the benchmarks run now (genlab imports lazily), so a commit that
    lands in the shared tree while a benchmark runs cannot change the code midway: the commit
    stated on a page is the code that ran."""
    import importlib

    for name in ("genlab.config", "genlab.training.loop", "genlab.training.steps", "genlab.runs",
                 "genlab.operations", "genlab.evaluate", "genlab.losses", "genlab.regularizers",
                 "genlab.training.checkpoints", "genlab.models", "genlab.data", "genlab.data.idx",
                 "genlab.data.embedded", "genlab.data.shapes", "genlab.data.toy2d",
                 "genlab.metrics.toy2d", "genlab.metrics.frechet", "genlab.metrics.kid",
                 "genlab.metrics.precision_recall", "genlab.metrics.mode_count",
                 "genlab.metrics.likelihood", "genlab.metrics.anomaly",
                 "genlab.metrics.disentanglement", "genlab.metrics.features"):
        try:
            importlib.import_module(name)
        except ImportError:  # a module renamed in the tree: imported on use instead
            pass


COMMIT_AT_START = git_commit()  # the code a benchmark runs is the code it started with
_preload()


def machine() -> dict[str, Any]:
    import torch

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "load_average": _loadavg()}


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def header(title: str, args, started: float, seeds: str, notes: Iterable[str] = (),
           progress: tuple[int, int] | None = None, results: list[dict] | None = None,
           page: Path | None = None) -> str:
    """The preamble every results page carries: what, where, when, how long, at which commit.
    `progress` = (jobs done, jobs planned) marks a page written while the benchmark runs.
    `page`: the page being rewritten; under --report-only the run that trained the logged
    results (its command, commit and time taken, read from that page) is kept."""
    m = machine()
    earlier = _training_run(page) if getattr(args, "report_only", False) and page else None
    lines = [f"# {title}", "",
             f"- Produced by `python {Path(sys.argv[0]).as_posix()} {shlex.join(sys.argv[1:])}`"
             .replace(str(ROOT) + "/", ""),
             f"- Commit: `{COMMIT_AT_START}` (at the start; +dirty: uncommitted changes in src/ or "
             "benchmarks/ of the shared tree); "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             f"- Machine: {m['cpu']}, {m['cores']} cores (shared: load average at the end "
             f"{m['load_average']}); Python {m['python']}, torch {m['torch']}, "
             f"{args.workers} worker process(es) × {args.threads} thread(s)",
             ("- Time taken: none (--report-only: the page is written from the log; the "
              "table has the training seconds of each run)" if getattr(args, "report_only", False)
              else f"- Time taken: {format_seconds(time.perf_counter() - started)}"
              + (" (this invocation; earlier results were resumed from the log)"
                 if getattr(args, "resumed", 0) else "")),
             f"- Seeds: {seeds}"]
    if earlier:
        lines.append(f"- The results were trained by: {earlier}")
    commits = sorted({r.get("commit", "not logged") for r in results or []} - {COMMIT_AT_START})
    if commits:
        lines.append(f"- Some runs were logged by an earlier invocation: runs at commit(s) "
                     f"{', '.join(f'`{c}`' for c in commits)} (see the JSONL log)")
    if progress is not None and progress[0] < progress[1]:
        lines.append(f"- **Partial**: {progress[0]} of {progress[1]} planned runs finished when "
                     "this page was written (see the seeds column)")
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _training_run(page: Path) -> str | None:
    """'command, commit, time taken' of the run that wrote `page` (or that line of a page
    already rewritten by --report-only); None when there is no such page."""
    if not page.is_file():
        return None
    found = {}
    for line in page.read_text().splitlines():
        for key in ("- The results were trained by: ", "- Produced by ", "- Commit: ",
                    "- Time taken: "):
            if line.startswith(key) and key not in found:
                found[key] = line[len(key):]
    if "- The results were trained by: " in found:
        return found["- The results were trained by: "]
    if "- Produced by " not in found or found.get("- Time taken: ", "").startswith("none"):
        return None
    commit = found.get("- Commit: ", "?").split(" (")[0]
    date = found.get("- Commit: ", "").rpartition("; ")[2]
    return (f"{found['- Produced by ']}, commit {commit}, {date}, time taken "
            f"{found.get('- Time taken: ', '?')}")


def format_seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


# ------------------------------------------------------------------ statistics, tables

def mean_se(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean, standard error (std with ddof=1 / √n; NaN for one value) and count, NaNs dropped."""
    v = [float(x) for x in values if x is not None and not math.isnan(float(x))]
    if not v:
        return float("nan"), float("nan"), 0
    mean = sum(v) / len(v)
    if len(v) < 2:
        return mean, float("nan"), len(v)
    var = sum((x - mean) ** 2 for x in v) / (len(v) - 1)
    return mean, math.sqrt(var / len(v)), len(v)


def fmt_mean_se(values: Iterable[float], fmt: str = "{:.2f}", scale: float = 1.0) -> str:
    mean, se, count = mean_se(values)
    if count == 0:
        return "–"
    if math.isnan(se):
        return fmt.format(mean * scale)
    return f"{fmt.format(mean * scale)} ± {fmt.format(se * scale)}"


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v):
        return str(v).replace("|", "\\|")
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    print(f"wrote {path}")
    return path


# ------------------------------------------------------------------ jobs

def work_dir(args, name: str) -> Path:
    base = Path(args.work) if args.work else ROOT / "runs" / "benchmarks" / name
    base.mkdir(parents=True, exist_ok=True)
    return base


def train_config(overrides: dict[str, Any]):
    """A TrainConfig from a flat dict: "model.pack": 4, "data.name": "ring8", "steps": 100."""
    from genlab.config import TrainConfig

    cfg = TrainConfig()
    for key, value in overrides.items():
        section, _, name = key.rpartition(".")
        target = getattr(cfg, section) if section else cfg
        if not hasattr(target, name):
            raise KeyError(f"unknown config field {key!r}")
        setattr(target, name, value)
    return cfg


def train(overrides: dict[str, Any], out: Path, on_event: Callable | None = None) -> float:
    """Train the config into `out` (fresh); samples and checkpoints only at the end unless the
    overrides ask otherwise. Returns the seconds of training."""
    from genlab import train as genlab_train

    overrides = {"sample_every": 10 ** 9, "checkpoint_every": 10 ** 9, "log_every": 100,
                 **overrides}
    seconds = 0.0
    for event in genlab_train(train_config(overrides), out, force=True):
        if on_event is not None:
            on_event(event)
        if event["event"] == "done":
            seconds = event["seconds"]
    return seconds


def register_binarized(names=("fashion-mnist", "mnist5k")) -> None:
    """Add "NAME-bin" data sets: NAME with genlab's *fixed* stochastic binarization
    (`load_dataset(NAME, binarize="fixed")`: each pixel set to 1 with probability
    intensity/255, drawn once from a seed fixed per data set and split, stored as 0/255), under
    a name of their own so logged results keep their keys. Registered in this process only
    (genlab.data.DATASETS), so train and evaluate in it."""
    from genlab import data

    def make(base: str):
        def load(split: str, data_dir: str | None = None, download: bool = False):
            ds = data.load_dataset(base, split, data_dir=data_dir, download=download,
                                   binarize="fixed")
            ds.name = f"{base}-bin"
            return ds
        return load

    for base in names:
        data.DATASETS.setdefault(f"{base}-bin", make(base))


def _init_worker(threads: int, setup: Callable | None) -> None:
    import torch

    torch.set_num_threads(threads)
    if setup is not None:
        setup()


def run_jobs(jobs: list[dict], job_fn: Callable[[dict], dict], log_path: Path, args,
             setup: Callable | None = None,
             on_result: Callable[[list[dict]], None] | None = None) -> list[dict]:
    """Run `job_fn(job)` for every job whose "key" is not yet in `log_path` (JSONL), in
    `workers` processes, appending each result (with its key) as it finishes, then calling
    `on_result(results so far)` (e.g. to rewrite the report, so a run cut short still leaves
    one). Returns all the logged results for these keys, in job order. Jobs must be picklable
    dicts with a "key". Uses args.workers, args.threads and args.report_only (run nothing,
    return what the log holds); sets args.resumed (results taken from the log)."""
    workers, threads = args.workers, args.threads
    done = read_log(log_path)
    todo = [] if args.report_only else [j for j in jobs if j["key"] not in done]
    args.resumed = len(jobs) - len(todo)
    print(f"{len(jobs) - len(todo)} of {len(jobs)} jobs already in {log_path}; running "
          f"{len(todo)} in {workers} process(es)", flush=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        def record(job, result):
            result = {"key": job["key"], "commit": COMMIT_AT_START, **result}
            log.write(json.dumps(result) + "\n")
            log.flush()
            done[job["key"]] = result
            print(f"[{sum(j['key'] in done for j in jobs)}/{len(jobs)}] {job['key']}: "
                  f"{ {k: v for k, v in result.items() if k in job.get('show', ())} }", flush=True)
            if on_result is not None:
                on_result([done[j["key"]] for j in jobs if j["key"] in done])

        if workers <= 1:
            _init_worker(threads, setup)
            for job in todo:
                record(job, job_fn(job))
        else:
            import multiprocessing as mp

            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                     initializer=_init_worker, initargs=(threads, setup)) as pool:
                futures = {pool.submit(job_fn, job): job for job in todo}
                for future in as_completed(futures):
                    record(futures[future], future.result())
    return [done[j["key"]] for j in jobs if j["key"] in done]


def add_replot(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replot", action="store_true",
                   help="train nothing, leave the Markdown page as it is: redraw the PNG from "
                        "the results in the JSONL log (e.g. after a plotting fix)")


def logged_results(jobs: list[dict], log_path: Path) -> list[dict]:
    """The logged results of these jobs, in job order (what --replot draws); exits with one
    line when there are none (the options differ from those of the logged run)."""
    done = read_log(log_path)
    results = [done[j["key"]] for j in jobs if j["key"] in done]
    if not results:
        raise SystemExit(f"error: {log_path} has no results for these settings; pass the "
                         "options of the run that produced the page (its 'Produced by' line)")
    return results


def read_log(path: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:  # a line cut by a kill
                continue
            out[row["key"]] = row
    return out


# ------------------------------------------------------------------ plots (Pillow)

from plots import PALETTE, bar_chart, line_plot, panel_plot  # noqa: E402,F401 - re-exported
