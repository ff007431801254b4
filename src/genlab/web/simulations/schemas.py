"""Every message the page sends, validated with pydantic before it reaches a simulation, and
the one definition of every simulation setting.

A setting's name, label, help text, default, bounds, step and choices live only here (each a
`setting(...)` field of GanConfig, VaeConfig, DcganConfig or BeyondConfig). From these models:
- the page's controls: `field_list(kind)`, embedded in the lesson page (genlab.web.lesson) and
  served by GET /api/sim/limits; the scripts in static/sims/ only lay them out;
- the server's validation: `parse_config`, so a value out of range becomes one readable line
  on the page — `width must be ≤ 512 (got 4096)` — never an exception in the server;
- what a simulation trains and its diagram draws: `train_config()` of each model
  (genlab.web.diagrams accepts exactly these settings and builds the simulation's model).

Messages are JSON text frames `{"type": ..., ...}`:
    {"type": "config", "config": {...}}   replace the settings (restarts training when a
                                           setting that shapes the model or data changes)
                                           + "challenge": {...} in teacher mode (challenges.py)
                                           + "run": id, a CLI-trained run the server lists
                                           (genlab serve --run/--runs; from_run.py) opened as
                                           the model; null or absent: the lab's own
    {"type": "play"} {"type": "pause"} {"type": "step", "n": 1..100} {"type": "reset"}
    {"type": "points", "points": [[x, y], ...]}      GAN: the learner's drawn data (≤ 2000)
    {"type": "decode", "z": [z1, z2]}                VAE: decode a latent point
    {"type": "interpolate", "a": i, "b": j}          VAE: interpolate two shown digits;
                                                     DCGAN: two of the grid's samples
    {"type": "score", "image": [784 floats 0..1]}    beyond: anomaly score of a drawn digit
    {"type": "generate", "label": 0..9}              beyond: conditional samples of a class
    {"type": "export"}                               any: the run folder and the train command
    {"type": "share", "name": "..."}                 any: share it live (watch.py), answered
                                                     by {"type": "shared", "id", "name"}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from genlab.config import GAN_LOSSES, LOSS_DEFAULTS, DataConfig, ModelConfig, TrainConfig

# The playground's target data (names of genlab.data, plus the learner's drawing) and labels.
GAN_DATA = {"ring8": "ring of 8", "grid25": "grid of 25", "spiral": "spiral", "moons": "two moons",
            "drawn": "points I draw", "uploaded": "my CSV file"}
# The image labs' data: the embedded digits, or the learner's own images (uploads.py)
IMAGE_DATA = {"mnist5k": "MNIST digits", "uploaded": "my images"}
LOSS_LABELS = {"wgan-gp": "WGAN-GP"}  # the others show their genlab.losses name
# The DCGAN lab offers every loss but the original minimax one (its D saturates on images).
DCGAN_LOSSES = tuple(name for name in GAN_LOSSES if name != "minimax")
SEED_MAX = 2**31 - 1


@dataclass
class SimLimits:
    """Server-side bounds; `create_router(**limits)` (from `genlab serve`) overrides them."""

    max_sessions: int = 4  # simulations running at once, all learners together (`genlab
    # serve` sets it from the machine's cores and memory: capacity.py)
    max_queue: int = 64  # learners waiting for a slot (first come, first served); beyond: "full"
    idle_seconds: float = 120.0  # no message for this long (or socket closed): stopped, freed
    max_steps_per_second: int = 1500  # training steps a simulation may take per second
    frames_per_second: float = 30.0  # state frames sent per second while playing
    max_points: int = 2000  # points a learner may draw
    max_width: int = 512  # MLP hidden width (GAN playground)
    max_depth: int = 6
    max_batch: int = 1024
    threads_per_session: int = 1  # torch threads in each simulation's worker process
    # uploads (uploads.py): one POST of at most upload_bytes; each file (and each member of a
    # zip, uncompressed) at most upload_file_bytes; a zip's members together at most
    # upload_unpacked_bytes; images at most max_upload_images, each at most max_image_pixels
    # (read from its header, before decoding); a CSV at most max_upload_points points
    upload_bytes: int = 8 * 1024 * 1024
    upload_file_bytes: int = 2 * 1024 * 1024
    upload_unpacked_bytes: int = 32 * 1024 * 1024
    max_upload_images: int = 2000
    max_image_pixels: int = 4096 * 4096
    max_upload_points: int = 20_000
    # watch mode (watch.py): viewers of one shared simulation, and of all of them together
    max_viewers: int = 100
    max_viewers_total: int = 400
    # the bounds of the limits that have them, checked when the limits are built (`genlab
    # serve`'s flags take the same: genlab.web.server.LIMIT_FLAGS)
    BOUNDS: ClassVar[dict[str, tuple[int, int]]] = {"max_sessions": (1, 256),
                                                     "max_queue": (0, 1024),
                                                     "max_viewers": (1, 10_000),
                                                     "max_viewers_total": (1, 100_000)}

    def __post_init__(self) -> None:
        for name, (low, high) in self.BOUNDS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def setting(default: Any, label: str, help: str | None = None, *, step: float | None = None,
            widget: str | None = None, choices: list | None = None,
            recipes: dict | None = None, shapes_model: bool = False, **bounds: Any) -> Any:
    """A pydantic Field carrying what the page shows: `label` (title), `help` (description),
    `step`, `widget` ("range": a slider), `choices` ([[value, label], ...] for a number picked
    from a list), `recipes` ({choice: {setting: value}} applied when that choice is picked while
    those settings are at their defaults), `shapes_model` (the diagram depends on it).
    `bounds`: ge / gt / le / lt, as pydantic takes them."""
    extra = {k: v for k, v in dict(step=step, widget=widget, choices=choices, recipes=recipes,
                                   shapes_model=shapes_model or None).items() if v is not None}
    return Field(default, title=label, description=help, json_schema_extra=extra or None,
                 **bounds)


def _labelled(names, labels: dict[str, str] | None = None) -> list[list]:
    return [[n, (labels or {}).get(n, LOSS_LABELS.get(n, n))] for n in names]


def _seed() -> Any:
    return setting(0, "Seed", "initial weights, noise and batches are a pure function of it",
                   ge=0, le=SEED_MAX)


def _speed(default: int, high: int) -> Any:
    return setting(default, "Steps per frame", "training steps between two pictures (at most "
                   "≈30 pictures a second)", widget="range", ge=1, le=high)


def _beta() -> Any:
    return setting(1.0, "β (KL weight)", "β = 0: only reconstruction (an autoencoder with "
                   "noise); large β: a smooth latent space, blurrier digits", step=0.1,
                   widget="range", ge=0.0, le=10.0)


def _recipes(data_kind: str) -> dict[str, dict[str, Any]]:
    """A loss's own n_critic where it has one (genlab.config.LOSS_DEFAULTS: WGAN-GP's 5)."""
    return {loss: {"n_critic": d["n_critic"]} for (loss, kind), d in LOSS_DEFAULTS.items()
            if kind == data_kind and d.get("n_critic", 1) != 1}


def _train_config(kind: str, data: str, binarize: str = "none", **fields: Any) -> TrainConfig:
    model = {k: fields.pop(k) for k in list(fields) if k in ModelConfig.__dataclass_fields__}
    # open-ended (steps=10**9) at a constant rate: the learner changes it live (lr_decay_start=1)
    return TrainConfig(model=ModelConfig(kind=kind, **model),
                       data=DataConfig(name=data, binarize=binarize), steps=10**9,
                       lr_decay_start=1.0, **fields)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # (data kind, example shape) the simulation trains on: what its diagram is resolved against
    DATA: ClassVar[tuple[str, tuple[int, ...]]] = ("image", (1, 28, 28))  # mnist5k

    def train_config(self) -> TrainConfig:
        """The (unresolved) TrainConfig the simulation trains with these settings."""
        raise NotImplementedError


class GanConfig(_Strict):
    DATA: ClassVar = ("points", (2,))
    data: Literal[tuple(GAN_DATA)] = setting("grid25", "Target data",
                                             choices=_labelled(GAN_DATA, GAN_DATA))
    loss: Literal[GAN_LOSSES] = setting("non-saturating", "Loss", "the game D and G play "
                                        "(genlab.losses)", recipes=_recipes("points"),
                                        shapes_model=True)
    spectral_norm: bool = setting(False, "Spectral norm (D)", "every layer of D divided by its "
                                  "largest singular value (Miyato et al. 2018)", shapes_model=True)
    minibatch_disc: bool = setting(False, "Minibatch discrimination", "D also sees how close "
                                   "each sample is to the others of its batch (Salimans et "
                                   "al. 2016)", shapes_model=True)
    pack: int = setting(1, "Packing", "D judges groups of samples at once (PacGAN)",
                        choices=[[1, "off"], [2, "2 samples"], [4, "4 samples"],
                                 [8, "8 samples"]], ge=1, le=8, shapes_model=True)
    # 64 × 3 and batch 128: fast enough on one thread, and still enough to learn grid25
    width: int = setting(64, "Width", "hidden units per layer, G and D", step=8, ge=8, le=512,
                         shapes_model=True)
    depth: int = setting(3, "Depth", "hidden layers, G and D", ge=1, le=6, shapes_model=True)
    latent: int = setting(2, "Latent dim", "size of the noise z", ge=1, le=16,
                          shapes_model=True)
    lr_g: float = setting(1e-3, "LR generator", step=0.0001, gt=0, le=1e-2)
    lr_d: float = setting(1e-3, "LR discriminator", step=0.0001, gt=0, le=1e-2)
    n_critic: int = setting(1, "n-critic", "D steps per G step", ge=1, le=10)
    batch: int = setting(128, "Batch size", step=8, ge=8, le=1024)
    seed: int = _seed()
    speed: int = _speed(20, 100)

    @model_validator(mode="after")
    def _batch_packs(self):
        if self.batch % self.pack:
            raise ValueError(f"batch {self.batch} must be a multiple of pack {self.pack}")
        if self.minibatch_disc and self.batch > 128:
            raise ValueError(f"minibatch discrimination compares every pair of samples: use "
                             f"batch ≤ 128 with it (got {self.batch})")
        return self

    def train_config(self) -> TrainConfig:
        data = self.data if self.data not in ("drawn", "uploaded") else "ring8"  # shape only
        return _train_config("gan", data,
                             latent_dim=self.latent, hidden_dim=self.width, depth=self.depth,
                             spectral_norm=self.spectral_norm,
                             minibatch_disc=self.minibatch_disc, pack=self.pack,
                             discriminator_norm="none", loss=self.loss, lr=self.lr_g,
                             lr_d=self.lr_d, n_critic=self.n_critic, batch_size=self.batch,
                             seed=self.seed)  # betas, λ: the library's


def _image_data() -> Any:
    return setting("mnist5k", "Data", "your own images: a zip or several files, each resized "
                   "and converted as `genlab train --data folder:PATH` does",
                   choices=_labelled(IMAGE_DATA, IMAGE_DATA), shapes_model=True)


class VaeConfig(_Strict):
    data: Literal[tuple(IMAGE_DATA)] = _image_data()
    model: Literal["vae", "ae"] = setting("vae", "Model", choices=[["vae", "VAE (μ, σ)"],
                                          ["ae", "Autoencoder (z)"]], shapes_model=True)
    beta: float = _beta()
    width: int = setting(256, "Width", "hidden units of the encoder's and decoder's two layers",
                         step=16, ge=16, le=512, shapes_model=True)
    lr: float = setting(2e-3, "Learning rate", step=0.0005, gt=0, le=1e-2)
    batch: int = setting(128, "Batch size", step=16, ge=16, le=512)
    seed: int = _seed()
    speed: int = _speed(4, 50)

    def train_config(self) -> TrainConfig:
        # two latent dimensions: the map the lab draws is the latent space itself. Binarized
        # digits (Burda et al. 2016: each training batch afresh, the test split once), so the
        # Bernoulli decoder's −log p(x|z) the lab shows is a likelihood, as the lesson says.
        return _train_config(self.model, "mnist5k", binarize="dynamic", latent_dim=2,
                             architecture="mlp",
                             hidden_dim=self.width, depth=2, lr=self.lr, batch_size=self.batch,
                             seed=self.seed, beta=self.beta)


class DcganConfig(_Strict):
    data: Literal[tuple(IMAGE_DATA)] = _image_data()
    loss: Literal[DCGAN_LOSSES] = setting("non-saturating", "Loss",
                                          choices=_labelled(DCGAN_LOSSES,
                                                            {"non-saturating": "DCGAN"}),
                                          shapes_model=True)
    filters: int = setting(16, "Filters (f)", "channels of the first layer; each layer doubles "
                           "or halves them", step=4, ge=4, le=64, shapes_model=True)
    latent: int = setting(32, "Latent dim", "size of the noise z", ge=2, le=128,
                          shapes_model=True)
    lr: float = setting(5e-4, "Learning rate", step=0.0001, gt=0, le=1e-2)
    batch: int = setting(64, "Batch size", step=8, ge=8, le=256)
    n_critic: int = setting(1, "n-critic", "D steps per G step", ge=1, le=5)
    seed: int = _seed()
    speed: int = _speed(1, 10)

    def train_config(self) -> TrainConfig:
        return _train_config("dcgan", "mnist5k", latent_dim=self.latent, filters=self.filters,
                             preset="classic", loss=self.loss, lr=self.lr, lr_d=self.lr,
                             n_critic=self.n_critic, batch_size=self.batch,
                             seed=self.seed)  # Adam betas and λ: the library's defaults


class BeyondConfig(_Strict):
    task: Literal["anomaly", "conditional"] = setting(
        "anomaly", "Task", choices=[["anomaly", "Anomaly detection"],
                                    ["conditional", "Conditional generation"]])
    holdout: int = setting(-1, "Digit left out of training", "anomaly detection: the VAE never "
                           "sees this digit", choices=[[-1, "none"]] + [[d, str(d)]
                                                                         for d in range(10)],
                           ge=-1, le=9)
    beta: float = _beta()
    latent: int = setting(8, "Latent dim", ge=2, le=32)
    seed: int = _seed()
    speed: int = _speed(4, 50)

    def train_config(self) -> TrainConfig:
        cfg = _train_config("vae", "mnist5k", latent_dim=self.latent, architecture="mlp",
                            hidden_dim=256, depth=2, conditional=self.task == "conditional",
                            lr=2e-3, batch_size=128, seed=self.seed, beta=self.beta)
        if self.task == "anomaly" and self.holdout >= 0:
            cfg.data.holdout_class = self.holdout  # the lab never shows the VAE this digit
        return cfg


# The GAN playground's presets: the one copy (GET /api/sim/presets; the page reads them from
# its sim element's data-presets). "mode-collapse" is Goodfellow et al.'s minimax game with
# k = 5 D steps per G step; each remedy switches one fix on over it. What each does on grid25
# (measured, seeds 0 and 1): docs/results/notes.md, "GAN playground presets".
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


_KINDS = {"integer": "int", "number": "float", "boolean": "bool", "string": "str"}


def field_list(kind: str) -> list[dict[str, Any]]:
    """The page's controls of simulation `kind`, in order, read from its pydantic model:
    {name, label, type (the control: "choice" | "bool" | "int" | "float" | "range"), kind (the
    value: "int" | "float" | "bool" | "str"), value (the default), min, max (bounds; exclusive
    ones flagged), step, choices [[value, label]], help, recipes, shapes_model}."""
    out = []
    for name, p in CONFIGS[kind].model_json_schema()["properties"].items():
        f: dict[str, Any] = {"name": name, "label": p["title"], "value": p["default"],
                             "kind": _KINDS[p.get("type", "string")]}
        if p.get("type") == "boolean":
            f["type"] = "bool"
        elif "enum" in p or "choices" in p:
            f["type"] = "choice"
            f["choices"] = p.get("choices") or _labelled(p["enum"])
        else:
            f["type"] = p.get("widget") or ("int" if p.get("type") == "integer" else "float")
        for key, exclusive in (("min", "exclusiveMinimum"), ("max", "exclusiveMaximum")):
            plain = "minimum" if key == "min" else "maximum"
            if plain in p:
                f[key] = p[plain]
            elif exclusive in p:
                f[key], f[f"{key}_exclusive"] = p[exclusive], True
        for key, shown in (("step", "step"), ("description", "help"), ("recipes", "recipes"),
                           ("shapes_model", "shapes_model")):
            if key in p:
                f[shown] = p[key]
        out.append(f)
    return out


def field_lists() -> dict[str, list[dict[str, Any]]]:
    """Every simulation's field list: what the page embeds and /api/sim/limits serves."""
    return {kind: field_list(kind) for kind in CONFIGS}


