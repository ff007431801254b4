"""The worker process of one live simulation: it owns the model, trains it, and sends frames.

One process per learner's simulation (started through a forkserver that has already imported
torch, so a start costs tens of milliseconds): several learners use every core, the server's
event loop never waits for a training step, and stopping a simulation frees its memory.

Parent → worker (multiprocessing.Connection, pickled tuples):
    ("config", dict)  ("challenge", dict | None)  ("play",)  ("pause",)  ("step", n)  ("reset",)
    ("msg", dict)  ("stop",)
    ("upload", {"id", "label", "files", "zipped"})   the learner's data (uploads.py), answered
                                         by {"type": "upload", "id", "ok", "message"}
    ("run", path | None)                 open a CLI-trained run as the lab's model (from_run.py;
                                         the server resolved the page's run id to this path),
                                         or go back to the lab's own model; also at start
                                         (run_worker's `run`). Reset reloads the run.
    ("snapshot", request)                 watch mode's fork (fork.py): answered by a
                                         KIND_SNAPSHOT frame that the server keeps
A fork starts with `config[FORK_KEY]` = the driver's snapshot frame: the worker loads it
before its first frame (fork.restore), so that frame is the driver's state at the fork.
Worker → parent (`send_bytes`): a binary frame (frames.py, starts with b"GLF1") or a small
UTF-8 JSON object (starts with b"{": {"type": "error" | "status", ...}) for the page.

Pacing while playing: each frame period (1 / frames_per_second) the worker takes at most
`speed` training steps and at most max_steps_per_second / frames_per_second, stops early when
the time left in the period is what the last frames took to compute (and no later than 90 %
of it), sends one state frame (`frame(live=True)`), then waits for the rest of the period
while listening for commands. A simulation's interface: simulations/common.py.
"""

from __future__ import annotations

import json
import time
import traceback
from typing import Any

SIMULATIONS = {
    "gan2d": ("genlab.web.simulations.gan2d", "GanPlayground"),
    "vae": ("genlab.web.simulations.vae", "VaeLab"),
    "dcgan": ("genlab.web.simulations.dcgan", "DcganLab"),
    "beyond": ("genlab.web.simulations.beyond", "BeyondLab"),
}
FORK_KEY = "_fork"  # in a worker's start config: the snapshot it starts from (fork.py)


def preload() -> None:
    """Imported by the forkserver once, so each worker starts with torch already loaded."""
    import torch  # noqa: F401

    import genlab.losses  # noqa: F401
    import genlab.training.steps  # noqa: F401
    from genlab.web.simulations.common import cached_dataset

    for split in ("train", "test"):
        try:
            cached_dataset("mnist5k", split)
        except Exception:  # noqa: BLE001 - a worker that needs it will report the reason
            pass


def build(kind: str, config: dict[str, Any], limits, run: str | None = None):
    """The simulation of `kind` with `config`; `run`: the path of a CLI-trained run it opens
    as its model (from_run.py), or None."""
    import importlib

    from genlab.web.simulations.schemas import parse_config

    module_name, class_name = SIMULATIONS[kind]
    cls = getattr(importlib.import_module(module_name), class_name)
    cfg = parse_config(kind, config, limits)
    return cls(cfg, limits) if run is None else cls(cfg, limits, run=run)


def _json(kind: str, **fields) -> bytes:
    return json.dumps({"type": kind, **fields}).encode()


