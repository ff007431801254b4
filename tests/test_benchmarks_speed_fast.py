"""The two speed benchmarks (issue 5) in --fast mode, so they cannot rot: speed.py writes its
page (to a temporary path, never docs/results) with every section; hub_sessions.py drives a
real `genlab serve` with 1 and 2 WebSocket sessions and prints their frames/s and steps/s."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli_env

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(cli_env(), GENLAB_CACHE=str(tmp_path / "cache"))
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


def test_speed_fast_writes_every_section(tmp_path):
    page, committed = tmp_path / "speed.md", ROOT / "docs" / "results" / "speed.md"
    before = committed.read_bytes()
    proc = _run([str(ROOT / "benchmarks" / "speed.py"), "--fast", "--page", str(page)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = page.read_text()
    for marker in ("<!-- speed:steps-1t -->", "<!-- speed:quality -->", "<!-- speed:startup -->"):
        assert marker in text
    ratios = re.findall(r"\*\*MLP VAE 28×28 (?:fp32|bf16): ([0-9.]+)× reference\*\*", text)
    assert len(ratios) == 2 and all(float(r) > 0 for r in ratios)
    assert "GEMM peak measured now" in text
    # --fast runs on embedded data only, so it passes on a machine without the IDX files
    assert "## Time to quality: MLP VAE on mnist5k" in text
    assert committed.read_bytes() == before  # --page: the committed page is left alone


def test_hub_sessions_fast_measures_live_sessions(tmp_path):
    proc = _run([str(ROOT / "benchmarks" / "hub_sessions.py"), "--fast", "--no-write"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(r"(\d) session\(s\): frames/s ([0-9.]+).*steps/s ([0-9.]+)", proc.stdout)
    assert [r[0] for r in rows] == ["1", "2"], proc.stdout[-2000:]
    assert all(float(fps) > 0 and float(steps) > 0 for _, fps, steps in rows)


@pytest.mark.slow
def test_hub_sessions_viewers_measures_every_viewer_and_writes_its_own_section(tmp_path):
    page = tmp_path / "speed.md"
    page.write_text("# Speed\n\n<!-- hub_sessions: begin -->\nkept\n<!-- hub_sessions: end -->\n")
    proc = _run([str(ROOT / "benchmarks" / "hub_sessions.py"), "--kind", "gan2d", "--viewers",
                 "3", "--seconds", "2", "--warmup", "1", "--client-processes", "2",
                 "--page", str(page)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"viewers 3: median ([0-9.]+) fps, worst ([0-9.]+) fps", last)
    assert match and float(match.group(2)) > 0, proc.stdout[-2000:]
    text = page.read_text()
    assert "kept" in text  # the other section stays
    section = text[text.index("<!-- hub_viewers: begin -->"):text.index("<!-- hub_viewers: end -->")]
    assert "### `python benchmarks/hub_sessions.py --kind gan2d --viewers 3 --seconds 2`" in section
    assert re.search(r"\| 3 \| [0-9.]+, [0-9.]+, [0-9.]+ \| [0-9.]+ \| [0-9.]+; [0-9.]+ \|", section)