class ConfigMsg(_Strict):
    type: Literal["config"]
    config: dict[str, Any] = Field(default_factory=dict)
    challenge: dict[str, Any] | None = None  # teacher mode: challenges.py validates it
    run: int | None = Field(None, ge=0, le=2**31 - 1)  # an id of the server's run list


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


class ExportMsg(_Strict):
    type: Literal["export"]  # any simulation: its command, config and run folder (export_run.py)


SHARE_NAME_MAX = 40


class ShareMsg(_Strict):
    type: Literal["share"]  # any simulation: viewers may watch it live (watch.py)
    # the name viewers see ("" → "learner N"); printable text only
    name: str = Field("", max_length=SHARE_NAME_MAX, pattern=r"^[^\x00-\x1f\x7f]*$")


Message = Annotated[ConfigMsg | PlayMsg | StepMsg | PointsMsg | DecodeMsg | InterpolateMsg
                    | ScoreMsg | GenerateMsg | ExportMsg | ShareMsg, Field(discriminator="type")]
_MESSAGE = TypeAdapter(Message)
MESSAGE_TYPES = ("config", "play", "pause", "reset", "step", "points", "decode", "interpolate",
                 "score", "generate", "export", "share")


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
        elif kind in ("int_parsing", "int_type", "int_from_float"):
            msg = "must be an integer"
        elif kind in ("float_parsing", "float_type", "finite_number"):
            msg = "must be a number"
        elif kind in ("bool_parsing", "bool_type"):
            msg = "must be true or false"
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
