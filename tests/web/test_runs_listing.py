"""The runs' listing (genlab.web.runs_browser): bounded, read from the small JSON files, each
run's lab and the URL that opens it there, a bad folder refused in one line. The labs showing
them: test_run_in_lab.py, test_runs_browser.py."""

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
    assert [(r["name"], r["lab"], r["step"], r["url"]) for r in body["runs"]] == [
        ("a", "vae", 7, "/?v_run=0#sim-vae"), ("b", "gan2d", 7, "/?g_run=1#sim-gan2d"),
        ("c", "dcgan", 7, "/?d_run=2#sim-dcgan")]
    assert body["truncated"] is True
    runs = client.app.state.runs
    assert runs.path_for(0, "vae") == (tmp_path / "a").resolve()
    with pytest.raises(GenlabError, match=r"^no run 9: this hub lists runs 0\.\.2$"):
        runs.path_for(9, "vae")
    with pytest.raises(GenlabError, match=r"^run a \(vae on ring8\) opens in the VAE lab, not "
                                          r"the DCGAN lab$"):
        runs.path_for(0, "dcgan")
    (tmp_path / "b" / "checkpoints" / "latest.json").write_text("{broken")
    assert client.get("/api/runs").json()["runs"][1]["error"].startswith("unreadable")
    with pytest.raises(GenlabError, match="unreadable"):
        runs.path_for(1, "gan2d")
    assert client.get("/runs").status_code == 200
    assert client.get("/api/runs/0/view").status_code == 404  # the labs draw the runs now


def test_without_runs_there_is_no_runs_page():
    client = TestClient(create_app())
    assert client.get("/runs").status_code == 404
    assert client.get("/api/runs").json()["runs"] == []  # the labs' lists: empty, no control


def test_bad_folders_are_one_line(tmp_path):
    with pytest.raises(GenlabError, match=r"--run '.*nope': no such folder"):
        runs_browser.find_runs([tmp_path / "nope"], None)
    with pytest.raises(GenlabError, match=r"--runs '.*nope': no such folder"):
        runs_browser.find_runs([], tmp_path / "nope")
    with pytest.raises(GenlabError, match="is not a run folder .* nor a genlab export"):
        runs_browser.find_runs([tmp_path], None)


def test_a_genlab_export_opens_in_its_lab(tmp_path):
    import genlab
    from genlab.config import DataConfig, ModelConfig, TrainConfig
    from genlab.export import export_run
    from genlab.web.simulations.frames import decode_frame
    from genlab.web.simulations.schemas import SimLimits
    from genlab.web.simulations.worker import build

    cfg = TrainConfig(model=ModelConfig(kind="gan", hidden_dim=8, depth=1),
                      data=DataConfig(name="ring8"), steps=5, batch_size=16)
    for _ in genlab.train(cfg, tmp_path / "run"):
        pass
    export_run(tmp_path / "run", tmp_path / "hf")
    client = TestClient(create_app(runs={"run_paths": [tmp_path / "hf"], "runs_dir": None}))
    (entry,) = client.get("/api/runs").json()["runs"]
    assert (entry["lab"], entry["step"], entry["export"]) == ("gan2d", 5, True)
    sim = build("gan2d", {}, SimLimits(), run=str(client.app.state.runs.path_for(0, "gan2d")))
    _, step, meta, arrays = decode_frame(sim.frame())
    assert step == 5 and meta["from_run"]["export"] is True and arrays["heat"].shape == (40, 40)
    sim.train_step()  # weights only: fresh optimizers, and it trains on
    assert sim.live.step == 6
