"""Stochastic binarization (genlab.data.binarize): fixed and dynamic (Burda et al. 2016)."""

from __future__ import annotations

import json

import pytest
import torch

import genlab.data as data
from genlab import train
from genlab.config import DataConfig, ModelConfig, TrainConfig
from genlab.data import EpochSampler, binarize_fixed, load_dataset
from genlab.data.binarize import DynamicBinarizer
from genlab.errors import GenlabError

pytestmark = pytest.mark.usefixtures("one_thread")


def _ramp(n=4000):
    """n copies of one 1x4x4 image whose 16 pixels take intensities 0, 17, ..., 255."""
    img = (torch.arange(16) * 17).to(torch.uint8).reshape(1, 1, 4, 4)
    return img.repeat(n, 1, 1, 1)


def test_fixed_binarization_is_binary_with_the_intensity_as_mean_and_deterministic():
    x = _ramp()
    b = binarize_fixed(x, "ramp", "train")
    assert b.dtype == torch.uint8 and set(b.unique().tolist()) <= {0, 255}
    mean = b.float().mean(0).flatten() / 255  # per pixel over 4000 draws
    p = torch.arange(16) / 15.0
    se = (p * (1 - p) / len(x)).sqrt()
    assert (mean - p).abs().max() <= 4 * se.max() + 1e-9  # within 4 standard errors
    assert mean[0] == 0 and mean[-1] == 1  # intensity 0 and 255 are never / always on
    assert torch.equal(b, binarize_fixed(x, "ramp", "train"))
    assert not torch.equal(b, binarize_fixed(x, "ramp", "test"))


def test_load_dataset_binarize_modes():
    grey = load_dataset("digits", "train")
    fixed = load_dataset("digits", "train", binarize="fixed")
    assert set(fixed.x.unique().tolist()) == {0, 255}
    assert torch.equal(fixed.y, grey.y)
    assert torch.equal(load_dataset("digits", "train", binarize="dynamic").x, grey.x)
    assert torch.equal(load_dataset("digits", "test", binarize="dynamic").x,
                       load_dataset("digits", "test", binarize="fixed").x)
    held = load_dataset("digits", "train", binarize="fixed", holdout_class=3)
    assert torch.equal(held.x, fixed.x[fixed.y != 3])  # the same draw, class 3 removed
    with pytest.raises(GenlabError, match="applies to images"):
        load_dataset("ring8", "train", binarize="fixed")
    with pytest.raises(GenlabError, match="binarization"):
        load_dataset("digits", "train", binarize="sometimes")


def _batches(sampler, binarizer, x, count):
    return [binarizer(x[sampler.next_batch()]) for _ in range(count)]


def test_dynamic_binarization_differs_across_epochs_and_repeats_after_a_state_restore():
    x = _ramp(64)  # every example is the same image: only the draw can differ
    sampler = EpochSampler(len(x), 32, seed=0)  # two batches per epoch
    run = _batches(sampler, DynamicBinarizer(sampler, seed=7), x, 6)
    assert all(set(b.unique().tolist()) <= {0, 255} for b in run)
    assert not torch.equal(run[0], run[2]) and not torch.equal(run[0], run[1])
    mean = torch.stack(run).float().mean((0, 1)).flatten() / 255
    assert (mean - torch.arange(16) / 15.0).abs().max() < 0.12  # 192 draws per pixel
    resumed = EpochSampler(len(x), 32, seed=0)
    resumed.load_state_dict({"epoch": 1, "position": 1})  # as after batch 3 of 6
    again = _batches(resumed, DynamicBinarizer(resumed, seed=7), x, 3)
    assert all(torch.equal(a, b) for a, b in zip(again, run[3:]))
    other = EpochSampler(len(x), 32, seed=0)
    assert not torch.equal(_batches(other, DynamicBinarizer(other, seed=8), x, 1)[0], run[0])


