"""The five benchmark scripts in --fast mode (tiny settings), so they cannot rot. They write
their Markdown and PNG into a temporary folder, never into docs/results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli_env

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = {  # script -> the page it writes
    "toy2d_table.py": "toy2d-fast.md",
    "vae_likelihood.py": "vae_likelihood-fast.md",
    "anomaly.py": "anomaly-fast.md",
    "disentanglement.py": "disentanglement-fast.md",
    "image_gans.py": "image_gans-fast.md",
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_fast_mode_writes_its_page(script, tmp_path):
    env = dict(cli_env(), GENLAB_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--fast",
                           "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work"),
                           "--workers", "1"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = (tmp_path / "out" / SCRIPTS[script]).read_text()
    assert "- Commit: `" in page and "- Machine: " in page and "- Time taken: " in page
    assert "- Seeds: " in page and "**Partial**" not in page
    table = [line for line in page.splitlines() if line.startswith("| ")]
    assert len(table) >= 2  # a header and at least one result row
    pngs = list((tmp_path / "out").glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert not (ROOT / "docs" / "results" / SCRIPTS[script]).exists()
