"""The training progress bar shows what a user waits on: steps/s, the epoch and the learning
rate beside the losses (issue 14)."""

from __future__ import annotations

import re
import subprocess
import sys

from cli_helpers import cli_env


def test_progress_bar_shows_rate_epoch_and_learning_rate(tmp_path):
    env = dict(cli_env(), COLUMNS="200")  # wide enough that rich truncates no column
    proc = subprocess.run([sys.executable, "-m", "genlab", "train", "gan", "--data", "grid25",
                           "--steps", "200", "--log-every", "50", "--out", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    bar = [line for line in proc.stderr.splitlines() if line.startswith("train ")][-1]
    assert re.search(r"\b\d+ steps/s\b", bar), bar
    assert re.search(r"epoch \d+\.\d\d\b", bar) and re.search(r"\blr [0-9.e+-]+", bar), bar
    assert "loss_d" in bar and "loss_g" in bar, bar
