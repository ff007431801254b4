"""Teacher mode: a challenge a link states, checked by the server on the live metrics.

A challenge travels in the page's link (`?challenge=` base64url JSON, built by the page's
builder, static/sims/challenge.js) next to the simulation's own settings, and comes to the
server with the simulation's config message: {"type": "config", "config": {...},
"challenge": {...}}. It is validated here like any other input (`parse_challenge`: one line
naming what is wrong), its locked settings are enforced by the route (`Locks.check`: a change
of a locked setting is refused), and the worker evaluates it on every state frame
(`Tracker.annotate`) and reports progress and pass in the frame's meta under "challenge".

    {"title": "...", "goals": [{"metric": "modes", "op": ">=", "bound": 25}, ...],
     "within": 5000,   a pass must come by this training step of the run
     "hold": 0,        ... with every goal true for this many steps in a row
     "lock": [...],    settings the learner may not change (greyed out)
     "hide": [...]}    settings not shown at all (locked too)

Metrics are names the simulations already send in their frames' meta (gan2d.py, vae.py,
dcgan.py, beyond.py); `METRICS` is their one list with label, unit and bounds, embedded in the
page beside the settings' field list. Locks name settings of the settings schema (schemas.py).
The lesson's ready challenges, and their verification: lesson_challenges.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from genlab.web.simulations.schemas import CONFIGS, MessageError, explain

# each simulation's settings in a link: `<prefix><name>=value` (static/sims/*.js, SimShell's
# prefix; tests/web/test_challenges.py checks that they agree)
LINK_PREFIXES = {"gan2d": "g_", "vae": "v_", "dcgan": "d_", "beyond": "b_"}
MAX_STEPS = 100_000  # the longest challenge: ≈ a few minutes of training at the speed limit
MAX_GOALS = 4


class Metric(BaseModel):
    """A number a simulation's frames carry: `name` is its meta key; [lo, hi] the values it
    can take (None: unbounded); `needs`: {setting: allowed values} for it to be measured;
    `hi_by`: {setting: {value: hi}} where its upper end depends on a setting."""

    model_config = ConfigDict(frozen=True)
    name: str
    label: str
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    needs: dict[str, list[Any]] = Field(default_factory=dict)
    hi_by: dict[str, dict[str, float]] = Field(default_factory=dict)


def _m(name, label, unit="", lo=None, hi=None, **extra) -> Metric:
    return Metric(name=name, label=label, unit=unit, lo=lo, hi=hi, **extra)


_PACGAN = dict(needs={"data": ["ring8", "grid25"]})
_CLASSIFIER_D = {"loss": ["non-saturating"]}  # only there is σ(D(·)) D's probability of "real"
METRICS: dict[str, dict[str, Metric]] = {kind: {m.name: m for m in ms} for kind, ms in {
    "gan2d": [  # gan2d.py: the PacGAN protocol on 2,500 samples, and the last step's losses
        _m("modes", "Modes covered", "", 0, 25, hi_by={"data": {"ring8": 8, "grid25": 25}},
           **_PACGAN),
        _m("hq", "High-quality samples", "%", 0, 100, **_PACGAN),
        _m("kl", "Reverse KL of the modes", "nats", 0, None, **_PACGAN),
        _m("loss_d", "D loss"), _m("loss_g", "G loss"),
        _m("d_real", "D on real (logit)"), _m("d_fake", "D on fake (logit)"),
    ],
    "vae": [  # vae.py: the last training batch's terms, nats per image
        _m("loss", "−ELBO (AE: reconstruction)", "nats", 0),
        _m("recon", "Reconstruction −log p(x|z)", "nats", 0),
        _m("kl", "KL(q(z|x) ‖ p(z))", "nats", 0, needs={"model": ["vae"]}),
    ],
    "dcgan": [  # dcgan.py: mean σ(D(·)) on a fixed real batch and on the fixed noise
        _m("p_real", "D(x) on real digits", "", 0, 1, needs=_CLASSIFIER_D),
        _m("p_fake", "D(G(z)) on generated digits", "", 0, 1, needs=_CLASSIFIER_D),
        _m("loss_d", "D loss"), _m("loss_g", "G loss"),
        _m("d_real", "critic on real"), _m("d_fake", "critic on fake"),
    ],
    "beyond": [  # beyond.py
        _m("loss", "−ELBO", "nats", 0), _m("recon", "Reconstruction", "nats", 0),
        _m("kl", "KL", "nats", 0),
        _m("auroc", "AUROC of the left-out digit", "", 0, 1,
           needs={"task": ["anomaly"], "holdout": list(range(10))}),
    ],
}.items()}


def metric_lists() -> dict[str, list[dict[str, Any]]]:
    """Every simulation's checkable metrics, as the page embeds them (id="sim-challenges")."""
    return {kind: [m.model_dump(exclude_defaults=True) | {"name": m.name} for m in ms.values()]
            for kind, ms in METRICS.items()}


