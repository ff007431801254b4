"""Issue 13 §2: a simulation exported to the library (genlab.web.simulations.export_run) and
`genlab train --config FILE` training it."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import run_cli  # noqa: E402

import genlab  # noqa: E402
from genlab.web.simulations.common import reconfigure  # noqa: E402
from genlab.web.simulations.export_run import export_config, export_zip, write_run  # noqa: E402
from genlab.web.simulations.schemas import SimLimits, parse_config  # noqa: E402
from genlab.web.simulations.worker import build  # noqa: E402

# what a run of the library adds to what the lab trains (export_run.py's docstring)
RUN_LENGTH = {"steps", "epochs", "checkpoint_every", "sample_every", "lr_decay_start"}


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


def _sim(kind, config, steps=3):
    sim = build(kind, config, SimLimits())
    for _ in range(steps):
        sim.train_step()
    return sim


@pytest.mark.parametrize("kind,config", [
    ("gan2d", {"data": "ring8", "loss": "wgan-gp", "spectral_norm": True, "pack": 2,
               "width": 32, "lr_d": 5e-4}),
    ("vae", {"model": "ae", "width": 64}),
    ("dcgan", {"filters": 8, "latent": 16, "loss": "hinge"}),
    ("beyond", {"holdout": 3, "latent": 4}),
])
def test_exported_config_is_what_the_lab_trains(kind, config):
    sim = _sim(kind, config)
    exported = export_config(sim).to_dict()
    trained = sim.live.state.cfg.to_dict()  # the lab's own resolve(train_config())
    differ = {k for k, v in _flat(exported).items() if _flat(trained)[k] != v}
    assert differ <= RUN_LENGTH, differ
    assert exported["steps"] == 3 and exported["lr_decay_start"] == 1.0
    assert exported["precision"] == "fp32"
    again = genlab.config.TrainConfig.from_dict(json.loads(json.dumps(exported)))
    assert again.to_dict() == genlab.config.TrainConfig.from_dict(exported).to_dict()
    if kind == "beyond":
        assert exported["data"]["holdout_class"] == 3
    if kind == "gan2d":
        assert exported["model"]["spectral_norm"] and exported["model"]["pack"] == 2
        assert exported["loss"] == "wgan-gp" and exported["lr_d"] == 5e-4


def test_nothing_to_export_is_one_line():
    sim = build("gan2d", {"data": "drawn"}, SimLimits())  # no points drawn yet: no model
    with pytest.raises(genlab.errors.GenlabError, match="nothing to export yet"):
        export_config(sim)


def test_a_live_change_is_exported():
    sim = _sim("vae", {})
    reconfigure(sim, parse_config("vae", {"lr": 1e-3, "beta": 2.5}, SimLimits()))
    cfg = export_config(sim)
    assert (cfg.lr, cfg.beta) == (1e-3, 2.5)


def test_the_run_folder_holds_the_labs_model_and_loads(tmp_path):
    sim = _sim("vae", {"width": 32}, steps=4)
    write_run(sim, tmp_path / "run")
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"config.json", "checkpoints",
                                                               "final.json", "samples"}
    assert list((tmp_path / "run" / "samples").glob("step_0000004.png"))
    run = genlab.load_run(tmp_path / "run")
    assert run.step == 4 and run.config.steps == 4
    lab = sim.live.state.model.state_dict()
    for name, value in run.model.state_dict().items():
        assert torch.equal(value, lab[name]), name
    x = genlab.sample(run, 6, seed=1)
    assert x.shape == (6, 1, 28, 28) and 0 <= float(x.min()) and float(x.max()) <= 1


@pytest.mark.slow
def test_train_config_overrides_and_resume_in_subprocesses(tmp_path):
    sim = _sim("gan2d", {"data": "ring8", "width": 24, "depth": 2, "lr_g": 2e-3}, steps=5)
    data, cfg, name = export_zip(sim, "gan2d")
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    folder = tmp_path / name
    exported = folder / "config.json"
    # the file trains with a flag overriding one value
    run_cli("train", "--config", exported, "--steps", "20", "--lr-d", "0.0005", "--out",
            tmp_path / "new", "--quiet", check=True)
    stored = json.loads((tmp_path / "new" / "config.json").read_text())
    assert stored["steps"] == 20 and stored["lr_d"] == 0.0005  # the flags
    assert stored["model"]["hidden_dim"] == 24 and stored["lr"] == 2e-3  # the file, not defaults
    assert genlab.load_run(tmp_path / "new").step == 20
    # the downloaded run folder samples and resumes
    run_cli("sample", folder, "--n", "16", "--out", tmp_path / "s.csv", check=True)
    assert len((tmp_path / "s.csv").read_text().strip().splitlines()) >= 16
    run_cli("train", "gan", "--out", folder, "--resume", "--steps", "9", "--quiet", check=True)
    run = genlab.load_run(folder)
    assert run.step == 9
    # a bad value in the file: one line naming the file and the field
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**cfg.to_dict(), "lr": float("inf")}).replace("Infinity", "1e999"))
    proc = run_cli("train", "--config", bad, "--out", tmp_path / "bad")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "--config" in proc.stderr and "lr" in proc.stderr
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_drawn_points_go_with_the_export(tmp_path):
    sim = build("gan2d", {"data": "drawn", "width": 16}, SimLimits())
    sim.handle({"type": "points", "points": [[0.1 * i - 0.5, (-1) ** i * 0.3] for i in range(12)]})
    sim.train_step()
    data, cfg, name = export_zip(sim, "gan2d")
    assert cfg.data.name == "csv:drawn_points.csv"
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    import subprocess

    from cli_helpers import cli_env
    proc = subprocess.run([sys.executable, "-m", "genlab", "train", "--config", "config.json",
                           "--steps", "5", "--out", "again", "--quiet"], cwd=tmp_path / name,
                          env=cli_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert genlab.load_run(tmp_path / name / "again").step == 5
