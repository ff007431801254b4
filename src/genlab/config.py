"""Dataclass configs. The resolved config is written as JSON into every run folder and
checkpoint, so a run can always be rebuilt from its own files.

`None` in a field means "the default for this model kind / loss / data": `resolve()` fills
every such field, once, so the rest of the code never guesses.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any

from genlab.errors import GenlabError, unknown_name

MODEL_KINDS = ("ae", "vae", "gan", "dcgan")
GAN_LOSSES = ("minimax", "non-saturating", "hinge", "least-squares", "wgan-gp")
# Binarization of image pixels (Burda et al. 2016, Sec. 5; genlab.data.binarize does it)
BINARIZATIONS = ("none", "fixed", "dynamic")


def check_binarize(mode: str, kind: str = "image") -> str:
    if mode not in BINARIZATIONS:
        raise unknown_name("binarization", mode, BINARIZATIONS)
    if mode != "none" and kind != "image":
        raise GenlabError(f"--binarize {mode} applies to images, not {kind}")
    return mode
LIKELIHOODS = ("bernoulli", "gaussian")
ARCHITECTURES = ("mlp", "conv")
DCGAN_PRESETS = ("classic", "lesson")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
NORMS = ("batch", "layer", "none")

SEED_MAX = 2**32 - 1  # numpy's legacy seed width; the derived torch seeds (seed * 1000 + i,
#                       seed + 12345) stay far inside torch.manual_seed's 64 bits
COUNT_MAX = 2**53  # steps and intervals: JSON readers and the hub's JavaScript hold them exactly


@dataclass(frozen=True)
class Bounds:
    """A numeric setting: int or float (finite), in [low, high]; `low_open` / `high_open`
    exclude that end. The one statement of a field's range: `validate()` checks configs with
    it and the command line's argument types (genlab.cli) parse with it."""
    kind: type
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{noun} in {left}{_shown(self.low)}, {_shown(self.high)}{right}"

    def problem(self, value: Any) -> str | None:
        """None when `value` is allowed, else the reason: "must be an integer in [1, 64]"."""
        if isinstance(value, bool) or not isinstance(value, int if self.kind is int else (int, float)):
            return f"must be {self.describe()}"
        if self.kind is float and not math.isfinite(value):
            return f"must be {self.describe()} (not {value})"
        below = value <= self.low if self.low_open else value < self.low
        above = value >= self.high if self.high_open else value > self.high
        return f"must be {self.describe()}" if below or above else None

    def parse(self, text: str):
        """Text (a flag's value) -> the number, or GenlabError. Integers may be written as
        1e5; nan, inf and text are refused."""
        value: Any = text
        try:
            value = int(text) if self.kind is int else float(text)
        except ValueError:
            try:
                number = float(text)
                if self.kind is int and number.is_integer():
                    value = int(number)
            except (ValueError, OverflowError):
                pass
        reason = self.problem(value)
        if reason is not None:
            raise GenlabError(f"{reason}, got {text!r}")
        return value

    def check(self, name: str, value: Any):
        reason = self.problem(value)
        if reason is not None:
            raise GenlabError(f"{name} {reason}, got {value!r}")
        return value


