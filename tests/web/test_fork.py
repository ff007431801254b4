"""Forking a simulation (fork.py): a snapshot of one simulation loaded into a fresh one gives
the same frame — step, weights, generated images or points for the fixed noise — and the same
training from there; a simulation on uploaded data is not forked (one line)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genlab.errors import GenlabError
from genlab.web.simulations import fork
from genlab.web.simulations.frames import decode_frame, decode_meta
from genlab.web.simulations.schemas import SimLimits
from genlab.web.simulations.worker import build

CASES = {
    "gan2d": {"data": "grid25", "width": 32, "batch": 64, "minibatch_disc": True},
    "vae": {"model": "ae", "batch": 32},  # with its companion VAE
    "dcgan": {"batch": 16},
    "beyond": {"task": "conditional", "latent": 4},
}


def same_frames(a: bytes, b: bytes) -> None:
    ka, sa, ma, arrays_a = decode_frame(a)
    kb, sb, mb, arrays_b = decode_frame(b)
    assert (ka, sa) == (kb, sb) and arrays_a.keys() == arrays_b.keys()
    for name in arrays_a:
        np.testing.assert_array_equal(arrays_a[name], arrays_b[name], err_msg=name)
    ma.pop("run", None), mb.pop("run", None)  # a counter of the process, not of the model
    assert ma == mb


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_fork_is_the_same_model_and_trains_the_same_from_there(kind):
    torch.set_num_threads(1)
    limits = SimLimits()
    driver = build(kind, CASES[kind], limits)
    for _ in range(3):
        driver.train_step()
    snap = fork.snapshot_frame(driver, 7)
    meta = decode_meta(snap)
    assert meta["snapshot"] == 7 and meta["step"] == 3 and snap[4] == 3  # KIND_SNAPSHOT
    copy = build(kind, meta["config"], limits)  # what a fork's worker does at its start
    fork.restore(copy, snap)
    same_frames(copy.frame(), driver.frame())
    # Adam moments, the sampler and the random streams came along too. Both live in this one
    # process (a fork has its own): each steps from the same global random state
    rng = torch.get_rng_state()
    driver.train_step()
    torch.set_rng_state(rng)
    copy.train_step()
    same_frames(copy.frame(), driver.frame())


def test_drawn_points_come_along_and_uploaded_data_stays_with_its_driver():
    limits = SimLimits()
    driver = build("gan2d", {"data": "drawn", "width": 16, "batch": 8}, limits)
    assert decode_meta(fork.snapshot_frame(driver, 1))["error"].startswith("nothing to fork yet")
    rng = np.random.default_rng(0)
    driver.handle({"type": "points", "points": rng.uniform(-1, 1, (40, 2)).tolist()})
    driver.train_step()
    snap = fork.snapshot_frame(driver, 2)
    copy = build("gan2d", decode_meta(snap)["config"], limits)
    fork.restore(copy, snap)
    same_frames(copy.frame(), driver.frame())
    uploaded = build("gan2d", {"data": "uploaded"}, limits)
    with pytest.raises(GenlabError, match="uploaded data cannot be forked"):
        fork.snapshot(uploaded)
