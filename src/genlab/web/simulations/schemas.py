"""Every message the page sends, validated with pydantic before it reaches a simulation.

Bounds live here (and in `SimLimits`), so a value out of range becomes one readable line on
the page — `width must be ≤ 512 (got 4096)` — never an exception in the server.

Messages are JSON text frames `{"type": ..., ...}`:
    {"type": "config", "config": {...}}   replace the settings (restarts training when a
                                           setting that shapes the model or data changes)
    {"type": "play"} {"type": "pause"} {"type": "step", "n": 1..100} {"type": "reset"}
    {"type": "points", "points": [[x, y], ...]}      GAN: the learner's drawn data (≤ 2000)
    {"type": "decode", "z": [z1, z2]}                VAE: decode a latent point
    {"type": "interpolate", "a": i, "b": j}          VAE: interpolate two shown digits
    {"type": "score", "image": [784 floats 0..1]}    beyond: anomaly score of a drawn digit
    {"type": "generate", "label": 0..9}              beyond: conditional samples of a class
"""

from __future__ import annotations

from dataclasses import dataclass, field, asdict
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, TypeAdapter, model_validator

GAN_LOSS_NAMES = ("minimax", "non-saturating", "hinge", "least-squares", "wgan-gp")
GAN_DATA_NAMES = ("ring8", "grid25", "spiral", "moons", "drawn")


@dataclass
class SimLimits:
    """Server-side bounds; `create_router(**limits)` (from `genlab serve`) overrides them."""

    max_sessions: int = 4  # simulations running at once, all learners together
    idle_seconds: float = 120.0  # no message for this long (or socket closed): stopped, freed
    max_steps_per_second: int = 1500  # training steps a simulation may take per second
    frames_per_second: float = 30.0  # state frames sent per second while playing
    max_points: int = 2000  # points a learner may draw
    max_width: int = 512  # MLP hidden width (GAN playground)
    max_depth: int = 6
    max_batch: int = 1024
    threads_per_session: int = 1  # torch threads in each simulation's worker process

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GanConfig(_Strict):
    data: Literal["ring8", "grid25", "spiral", "moons", "drawn"] = "grid25"
    loss: Literal["minimax", "non-saturating", "hinge", "least-squares", "wgan-gp"] = \
        "non-saturating"
    spectral_norm: bool = False
    minibatch_disc: bool = False
    pack: int = Field(1, ge=1, le=8)
    # 64 × 3 and batch 128: ~300 steps/s on one thread, and still enough to learn grid25
    width: int = Field(64, ge=8, le=512)
    depth: int = Field(3, ge=1, le=6)
    latent: int = Field(2, ge=1, le=16)
    lr_g: float = Field(1e-3, gt=0, le=1e-2)
    lr_d: float = Field(1e-3, gt=0, le=1e-2)
    n_critic: int = Field(1, ge=1, le=10)
    batch: int = Field(128, ge=8, le=1024)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    speed: int = Field(20, ge=1, le=100)  # generator steps per frame at most (≈30 frames/s)

    @model_validator(mode="after")
    def _batch_packs(self):
        if self.batch % self.pack:
            raise ValueError(f"batch {self.batch} must be a multiple of pack {self.pack}")
        if self.minibatch_disc and self.batch > 128:
            raise ValueError(f"minibatch discrimination compares every pair of samples: use "
                             f"batch ≤ 128 with it (got {self.batch})")
        return self


class VaeConfig(_Strict):
    model: Literal["vae", "ae"] = "vae"
    beta: float = Field(1.0, ge=0.0, le=20.0)
    width: int = Field(256, ge=16, le=512)
    lr: float = Field(2e-3, gt=0, le=1e-2)
    batch: int = Field(128, ge=16, le=512)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    speed: int = Field(4, ge=1, le=50)


