"""The live simulations train and look at their models through the library, not copies of it:
each step is the trainer's loop body (genlab.training.loop.advance), what a frame shows comes
from genlab.operations on Run.from_state, and the rate the learner sets is the one applied."""

from __future__ import annotations

import pytest
import torch

from genlab import operations
from genlab.training import loop
from genlab.web.simulations.beyond import BeyondLab
from genlab.web.simulations.dcgan import DcganLab
from genlab.web.simulations.gan2d import GanPlayground
from genlab.web.simulations.schemas import CONFIGS, SimLimits, parse_config
from genlab.web.simulations.vae import VaeLab

SIMS = {  # small settings: each builds and steps in well under a second
    "gan2d": (GanPlayground, {"width": 8, "depth": 1, "batch": 32}),
    "vae": (VaeLab, {"width": 16, "batch": 16}),
    "ae": (VaeLab, {"model": "ae", "width": 16, "batch": 16}),
    "dcgan": (DcganLab, {"filters": 4, "latent": 2, "batch": 8}),
    "beyond": (BeyondLab, {"latent": 2, "task": "conditional"}),
}


def _sim(name):
    cls, values = SIMS[name]
    kind = "vae" if name == "ae" else name
    return cls(parse_config(kind, values), SimLimits())


def _counting(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


@pytest.mark.parametrize("name", list(SIMS))
def test_every_simulation_steps_with_the_trainers_loop_body(monkeypatch, name):
    sim = _sim(name)
    calls = _counting(monkeypatch, loop, "advance")
    for _ in range(3):
        sim.train_step()
    states = [sim.live.state]
    if getattr(sim, "companion", None) is not None:  # the VAE lab's AE mode: a VAE alongside
        states.append(sim.companion.state)
    assert [args[0] for args in calls] == states * 3
    assert sim.live.step == 3  # advance counts the steps: nothing else does
    assert sim.live.last  # the step's metrics reach the frame


@pytest.mark.parametrize("name,message", [
    ("vae", {"type": "interpolate", "a": 0, "b": 1, "steps": 3}),
    ("beyond", {"type": "generate", "label": 3}),
])
def test_frames_and_replies_decode_through_the_operations(monkeypatch, name, message):
    sim = _sim(name)
    sim.train_step()
    calls = _counting(monkeypatch, operations, "decode_latent")
    sim.frame()
    sim.handle(message)
    assert len(calls) >= 2 and all(args[0] is sim.live.state.model for args in calls)
    assert sim.live.state.model.training  # the operations put the training mode back


def test_the_anomaly_lab_scores_with_the_library_and_matches_a_loaded_run(monkeypatch):
    sim = BeyondLab(parse_config("beyond", {"latent": 2}), SimLimits())
    sim.train_step()
    calls = _counting(monkeypatch, operations, "anomaly_scores")
    sim.frame()
    assert len(calls) == 1 and calls[0][0].model is sim.live.state.model
    run = sim.live.as_run(sim.norm)
    assert run.path is None and run.kind == "vae" and run.step == 1
    # the same number for a drawn digit whether it comes from the lab or the library
    image = [0.5] * 784
    x = torch.tensor(image).reshape(1, 1, 28, 28)
    expected = operations.anomaly_scores(run, x, k=1, seed=sim.cfg.seed + 19)
    from genlab.web.simulations.frames import decode_frame

    meta = decode_frame(sim.handle({"type": "score", "image": image}))[2]
    assert meta["score"] == pytest.approx(float(expected[0]), rel=1e-6)


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_live_simulations_train_at_a_constant_rate(kind):
    # open-ended training: advance's linear decay (lr_decay_start < 1) must never start
    assert parse_config(kind, {}).train_config().lr_decay_start == 1.0


def test_a_learning_rate_set_live_is_the_one_the_next_step_uses():
    sim = _sim("gan2d")
    sim.train_step()
    sim.live.update(lr=3e-4, lr_d=7e-4)
    sim.live.state.step = 10**8  # far into an open-ended run: still no decay
    sim.train_step()
    opt = sim.live.state.optimizers
    assert opt["g"].param_groups[0]["lr"] == 3e-4
    assert opt["d"].param_groups[0]["lr"] == 7e-4
