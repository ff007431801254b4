"""The bad-value harness (issue 10, section 2): every numeric flag of every command, given values
outside what it means (0, negative, nan, inf, text, huge), must be refused at the entry point:
a non-zero exit, one `genlab: error:` line that names the flag, no traceback, no hang.

A helper module (not a test file) so the same matrix runs in-process from
tests/test_bad_values.py and, to measure a tree of sources, from the command line:

    PYTHONPATH=SRC python tests/bad_values.py [FOLDER [SECONDS]]   # prints the counts

Each case runs `genlab.cli.main(argv)` in this process under a SIGALRM time limit; a case that
is accepted would train/sample for real (on tiny settings), so acceptance shows as exit 0.
"""

from __future__ import annotations

import contextlib
import io
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

HUGE_INT = str(10 ** 20)  # beyond int64
POSITIVE_INT = ["0", "-1", "nan", "inf", "abc", "1e20", HUGE_INT]
NONNEG_INT = ["-1", "nan", "inf", "abc", "1e20", HUGE_INT]
POSITIVE_FLOAT = ["0", "-1", "nan", "inf", "-inf", "abc", "1e20"]
NONNEG_FLOAT = ["-1", "nan", "inf", "-inf", "abc", "1e20"]

# tiny settings under which an accepted value trains in well under a second
GAN = ["train", "gan", "--data", "ring8", "--steps", "1", "--batch-size", "8", "--hidden-dim", "8",
       "--depth", "1", "--quiet"]
VAE = ["train", "vae", "--data", "ring8", "--steps", "1", "--batch-size", "8", "--hidden-dim", "8",
       "--depth", "1", "--quiet"]
VAE_IMAGES = ["train", "vae", "--data", "digits", "--arch", "mlp", "--steps", "1",
              "--batch-size", "8", "--hidden-dim", "8", "--depth", "1", "--latent-dim", "2",
              "--quiet"]

# (base command, flag, bad values); {run} is the trained fixture run, {out} a fresh path
TRAIN_FLAGS = [
    (VAE_IMAGES, "--image-size", POSITIVE_INT + ["100000"]),
    (GAN, "--holdout-class", NONNEG_INT + ["8"]),
    (GAN, "--latent-dim", POSITIVE_INT + ["100000"]),
    (GAN, "--hidden-dim", POSITIVE_INT + ["100000"]),
    (GAN, "--depth", POSITIVE_INT + ["100000"]),
    (GAN, "--filters", POSITIVE_INT + ["100000"]),
    (GAN, "--pack", POSITIVE_INT + ["17"]),
    (GAN, "--steps", POSITIVE_INT),
    (GAN, "--epochs", POSITIVE_FLOAT),
    (GAN, "--batch-size", POSITIVE_INT + ["1000000"]),
    (GAN, "--lr", POSITIVE_FLOAT + ["2"]),
    (GAN, "--lr-d", POSITIVE_FLOAT + ["2"]),
    (VAE, "--lr-d", ["nan", "inf", "-1", "0"]),
    (GAN, "--lr-decay-start", NONNEG_FLOAT + ["2"]),
    (GAN, "--seed", NONNEG_INT),
    (VAE, "--beta", NONNEG_FLOAT),
    (VAE, "--kl-warmup", NONNEG_INT),
    (GAN, "--n-critic", POSITIVE_INT + ["1000"]),
    (GAN, "--gp-weight", NONNEG_FLOAT),
    (GAN, "--ema", NONNEG_FLOAT + ["1"]),
    (GAN, "--checkpoint-every", POSITIVE_INT),
    (GAN, "--sample-every", POSITIVE_INT),
    (GAN, "--log-every", POSITIVE_INT),
]
SAMPLE = ["sample", "{run}", "--out", "{out}.npy"]
INTERPOLATE = ["interpolate", "{run}", "--out", "{out}.npy"]
INTERPOLATE_DATA = INTERPOLATE + ["--from", "0", "--to", "1"]
RECONSTRUCT = ["reconstruct", "{run}", "--out", "{out}.npy"]
ANOMALY = ["anomaly", "{run}", "--out", "{out}.csv"]
EVALUATE = ["evaluate", "{run}", "--sections", "likelihood", "--k", "2", "--iwae-examples", "4",
            "--n-test", "16", "--n", "16"]
BENCH = ["bench", "--models", "mlp-vae", "--sizes", "28", "--precisions", "fp32", "--steps", "1",
         "--repeats", "1", "--warmup", "0", "--no-reference", "--no-peak"]
