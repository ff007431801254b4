"""`genlab train --config FILE`: refusals are one line (the training itself: tests/web/test_export_run.py)."""

from __future__ import annotations

import json

from cli_helpers import run_cli


def test_config_file_refusals_are_one_line(tmp_path):
    cases = {
        "missing": (tmp_path / "nope.json", "no such file"),
        "not json": (tmp_path / "a.json", "not valid JSON"),
        "bad field": (tmp_path / "b.json", "unknown TrainConfig field"),
        "bad value": (tmp_path / "c.json", "model.depth"),
        "wrong kind": (tmp_path / "d.json", "trains a gan, not a vae"),
        "folder without one": (tmp_path / "empty", "no such file"),
        "not an export": (tmp_path / "e.json", "unknown TrainConfig field(s): genlab"),
    }
    (tmp_path / "empty").mkdir()
    (tmp_path / "e.json").write_text(json.dumps({"model": {"kind": "gan"},
                                                 "genlab": {"format": "something-else"}}))
    (tmp_path / "a.json").write_text("{x")
    (tmp_path / "b.json").write_text(json.dumps({"learning_rate": 1}))
    (tmp_path / "c.json").write_text(json.dumps({"model": {"kind": "gan", "depth": 0}}))
    (tmp_path / "d.json").write_text(json.dumps({"model": {"kind": "gan"}}))
    for name, (path, text) in cases.items():
        args = ["train"] + (["vae"] if name == "wrong kind" else []) + [
            "--config", path, "--out", tmp_path / "out"]
        proc = run_cli(*args)
        assert proc.returncode == 2, (name, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and text in lines[0] and str(path) in lines[0], (name, lines)
    proc = run_cli("train", "--out", tmp_path / "out")
    assert proc.returncode == 2 and "--config FILE" in proc.stderr
    assert not (tmp_path / "out").exists()