def _shown(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e16 else f"{v:g}"


# Every numeric field of the configs, by its dotted name (the names genlab.cli's TRAIN_FIELDS
# map flags to). Sizes are bounded here; what a size costs in memory is checked in resolve().
FIELD_BOUNDS: dict[str, Bounds] = {
    "data.image_size": Bounds(int, 1, 1024),  # the image-folder loader's own limit
    "data.holdout_class": Bounds(int, 0, 65535),
    "data.test_fraction": Bounds(float, 0.0, 0.9),  # image folders' held-out share
    "model.latent_dim": Bounds(int, 1, 4096),
    "model.hidden_dim": Bounds(int, 1, 65536),
    "model.depth": Bounds(int, 1, 64),
    "model.filters": Bounds(int, 1, 4096),
    "model.num_classes": Bounds(int, 0, 65536),
    "model.pack": Bounds(int, 1, 16),
    "steps": Bounds(int, 1, COUNT_MAX),
    "epochs": Bounds(float, 0.0, 1e9, low_open=True),
    "batch_size": Bounds(int, 1, 65536),
    "lr": Bounds(float, 0.0, 1.0, low_open=True),
    "lr_d": Bounds(float, 0.0, 1.0, low_open=True),
    "lr_decay_start": Bounds(float, 0.0, 1.0),
    "seed": Bounds(int, 0, SEED_MAX),
    "beta": Bounds(float, 0.0, 1e4),
    "kl_warmup_steps": Bounds(int, 0, COUNT_MAX),
    "n_critic": Bounds(int, 1, 100),
    "gp_weight": Bounds(float, 0.0, 1e4),
    "ema_decay": Bounds(float, 0.0, 1.0, high_open=True),  # 0: off; 1 would never move
    "checkpoint_every": Bounds(int, 1, COUNT_MAX),
    "sample_every": Bounds(int, 1, COUNT_MAX),
    "log_every": Bounds(int, 1, COUNT_MAX),
}
BETA_BOUNDS = Bounds(float, 0.0, 1.0, high_open=True)  # each of Adam's (beta1, beta2)
IWAE_K_MAX = 100_000  # 20x the k = 5,000 of Burda et al.: the (k, batch) log-weights stay small

# The numeric options of what is done with a trained run (genlab.operations, genlab.evaluate,
# genlab bench): the same Bounds for the Python functions and the command-line flags.
OPTION_BOUNDS: dict[str, Bounds] = {
    "n": Bounds(int, 1, COUNT_MAX),  # samples / examples; memory is checked where they are made
    "steps": Bounds(int, 2, COUNT_MAX),  # points on an interpolation path
    "rows": Bounds(int, 1, COUNT_MAX),
    "index": Bounds(int, 0, COUNT_MAX),  # a test example (--from, --to)
    "class": Bounds(int, 0, 65535),
    "seed": FIELD_BOUNDS["seed"],
    "k": Bounds(int, 1, IWAE_K_MAX),
    "eval_n": Bounds(int, 2, COUNT_MAX),  # evaluate --n: a covariance needs two samples
    "factor_votes": Bounds(int, 2, 10_000_000),  # FactorVAE: half train, half evaluate
    "count": Bounds(int, 1, COUNT_MAX),  # --iwae-examples, --n-test, bench --steps/--repeats
    "warmup": Bounds(int, 0, COUNT_MAX),
    "batch_size": FIELD_BOUNDS["batch_size"],
    "threads": Bounds(int, 1, 1024),
}
_TYPES = {"str": str, "bool": bool}


def validate_fields(obj, prefix: str = "") -> None:
    """Check every field of config dataclass `obj` against its type and FIELD_BOUNDS; a
    GenlabError names the field and the value (`model.depth must be an integer in [1, 64],
    got 0`). `None` is allowed where it is the field's default ("resolve it")."""
    for f in fields(obj):
        name, value = prefix + f.name, getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            validate_fields(value, name + ".")
            continue
        if value is None and f.default is None:
            continue
        if name in FIELD_BOUNDS:
            FIELD_BOUNDS[name].check(name, value)
        elif f.name == "betas":
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise GenlabError(f"betas must be two numbers in [0, 1), got {value!r}")
            for i, b in enumerate(value):
                BETA_BOUNDS.check(f"betas[{i}]", b)
        elif f.name == "data_shape":
            if not isinstance(value, (tuple, list)) or not all(
                    isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
                raise GenlabError(f"{name} must be a tuple of positive integers, got {value!r}")
        else:
            kind = _TYPES.get(str(f.type).split("|")[0].strip())
            if kind is not None and not isinstance(value, kind):
                raise GenlabError(f"{name} must be a {'boolean' if kind is bool else 'string'}"
                                  f", got {value!r}")


@dataclass
class DataConfig:
    name: str = "mnist5k"
    data_dir: str | None = None  # else $GENLAB_DATA, then the Debian location, then download
    download: bool = False
    image_size: int | None = None  # resize/crop images to this size (None: native)
    holdout_class: int | None = None  # leave this class out of training (anomaly detection)
    binarize: str = "none"  # none, fixed or dynamic: pixels ~ Bernoulli (genlab.data.binarize)
    strict: bool = False  # image folders: refuse unreadable files instead of skipping them
    test_fraction: float | None = None  # image folders: share held out as test (None: 0.1)

    def validate(self) -> DataConfig:
        validate_fields(self, "data.")
        return self


@dataclass
class ModelConfig:
    kind: str = "vae"
    data_shape: tuple[int, ...] = ()  # (2,) or (C, H, W); filled from the data
    latent_dim: int | None = None
    architecture: str | None = None  # ae/vae: "mlp" or "conv"
    hidden_dim: int | None = None  # MLP width
    depth: int | None = None  # MLP hidden layers
    filters: int | None = None  # conv base width (DCGAN's ngf = ndf)
    likelihood: str = "bernoulli"  # ae/vae decoder
    num_classes: int = 0  # > 0: conditional model (filled from the data when conditional)
    conditional: bool = False
    spectral_norm: bool = False
    minibatch_disc: bool = False
    minibatch_std: bool = False
    pack: int = 1
    preset: str = "classic"  # dcgan: "classic" (Radford et al.) or "lesson"
    discriminator_norm: str | None = None  # "batch" | "layer" | "none"; None: by loss

    def validate(self) -> ModelConfig:
        validate_fields(self, "model.")
        return self


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    steps: int | None = None  # optimizer steps of the generator (GAN) / model (AE, VAE)
    epochs: float | None = None  # alternative to steps
    batch_size: int | None = None
    lr: float | None = None
    lr_d: float | None = None  # discriminator learning rate (None: same as lr)
    lr_decay_start: float | None = None  # fraction of steps after which lr decays linearly to 0
    betas: tuple[float, float] | None = None
    seed: int = 0
    beta: float = 1.0  # KL weight (beta-VAE, Higgins et al. 2017)
    kl_warmup_steps: int = 0  # linear KL warm-up from 0 to beta
    loss: str | None = None  # GAN loss
    n_critic: int | None = None  # discriminator steps per generator step
    gp_weight: float | None = None  # lambda of WGAN-GP (None: 10 for images, 0.1 for points)
    ema_decay: float | None = None  # generator EMA (0: off)
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    deterministic: bool = False
    checkpoint_every: int | None = None
    sample_every: int | None = None
    log_every: int = 10

    def validate(self) -> TrainConfig:
        """Check every field (types, finite numbers, FIELD_BOUNDS), this config's sections
        included; a GenlabError names the first bad field and its value."""
        validate_fields(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """The config of a dict (a run's config.json), checked by validate()."""
        d = dict(_mapping(d, "config"))
        model = _from_dict(ModelConfig, _mapping(d.pop("model", {}), "model"))
        data = _from_dict(DataConfig, _mapping(d.pop("data", {}), "data"))
        cfg = _from_dict(cls, d)
        cfg.model, cfg.data = model, data
        return cfg.validate()


def _mapping(d: Any, name: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise GenlabError(f"config section {name!r} must be a mapping, got {d!r}")
    return d


def _from_dict(cls, d: dict[str, Any]):
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise GenlabError(f"unknown {cls.__name__} field(s): {', '.join(sorted(unknown))}")
    out = cls(**{k: v for k, v in d.items() if k not in ("model", "data")})
    for key in ("data_shape", "betas"):
        if isinstance(getattr(out, key, None), list):
            setattr(out, key, tuple(getattr(out, key)))
    return out


# Defaults by model kind and by data kind ("points" or "image"). One table, read once in resolve().
KIND_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("ae", "image"): dict(latent_dim=16, hidden_dim=512, depth=2, filters=32, batch_size=128,
                          lr=1e-3, betas=(0.9, 0.999), epochs=30),
    ("vae", "image"): dict(latent_dim=16, hidden_dim=512, depth=2, filters=32, batch_size=128,
                           lr=1e-3, betas=(0.9, 0.999), epochs=30),
    ("ae", "points"): dict(latent_dim=1, hidden_dim=128, depth=3, batch_size=256, lr=1e-3,
                           betas=(0.9, 0.999), steps=5000),
    ("vae", "points"): dict(latent_dim=2, hidden_dim=128, depth=3, batch_size=256, lr=1e-3,
                            betas=(0.9, 0.999), steps=5000),
    # 2D GANs: 128 × 3 at lr 1e-3, decayed to 0 over the second half, learns grid25 at 1/8 the
    # cost of 256 wide at 2e-4 (measured: docs/results/notes.md, "MLP GAN on 2D points").
    ("gan", "points"): dict(latent_dim=2, hidden_dim=128, depth=3, batch_size=128, lr=1e-3,
                            betas=(0.5, 0.999), steps=10000, loss="non-saturating", n_critic=1,
                            lr_decay_start=0.5),
    ("gan", "image"): dict(latent_dim=64, hidden_dim=512, depth=2, batch_size=64, lr=2e-4,
                           betas=(0.5, 0.999), epochs=30, loss="non-saturating", n_critic=1),
    ("dcgan", "image"): dict(latent_dim=100, filters=64, batch_size=64, lr=2e-4,
                             betas=(0.5, 0.999), epochs=10, loss="non-saturating", n_critic=1),
}
# The MLP VAE on images: Adam 4e-3 held for half the run, then decayed linearly to 0, reaches
# the PyTorch example's 3-epoch test loss in 1.75 epochs (docs/results/notes.md, "MLP VAE").
MLP_IMAGE_VAE_DEFAULTS: dict[str, Any] = dict(lr=4e-3, lr_decay_start=0.5)
# WGAN-GP's own recipe (Gulrajani et al. 2017, Algorithm 1): Adam(1e-4, 0, 0.9), n_critic 5,
# lambda 10. On 2D points that recipe finds 5/25 grid25 modes; lambda 0.1 (the authors'
# gan_toy.py), lr 1e-3 decayed to 0, no EMA, no critic norm finds 25/25 (docs/results/notes.md).
LOSS_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("wgan-gp", "image"): dict(lr=1e-4, betas=(0.0, 0.9), n_critic=5, gp_weight=10.0),
    ("wgan-gp", "points"): dict(lr=1e-3, betas=(0.5, 0.9), n_critic=5, gp_weight=0.1,
                                hidden_dim=128, depth=3, batch_size=256, steps=3000,
                                lr_decay_start=0.5, ema_decay=0.0, discriminator_norm="none"),
}


def resolve(cfg: TrainConfig, data_kind: str, example_shape: tuple[int, ...],
            num_classes: int = 0, dataset_size: int | None = None) -> TrainConfig:
    """Return a copy of `cfg` with every `None` filled and every value checked, including
    (the model's memory is checked where it is built: genlab.training.state.build_state)."""
    cfg.validate()
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model),
                              data=dataclasses.replace(cfg.data))
    m = cfg.model
    if m.kind not in MODEL_KINDS:
        raise unknown_name("model", m.kind, MODEL_KINDS)
    key = (m.kind, data_kind)
    if key not in KIND_DEFAULTS:  # only the always-convolutional dcgan has no 2D row
        raise GenlabError(f"{m.kind} needs image data; {cfg.data.name!r} is 2D points (use gan)")
    defaults = dict(KIND_DEFAULTS[key])
    # The settings side of the family table (genlab.training.steps.FAMILIES, which config
    # cannot import: it sits below the training package): an adversarial family's defaults
    # name its loss. tests/test_families.py holds the two together.
    is_gan = "loss" in defaults
    if is_gan:
        loss = cfg.loss or defaults["loss"]
        if loss not in GAN_LOSSES:
            raise unknown_name("loss", loss, GAN_LOSSES)
        defaults.update(LOSS_DEFAULTS.get((loss, data_kind), {}))
        cfg.loss = loss
    elif cfg.loss is not None:
        raise GenlabError(f"--loss applies to gan and dcgan, not {m.kind}")

    check_binarize(cfg.data.binarize, data_kind)
    m.data_shape = tuple(example_shape)
    for name in ("latent_dim", "hidden_dim", "depth", "filters"):
        if getattr(m, name) is None:
            setattr(m, name, defaults.get(name))
    if m.architecture is None:
        m.architecture = "conv" if data_kind == "image" and min(example_shape[1:]) >= 28 else "mlp"
    if m.architecture not in ARCHITECTURES:
        raise unknown_name("architecture", m.architecture, ARCHITECTURES)
    if key == ("vae", "image") and m.architecture == "mlp":
        defaults.update(MLP_IMAGE_VAE_DEFAULTS)
    if m.likelihood not in LIKELIHOODS:
        raise unknown_name("likelihood", m.likelihood, LIKELIHOODS)
    if m.preset not in DCGAN_PRESETS:
        raise unknown_name("dcgan preset", m.preset, DCGAN_PRESETS)
    if m.conditional:
        if num_classes <= 0:
            raise GenlabError(f"--conditional needs class labels; {cfg.data.name!r} has none")
        m.num_classes = num_classes
        if m.pack > 1:
            raise GenlabError("--conditional and --pack cannot be combined: a packed group "
                              "mixes samples of different classes")
    if m.discriminator_norm is None:
        # WGAN-GP penalizes per-sample gradients, which batch norm couples (paper, Sec. 4).
        m.discriminator_norm = defaults.get("discriminator_norm") or (
            "layer" if cfg.loss == "wgan-gp" else "batch")
        if data_kind == "points" and m.pack > 1 and m.discriminator_norm == "batch":
            # No batch norm in a packed 2D discriminator (nor in PacGAN's or WGAN-GP's 2D MLPs).
            # D sees real-only and fake-only batches, so batch norm gives every hidden unit the
            # same batch mean β and variance γ² on both: the loss, a batch average, can only use
            # the *shape* of each unit's batch distribution. Packing makes a unit a mix of
            # `pack` independent samples, which by the central limit theorem pushes that shape
            # to the same Gaussian for real and fake (|excess kurtosis| of the layer-2 units
            # over real ring8 points: 1.26 unpacked, 0.81 pack 2, 0.44 pack 4). Measured: ring8,
            # pack 4, lr 1e-3, 2000 steps: D at chance (loss 1.386), 0/8 modes; without: 8/8.
            # Unpacked, batch norm helps (grid25 71% vs 15% HQ at 2000 steps) because those
            # same batch statistics let D compare whole batches, like minibatch discrimination.
            m.discriminator_norm = "none"
    if m.discriminator_norm not in NORMS:
        raise unknown_name("discriminator norm", m.discriminator_norm, NORMS)

    for name in ("batch_size", "lr", "betas", "n_critic"):
        if getattr(cfg, name) is None:
            setattr(cfg, name, defaults.get(name))
    if cfg.n_critic is None:
        cfg.n_critic = 1
    if cfg.lr_d is None:
        cfg.lr_d = cfg.lr
    if cfg.gp_weight is None:
        cfg.gp_weight = defaults.get("gp_weight", 10.0)
    if cfg.lr_decay_start is None:
        cfg.lr_decay_start = defaults.get("lr_decay_start", 1.0)
    if cfg.ema_decay is None:
        cfg.ema_decay = defaults.get("ema_decay", 0.0)
    if cfg.steps is None and cfg.epochs is None:
        cfg.steps, cfg.epochs = defaults.get("steps"), defaults.get("epochs")
    if cfg.steps is None:
        if dataset_size is None:
            raise GenlabError("give --steps, or a dataset size to turn --epochs into steps")
        per_epoch = max(1, dataset_size // cfg.batch_size)
        cfg.steps = max(1, round(cfg.epochs * per_epoch / (cfg.n_critic if is_gan else 1)))
    if cfg.checkpoint_every is None:
        cfg.checkpoint_every = max(1, min(1000, cfg.steps // 5))
    if cfg.sample_every is None:
        cfg.sample_every = max(1, min(1000, cfg.steps // 10))
    if m.pack > 1 and cfg.batch_size % m.pack:
        raise GenlabError(f"batch size {cfg.batch_size} must be a multiple of --pack {m.pack}")
    if cfg.precision not in PRECISIONS:
        raise unknown_name("precision", cfg.precision, PRECISIONS)
    cfg.validate()  # the filled-in values too (e.g. --epochs 1e9 of a large data set -> steps)
    return cfg


# ------------------------------------------------------------------ the command line's side

# flag dest -> config field ("model.latent_dim"): the one table between argparse and TrainConfig
TRAIN_FIELDS = {
    "data": "data.name", "data_dir": "data.data_dir", "download": "data.download",
    "image_size": "data.image_size", "holdout_class": "data.holdout_class",
    "binarize": "data.binarize", "strict": "data.strict",
    "test_fraction": "data.test_fraction",
    "steps": "steps", "epochs": "epochs", "batch_size": "batch_size", "lr": "lr", "lr_d": "lr_d",
    "lr_decay_start": "lr_decay_start", "seed": "seed", "beta": "beta",
    "kl_warmup": "kl_warmup_steps", "loss": "loss", "n_critic": "n_critic",
    "gp_weight": "gp_weight", "ema": "ema_decay", "device": "device", "precision": "precision",
    "compile": "compile", "deterministic": "deterministic",
    "checkpoint_every": "checkpoint_every", "sample_every": "sample_every",
    "log_every": "log_every",
    "latent_dim": "model.latent_dim", "arch": "model.architecture",
    "hidden_dim": "model.hidden_dim", "depth": "model.depth", "filters": "model.filters",
    "likelihood": "model.likelihood", "conditional": "model.conditional",
    "spectral_norm": "model.spectral_norm", "minibatch_disc": "model.minibatch_disc",
    "minibatch_std": "model.minibatch_std", "pack": "model.pack", "preset": "model.preset",
    "discriminator_norm": "model.discriminator_norm",
}



def number_type(bounds):
    """An argparse `type` that parses with genlab.config.Bounds: `argument --depth: must be an
    integer in [1, 64], got 'nan'` (argparse names the flag; the text names the range)."""
    import argparse

    def parse(text: str):
        try:
            return bounds.parse(text)
        except GenlabError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    parse.__name__ = "integer" if bounds.kind is int else "number"
    return parse


def option_type(name: str):
    """The argparse type of an operation's option (OPTION_BOUNDS): the CLI's, bench's and
    evaluate's flags share it."""
    return number_type(OPTION_BOUNDS[name])