OTHER_FLAGS = [
    (SAMPLE, "--n", POSITIVE_INT + [str(10 ** 12)]),
    (SAMPLE, "--seed", NONNEG_INT),
    (SAMPLE, "--class", ["-1", "8", "nan", "abc", "1e20", HUGE_INT]),
    (INTERPOLATE, "--steps", POSITIVE_INT + ["1", str(10 ** 12)]),
    (INTERPOLATE, "--rows", POSITIVE_INT + [str(10 ** 12)]),
    (INTERPOLATE, "--seed", NONNEG_INT),
    (INTERPOLATE_DATA, "--from", ["-1", "nan", "abc", "1e20", HUGE_INT, "10000"]),
    (INTERPOLATE_DATA, "--to", ["-1", "nan", "abc", "1e20", HUGE_INT, "10000"]),
    (RECONSTRUCT, "--n", ["0", "-1", "nan", "inf", "abc", "1e20"]),
    (ANOMALY, "--k", POSITIVE_INT + [str(10 ** 9)]),
    (ANOMALY, "--seed", NONNEG_INT),
    (EVALUATE, "--n", POSITIVE_INT + ["1", str(10 ** 12)]),
    (EVALUATE, "--k", POSITIVE_INT + [str(10 ** 9)]),
    (EVALUATE, "--iwae-examples", ["0", "-1", "nan", "inf", "abc", "1e20"]),
    (EVALUATE, "--n-test", ["0", "-1", "nan", "inf", "abc", "1e20"]),
    (EVALUATE, "--factor-votes", POSITIVE_INT + ["1"]),
    (EVALUATE, "--seed", NONNEG_INT),
    (BENCH, "--batch-size", POSITIVE_INT),
    (BENCH, "--steps", POSITIVE_INT),
    (BENCH, "--repeats", POSITIVE_INT),
    (BENCH, "--warmup", NONNEG_INT),
    (BENCH, "--threads", POSITIVE_INT),
    (["serve"], "--port", ["-1", "65536", "nan", "abc", "1e20"]),
    (["serve"], "--max-sessions", POSITIVE_INT),
    (["serve"], "--idle-seconds", POSITIVE_FLOAT),
]


@dataclass
class Case:
    argv: list[str]
    flag: str
    value: str

    @property
    def label(self) -> str:
        return f"{self.argv[0]} {self.flag} {self.value}"


def cases() -> list[Case]:
    out = []
    for base, flag, values in TRAIN_FLAGS + OTHER_FLAGS:
        for value in values:
            argv = _without(base, flag)
            if flag == "--epochs":
                argv = _without(argv, "--steps")
            if base in (GAN, VAE, VAE_IMAGES):
                argv = argv + ["--out", "{out}"]
            out.append(Case(argv + [flag, value], flag, value))
    return out


def _without(argv: list[str], flag: str) -> list[str]:
    if flag not in argv:
        return list(argv)
    i = argv.index(flag)
    return argv[:i] + argv[i + 2:]


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def run_case(case: Case, run: Path, out: Path, timeout: float = 20.0) -> tuple[str, str]:
    """-> (outcome, stderr): outcome is "refused", "unclear" (refused, but not in one line
    naming the flag), "traceback", "hang" or "silent" (exit 0)."""
    from genlab.cli import main

    argv = [a.replace("{run}", str(run)).replace("{out}", str(out)) for a in case.argv]
    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except _Timeout:
        return "hang", err.getvalue()
    except BaseException as e:  # noqa: BLE001 - a traceback is what is being counted
        return "traceback", f"{err.getvalue()}{type(e).__name__}: {e}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    text = err.getvalue()
    if "Traceback" in text:
        return "traceback", text
    if code == 0:
        return "silent", text
    lines = [line for line in text.splitlines() if line.startswith("genlab: error:")]
    if len(lines) == 1 and names(lines[0], case.flag):
        return "refused", text
    return "unclear", text


def names(line: str, flag: str) -> bool:
    """The message names the flag (--lr-d) or its config field (lr_d, model.hidden_dim)."""
    stem = flag.lstrip("-")
    pattern = re.escape(stem).replace(r"\-", "[-_ ]")
    aliases = {"kl-warmup": "kl[-_]warmup", "ema": "ema", "class": "class", "from": "from|index",
               "to": "to|index"}
    return re.search(aliases.get(stem, pattern), line, re.IGNORECASE) is not None


def train_fixture_run(out: Path) -> Path:
    """A tiny conditional VAE on ring8: every operation and evaluate section can use it."""
    from genlab.cli import main

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        code = main(VAE + ["--conditional", "--steps", "2", "--out", str(out)])
    assert code == 0, "the fixture run did not train"
    return out


def run_all(folder: Path, timeout: float = 20.0) -> dict[str, list[tuple[str, str]]]:
    run = train_fixture_run(folder / "run")
    outcomes: dict[str, list[tuple[str, str]]] = {}
    for i, case in enumerate(cases()):
        outcome, text = run_case(case, run, folder / f"case{i}", timeout)
        outcomes.setdefault(outcome, []).append((case.label, " | ".join(text.splitlines()[-2:])))
    return outcomes


if __name__ == "__main__":
    import resource
    import tempfile

    limit = 6 << 30  # a request the machine cannot hold fails instead of swapping it to death
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with tempfile.TemporaryDirectory() as tmp:
        result = run_all(Path(sys.argv[1] if len(sys.argv) > 1 else tmp),
                         float(sys.argv[2]) if len(sys.argv) > 2 else 20.0)
    print({k: len(v) for k, v in sorted(result.items())})
    for outcome in ("traceback", "hang", "silent", "unclear"):
        for label, text in result.get(outcome, []):
            print(f"{outcome:9s} {label:40s} {text[:150]}")
