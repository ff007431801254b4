"""Training loops: events, run-folder files, every model kind, divergence handling."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from genlab import train
from genlab.config import DataConfig, ModelConfig, TrainConfig
from genlab.errors import GenlabError
from genlab.training import steps as steps_module
from genlab.training.loop import TrainingDiverged, learning_rate
from genlab.training.steps import kl_weight

pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(kind, data, **kw):
    model_kw = {k: kw.pop(k) for k in list(kw) if k in ModelConfig.__dataclass_fields__}
    return TrainConfig(model=ModelConfig(kind=kind, **model_kw), data=DataConfig(data), **kw)


def _run(cfg, out, **kw):
    return list(train(cfg, out, **kw))


def test_vae_run_folder_and_events(tmp_path):
    cfg = _cfg("vae", "digits", steps=30, batch_size=32, hidden_dim=64, checkpoint_every=10,
               sample_every=15, log_every=5, kl_warmup_steps=20)
    events = _run(cfg, tmp_path / "run")
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert kinds.count("log") == 6 and kinds.count("checkpoint") == 3 and kinds.count("sample") == 2
    logs = [e for e in events if e["event"] == "log"]
    assert {"loss", "recon", "kl", "beta", "step", "epoch", "lr"} <= set(logs[0])
    assert logs[0]["beta"] < logs[-1]["beta"] == 1.0  # KL warm-up
    run = tmp_path / "run"
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [5, 10, 15, 20, 25, 30]
    assert (run / "samples" / "step_0000015.png").exists()
    assert json.loads((run / "config.json").read_text())["model"]["latent_dim"] == 16
    latest = json.loads((run / "checkpoints" / "latest.json").read_text())
    assert latest["step"] == 30 and latest["tensors"] == "step_0000030.safetensors"
    assert json.loads((run / "final.json").read_text())["step"] == 30


def test_kl_warmup_is_linear():
    assert kl_weight(2.0, 0, 1) == 2.0
    assert kl_weight(2.0, 10, 5) == pytest.approx(1.0)
    assert kl_weight(2.0, 10, 50) == 2.0


def test_learning_rate_decays_linearly_to_zero_at_the_end():
    cfg = _cfg("gan", "ring8", steps=100, lr_decay_start=0.5)
    assert learning_rate(cfg, 1.0, 10) == 1.0
    assert learning_rate(cfg, 1.0, 75) == pytest.approx(0.5)
    assert learning_rate(cfg, 1.0, 100) == 0.0
    cfg.lr_decay_start = 1.0
    assert learning_rate(cfg, 1.0, 99) == 1.0


@pytest.mark.parametrize("kind, data, extra", [
    ("ae", "digits", {}),
    ("ae", "ring8", {"likelihood": "gaussian"}),
    ("vae", "moons", {"likelihood": "gaussian"}),
    ("vae", "digits", {"conditional": True}),
    ("gan", "ring8", {"loss": "wgan-gp", "pack": 2, "ema_decay": 0.9}),
    ("gan", "ring8", {"loss": "hinge", "conditional": True, "spectral_norm": True}),
    ("gan", "digits", {"loss": "least-squares", "minibatch_disc": True}),
    ("dcgan", "digits", {"filters": 8, "minibatch_std": True}),
])
def test_every_kind_trains(tmp_path, kind, data, extra):
    cfg = _cfg(kind, data, steps=6, batch_size=16, log_every=3, hidden_dim=32, **extra)
    events = _run(cfg, tmp_path / "run")
    last = [e for e in events if e["event"] == "log"][-1]
    loss_key = "loss_g" if kind in ("gan", "dcgan") else "loss"
    assert torch.isfinite(torch.tensor(last[loss_key]))
    assert (tmp_path / "run" / "checkpoints" / "step_0000006.safetensors").exists()


def test_ema_and_states_are_in_the_checkpoint(tmp_path):
    from genlab.training.checkpoints import load

    cfg = _cfg("gan", "ring8", steps=4, batch_size=16, hidden_dim=16, ema_decay=0.9,
               loss="wgan-gp")
    _run(cfg, tmp_path / "run")
    meta, tensors = load(tmp_path / "run")
    assert meta["ema"] and any(k.startswith("ema/module.") for k in tensors)
    assert {"rng/torch_cpu", "rng/gen/noise", "rng/gen/penalty"} <= set(tensors)
    assert any(k.startswith("optim/d/state/") for k in tensors)
    assert meta["sampler"]["position"] == 4 * 5  # n_critic real batches per generator step


def _poison_family(monkeypatch, kind, step):
    """The family table's step of `kind` replaced by `step` for one test."""
    monkeypatch.setitem(steps_module.FAMILIES, kind,
                        dataclasses.replace(steps_module.FAMILIES[kind], step=step))


