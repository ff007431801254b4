"""benchmarks/toy2d_time_to_goal.py: its --fast run writes its block of the page, prints the
goal line, and leaves every other line of the page as it was."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

from cli_helpers import cli_env

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "toy2d_time_to_goal.py"


def _module():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        spec = importlib.util.spec_from_file_location("toy2d_time_to_goal", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPT.parent))


def test_fast_run_writes_its_block_between_the_markers(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    others = "# Speed\n\n<!-- speed:steps-1t -->\nsomeone else's table\n<!-- /speed:steps-1t -->\n"
    (out / "speed-fast.md").write_text(others)
    env = dict(cli_env(), GENLAB_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, str(SCRIPT), "--fast", "--out", str(out),
                           "--work", str(tmp_path / "work")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"^grid25 time to goal: [\d.]+ s/seed \(median\), modes \d+/25 worst, "
                     r"HQ [\d.]+ ± nan %, KL ([\d.]+|nan)$", proc.stdout, re.M), proc.stdout[-2000:]
    page = (out / "speed-fast.md").read_text()
    assert page.startswith(others)  # the other sections are untouched
    block = page[page.index("<!-- toy2d_time_to_goal: begin -->"):]
    assert "commit `" in block and "| seed | modes |" in block and "| 0 | " in block
    assert block.rstrip().endswith("<!-- toy2d_time_to_goal: end -->")
    assert not (ROOT / "docs" / "results" / "speed-fast.md").exists()


def test_block_is_replaced_in_place(tmp_path):
    m = _module()
    page = tmp_path / "speed.md"
    page.write_text(f"# Speed\n\nbefore\n\n{m.BEGIN}\nold\n{m.END}\n\nafter\n")
    m.write_section(page, f"{m.BEGIN}\nnew\n{m.END}\n")
    assert page.read_text() == f"# Speed\n\nbefore\n\n{m.BEGIN}\nnew\n{m.END}\nafter\n"


def test_summary_applies_the_goal_to_every_seed():
    m = _module()
    good = {"modes": 25, "num_modes": 25, "high_quality": 0.96, "reverse_kl": 0.01,
            "train_seconds": 20.0, "cpu_seconds": 19.0}
    s = m.summary([good, dict(good, seed=1)])
    assert all(s["met"].values())
    s = m.summary([good, dict(good, modes=24)])  # one seed short of a mode: missed
    assert not s["met"]["modes"] and s["worst_modes"] == 24
    s = m.summary([good, dict(good, train_seconds=50.0), dict(good, train_seconds=50.0)])
    assert not s["met"]["time"] and s["median"] == 50.0
    s = m.summary([good, dict(good, high_quality=0.93)])  # mean 94.5%
    assert not s["met"]["high quality"]


def test_speed_py_keeps_the_block_when_it_rewrites_the_page(tmp_path):
    """benchmarks/speed.py rebuilds speed.md from its own sections and the hub's block: the
    time-to-goal block after them survives, with or without a hub block."""
    m = _module()
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import speed
    finally:
        sys.path.remove(str(SCRIPT.parent))
    block = f"{m.BEGIN}\n## grid25 time to goal\n\n| seed |\n{m.END}\n"
    for hub in (f"{speed.HUB_BEGIN}\n## Hub sessions\n{speed.HUB_END}\n\n", ""):
        page = tmp_path / "speed.md"
        page.write_text(f"# Speed\n\n<!-- speed:startup -->\nold\n<!-- /speed:startup -->\n\n"
                        f"{hub}{block}")
        speed.write_page({}, 0.0, None, page=page)
        text = page.read_text()
        assert text.count(m.BEGIN) == 1 and block in text
        assert "<!-- speed:startup -->\nold" in text and speed.HUB_BEGIN in text


def test_the_recipes_command_trains_the_recipe():
    """The page's `genlab train` line, parsed by genlab's own parser, gives back every field
    of RECIPE (the command is built from it, not kept beside it)."""
    import shlex

    from genlab.cli import _train_overrides, build_parser

    m = _module()
    words = shlex.split(m.train_command(m.RECIPE))
    args = build_parser().parse_args(words[1:])
    assert args.model == m.RECIPE["model.kind"]
    overrides = _train_overrides(args)
    for field, value in m.RECIPE.items():
        if field != "model.kind":
            assert overrides[field] == value, field