def test_dynamic_binarization_ranks_slice_the_single_process_batch():
    x = _ramp(64)
    single = EpochSampler(len(x), 32, seed=0)
    whole = _batches(single, DynamicBinarizer(single, seed=0), x, 1)[0]
    parts = []
    for rank in range(2):
        s = EpochSampler(len(x), 32, seed=0, rank=rank, world_size=2)
        parts.append(_batches(s, DynamicBinarizer(s, seed=0), x, 1)[0])
    assert torch.equal(torch.cat(parts), whole)


def _cfg(steps, binarize="dynamic"):
    return TrainConfig(model=ModelConfig(kind="vae", hidden_dim=16, latent_dim=4),
                       data=DataConfig("digits", binarize=binarize), steps=steps,
                       batch_size=32, checkpoint_every=3, sample_every=10 ** 6, log_every=1,
                       lr_decay_start=1.0)  # a constant lr: the 3-step run's schedule = the 6's


ORIGINAL = data.batch_binarizer


def _record(monkeypatch, seen):
    make = ORIGINAL

    def recording(mode, sampler, seed):
        inner = make(mode, sampler, seed)
        return lambda x: seen.append(inner(x)) or seen[-1]
    monkeypatch.setattr(data, "batch_binarizer", recording)


def test_training_sees_fresh_binary_batches_and_a_resumed_run_sees_the_same(tmp_path,
                                                                            monkeypatch):
    full, cut = [], []
    _record(monkeypatch, full)
    list(train(_cfg(6), tmp_path / "full"))
    _record(monkeypatch, cut)
    list(train(_cfg(3), tmp_path / "cut"))
    list(train(None, tmp_path / "cut", resume=True, overrides={"steps": 6}))
    assert len(full) == len(cut) == 6
    assert all(set(b.unique().tolist()) <= {0, 255} for b in full)
    assert all(torch.equal(a, b) for a, b in zip(full, cut))
    grey = load_dataset("digits", "train")
    assert not any(torch.equal(b, grey.x[:32]) for b in full)

    def losses(run):
        return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert losses(tmp_path / "full") == losses(tmp_path / "cut")
    saved = json.loads((tmp_path / "cut" / "config.json").read_text())
    assert saved["data"]["binarize"] == "dynamic"


def test_config_refuses_binarizing_points(tmp_path):
    cfg = TrainConfig(model=ModelConfig(kind="gan"), data=DataConfig("ring8", binarize="fixed"),
                      steps=1)
    with pytest.raises(GenlabError, match="applies to images"):
        list(train(cfg, tmp_path / "run"))


def test_cli_binarize_flag_reaches_the_config_and_bad_uses_are_one_line_errors(tmp_path, cli):
    cli("train", "vae", "--data", "digits", "--binarize", "dynamic", "--steps", "2",
        "--hidden-dim", "8", "--out", str(tmp_path / "run"), check=True)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"]["binarize"] \
        == "dynamic"
    proc = cli("train", "gan", "--data", "ring8", "--binarize", "fixed", "--steps", "2",
               "--out", str(tmp_path / "pts"))
    assert proc.returncode != 0 and proc.stderr.strip().splitlines() == [
        "genlab: error: --binarize fixed applies to images, not points"]


def test_commands_feed_a_binarized_run_the_test_split_binarized_as_trained(tmp_path, cli):
    from genlab.operations import anomaly_scores
    from genlab.runs import load_run

    run_dir = tmp_path / "run"
    cli("train", "vae", "--data", "digits", "--binarize", "fixed", "--steps", "2",
        "--hidden-dim", "8", "--out", str(run_dir), check=True)
    cli("anomaly", str(run_dir), "--out", str(tmp_path / "scores.csv"), check=True)
    rows = (tmp_path / "scores.csv").read_text().splitlines()[1:]
    from_cli = dict((int(r.split(",")[0]), float(r.split(",")[2])) for r in rows)
    run = load_run(run_dir)
    binary = anomaly_scores(run, load_dataset("digits", "test", binarize="fixed"))
    grey = anomaly_scores(run, load_dataset("digits", "test"))
    assert all(abs(from_cli[i] - float(binary[i])) < 1e-4 for i in range(len(binary)))
    assert not torch.allclose(binary, grey)
