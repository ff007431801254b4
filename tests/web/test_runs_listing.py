"""The runs page's listing (genlab.web.runs_browser): bounded, read from the small JSON files,
a bad folder refused in one line. The views themselves: test_runs_browser.py."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from genlab.errors import GenlabError
from genlab.web import runs_browser
from genlab.web.app import create_app


def fake_run(folder, kind="gan", shape=(2,), step=7):
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "latest.json").write_text(json.dumps({
        "step": step, "config": {"model": {"kind": kind, "data_shape": list(shape)},
                                 "data": {"name": "ring8"}}}))


def test_the_listing_is_bounded_and_names_each_lab(tmp_path, monkeypatch):
    monkeypatch.setattr(runs_browser, "MAX_RUNS", 3)
    fake_run(tmp_path / "a", "vae", (1, 28, 28))
    fake_run(tmp_path / "b", "gan", (2,))
    fake_run(tmp_path / "c", "dcgan", (1, 28, 28))
    fake_run(tmp_path / "d")
    (tmp_path / "not-a-run").mkdir()
    client = TestClient(create_app(runs={"run_paths": [], "runs_dir": tmp_path}))
    body = client.get("/api/runs").json()
    assert [(r["name"], r["lab"], r["step"]) for r in body["runs"]] == [
        ("a", "vae", 7), ("b", "gan2d", 7), ("c", "dcgan", 7)]
    assert body["truncated"] is True
    (tmp_path / "b" / "checkpoints" / "latest.json").write_text("{broken")
    assert client.get("/api/runs").json()["runs"][1]["error"].startswith("unreadable")
    assert client.get("/api/runs/9/view").json() == {
        "detail": "no run 9: the hub shows runs 0..2"}
    assert client.get("/runs").status_code == 200


def test_without_runs_there_is_no_runs_page():
    client = TestClient(create_app())
    assert client.get("/api/runs").status_code == 404


def test_bad_folders_are_one_line(tmp_path):
    with pytest.raises(GenlabError, match=r"--run '.*nope': no such folder"):
        runs_browser.find_runs([tmp_path / "nope"], None)
    with pytest.raises(GenlabError, match=r"--runs '.*nope': no such folder"):
        runs_browser.find_runs([], tmp_path / "nope")
    with pytest.raises(GenlabError, match="is not a run folder"):
        runs_browser.find_runs([tmp_path], None)
