"""The lesson's ready challenges (teacher mode, challenges.py): one per concept where a
simulation fits, listed beside each simulation on the lesson page (genlab.web.lesson), and
`verify`, which checks that each is passable and not passed by doing nothing.
"""

from __future__ import annotations

from typing import Any

from genlab.web.simulations.challenges import (
    LINK_PREFIXES,
    Tracker,
    challenge_id,
    encode_link,
    parse_challenge,
)
from genlab.web.simulations.schemas import parse_config

# One per concept where a simulation fits. `settings`: what the link sets (the rest take
# their defaults); `solution`: settings that pass it, used only to verify it (`verify`: each
# is passable, and not passed by pressing Play and changing nothing). Measured figures:
# docs/results/notes.md, "Teacher-mode challenges".
_COLLAPSED = dict(data="grid25", width=64, depth=3, latent=2, loss="minimax", lr_g=1e-3,
                  lr_d=1e-3, n_critic=5, batch=128)  # schemas.GAN_PRESET_BASE's game
_GAN_SHAPE = ["data", "width", "depth", "latent", "batch", "seed"]
READY: list[dict[str, Any]] = [
    dict(name="cure-collapse", concept="Mode Collapse", sim="gan2d",
         settings=dict(_COLLAPSED, seed=1),
         challenge=dict(title="Keep the minimax loss and its 5 D steps, change only the "
                              "remedies: cover at least 22 of the 25 modes with at least 20 % "
                              "high-quality samples within 5,000 steps",
                        goals=[dict(metric="modes", op=">=", bound=22),
                               dict(metric="hq", op=">=", bound=20)],
                        within=5000, lock=[*_GAN_SHAPE, "loss", "lr_g", "lr_d", "n_critic"]),
         solution=dict(pack=2)),
    dict(name="wgan-gp", concept="Mode Collapse", sim="gan2d",
         settings=dict(_COLLAPSED, seed=0),
         challenge=dict(title="Change the game, not the networks: with a different loss (and "
                              "its D steps), cover at least 24 of the 25 modes with at least "
                              "25 % high-quality samples within 5,000 steps",
                        goals=[dict(metric="modes", op=">=", bound=24),
                               dict(metric="hq", op=">=", bound=25)],
                        within=5000, lock=_GAN_SHAPE,
                        hide=["spectral_norm", "minibatch_disc", "pack"]),
         solution=dict(loss="wgan-gp")),
    dict(name="beta-kl", concept="ELBO", sim="vae",
         settings=dict(model="vae", beta=1.0),
         challenge=dict(title="Squeeze the code: keep KL(q(z|x) ‖ p(z)) at most 4.5 nats while "
                              "the reconstruction stays at most 165 nats, for 200 steps in a "
                              "row, within 3,000 steps",
                        goals=[dict(metric="kl", op="<=", bound=4.5),
                               dict(metric="recon", op="<=", bound=165)],
                        within=3000, hold=200, lock=["model", "width", "lr", "batch", "seed"]),
         solution=dict(beta=3.0)),
    dict(name="dcgan-balance", concept="DCGAN", sim="dcgan",
         settings=dict(loss="non-saturating"),
         challenge=dict(title="Keep the game balanced: hold D(G(z)) within 0.2 of ½ for 250 "
                              "steps in a row, within 1,500 steps",
                        goals=[dict(metric="p_fake", op="near", bound=0.5, tol=0.2)],
                        within=1500, hold=250, lock=["loss", "filters", "latent", "seed"]),
         solution=dict(lr=5e-5)),
]


def ready_challenges() -> list[dict[str, Any]]:
    """The lesson's challenges as the page lists them: name, concept, sim, title, id (what a
    pass is kept under), query (the link's query string, settings and challenge)."""
    from urllib.parse import urlencode

    out = []
    for r in READY:
        config = parse_config(r["sim"], r["settings"]).model_dump()
        ch = parse_challenge(r["sim"], {**r["challenge"], "sim": r["sim"]}, config)
        params = {LINK_PREFIXES[r["sim"]] + k: (int(v) if isinstance(v, bool) else v)
                  for k, v in r["settings"].items()}
        out.append(dict(name=r["name"], concept=r["concept"], sim=r["sim"], title=ch.title,
                        id=challenge_id(r["sim"], ch, config),
                        query=urlencode({**params, "challenge": encode_link(ch)})))
    return out


def verify(names: list[str] | None = None, every: dict[str, int] | None = None) -> list[dict]:
    """Run each ready challenge's simulation class directly, as the worker does: once with
    the link's settings and nothing changed, once with its `solution`; a Tracker reads a frame
    every `every[sim]` steps (about the page's steps per frame) until a pass or `within`.
        OMP_NUM_THREADS=1 python -c "from genlab.web.simulations.lesson_challenges import verify;
                                      verify(['beta-kl'])"   (no names: all of them)"""
    import importlib
    import time

    import torch

    from genlab.web.simulations.frames import decode_frame
    from genlab.web.simulations.schemas import SimLimits
    from genlab.web.simulations.worker import SIMULATIONS

    torch.set_num_threads(1)
    every = {"gan2d": 20, "vae": 4, "dcgan": 1, "beyond": 4, **(every or {})}
    results = []
    for r in READY:
        if names and r["name"] not in names:
            continue
        for variant, settings in (("nothing changed", r["settings"]),
                                  ("solution", {**r["settings"], **r["solution"]})):
            config = parse_config(r["sim"], settings).model_dump()
            ch = parse_challenge(r["sim"], r["challenge"], config)
            tracker = Tracker({"id": challenge_id(r["sim"], ch, config), **ch.model_dump()})
            module, name = SIMULATIONS[r["sim"]]
            sim = getattr(importlib.import_module(module), name)(
                parse_config(r["sim"], settings), SimLimits())
            started = time.perf_counter()
            while True:
                for _ in range(every[r["sim"]]):
                    sim.train_step()
                report = decode_frame(tracker.annotate(sim.frame(live=True)))[2]["challenge"]
                if report["state"] != "running":
                    break
            shown = ", ".join(f"{g['metric']} {g['value']:.3g}" for g in report["goals"]
                              if isinstance(g["value"], (int, float)))
            line = dict(name=r["name"], variant=variant, state=report["state"],
                        step=report["step"], passed_at=report["passed_at"], last=shown,
                        seconds=round(time.perf_counter() - started, 1))
            results.append(line)
            print(f"{r['name']:14s} {variant:16s} {report['state']:7s} at step "
                  f"{report['step']:5d} ({shown}; {line['seconds']} s)", flush=True)
    return results

