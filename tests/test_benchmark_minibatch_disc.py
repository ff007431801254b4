"""benchmarks/minibatch_disc.py in --fast mode, so it cannot rot: it times the layer and a grid25
step plain / with the kernel / eager, prints its ratio line and writes its own section of a
page (a temporary one here, never docs/results) between its markers, keeping the rest."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli_env

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_minibatch_disc_fast_writes_its_section(tmp_path):
    from torch.utils import cpp_extension

    if shutil.which("c++") is None or not cpp_extension.is_ninja_available():
        pytest.skip("no C++ compiler or ninja: nothing to compare")
    page = tmp_path / "speed.md"
    page.write_text("# Speed\n\nkept\n\n<!-- minibatch_disc: begin -->\nold\n"
                    "<!-- minibatch_disc: end -->\n\nalso kept\n")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "minibatch_disc.py"),
                           "--fast", "--page", str(page)], env=cli_env(), capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = re.search(r"minibatch discrimination: ([0-9.]+) ms/step vs plain ([0-9.]+) ms/step = "
                     r"([0-9.]+)×", proc.stdout)
    assert line and all(float(v) > 0 for v in line.groups()), proc.stdout[-2000:]
    text = page.read_text()
    assert text.count("<!-- minibatch_disc: begin -->") == 1 and "\nold\n" not in text
    assert "kept" in text and "also kept" in text and "First use of the kernel" in text
    assert "- Commit" not in text and "commit `" in text and "load average" in text