class DcganConfig(_Strict):
    loss: Literal["non-saturating", "wgan-gp", "hinge", "least-squares"] = "non-saturating"
    filters: int = Field(16, ge=4, le=64)
    latent: int = Field(32, ge=2, le=128)
    lr: float = Field(5e-4, gt=0, le=1e-2)
    batch: int = Field(64, ge=8, le=256)
    n_critic: int = Field(1, ge=1, le=5)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    speed: int = Field(1, ge=1, le=10)


class BeyondConfig(_Strict):
    task: Literal["anomaly", "conditional"] = "anomaly"
    holdout: int = Field(-1, ge=-1, le=9)  # anomaly: digit left out of training (-1: none)
    beta: float = Field(1.0, ge=0.0, le=20.0)
    latent: int = Field(8, ge=2, le=32)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    speed: int = Field(4, ge=1, le=50)


# The GAN playground's presets: the one copy (GET /api/sim/presets; the page reads them from
# its sim element's data-presets). "mode-collapse" is Goodfellow et al.'s minimax game with
# k = 5 D steps per G step; each remedy switches one fix on over it. Measured on grid25 after
# 4,000 generator steps, 64 × 3 MLPs, batch 128, PacGAN protocol on 2,500 samples
# (modes of 25 / high-quality % / reverse KL; seed 0 | seed 1):
#   mode-collapse   18 / 53 % / 0.89 | 17 / 39 % / 1.17
#   wgan-gp         25 / 34 % / 0.23 | 23 / 23 % / 0.50
#   spectral-norm   21 / 12 % / 0.43 | 25 /  9 % / 0.41
#   packing (2)     21 / 10 % / 0.63 | 24 / 26 % / 0.56   (pack 4: 15 and 14 modes, worse)
#   minibatch disc. 10 /  2 % / 1.39 | not run (batch 64; ~10 steps/s, 7 min a run); with
#                   k = 1 instead: 17 / 14 % / 0.79 (non-saturating), 12 / 2 % / 1.27 (minimax)
# WGAN-GP, spectral normalization and PacGAN2 cover more modes with a lower reverse KL; at
# 4,000 steps their samples are less sharp (high-quality %) than the collapsed generator's
# few modes. Minibatch discrimination (our 50 × 5 kernels) does not cure it on this grid: the
# preset's label says so, the learner can see it.
GAN_PRESET_BASE = dict(data="grid25", width=64, depth=3, latent=2, loss="minimax",
                       spectral_norm=False, minibatch_disc=False, pack=1, lr_g=1e-3, lr_d=1e-3,
                       n_critic=5, batch=128)
GAN_PRESETS: dict[str, dict[str, Any]] = {
    "mode-collapse": dict(label="Mode collapse (vanilla minimax GAN)",
                          values=GAN_PRESET_BASE),
    "wgan-gp": dict(label="Remedy: WGAN-GP", values=dict(GAN_PRESET_BASE, loss="wgan-gp")),
    "spectral-norm": dict(label="Remedy: spectral normalization",
                          values=dict(GAN_PRESET_BASE, spectral_norm=True)),
    "minibatch-discrimination": dict(label="Minibatch discrimination (no cure here)",
                                     values=dict(GAN_PRESET_BASE, minibatch_disc=True, batch=64)),
    "packing": dict(label="Remedy: packing (PacGAN2)", values=dict(GAN_PRESET_BASE, pack=2)),
}

CONFIGS: dict[str, type[_Strict]] = {"gan2d": GanConfig, "vae": VaeConfig, "dcgan": DcganConfig,
                                     "beyond": BeyondConfig}


class ConfigMsg(_Strict):
    type: Literal["config"]
    config: dict[str, Any] = Field(default_factory=dict)


class PlayMsg(_Strict):
    type: Literal["play", "pause", "reset"]


class StepMsg(_Strict):
    type: Literal["step"]
    n: int = Field(1, ge=1, le=100)


Coordinate = Annotated[float, Field(ge=-10.0, le=10.0, allow_inf_nan=False)]


class PointsMsg(_Strict):
    type: Literal["points"]
    points: list[tuple[Coordinate, Coordinate]] = Field(max_length=2000)


