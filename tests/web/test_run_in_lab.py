"""Issue 13 §3: a CLI-trained run opens in the lesson's lab that fits it — the lab's live
worker builds the run's model (genlab.load_run) and streams frames as for its own model; the
run folder is read, never written; Play trains a copy in memory. A page names runs by the
server's ids only."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import folder_snapshot  # noqa: E402

import genlab
from genlab import operations
from genlab.config import DataConfig, ModelConfig, TrainConfig
from genlab.web.app import create_app
from genlab.web.simulations.common import to_uint8
from genlab.web.simulations.frames import decode_frame
from genlab.web.simulations.schemas import SimLimits
from genlab.web.simulations.worker import build

RUNS = {  # name: (kind, data, model settings, steps) — each trains in well under a second
    "vae2": ("vae", "mnist5k", dict(latent_dim=2, architecture="mlp", hidden_dim=32, depth=1), 3),
    "vae6": ("vae", "digits", dict(latent_dim=6, architecture="mlp", hidden_dim=32, depth=1), 3),
    "gan": ("gan", "ring8", dict(latent_dim=3, hidden_dim=16, depth=1), 3),
    "dcgan": ("dcgan", "mnist5k", dict(latent_dim=8, filters=4), 2),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, (kind, data, model, steps) in RUNS.items():
        cfg = TrainConfig(model=ModelConfig(kind=kind, **model), data=DataConfig(name=data),
                          steps=steps, batch_size=32, seed=3)
        for _ in genlab.train(cfg, root / name):
            pass
    return root


def _frame(sim):
    return decode_frame(sim.frame())


def test_a_vae_run_decodes_as_the_library_decodes_it(runs):
    sim = build("vae", {}, SimLimits(), run=str(runs / "vae2"))
    _, step, meta, arrays = _frame(sim)
    run = genlab.load_run(runs / "vae2")
    assert step == run.step == 3 and meta["from_run"]["name"] == "vae2"
    assert meta["projection"] is None and meta["model"] == "vae"
    z = torch.tensor([[0.4, -1.3]])
    reply = decode_frame(sim.handle({"type": "decode", "z": [0.4, -1.3]}))
    expected = to_uint8(operations.decode_latent(run.model, None, z, None, run.normalizer))
    assert np.array_equal(reply[3]["image"], expected)  # the run's weights, not the lab's
    # the codes on the map are the library's encode of the shown test images
    assert np.allclose(arrays["latent"], operations.encode(run, sim.x_test).numpy(), atol=1e-5)


def test_more_than_two_latent_dimensions_show_their_pca_plane(runs):
    sim = build("vae", {}, SimLimits(), run=str(runs / "vae6"))
    _, _, meta, arrays = _frame(sim)
    run = genlab.load_run(runs / "vae6")
    assert meta["projection"]["method"] == "PCA" and meta["projection"]["latent_dim"] == 6
    assert 0 < meta["projection"]["explained"] <= 1
    assert arrays["orig"].shape[1:] == (8, 8)  # the run's own images (digits, 8×8)
    codes = operations.encode(run, sim.x_test)  # (N, 6)
    c, offset = sim.plane["components"], sim.plane["offset"]
    # an independent reference: the top-2 eigenvectors of the codes' covariance (torch.linalg)
    centred = codes - codes.mean(0)
    _, vecs = torch.linalg.eigh(centred.T @ centred)
    top = vecs[:, [-1, -2]].T  # (2, 6)
    assert torch.allclose((c @ top.T).abs(), torch.eye(2), atol=1e-3)  # the same plane
    assert torch.allclose(c @ c.T, torch.eye(2), atol=1e-5) and float((offset @ c.T).abs().max()) < 1e-5
    assert np.allclose(arrays["latent"], (codes @ c.T).numpy(), atol=1e-4)
    # a click decodes the plane's point z = m⊥ + u c1 + v c2
    reply = decode_frame(sim.handle({"type": "decode", "z": [0.5, -0.25]}))
    z = offset + torch.tensor([[0.5, -0.25]]) @ c
    expected = to_uint8(operations.decode_latent(run.model, None, z, None, run.normalizer))
    assert np.array_equal(reply[3]["image"], expected)
    path = decode_frame(sim.handle({"type": "interpolate", "a": 0, "b": 1, "steps": 5}))
    assert path[3]["images"].shape == (5, 8, 8) and len(path[2]["path"][0]) == 2


def test_a_points_gan_shows_its_samples_and_critic(runs):
    sim = build("gan2d", {}, SimLimits(), run=str(runs / "gan"))
    _, step, meta, arrays = _frame(sim)
    run = genlab.load_run(runs / "gan", use_ema=False)
    assert step == 3 and meta["from_run"]["kind"] == "gan" and meta["num_modes"] == 8
    fake = operations.decode_latent(run.model, None, sim.z_eval[:512], None, run.normalizer)
    assert np.allclose(arrays["fake"], fake.numpy(), atol=1e-5)
    with torch.no_grad():
        heat = run.model.discriminator(sim.grid).reshape(40, 40)
    assert np.allclose(arrays["heat"], heat.numpy(), atol=1e-4)


def test_an_image_gan_shows_samples_and_interpolates(runs):
    sim = build("dcgan", {}, SimLimits(), run=str(runs / "dcgan"))
    _, step, meta, arrays = _frame(sim)
    run = genlab.load_run(runs / "dcgan", use_ema=False)
    assert step == 2 and meta["from_run"]["latent_dim"] == 8
    expected = to_uint8(operations.decode_latent(run.model, None, sim.z_fixed, None, run.normalizer))
    assert np.array_equal(arrays["grid"], expected)
    reply = decode_frame(sim.handle({"type": "interpolate", "a": 0, "b": 15, "steps": 6}))
    assert reply[3]["images"].shape == (6, 28, 28)
    assert np.array_equal(reply[3]["images"][0], expected[0])
    assert np.array_equal(reply[3]["images"][-1], expected[15])


def test_play_trains_a_copy_and_reset_reloads_the_run(runs):
    before = folder_snapshot(runs)
    sim = build("gan2d", {}, SimLimits(), run=str(runs / "gan"))
    first = _frame(sim)[3]["fake"]
    for _ in range(4):
        sim.train_step()
    _, step, _, arrays = _frame(sim)
    assert step == 7 and not np.allclose(arrays["fake"], first)  # it trains on
    sim.build(sim.cfg)  # Reset
    assert _frame(sim)[1] == 3 and np.array_equal(_frame(sim)[3]["fake"], first)
    assert folder_snapshot(runs) == before  # the run folder: not one byte, not one mtime


def test_a_run_that_does_not_fit_says_why_in_one_line(runs):
    from genlab.errors import GenlabError

    with pytest.raises(GenlabError, match=r"^run gan does not open in the VAE lab: a gan on "
                                          r"ring8 opens in the GAN playground$"):
        build("vae", {}, SimLimits(), run=str(runs / "gan"))


def _frames(ws, n, timeout=60, kind=1):
    """The next `n` binary frames of `kind` (1: state, 2: reply); an error line is raised."""
    out, t0 = [], time.monotonic()
    while len(out) < n and time.monotonic() - t0 < timeout:
        message = ws.receive()
        if message.get("bytes") and decode_frame(message["bytes"])[0] == kind:
            out.append(decode_frame(message["bytes"]))
        elif message.get("text"):
            text = json.loads(message["text"])
            if text["type"] == "error":
                raise AssertionError(text["message"])
    assert len(out) == n
    return out


def _errors(ws, timeout=30):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        text = json.loads(ws.receive_text())
        if text["type"] == "error":
            return text["message"]
    raise AssertionError("no error line")


@pytest.mark.slow
def test_the_server_opens_its_runs_by_id_over_the_websocket(runs):
    before = folder_snapshot(runs)
    app = create_app(runs={"run_paths": [runs / "vae6", runs / "gan"], "runs_dir": None})
    with TestClient(app) as client:
        listing = client.get("/api/runs").json()["runs"]
        assert [(r["name"], r["lab"], r["url"]) for r in listing] == [
            ("vae6", "vae", "/?v_run=0#sim-vae"), ("gan", "gan2d", "/?g_run=1#sim-gan2d")]
        with client.websocket_connect("/ws/sim/vae") as ws:
            assert json.loads(ws.receive_text())["type"] == "hello"
            ws.send_text(json.dumps({"type": "config", "config": {}, "run": 0}))
            (_, step, meta, first), = _frames(ws, 1)  # the worker's first frame: the run
            run = genlab.load_run(runs / "vae6")
            assert step == run.step and meta["from_run"]["name"] == "vae6"
            here = build("vae", {}, SimLimits(), run=str(runs / "vae6"))  # the same, in-process
            codes = operations.encode(run, here.x_test) @ here.plane["components"].T
            assert np.allclose(first["latent"], codes.numpy(), atol=1e-4)  # the run's encoder
            ws.send_text(json.dumps({"type": "decode", "z": [0.5, -0.5]}))
            (_, _, reply, arrays), = _frames(ws, 1, kind=2)
            z = here.plane["offset"] + torch.tensor([[0.5, -0.5]]) @ here.plane["components"]
            assert reply["reply"] == "decode" and np.array_equal(arrays["image"], to_uint8(
                operations.decode_latent(run.model, None, z, None, run.normalizer)))  # its decoder
            ws.send_text(json.dumps({"type": "step", "n": 3}))
            assert _frames(ws, 1)[0][1] == step + 3  # Play/Step: the copy in memory trains
            # back to the lab's own model, then a run of another lab and an id it lacks
            ws.send_text(json.dumps({"type": "config", "config": {}, "run": None}))
            (_, step, meta, _), = _frames(ws, 1)  # the settings' frame (the run's still) ...
            if meta["from_run"] is not None:
                (_, step, meta, _), = _frames(ws, 1)  # ... then the lab's own model
            assert step == 0 and meta["from_run"] is None
            ws.send_text(json.dumps({"type": "config", "config": {}, "run": 1}))
            assert _errors(ws) == ("run gan (gan on ring8) opens in the GAN playground, not "
                                   "the VAE lab")
            ws.send_text(json.dumps({"type": "config", "config": {}, "run": 7}))
            assert _errors(ws) == "no run 7: this hub lists runs 0..1"
            ws.send_text(json.dumps({"type": "config", "config": {}, "run": "../../etc"}))
            assert "run" in _errors(ws)  # an id, never a path
    assert folder_snapshot(runs) == before
    with TestClient(create_app()) as client, client.websocket_connect("/ws/sim/vae") as ws:
        ws.receive_text()
        ws.send_text(json.dumps({"type": "config", "config": {}, "run": 0}))
        assert _errors(ws).startswith("this hub opens no trained runs")


def test_exporting_an_open_run_exports_the_runs_config(runs, tmp_path):
    from genlab.web.simulations.export_run import write_run

    sim = build("vae", {"width": 64}, SimLimits(), run=str(runs / "vae6"))
    sim.train_step()
    cfg = write_run(sim, tmp_path / "out")
    run = genlab.load_run(runs / "vae6")
    assert cfg.model == run.config.model and cfg.data.name == "digits"  # not the lab's settings
    assert cfg.steps == 4 and genlab.load_run(tmp_path / "out").step == 4


def test_a_run_opened_in_a_lab_is_not_forked_by_its_viewers(runs):
    """Watch mode's fork rebuilds the lab from its settings: an open run's model is the run's,
    so a viewer is told to open the run itself (one line), not handed a mismatched model."""
    from genlab.errors import GenlabError
    from genlab.web.simulations import fork

    sim = build("gan2d", {}, SimLimits(), run=str(runs / "gan"))
    with pytest.raises(GenlabError, match=r"trained run opened in the lab \(gan\) is not forked"):
        fork.snapshot(sim)
    assert fork.snapshot(build("gan2d", {}, SimLimits()))  # the lab's own model forks
