"""The training progress bar shows what a user waits on: steps/s, the epoch and the learning
rate beside the losses (issue 14), and all of it fits an 80-column terminal: the bar's columns on
one line, the epoch, learning rate and losses on the next, nothing cut to an ellipsis."""

from __future__ import annotations

import re
import subprocess
import sys

from cli_helpers import cli_env


def test_progress_bar_shows_rate_epoch_and_learning_rate(tmp_path):
    env = dict(cli_env(), COLUMNS="80")  # a default terminal
    proc = subprocess.run([sys.executable, "-m", "genlab", "train", "gan", "--data", "grid25",
                           "--steps", "200", "--log-every", "50", "--out", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    last = max(i for i, line in enumerate(lines) if line.startswith("train "))
    bar, stats = lines[last], lines[last + 1]
    assert re.search(r"\b200/200 \d+ steps/s\b", bar), bar
    assert re.search(r"epoch \d+\.\d\d\b", stats) and re.search(r"\blr [0-9.e+-]+", stats), stats
    assert "loss_d" in stats and "loss_g" in stats, stats
    assert "…" not in proc.stderr and all(len(line) <= 80 for line in lines), proc.stderr