def test_nonfinite_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real = steps_module.autoencoder_step

    def poisoned(state, next_batch):
        out = real(state, next_batch)
        if state.step + 1 >= 25:  # the loss of step 25 is nan
            out["loss"] = out["loss"] * float("nan")
        return out

    _poison_family(monkeypatch, "ae", poisoned)
    cfg = _cfg("ae", "digits", steps=40, batch_size=16, hidden_dim=16, checkpoint_every=10,
               log_every=10)
    with pytest.raises(TrainingDiverged, match=r"^loss became nan at step 25; the last good "
                                               r"checkpoint is step_0000020$"):
        _run(cfg, tmp_path / "run")
    latest = json.loads((tmp_path / "run" / "checkpoints" / "latest.json").read_text())
    assert latest["step"] == 20
    assert not (tmp_path / "run" / "checkpoints" / "step_0000030.safetensors").exists()


def test_nonfinite_weights_are_never_checkpointed(tmp_path, monkeypatch):
    real = steps_module.autoencoder_step

    def poisoned(state, next_batch):
        out = real(state, next_batch)
        if state.step + 1 == 15:
            with torch.no_grad():
                next(state.model.parameters()).fill_(float("inf"))
        # hide it from the loss check: only the weight check can catch it
        return {k: v.nan_to_num(0.0, 0.0, 0.0) for k, v in out.items()}

    _poison_family(monkeypatch, "ae", poisoned)
    cfg = _cfg("ae", "digits", steps=40, batch_size=16, hidden_dim=16, checkpoint_every=10)
    with pytest.raises(TrainingDiverged, match="weight became nan/inf by step 20; the last good "
                                               "checkpoint is step_0000010"):
        _run(cfg, tmp_path / "run")
    assert json.loads((tmp_path / "run" / "checkpoints" / "latest.json").read_text())["step"] == 10


def test_non_empty_folder_needs_resume_or_force(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    cfg = _cfg("ae", "digits", steps=2, batch_size=16, hidden_dim=16)
    with pytest.raises(GenlabError, match="not empty"):
        _run(cfg, out)
    assert (out / "notes.txt").read_text() == "mine"
    _run(cfg, out, force=True)
    assert not (out / "notes.txt").exists()


def test_resume_extends_training_and_rejects_conflicts(tmp_path):
    out = tmp_path / "run"
    _run(_cfg("vae", "digits", steps=10, batch_size=16, hidden_dim=16), out)
    events = _run(None, out, resume=True, overrides={"steps": 14})
    assert events[0]["resumed_from"] == 10 and events[-1]["step"] == 14
    with pytest.raises(GenlabError, match="--latent-dim 3 conflicts with the run's 16"):
        _run(None, out, resume=True, overrides={"model.latent_dim": 3})
    with pytest.raises(GenlabError, match="trained a vae, not a gan"):
        _run(None, out, resume=True, overrides={"model.kind": "gan"})
    with pytest.raises(GenlabError, match="cannot resume: no run folder"):
        _run(None, tmp_path / "missing", resume=True)
