"""Checkpoints that cannot lie, and a --resume that makes the best of what is on disk:

- a checkpoint whose bytes changed is refused (its SHA-256), so are non-finite weights and a
  hand-edited JSON, each in one line from the commands that read them;
- --resume passes over corrupt checkpoints to the newest intact one, says which, and still
  ends equal to the run never interrupted;
- the temporary files of an interrupted write are removed when a run resumes;
- a run stopped before its first checkpoint resumes from step 0 and says so.
"""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
import torch
from cli_helpers import run_cli
from safetensors.torch import load_file, save

from genlab import train
from genlab.config import DataConfig, ModelConfig, TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(steps=60, **kw):
    return TrainConfig(model=ModelConfig(kind="vae", hidden_dim=16), data=DataConfig("digits"),
                       steps=steps, batch_size=32, checkpoint_every=10, sample_every=1000,
                       kl_warmup_steps=30, deterministic=True, **kw)


def _train_until(cfg, out, stop_after=None, **kw):
    """Train; with `stop_after` ("checkpoint", step) or ("log", step) stop right after that
    event, as a kill would (the generator is closed mid-run)."""
    events = train(cfg, out, **kw)
    for event in events:
        if stop_after and event["event"] == stop_after[0] and event["step"] == stop_after[1]:
            events.close()
            break


def _final(out):
    meta = json.loads((out / "checkpoints" / "latest.json").read_text())
    return meta, load_file(str(out / "checkpoints" / meta["tensors"]))


def _flip_a_byte(path, offset=-5):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.fixture
def messages(caplog, monkeypatch):
    """The library's warnings/notes (the CLI prints them as `genlab: ...` lines)."""
    monkeypatch.setattr(logging.getLogger("genlab"), "propagate", True)
    caplog.set_level(logging.INFO, logger="genlab")
    return caplog


def test_resume_passes_over_a_corrupt_checkpoint_and_still_equals_the_straight_run(
        tmp_path, messages):
    _train_until(_cfg(), tmp_path / "straight")
    meta_a, straight = _final(tmp_path / "straight")

    out = tmp_path / "broken"
    _train_until(_cfg(), out, stop_after=("checkpoint", 40))
    ckpt = out / "checkpoints"
    _flip_a_byte(ckpt / "step_0000040.safetensors")  # latest.json and step_40.json name it
    stale = [ckpt / ".step_0000050.safetensors.hqhcpat7.part", out / ".config.json.x1y2z3.part"]
    for p in stale:
        p.write_bytes(b"half a file")
    events = list(train(None, out, resume=True))
    assert events[0]["resumed_from"] == 30
    text = messages.text
    assert "passed over step_0000040: " in text and "resuming from step_0000030 instead" in text
    assert "SHA-256" in text
    assert "removed 2 temporary file(s)" in text
    assert not any(p.exists() for p in stale)

    meta_b, resumed = _final(out)
    assert meta_b["step"] == meta_a["step"] == 60
    different = [k for k in straight if not torch.equal(straight[k], resumed[k])]
    assert set(resumed) == set(straight) and not different, different[:5]
    steps = [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))