def run_worker(conn, kind: str, config: dict[str, Any], limits_dict: dict[str, Any],
               run: str | None = None) -> None:
    """Entry point of the worker process; returns when told to stop or the parent is gone."""
    import torch

    from genlab.errors import GenlabError
    from genlab.web.simulations.common import reconfigure
    from genlab.web.simulations.schemas import MessageError, SimLimits, parse_config

    limits = SimLimits(**limits_dict)
    torch.set_num_threads(max(1, int(limits.threads_per_session)))
    period = 1.0 / limits.frames_per_second
    max_steps_per_frame = max(1, int(limits.max_steps_per_second * period))

    tracker = None  # teacher mode (challenges.py): evaluates every state frame
    config = dict(config)
    fork = config.pop(FORK_KEY, None)

    def send(data: bytes) -> None:
        conn.send_bytes(tracker.annotate(data) if tracker is not None else data)

    def report(e: BaseException) -> None:
        if isinstance(e, (GenlabError, MessageError)):
            send(_json("error", message=str(e)))
        else:  # a bug: say so briefly, keep the traceback in the server log
            traceback.print_exc()
            send(_json("error", message=f"the simulation failed: {type(e).__name__}: {e}"))

    try:
        sim = build(kind, config, limits, run)
        if fork is not None:
            from genlab.web.simulations.fork import restore

            restore(sim, fork)
    except Exception as e:  # noqa: BLE001 - reported to the page, the worker stays usable
        report(e)
        sim = None
    playing = False
    frame_cost = 0.1 * period  # a running estimate of the time a live frame takes
    if sim is not None:
        send(sim.frame())
    while True:
        t0 = time.perf_counter()
        if playing and sim is not None:
            try:
                budget = max(0.25 * period, min(0.9 * period, period - 1.5 * frame_cost))
                for _ in range(min(sim.cfg.speed, max_steps_per_frame)):
                    sim.train_step()
                    if time.perf_counter() - t0 > budget:
                        break
                t1 = time.perf_counter()
                data = sim.frame(live=True)
                frame_cost = 0.8 * frame_cost + 0.2 * (time.perf_counter() - t1)
                send(data)
            except Exception as e:  # noqa: BLE001
                playing = False
                report(e)
                send(_json("status", playing=False))
        # listen for commands for the rest of the period (or until one arrives when paused)
        while True:
            wait = max(0.0, period - (time.perf_counter() - t0)) if playing else 5.0
            if not conn.poll(wait):
                if playing:
                    break
                continue
            try:
                cmd = conn.recv()
            except (EOFError, OSError):
                return
            op = cmd[0]
            if op == "stop":
                return
            try:
                if op == "play":
                    if sim is None:
                        raise GenlabError("fix the settings first")
                    playing = True
                elif op == "pause":
                    playing = False
                elif op == "config":
                    config = cmd[1]
                    if sim is None:
                        sim = build(kind, config, limits, run)
                    else:  # live settings apply at once; the others rebuild the model
                        reconfigure(sim, parse_config(kind, config, limits))
                    send(sim.frame())
                elif op == "challenge":
                    if cmd[1] is None or tracker is None or tracker.spec["id"] != cmd[1]["id"]:
                        from genlab.web.simulations.challenges import Tracker

                        tracker = Tracker(cmd[1]) if cmd[1] is not None else None
                        if sim is not None:
                            send(sim.frame())
                elif op == "run":
                    playing = False
                    run = cmd[1]
                    if sim is None:
                        sim = build(kind, config, limits, run)
                    else:
                        from genlab.web.simulations.common import open_run

                        open_run(sim, kind, run)
                        sim.build(sim.cfg)
                    send(sim.frame())
                elif op == "reset":
                    if sim is None:
                        sim = build(kind, config, limits, run)
                    else:
                        sim.build(sim.cfg)
                    send(sim.frame())
                elif op == "step" and sim is not None:
                    playing = False
                    for _ in range(cmd[1]):
                        sim.train_step()
                    send(sim.frame())
                elif op == "snapshot":
                    from genlab.web.simulations.fork import snapshot_frame

                    send(snapshot_frame(sim, cmd[1]))  # for the server only (watch.py)
                    continue  # not a change: no status line
                elif op == "msg" and sim is not None and cmd[1]["type"] == "export":
                    from genlab.web.simulations.export_run import export_frame

                    send(export_frame(sim, kind))  # the model to the library (export_run.py)
                elif op == "upload":
                    from genlab.web.simulations import uploads

                    try:
                        if sim is None:
                            raise GenlabError("fix the settings first")
                        dataset = uploads.decode(kind, cmd[1], limits)
                        uploads.apply(sim, dataset)
                    except (GenlabError, MessageError) as e:  # the page's line; the data stays
                        ok, text = False, str(e)
                    except Exception as e:  # noqa: BLE001 - a bug: the log keeps the traceback
                        traceback.print_exc()
                        ok, text = False, f"the upload failed: {type(e).__name__}: {e}"
                    else:
                        ok, text = True, uploads.summary(dataset)
                    send(_json("upload", id=cmd[1]["id"], ok=ok, message=text))
                    if sim is not None:
                        send(sim.frame())
                elif op == "msg" and sim is not None:
                    reply = sim.handle(cmd[1])
                    if reply is not None:
                        send(reply)
            except Exception as e:  # noqa: BLE001
                report(e)
            send(_json("status", playing=playing))
            if playing and time.perf_counter() - t0 >= period:
                break
