"""Forking a live simulation (watch mode, watch.py): the driver's worker serializes its
training state, a new worker starts from it.

- `snapshot_frame(sim, kind, request)`: the worker's answer to ("snapshot", request): a frame
  of kind KIND_SNAPSHOT (frames.py; the server keeps it, no page ever gets one) whose meta
  holds {"snapshot": request, "step", "config": the settings} and whose array `state` holds
  torch.save of {"config", "points", "trainings": {name: (tensors, meta, last)}}: every
  LiveTraining of the simulation (`live`, and the VAE lab's `companion`) as the trainer's
  own checkpoint writer lays it out (training.state.state_to_checkpoint: weights, EMA,
  Adam moments, scalers, sampler position, random streams) plus its step and last losses.
- `restore(sim, data)`: the new worker, before its first frame, rebuilds `sim` from the same
  settings (and drawn points) and loads that state (training.state.load_checkpoint_into),
  so its first frame is the driver's state at the fork — same step, same weights, same
  generated points for the fixed noise — and from there the two train independently.

Data a learner uploaded stays with them: such a simulation is not forked (one line says so).
The snapshot only travels worker → server → worker (never from a page); it is read with
torch.load(weights_only=True) all the same.
"""

from __future__ import annotations

import io

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.web.simulations.frames import KIND_SNAPSHOT, decode_frame, encode_frame

TRAININGS = ("live", "companion")  # the LiveTraining attributes a simulation may have


def _trainings(sim) -> dict:
    return {name: getattr(sim, name) for name in TRAININGS if getattr(sim, name, None) is not None}


class _NoNormalizer:  # the rebuilt simulation derives its normalizer from the same data
    def to_dict(self) -> dict:
        return {}


def snapshot(sim) -> bytes:
    """`sim`'s training state as bytes (see above), or GenlabError when there is none."""
    from genlab.training.state import state_to_checkpoint

    if sim is not None and getattr(sim.cfg, "data", None) == "uploaded":
        raise GenlabError("a simulation that trains on its driver's uploaded data cannot be "
                          "forked (the data stays with them)")
    if getattr(sim, "seed", None) is not None:  # its model is the run's, not the lab settings'
        raise GenlabError(f"a trained run opened in the lab ({sim.seed.name}) is not forked: "
                          "open it yourself from 'Open a trained run'")
    if sim is None or sim.live is None:
        raise GenlabError("nothing to fork yet: the simulation has no model (draw points or "
                          "fix the settings first)")
    trainings = {}
    for name, live in _trainings(sim).items():
        tensors, meta = state_to_checkpoint(live.state, _NoNormalizer())
        meta["step"] = live.state.step
        trainings[name] = (tensors, meta, live.last)
    buffer = io.BytesIO()
    torch.save({"config": sim.cfg.model_dump(), "points": getattr(sim, "points", None),
                "trainings": trainings}, buffer)
    return buffer.getvalue()


def snapshot_frame(sim, request: int) -> bytes:
    """The answer to ("snapshot", request): the state, or the reason there is none."""
    try:
        data = snapshot(sim)
    except GenlabError as e:
        return encode_frame(KIND_SNAPSHOT, 0, {"snapshot": request, "error": str(e)}, {})
    return encode_frame(KIND_SNAPSHOT, sim.live.step,
                        {"snapshot": request, "step": sim.live.step, "config": sim.cfg.model_dump()},
                        {"state": np.frombuffer(data, dtype=np.uint8)})


def restore(sim, frame: bytes) -> None:
    """Load a snapshot frame into `sim` (built with the snapshot's settings)."""
    from genlab.training.state import load_checkpoint_into

    state = decode_frame(frame)[3]["state"]
    payload = torch.load(io.BytesIO(state.tobytes()), weights_only=True)
    if payload["points"] is not None:
        sim.points = payload["points"]
    sim.build(sim.cfg)  # the same settings and data as the driver's, fresh
    for name, live in _trainings(sim).items():
        tensors, meta, last = payload["trainings"][name]
        load_checkpoint_into(live.state, meta, tensors)
        live.last = last