def test_resume_before_the_first_checkpoint_starts_at_step_0(tmp_path, messages):
    out = tmp_path / "run"
    _train_until(_cfg(steps=20), out, stop_after=("log", 10))  # logged, not yet checkpointed
    assert not (out / "checkpoints").exists() and (out / "config.json").exists()
    events = list(train(None, out, resume=True))
    assert events[0]["resumed_from"] is None and events[0]["step"] == 0
    assert events[-1]["event"] == "done" and events[-1]["step"] == 20
    assert "has no checkpoint yet" in messages.text and "starting it at step 0" in messages.text
    steps = [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 20
    _train_until(_cfg(steps=20), tmp_path / "straight")  # and it is that run, exactly
    a, b = _final(out)[1], _final(tmp_path / "straight")[1]
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_resume_of_an_empty_run_folder_uses_the_config_given(tmp_path, messages):
    out = tmp_path / "run"
    out.mkdir()
    cfg = TrainConfig(model=ModelConfig(kind="gan", hidden_dim=8), data=DataConfig("ring8"),
                      steps=3, batch_size=16)
    events = list(train(cfg, out, resume=True))
    assert events[-1]["step"] == 3 and events[0]["config"]["model"]["kind"] == "gan"
    assert "starting it at step 0" in messages.text


@pytest.mark.slow
def test_resume_of_an_empty_run_folder_uses_the_flags(tmp_path, messages):
    out = tmp_path / "run"
    out.mkdir()  # killed before it even wrote config.json
    proc = run_cli("train", "ae", "--resume", "--data", "digits", "--steps", "6",
                   "--hidden-dim", "8", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "genlab: warning:" in proc.stderr and "starting it at step 0" in proc.stderr
    meta, _ = _final(out)
    assert meta["step"] == 6 and meta["config"]["model"]["kind"] == "ae"


# ------------------------------------------------------------------ what the commands say

@pytest.fixture
def run(tmp_path):
    out = tmp_path / "run"
    _train_until(_cfg(steps=20), out)
    return out


def _one_error_line(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_flipped_bytes_are_refused_by_sample(run, tmp_path):
    _flip_a_byte(run / "checkpoints" / "step_0000020.safetensors")
    proc = run_cli("sample", run, "--out", tmp_path / "x.npy")
    _one_error_line(proc, "step_0000020.safetensors", "they are corrupt")
    assert not (tmp_path / "x.npy").exists()


@pytest.mark.parametrize("digest", [True, False], ids=["with-digest", "old-without-digest"])
def test_nan_weights_never_sample_nan(run, tmp_path, digest):
    ckpt = run / "checkpoints"
    tensors = load_file(str(ckpt / "step_0000020.safetensors"))
    key = next(k for k in tensors if k.startswith("model/") and tensors[k].is_floating_point())
    tensors[key] = torch.full_like(tensors[key], float("nan"))
    data = save(tensors, metadata={"format": "genlab-checkpoint-1"})
    (ckpt / "step_0000020.safetensors").write_bytes(data)
    meta = json.loads((ckpt / "latest.json").read_text())
    if digest:
        meta["sha256"] = hashlib.sha256(data).hexdigest()  # a file made to look genuine
    else:
        del meta["sha256"]
    (ckpt / "latest.json").write_text(json.dumps(meta))
    proc = run_cli("sample", run, "--out", tmp_path / "x.npy")
    _one_error_line(proc, "non-finite weights", key)
    assert not (tmp_path / "x.npy").exists()


@pytest.mark.slow
def test_hand_edited_checkpoint_json_is_one_line(run, tmp_path):
    latest = run / "checkpoints" / "latest.json"
    original = latest.read_text()
    meta = json.loads(original)
    meta["config"]["model"]["latent_dim"] += 3  # the weights no longer fit
    latest.write_text(json.dumps(meta))
    proc = run_cli("sample", run, "--out", tmp_path / "x.npy")
    _one_error_line(proc, "weights do not fit the model", "size mismatch")
    proc = run_cli("train", "vae", "--resume", "--steps", "30", "--out", run)
    _one_error_line(proc, "cannot resume from", "step_0000020.json",
                    "do not fit the model its config describes")

    meta = json.loads(original)
    meta["step"] = "abc"
    latest.write_text(json.dumps(meta))
    proc = run_cli("sample", run, "--out", tmp_path / "x.npy")
    _one_error_line(proc, "latest.json", "'step' must be a whole number >= 0, got 'abc'")
    # --resume passes over the edited latest.json to the intact pair it copied
    proc = run_cli("train", "vae", "--resume", "--steps", "30", "--out", run, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "genlab: warning: passed over latest.json: " in proc.stderr
    assert "resuming from step_0000020" in proc.stderr
    assert json.loads(latest.read_text())["step"] == 30