# ---------------------------------------------------------------- the challenge
class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: str = Field(min_length=1, max_length=40)
    op: Literal["<=", ">=", "near"]
    bound: float = Field(allow_inf_nan=False, ge=-1e9, le=1e9)
    tol: float = Field(0.0, allow_inf_nan=False, ge=0, le=1e9)  # "near": |value − bound| ≤ tol


class Challenge(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str = Field(min_length=1, max_length=240)
    sim: str | None = None  # the simulation it is for (a link names it; the server checks it)
    goals: list[Goal] = Field(min_length=1, max_length=MAX_GOALS)
    within: int = Field(ge=1, le=MAX_STEPS)
    hold: int = Field(0, ge=0, le=MAX_STEPS)
    lock: list[str] = Field(default_factory=list, max_length=40)
    hide: list[str] = Field(default_factory=list, max_length=40)

    @field_validator("title")
    @classmethod
    def _one_line(cls, v: str) -> str:
        return " ".join(v.split())

    @property
    def locked(self) -> tuple[str, ...]:
        """Every setting the learner may not change (hidden ones are locked too)."""
        return tuple(dict.fromkeys([*self.lock, *self.hide]))


def parse_challenge(kind: str, raw: Any, config: dict[str, Any]) -> Challenge:
    """Validate a challenge for simulation `kind` with its settings `config` (validated
    already); raise MessageError with one line: the challenge's field, value and reason."""
    if not isinstance(raw, dict):
        raise MessageError("challenge must be a JSON object (title, goals, within, ...)")
    try:
        ch = Challenge.model_validate(raw)
    except ValidationError as e:
        raise MessageError(f"challenge: {explain(e)}") from None
    metrics, settings = METRICS[kind], CONFIGS[kind].model_fields
    if ch.sim is not None and ch.sim != kind:
        raise MessageError(f"challenge: it is for the {ch.sim!r} simulation, not {kind!r}")
    for name in ch.locked:
        if name not in settings:
            raise MessageError(f"challenge: lock {name!r} is not a setting of this simulation "
                               f"(settings: {', '.join(settings)})")
    if ch.hold > ch.within:
        raise MessageError(f"challenge: hold {ch.hold} is longer than within {ch.within}: "
                           f"the goals cannot be held that long in time")
    needed: list[str] = []
    for i, g in enumerate(ch.goals, 1):
        if g.op == "near" and g.tol <= 0:
            raise MessageError(f"challenge: goal {i} {g.metric} near {g.bound:g} needs tol > 0 "
                               f"(near means |value − bound| ≤ tol)")
        m = metrics.get(g.metric)
        if m is None:
            raise MessageError(f"challenge: goal {i} metric {g.metric!r} is not measured here "
                               f"(choose one of {', '.join(metrics)})")
        for setting, allowed in m.needs.items():
            if config.get(setting) not in allowed:
                raise MessageError(f"challenge: goal {i} {g.metric} is measured only with "
                                   f"{setting} in {', '.join(map(str, allowed))} (got "
                                   f"{config.get(setting)!r})")
            needed.append(setting)
        lo, hi = bounds_of(m, config)
        reachable = _reachable(g, lo, hi)
        if reachable is not None:
            raise MessageError(f"challenge: goal {i} {g.metric} {_SHOWN[g.op]} {g.bound:g} can never "
                               f"hold: {m.label} {reachable}")
    # a metric measured only under some settings keeps them: they are locked too
    extra = [n for n in dict.fromkeys(needed) if n not in ch.locked]
    return ch.model_copy(update={"lock": [*ch.lock, *extra]}) if extra else ch


_SHOWN = {"<=": "≤", ">=": "≥", "near": "near"}


def bounds_of(m: Metric, config: dict[str, Any]) -> tuple[float | None, float | None]:
    hi = m.hi
    for setting, table in m.hi_by.items():
        hi = table.get(str(config.get(setting)), hi)
    return m.lo, hi


def _reachable(g: Goal, lo: float | None, hi: float | None) -> str | None:
    """None if some value in [lo, hi] meets the goal, else why not."""
    span = f"is at least {lo:g}" if lo is not None else ""
    top = f"is at most {hi:g}" if hi is not None else ""
    if g.op == "<=" and lo is not None and g.bound < lo:
        return span
    if g.op == ">=" and hi is not None and g.bound > hi:
        return top
    if g.op == "near":
        if lo is not None and g.bound + g.tol < lo:
            return span
        if hi is not None and g.bound - g.tol > hi:
            return top
    return None


def challenge_id(kind: str, ch: Challenge, config: dict[str, Any]) -> str:
    """Names a challenge with the values of its locked settings: what a pass is kept under."""
    pinned = {k: config.get(k) for k in sorted(ch.locked)}
    text = json.dumps([kind, ch.model_dump(), pinned], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_link(ch: Challenge | dict) -> str:
    """The `challenge=` value of a link (base64url of compact JSON, no padding)."""
    data = ch.model_dump(exclude_defaults=True) if isinstance(ch, Challenge) else ch
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# ---------------------------------------------------------------- locks (the route)
class LockedSetting(MessageError):
    """A config message changing a setting the active challenge locks: refused, the settings
    in use stay as they were."""


class Locks:
    """The active challenge of one socket and the values of its locked settings."""

    def __init__(self, kind: str):
        self.kind = kind
        self.challenge: Challenge | None = None
        self.id: str | None = None
        self.pinned: dict[str, Any] = {}

    def apply(self, config: dict[str, Any], raw: Any | None) -> dict[str, Any] | None:
        """For a config message: validate its challenge (None: no challenge) and refuse a
        change of a setting the active challenge locks. Returns what the worker tracks."""
        if raw is None:
            self.challenge, self.id, self.pinned = None, None, {}
            return None
        ch = parse_challenge(self.kind, raw, config)
        if self.challenge is not None and ch == self.challenge:
            for name, value in self.pinned.items():
                if config.get(name) != value:
                    raise LockedSetting(f"{name} is locked by the challenge “{ch.title}”: it "
                                       f"stays {value!r} (got {config.get(name)!r})")
        else:
            self.challenge = ch
            self.pinned = {k: config.get(k) for k in ch.locked}
            self.id = challenge_id(self.kind, ch, config)
        return {"id": self.id, **ch.model_dump()}


# ---------------------------------------------------------------- evaluation (the worker)
def goal_met(goal: dict[str, Any], value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return False
    if goal["op"] == "<=":
        return value <= goal["bound"]
    if goal["op"] == ">=":
        return value >= goal["bound"]
    return abs(value - goal["bound"]) <= goal.get("tol", 0.0)


class Tracker:
    """Evaluates one challenge on a run's frames: state "running" | "passed" | "over" (the
    steps are used up). A new run (Reset, a setting that rebuilds the model) starts afresh."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.run: Any = object()

    def _restart(self, run: Any) -> None:
        self.run, self.since, self.passed_at = run, None, None

    def update(self, step: int, meta: dict[str, Any]) -> dict[str, Any]:
        s = self.spec
        if meta.get("run") != self.run:
            self._restart(meta.get("run"))
        values = [meta.get(g["metric"]) for g in s["goals"]]
        oks = [goal_met(g, v) for g, v in zip(s["goals"], values)]
        if self.passed_at is None and 0 < step <= s["within"]:
            if all(oks):
                self.since = step if self.since is None else self.since
                if step - self.since >= s["hold"]:
                    self.passed_at = step
            else:
                self.since = None
        held = 0 if self.since is None else step - self.since
        state = ("passed" if self.passed_at is not None
                 else "over" if step > s["within"] else "running")
        return {"id": s["id"], "state": state, "step": step, "within": s["within"],
                "hold": s["hold"], "held": min(held, s["hold"]) if state != "over" else 0,
                "passed_at": self.passed_at,
                "goals": [{"metric": g["metric"], "value": v, "ok": ok}
                          for g, v, ok in zip(s["goals"], values, oks)]}

    def annotate(self, frame: bytes) -> bytes:
        """A state frame (frames.py) with meta["challenge"] added; other frames unchanged."""
        if frame[:4] != b"GLF1" or frame[4] != 1:
            return frame
        kind, count, _, step, meta_len = struct.unpack_from("<BBHII", frame, 4)
        end = 16 + meta_len
        meta = json.loads(frame[16:end].decode())
        meta["challenge"] = self.update(step, meta)
        new = json.dumps(meta, separators=(",", ":"), allow_nan=False,
                         default=lambda o: None).encode()
        rest = frame[end + (-meta_len) % 4:]
        return b"".join([frame[:4], struct.pack("<BBHII", kind, count, 0, step, len(new)), new,
                         b"\0" * ((-len(new)) % 4), rest])
