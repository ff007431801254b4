"""Checkpoints: safetensors + JSON, atomic pairs, every random stream restored exactly."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from genlab.errors import GenlabError
from genlab.training import atomic, checkpoints


def _adam_with_state():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.9))
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(5, 3)).sum().backward()
        opt.step()
    return model, opt


def test_optimizer_state_round_trips_through_flat_tensors():
    model, opt = _adam_with_state()
    tensors = {}
    meta = checkpoints.optimizer_to_flat("optim/model", opt, tensors)
    json.dumps(meta)  # the non-tensor part is plain JSON
    assert "optim/model/state/0/exp_avg" in tensors
    fresh = torch.optim.Adam(model.parameters(), lr=1.0)
    checkpoints.optimizer_from_flat("optim/model", json.loads(json.dumps(meta)), tensors, fresh)
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for i in a["state"]:
        for k, v in a["state"][i].items():
            assert torch.equal(v, b["state"][i][k])


def test_rng_streams_round_trip():
    gens = {"noise": torch.Generator().manual_seed(3)}
    tensors = {}
    meta = json.loads(json.dumps(checkpoints.rng_state(gens, tensors)))
    expected = (torch.rand(4), torch.rand(4, generator=gens["noise"]), random.random(),
                np.random.rand())
    torch.manual_seed(99)
    gens["noise"].manual_seed(99)
    random.seed(99)
    np.random.seed(99)
    checkpoints.set_rng_state(meta, tensors, gens)
    again = (torch.rand(4), torch.rand(4, generator=gens["noise"]), random.random(),
             np.random.rand())
    assert torch.equal(expected[0], again[0]) and torch.equal(expected[1], again[1])
    assert expected[2:] == again[2:]


def test_save_load_prune_and_latest(tmp_path):
    folder = tmp_path / "checkpoints"
    for step in (10, 20, 30, 40):
        checkpoints.save(folder, step, {"w": torch.full((2,), float(step))}, {"kind": "vae"}, keep=2)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["latest.json", "step_0000030.json", "step_0000030.safetensors",
                     "step_0000040.json", "step_0000040.safetensors"]
    meta, tensors = checkpoints.load(tmp_path)  # a run folder finds checkpoints/latest.json
    assert meta["step"] == 40 and meta["tensors"] == "step_0000040.safetensors"
    assert torch.equal(tensors["w"], torch.full((2,), 40.0))
    meta, _ = checkpoints.load(folder / "step_0000030.json")
    assert meta["step"] == 30


def test_a_kill_between_tensor_file_and_json_keeps_the_previous_latest(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    checkpoints.save(folder, 10, {"w": torch.zeros(2)}, {})
    real = checkpoints.atomic_write_json
    monkeypatch.setattr(checkpoints, "atomic_write_json",
                        lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save(folder, 20, {"w": torch.ones(2)}, {})
    monkeypatch.setattr(checkpoints, "atomic_write_json", real)
    meta, tensors = checkpoints.load(tmp_path)
    assert meta["step"] == 10 and torch.equal(tensors["w"], torch.zeros(2))
    assert not list(folder.glob(".*.part"))  # temp files cleaned


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "a.json"
    atomic.atomic_write_json(path, {"v": 1})

    class Boom:
        def __bytes__(self):
            raise RuntimeError

    with pytest.raises(TypeError):
        atomic.atomic_write_bytes(path, object())  # not bytes: the write fails
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_user_errors_are_one_line(tmp_path):
    with pytest.raises(GenlabError, match="no such run"):
        checkpoints.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenlabError, match="no checkpoint"):
        checkpoints.load(tmp_path / "empty")
    folder = tmp_path / "run" / "checkpoints"
    checkpoints.save(folder, 5, {"w": torch.zeros(2)}, {})
    (folder / "step_0000005.safetensors").write_bytes(b"garbage")
    with pytest.raises(GenlabError, match=r"they are corrupt \(their SHA-256 differs"):
        checkpoints.load(tmp_path / "run")
    meta = json.loads((folder / "latest.json").read_text())
    del meta["sha256"]  # a checkpoint from before digests: the reader itself must refuse it
    (folder / "latest.json").write_text(json.dumps(meta))
    with pytest.raises(GenlabError, match="cannot read checkpoint tensors"):
        checkpoints.load(tmp_path / "run")
    (folder / "latest.json").write_text("{not json")
    with pytest.raises(GenlabError, match="cannot read checkpoint"):
        checkpoints.load(tmp_path / "run")
    (folder / "latest.json").write_text('{"format": "other"}')
    with pytest.raises(GenlabError, match="not a genlab checkpoint"):
        checkpoints.load(tmp_path / "run")


def test_no_pickle_in_checkpoint_files(tmp_path):
    checkpoints.save(tmp_path, 1, {"w": torch.zeros(2)}, {"a": [1, 2]})
    data = (tmp_path / "step_0000001.safetensors").read_bytes()
    assert not data.startswith(b"\x80")  # a pickle stream starts with PROTO 0x80
    json.loads((tmp_path / "step_0000001.json").read_text())


def test_atomic_path_replaces_only_on_success_and_gives_a_normal_file_mode(tmp_path):
    import os

    from genlab.training.atomic import atomic_path

    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]  # no temp file left
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~umask)  # not mkstemp's 0600


# ------------------------------------------------------------------ checkpoints that cannot lie

def _pair(folder, step, value=0.0):
    return checkpoints.save(folder, step, {"model/w": torch.full((64,), value)}, {"kind": "vae"},
                            keep=10)


def test_flipped_bytes_in_the_tensor_data_are_refused(tmp_path):
    tensor_file = _pair(tmp_path, 7, 1.5)
    meta = json.loads((tmp_path / "latest.json").read_text())
    import hashlib
    assert meta["sha256"] == hashlib.sha256(tensor_file.read_bytes()).hexdigest()
    data = bytearray(tensor_file.read_bytes())
    data[-3] ^= 0x10  # inside the float data: safetensors itself still reads it
    tensor_file.write_bytes(bytes(data))
    from safetensors.torch import load_file
    assert not torch.equal(load_file(str(tensor_file))["model/w"], torch.full((64,), 1.5))
    with pytest.raises(GenlabError, match=r"they are corrupt \(their SHA-256 differs") as e:
        checkpoints.load(tmp_path)
    assert "\n" not in str(e.value) and "step_0000007.safetensors" in str(e.value)


def test_a_checkpoint_without_a_digest_still_loads(tmp_path):
    _pair(tmp_path, 3, 2.0)
    for name in ("latest.json", "step_0000003.json"):
        meta = json.loads((tmp_path / name).read_text())
        del meta["sha256"]
        (tmp_path / name).write_text(json.dumps(meta))
    meta, tensors = checkpoints.load(tmp_path)
    assert meta["step"] == 3 and torch.equal(tensors["model/w"], torch.full((64,), 2.0))


def test_non_finite_weights_are_refused(tmp_path):
    checkpoints.save(tmp_path, 4, {"model/w": torch.tensor([1.0, float("nan")]),
                                   "rng/torch_cpu": torch.zeros(3, dtype=torch.uint8)}, {})
    with pytest.raises(GenlabError, match=r"non-finite weights \(nan/inf in model/w\)"):
        checkpoints.load(tmp_path)


@pytest.mark.parametrize("field, value, message", [
    ("step", "abc", "'step' must be a whole number"),
    ("step", -1, "'step' must be a whole number"),
    ("tensors", "../../etc/passwd", "'tensors' must be the name of a file beside it"),
    ("config", [1], "'config' must be an object"),
    ("sha256", "xyz", "'sha256' must be 64 hexadecimal digits"),
])
def test_hand_edited_json_is_one_line(tmp_path, field, value, message):
    _pair(tmp_path, 5)
    meta = json.loads((tmp_path / "latest.json").read_text())
    meta[field] = value
    (tmp_path / "latest.json").write_text(json.dumps(meta))
    with pytest.raises(GenlabError, match=message) as e:
        checkpoints.load(tmp_path)
    assert "latest.json" in str(e.value)


def test_load_newest_intact_passes_over_corrupt_checkpoints(tmp_path):
    folder = tmp_path / "checkpoints"
    assert checkpoints.load_newest_intact(tmp_path) is None  # no checkpoint at all
    for step in (10, 20, 30):
        _pair(folder, step, float(step))
    (folder / "step_0000030.safetensors").write_bytes(b"\0" * 100)  # latest.json names it
    meta, tensors, passed = checkpoints.load_newest_intact(tmp_path)
    assert meta["step"] == 20 and torch.equal(tensors["model/w"], torch.full((64,), 20.0))
    assert [name for name, _ in passed] == ["step_0000030"]  # latest.json and step_30.json
    data = bytearray((folder / "step_0000020.safetensors").read_bytes())
    data[-1] ^= 1
    (folder / "step_0000020.safetensors").write_bytes(bytes(data))
    meta, _, passed = checkpoints.load_newest_intact(tmp_path)
    assert meta["step"] == 10 and [n for n, _ in passed] == ["step_0000030", "step_0000020"]
    (folder / "latest.json").write_text('{"format": "genlab-checkpoint-1", "step": "abc"}')
    meta, _, passed = checkpoints.load_newest_intact(tmp_path)  # latest.json itself edited
    assert meta["step"] == 10
    assert [n for n, _ in passed] == ["latest.json", "step_0000030", "step_0000020"]
    (folder / "step_0000010.safetensors").unlink()
    with pytest.raises(GenlabError, match="no intact checkpoint in"):
        checkpoints.load_newest_intact(tmp_path)


def test_one_name_for_temp_files_and_the_pruner_removes_them(tmp_path):
    from genlab.training import atomic

    stale = tmp_path / ".step_0000008.safetensors.hqhcpat7.part"  # what a kill leaves
    stale.write_bytes(b"x" * 100)
    other = tmp_path / "notes.tmp"  # not ours
    other.write_text("keep")
    with atomic.atomic_path(tmp_path / "a.bin") as tmp:
        assert atomic.is_temp_file(tmp)
        assert tmp.name.startswith(".a.bin.") and tmp.name.endswith(atomic.TEMP_SUFFIX)
        tmp.write_bytes(b"a")
    _pair(tmp_path, 1)
    assert not stale.exists() and other.exists()


def test_channels_last_moments_take_their_parameters_layout_again():
    """A DCGAN trains channels_last with the fused Adam; its checkpoint stores contiguous
    moments. Restored as stored, the fused kernel paired each weight with another one's moments
    (found by the hub's fork test): the step after a restore must equal the uninterrupted one."""
    def make():
        torch.manual_seed(0)
        conv = torch.nn.Conv2d(4, 8, 3).to(memory_format=torch.channels_last)
        return conv, torch.optim.Adam(conv.parameters(), lr=1e-2, fused=True)

    def step(conv, opt, seed):
        opt.zero_grad()
        x = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(seed))
        conv(x.to(memory_format=torch.channels_last)).square().sum().backward()
        opt.step()

    conv, opt = make()
    for seed in range(3):
        step(conv, opt, seed)
    tensors: dict = {}
    meta = checkpoints.optimizer_to_flat("optim", opt, tensors)
    model_state = {k: v.contiguous().clone() for k, v in conv.state_dict().items()}
    resumed, resumed_opt = make()
    resumed.load_state_dict(model_state)
    checkpoints.optimizer_from_flat("optim", meta, tensors, resumed_opt)
    step(conv, opt, 3)
    step(resumed, resumed_opt, 3)
    torch.testing.assert_close(resumed.weight, conv.weight, rtol=0, atol=0)
