"""The VAE lab's frames (genlab.web.simulations.vae), run in-process: which digits it shows,
what it trains on, and the autoencoder's prior samples beside a VAE's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genlab.web.simulations import vae
from genlab.web.simulations.common import reconfigure
from genlab.web.simulations.frames import KIND_STATE, decode_frame
from genlab.web.simulations.schemas import SimLimits, parse_config


def lab(**settings):
    torch.set_num_threads(1)
    return vae.VaeLab(parse_config("vae", {"width": 32, "batch": 32, **settings}), SimLimits())


class Fixed:
    """A classifier stand-in whose probabilities are given: image k gets row k % len(rows)."""

    def __init__(self, rows):
        self.rows = torch.tensor(rows, dtype=torch.float32)

    def probabilities(self, x):
        return self.rows[torch.arange(len(x)) % len(self.rows)]


def test_the_shown_test_digits_are_one_of_each_class_in_a_mixed_order():
    sim = lab()
    kind, _, meta, arrays = decode_frame(sim.frame())
    assert kind == KIND_STATE
    shown = meta["shown"]
    digits = [int(arrays["label"][i]) for i in shown]
    assert sorted(digits) == list(range(10))  # ten classes (the split is sorted: not 0s)
    assert digits != sorted(digits)  # shuffled
    assert arrays["orig"].shape == arrays["recon"].shape == (10, 28, 28)
    np.testing.assert_array_equal(arrays["orig"], vae.to_uint8(sim.x_test[shown]))
    a, b = meta["pair"]  # default interpolation endpoints: two different digits
    assert arrays["label"][a] != arrays["label"][b]
    assert lab(seed=3).shown == shown  # fixed: not a function of the training seed


def test_the_lab_trains_on_binarized_digits_so_recon_is_a_bernoulli_likelihood():
    sim = lab()
    assert sim.cfg.train_config().data.binarize == "dynamic"
    assert set(torch.unique(sim.x_test).tolist()) == {0.0, 1.0}  # test split: binarized once
    sampler = sim.live.state.sampler
    x1, _ = sim.live.next_batch()
    assert x1.dtype == torch.float32 and x1.shape == (32, 1, 28, 28)
    assert set(torch.unique(x1).tolist()) == {0.0, 1.0}
    # a batch is a fresh Bernoulli draw of grey digits: pixel means follow the intensities
    grey = sim.norm.encode(sim.train.x)
    sampler.load_state_dict({"epoch": 0, "position": 0})
    draws = torch.stack([sim.live.next_batch()[0] for _ in range(len(sim.train.x) // sampler.batch_size)])
    assert draws.mean().item() == pytest.approx(grey.mean().item(), abs=0.01)
    sampler.load_state_dict({"epoch": 0, "position": 0})
    again, _ = sim.live.next_batch()
    torch.testing.assert_close(again, draws[0], rtol=0, atol=0)  # a pure function of the position


def test_recognized_share_counts_confident_predictions():
    rows = [[0.95, 0.05], [0.6, 0.4], [0.1, 0.9], [0.5, 0.5]]  # 0.9 counts (≥)
    assert vae.recognized_share(Fixed(rows), torch.zeros(8, 1, 28, 28)) == 0.5


def test_autoencoder_mode_samples_the_prior_beside_a_vae_trained_alongside(monkeypatch):
    monkeypatch.setattr(vae.CLASSIFIER, "net", Fixed([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5],
                                                      [0.5, 0.5]]))
    monkeypatch.setattr(vae.CLASSIFIER, "status", "fixed")
    sim = lab(model="ae")
    assert sim.companion is not None and sim.companion.state.cfg.model.kind == "vae"
    assert sim.companion.state.cfg.beta == 1.0
    for _ in range(3):
        sim.train_step()
    assert sim.live.step == sim.companion.step == 3  # in lockstep
    reconfigure(sim, sim.cfg.model_copy(update={"lr": 1e-3, "batch": 48}))  # live settings
    sim.train_step()
    assert sim.companion.state.cfg.lr == 1e-3 and sim.companion.state.sampler.batch_size == 48
    assert sim.companion.state.optimizers["model"].param_groups[0]["lr"] == 1e-3
    _, _, meta, arrays = decode_frame(sim.frame())
    assert arrays["prior"].shape == arrays["prior_v"].shape == (vae.PRIOR_SHOWN, 28, 28)
    assert not np.array_equal(arrays["prior"], arrays["prior_v"])  # two different decoders
    assert meta["model"] == "ae" and meta["recognized"] == meta["recognized_vae"] == 0.25
    assert meta["kl"] is None  # an autoencoder has no KL term
    # the same fixed prior samples for both, decoded by each model
    with torch.no_grad():
        expected = vae.to_uint8(sim.companion.state.model.mean(
            sim.companion.state.model.decode(sim.z_prior[:vae.PRIOR_SHOWN])))
    np.testing.assert_array_equal(arrays["prior_v"], expected)
    # VAE mode: no companion, its own prior samples
    sim = lab()
    _, _, meta, arrays = decode_frame(sim.frame())
    assert sim.companion is None and "prior_v" not in arrays and meta["recognized_vae"] is None
    assert arrays["prior"].shape == (vae.PRIOR_SHOWN, 28, 28)


def test_without_a_classifier_the_frame_says_why(monkeypatch):
    monkeypatch.setattr(vae.CLASSIFIER, "net", None)
    monkeypatch.setattr(vae.CLASSIFIER, "_thread", object())  # as if loading
    monkeypatch.setattr(vae.CLASSIFIER, "status", "the evaluation classifier is loading")
    _, _, meta, _ = decode_frame(lab().frame())
    assert meta["recognized"] is None and "loading" in meta["classifier"]
