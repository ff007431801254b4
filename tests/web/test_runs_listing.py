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
    with pytest.raises(GenlabError, match="is not a run folder .* nor a genlab export"):
        runs_browser.find_runs([tmp_path], None)


def test_a_genlab_export_opens_but_does_not_continue(tmp_path):
    import genlab
    from genlab.config import DataConfig, ModelConfig, TrainConfig
    from genlab.export import export_run

    cfg = TrainConfig(model=ModelConfig(kind="gan", hidden_dim=8, depth=1),
                      data=DataConfig(name="ring8"), steps=5, batch_size=16)
    for _ in genlab.train(cfg, tmp_path / "run"):
        pass
    export_run(tmp_path / "run", tmp_path / "hf")
    client = TestClient(create_app(runs={"run_paths": [tmp_path / "hf"], "runs_dir": None}))
    (entry,) = client.get("/api/runs").json()["runs"]
    assert (entry["lab"], entry["step"], entry["export"]) == ("gan2d", 5, True)
    view = client.get("/api/runs/0/view").json()
    assert len(view["fake"]) == 1000 and len(view["heat"]) == runs_browser.GRID
    refused = client.post("/api/runs/0/continue", json={"steps": 3})
    assert refused.status_code == 422 and "genlab export" in refused.json()["detail"]
    other_site = client.post("/api/runs/0/continue", json={"steps": 3},
                             headers={"origin": "http://evil.example"})
    assert other_site.status_code == 403
