"""Kill -9 at random moments, resume, and end with exactly the weights of a run never stopped.

`genlab train ... --deterministic` runs in a subprocess; once its first checkpoint exists it is
killed with SIGKILL after a random delay (mid-step, mid-write, anywhere), resumed, killed
again, ..., until it finishes. Every tensor of the final checkpoint (weights, EMA, Adam moments,
RNG states) must be torch.equal to the uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from cli_helpers import cli_env, run_cli
from safetensors.torch import load_file

pytestmark = pytest.mark.slow

CASES = {
    "vae-digits": ["vae", "--data", "digits", "--steps", "300", "--batch-size", "32",
                   "--hidden-dim", "64", "--kl-warmup", "100", "--checkpoint-every", "25",
                   "--sample-every", "100"],
    "gan-ema-ring8": ["gan", "--data", "ring8", "--steps", "150", "--batch-size", "64",
                      "--hidden-dim", "64", "--loss", "wgan-gp", "--n-critic", "2", "--ema", "0.99",
                      "--lr-decay-start", "0.5", "--checkpoint-every", "15",
                      "--sample-every", "50"],
}


def _final_tensors(run: Path) -> dict[str, torch.Tensor]:
    meta = json.loads((run / "checkpoints" / "latest.json").read_text())
    return meta, load_file(str(run / "checkpoints" / meta["tensors"]))


def _start(args, out: Path, resume: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "genlab", "train", *args, "--out", str(out), "--deterministic",
           "--quiet"] + (["--resume"] if resume else [])
    return subprocess.Popen(cmd, env=cli_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("case", sorted(CASES))
def test_kill_and_resume_reproduces_the_uninterrupted_weights(tmp_path, case):
    args = CASES[case]
    run_cli("train", *args, "--out", tmp_path / "straight", "--deterministic", "--quiet",
            check=True)
    meta_a, straight = _final_tensors(tmp_path / "straight")

    rng = random.Random(os.getpid())
    out = tmp_path / "killed"
    kills = 0
    for attempt in range(12):
        proc = _start(args, out, resume=attempt > 0 and (out / "checkpoints" / "latest.json").exists())
        if kills < 2:
            # wait until this attempt has written a new checkpoint, then kill at a random moment
            latest = out / "checkpoints" / "latest.json"
            seen = latest.stat().st_mtime_ns if latest.exists() else None
            deadline = time.time() + 120
            while proc.poll() is None and time.time() < deadline:
                if latest.exists() and latest.stat().st_mtime_ns != seen:
                    break
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.6))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        break
    assert kills >= 1, "the run finished before it could be killed; make it longer"

    meta_b, resumed = _final_tensors(out)
    assert meta_b["step"] == meta_a["step"]
    assert set(resumed) == set(straight)
    different = [k for k in straight if not torch.equal(straight[k], resumed[k])]
    assert not different, f"{len(different)} tensors differ after {kills} kills, e.g. {different[:5]}"
    steps = [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)), "metrics.jsonl repeats steps after a resume"