class DecodeMsg(_Strict):
    type: Literal["decode"]
    z: tuple[Annotated[float, Field(ge=-1000.0, le=1000.0, allow_inf_nan=False)], ...] = Field(
        min_length=1, max_length=32)


class InterpolateMsg(_Strict):
    type: Literal["interpolate"]
    a: int = Field(ge=0, le=4999)
    b: int = Field(ge=0, le=4999)
    steps: int = Field(10, ge=2, le=16)


class ScoreMsg(_Strict):
    type: Literal["score"]
    image: list[Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]] = Field(
        min_length=784, max_length=784)


class GenerateMsg(_Strict):
    type: Literal["generate"]
    label: int = Field(ge=0, le=9)


Message = Annotated[Union[ConfigMsg, PlayMsg, StepMsg, PointsMsg, DecodeMsg, InterpolateMsg,
                          ScoreMsg, GenerateMsg], Field(discriminator="type")]
_MESSAGE = TypeAdapter(Message)
MESSAGE_TYPES = ("config", "play", "pause", "reset", "step", "points", "decode", "interpolate",
                 "score", "generate")


class MessageError(ValueError):
    """A message the page sent that we refuse; `str()` is the line shown on the page."""


def explain(error: ValidationError, skip: int = 0) -> str:
    """One readable line from a pydantic error: `width must be ≤ 512 (got 4096)`.

    `skip` leading location parts are dropped (the union tag of a message)."""
    lines = []
    for e in error.errors()[:3]:
        where = ".".join(str(p) for p in e["loc"][skip:])
        ctx = e.get("ctx") or {}
        kind = e["type"]
        if kind in ("less_than_equal", "less_than"):
            msg = f"must be {'≤' if kind.endswith('equal') else '<'} {ctx.get('le', ctx.get('lt'))}"
        elif kind in ("greater_than_equal", "greater_than"):
            msg = f"must be {'≥' if kind.endswith('equal') else '>'} {ctx.get('ge', ctx.get('gt'))}"
        elif kind == "literal_error":
            msg = f"must be one of {ctx.get('expected')}"
        elif kind == "extra_forbidden":
            msg = "is not a setting"
        elif kind == "too_long":
            msg = f"has too many items (at most {ctx.get('max_length')})"
        elif kind == "too_short":
            msg = f"has too few items (at least {ctx.get('min_length')})"
        elif kind == "union_tag_invalid":
            where, msg = "type", f"must be one of {', '.join(MESSAGE_TYPES)}"
        elif kind == "union_tag_not_found":
            where, msg = "", f"a message needs a 'type', one of {', '.join(MESSAGE_TYPES)}"
        else:
            msg = e["msg"][0].lower() + e["msg"][1:]
            msg = msg.removeprefix("value error, ")
        got = e.get("input")
        shown = "" if isinstance(got, (dict, list)) or kind == "extra_forbidden" else f" (got {got!r:.40})"
        lines.append(f"{where} {msg}{shown}".strip())
    return "; ".join(lines)


def parse_message(raw: Any) -> BaseModel:
    """Validate one decoded JSON message; raise MessageError with a one-line reason."""
    if not isinstance(raw, dict):
        raise MessageError("a message must be a JSON object with a 'type'")
    try:
        return _MESSAGE.validate_python(raw)
    except ValidationError as e:
        raise MessageError(explain(e, skip=1)) from None


def parse_config(kind: str, raw: dict[str, Any], limits: SimLimits | None = None) -> _Strict:
    """Validate a simulation's settings (missing keys take their defaults) against the model
    bounds and the server's limits."""
    try:
        cfg = CONFIGS[kind].model_validate(raw)
    except ValidationError as e:
        raise MessageError(explain(e)) from None
    if limits is not None:
        for name, bound in (("width", limits.max_width), ("depth", limits.max_depth),
                            ("batch", limits.max_batch)):
            value = getattr(cfg, name, None)
            if value is not None and value > bound:
                raise MessageError(f"{name} must be ≤ {bound} on this server (got {value})")
    return cfg
