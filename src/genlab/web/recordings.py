"""Recordings of real training runs of the hub's simulations, for the static lesson site.

A recording is what the server would stream to the page: the simulation object the worker
builds (simulations/worker.build, the same class, settings and training steps), driven here
in-process for `steps` training steps, with `frames` state frames (simulations/frames.py,
b"GLF1...") taken at evenly spaced steps (the first before any training). The frames are kept
byte for byte; the page (static/sims/playback.js) decodes them with the live view's
decodeFrame and hands them to the same drawing code.

Container (`pack`): gzip of [u32 little-endian length, frame bytes] × n.

PLAN lists the runs the lesson text discusses: the GAN playground's five presets
(schemas.GAN_PRESETS) at the 4,000 generator steps the deep dive quotes; the VAE lab at β = 1,
as an autoencoder and at β = 10 (1,500 steps, as the quiz asks); the DCGAN lab's default; the
"beyond" lab's anomaly detection with a digit left out, and its conditional generation.
"""

from __future__ import annotations

import gzip
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from genlab.errors import GenlabError


@dataclass(frozen=True)
class Planned:
    sim: str
    name: str
    label: str
    config: dict[str, Any] = field(default_factory=dict)
    steps: int = 1000
    frames: int = 60
    preset: str | None = None  # the GAN playground's preset these settings are


def _gan_presets() -> list[Planned]:
    from genlab.web.simulations.schemas import GAN_PRESETS

    return [Planned("gan2d", name, p["label"], dict(p["values"]), steps=4000, frames=80,
                    preset=name) for name, p in GAN_PRESETS.items()]


def plan(fast: bool = False) -> list[Planned]:
    """The recordings of the site; `fast`: the same runs, a few steps and frames each (tests)."""
    runs = _gan_presets() + [
        Planned("vae", "vae", "VAE, β = 1", {"model": "vae", "beta": 1.0}, 1500, 45),
        Planned("vae", "ae", "Plain autoencoder", {"model": "ae"}, 1500, 45),
        Planned("vae", "beta-10", "VAE, β = 10", {"model": "vae", "beta": 10.0}, 1500, 45),
        Planned("dcgan", "dcgan", "DCGAN (non-saturating loss)", {}, 1200, 60),
        Planned("beyond", "anomaly-7", "Anomaly detection, digit 7 left out",
                {"task": "anomaly", "holdout": 7}, 1500, 45),
        Planned("beyond", "conditional", "Conditional generation",
                {"task": "conditional"}, 1500, 45),
    ]
    if fast:
        runs = [replace(r, steps=6, frames=4) for r in runs]
    return runs


def record(sim_kind: str, config: dict[str, Any], steps: int, frames: int) -> tuple[list[bytes], dict]:
    """`frames` state frames of simulation `sim_kind` with `config` over `steps` training steps
    (frame 0 before the first step, the last after step `steps`), and its full settings."""
    import torch

    from genlab.web.simulations.schemas import SimLimits
    from genlab.web.simulations.worker import build

    if steps < 1 or frames < 2:
        raise GenlabError(f"a recording needs at least 1 step and 2 frames (got {steps}, {frames})")
    limits = SimLimits()
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, int(limits.threads_per_session)))  # as the worker trains
    try:
        sim = build(sim_kind, dict(config), limits)
        at = sorted({round(i * steps / (frames - 1)) for i in range(frames)})
        out, done = [sim.frame()], 0
        for target in at[1:]:
            while done < target:
                sim.train_step()
                done += 1
            out.append(sim.frame())  # complete: heat map and metrics of this step
        return out, sim.cfg.model_dump()
    finally:
        torch.set_num_threads(threads)


def pack(frames: list[bytes]) -> bytes:
    """gzip of [u32 length, bytes] per frame: what the page's playback unpacks."""
    body = b"".join(struct.pack("<I", len(f)) + f for f in frames)
    return gzip.compress(body, compresslevel=9, mtime=0)


def unpack(data: bytes) -> list[bytes]:
    body, out, pos = gzip.decompress(data), [], 0
    while pos < len(body):
        (n,) = struct.unpack_from("<I", body, pos)
        out.append(body[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def record_all(runs: list[Planned], say: Callable[[str], None] = lambda s: None) -> list[dict]:
    """Each planned run recorded: {sim, name, label, preset, config, steps, frames, packed,
    seconds}."""
    out = []
    for r in runs:
        t0 = time.perf_counter()
        frames, full = record(r.sim, r.config, r.steps, r.frames)
        packed = pack(frames)
        seconds = time.perf_counter() - t0
        say(f"recorded {r.sim}/{r.name}: {r.steps} steps, {len(frames)} frames, "
            f"{len(packed) / 1e6:.2f} MB, {seconds:.1f} s")
        out.append(dict(sim=r.sim, name=r.name, label=r.label, preset=r.preset, config=full,
                        steps=r.steps, frames=len(frames), packed=packed, seconds=seconds))
    return out
