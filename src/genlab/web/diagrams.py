"""Architecture diagrams from the real modules: GET /api/architecture?sim=...&<settings>.

The settings are the simulations' own names (width, depth, latent, filters, pack, ...). They
are checked against the bounds below, turned into a TrainConfig, resolved with
`genlab.config.resolve` and built with `genlab.models.build_model`, the path the simulations
and the trainer take; then `genlab.models.describe_layers` runs one forward pass with hooks and
reports every layer's output shape and parameter count. Settings that do not shape the model
(learning rates, speed, seed, ...) are ignored and listed as such.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

import torch

from genlab.config import DataConfig, ModelConfig, TrainConfig, resolve
from genlab.errors import GenlabError, unknown_name
from genlab.models import build_model, describe_layers

# name -> (kind, default, low, high) or (kind, default, choices); kinds: int, bool, choice.
SPECS: dict[str, dict[str, tuple]] = {
    "gan2d": {
        "data": ("choice", "grid25", ("ring8", "grid25", "spiral", "moons", "drawn")),
        "loss": ("choice", "non-saturating", ("minimax", "non-saturating", "hinge",
                                              "least-squares", "wgan-gp")),
        "width": ("int", 64, 8, 512),
        "depth": ("int", 3, 1, 6),
        "latent": ("int", 2, 1, 16),
        "pack": ("int", 1, 1, 8),
        "spectral_norm": ("bool", False),
        "minibatch_disc": ("bool", False),
    },
    "vae": {
        "model": ("choice", "vae", ("vae", "ae")),
        "width": ("int", 256, 16, 512),
        "depth": ("int", 2, 1, 4),
        "latent": ("int", 2, 1, 32),
        "architecture": ("choice", "mlp", ("mlp", "conv")),
    },
    "dcgan": {
        "loss": ("choice", "non-saturating", ("non-saturating", "wgan-gp", "hinge",
                                              "least-squares")),
        "filters": ("int", 16, 4, 64),
        "latent": ("int", 32, 2, 128),
        "preset": ("choice", "classic", ("classic", "lesson")),
        "minibatch_std": ("bool", False),
    },
}
TITLES = {"gan2d": "2D GAN playground (MLP GAN on points)",
          "vae": "VAE lab (MNIST digits, 1×28×28)",
          "dcgan": "DCGAN lab (MNIST digits, 1×28×28)"}
IMAGE_SHAPE = (1, 28, 28)  # mnist5k, the labs' embedded data
# Layers drawn on the row of the layer before them when they keep its shape.
FOLDED = {"ReLU", "LeakyReLU", "Tanh", "Sigmoid", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
          "GroupNorm", "InstanceNorm2d", "Dropout", "Identity", "SiLU", "GELU", "ELU"}


def settings_schema() -> dict[str, dict[str, dict]]:
    """SPECS as JSON: the page checks a simulation's settings against these bounds before it
    asks for a diagram, so an out-of-range value is explained on the page without a failed
    request (the endpoint still refuses it with the same message)."""
    out: dict[str, dict[str, dict]] = {}
    for sim, spec in SPECS.items():
        out[sim] = {}
        for name, (kind, default, *rest) in spec.items():
            entry = {"kind": kind, "default": default}
            if kind == "int":
                entry["min"], entry["max"] = rest
            elif kind == "choice":
                entry["choices"] = list(rest[0])
            out[sim][name] = entry
    return out


def parse(sim: str, params: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Checked settings (defaults filled) and the names that were ignored."""
    if sim not in SPECS:
        raise unknown_name("simulation", sim, SPECS)
    spec, out = SPECS[sim], {}
    for name, (kind, default, *rest) in spec.items():
        raw = params.get(name)
        if raw is None or raw == "":
            out[name] = default
        elif kind == "int":
            try:
                value = int(str(raw).strip())
            except ValueError:
                raise GenlabError(f"{name} must be an integer, got {str(raw)[:40]!r}") from None
            low, high = rest
            if not low <= value <= high:
                raise GenlabError(f"{name} must be in [{low}, {high}], got {value}")
            out[name] = value
        elif kind == "bool":
            text = str(raw).strip().lower()
            if text not in ("true", "false", "1", "0", "on", "off"):
                raise GenlabError(f"{name} must be true or false, got {str(raw)[:40]!r}")
            out[name] = text in ("true", "1", "on")
        else:
            if raw not in rest[0]:
                raise unknown_name(name, str(raw)[:40], rest[0])
            out[name] = raw
    ignored = sorted(k for k in params if k not in spec)
    return out, ignored


def _model_for(sim: str, s: dict[str, Any]):
    """(resolved ModelConfig, built model) for checked settings `s`."""
    if sim == "gan2d":
        model = ModelConfig(kind="gan", latent_dim=s["latent"], hidden_dim=s["width"],
                            depth=s["depth"], spectral_norm=s["spectral_norm"],
                            minibatch_disc=s["minibatch_disc"], pack=s["pack"],
                            discriminator_norm="none")
        cfg = TrainConfig(model=model, data=DataConfig(name="ring8"), loss=s["loss"], steps=1,
                          batch_size=256 - 256 % s["pack"])
        cfg = resolve(cfg, "points", (2,))
    elif sim == "vae":
        model = ModelConfig(kind=s["model"], latent_dim=s["latent"], hidden_dim=s["width"],
                            depth=s["depth"], architecture=s["architecture"])
        cfg = resolve(TrainConfig(model=model, steps=1), "image", IMAGE_SHAPE)
    else:
        model = ModelConfig(kind="dcgan", latent_dim=s["latent"], filters=s["filters"],
                            preset=s["preset"], minibatch_std=s["minibatch_std"])
        cfg = resolve(TrainConfig(model=model, loss=s["loss"], steps=1), "image", IMAGE_SHAPE)
    torch.manual_seed(0)
    return cfg.model, build_model(cfg.model)


def _rows(traced) -> list[dict]:
    """describe_layers rows -> [{name, type, shape (no batch), params, folded: [types]}]."""
    rows: list[dict] = []
    for name, type_name, shape, params in traced:
        shape = list(shape[1:])
        if rows and type_name in FOLDED and shape == rows[-1]["shape"]:
            rows[-1]["folded"].append(type_name)
            rows[-1]["params"] += params
            rows[-1]["names"].append(name)
            continue
        rows.append(dict(name=name, names=[name], type=type_name, shape=shape, params=params,
                         folded=[]))
    return rows


def _block(role: str, title: str, subtitle: str, input_shape, traced, input_label: str) -> dict:
    rows = _rows(traced)
    return dict(role=role, title=title, subtitle=subtitle, input_shape=list(input_shape),
                input_label=input_label, layers=rows, params=sum(r["params"] for r in rows))


def _step_block(title: str, subtitle: str, input_shape, input_label: str,
                rows: list[tuple[str, str]], latent: int) -> dict:
    """The latent step between encoder and decoder: no layers, only named (B, L) tensors."""
    return dict(role="latent", title=title, subtitle=subtitle, input_shape=list(input_shape),
                input_label=input_label, params=0,
                layers=[dict(name=n, names=[n], type=t, shape=[latent], params=0, folded=[])
                        for n, t in rows])


def _describe(sim: str, s: dict[str, Any]) -> dict:
    mcfg, model = _model_for(sim, s)
    blocks: list[dict] = []
    if sim in ("gan2d", "dcgan"):
        b = 2 * model.pack
        z = torch.zeros(b, model.latent_dim)
        x = torch.zeros(b, *mcfg.data_shape)
        blocks.append(_block("generator", "Generator G", "z → x", z.shape[1:],
                             describe_layers(model.generator, (z,)), "z"))
        blocks.append(_block("discriminator", "Discriminator D",
                             "x → logit" + (f", packs {model.pack} samples" if model.pack > 1 else "")
                             + (", spectral norm on every layer" if mcfg.spectral_norm else ""),
                             x.shape[1:], describe_layers(model.discriminator, (x,)), "x"))
    else:
        x = torch.zeros(2, *mcfg.data_shape)
        latent = mcfg.latent_dim
        if mcfg.kind == "vae":
            blocks.append(_block("encoder", "Encoder q(z|x)", "x → [μ, log σ²]", x.shape[1:],
                                 describe_layers(model.encoder, (x,)), "x"))
            blocks.append(_step_block("Latent", "z = μ + σ ⊙ ε", [2 * latent], "[μ, log σ²]",
                                      [("mu", "μ"), ("logvar", "log σ²"), ("z", "z = μ + σ⊙ε")],
                                      latent))
        else:
            blocks.append(_block("encoder", "Encoder", "x → z", x.shape[1:],
                                 describe_layers(model.encoder, (x,)), "x"))
            blocks.append(_step_block("Code", "z (deterministic)", [latent], "z", [("z", "z")],
                                      latent))
        z = torch.zeros(2, latent)
        blocks.append(_block("decoder", "Decoder p(x|z)", "z → x̂ (logits)", z.shape[1:],
                             describe_layers(model.decoder, (z,)), "z"))
    total = sum(p.numel() for p in model.parameters())
    return dict(sim=sim, title=TITLES[sim], model=type(model).__name__, kind=mcfg.kind,
                settings=s, config={k: (list(v) if isinstance(v, tuple) else v)
                                    for k, v in vars(mcfg).items()},
                data_shape=list(mcfg.data_shape), params_total=total, blocks=blocks)


_CACHE: "OrderedDict[tuple, dict]" = OrderedDict()
_LOCK = Lock()


def describe(sim: str, params: dict[str, str]) -> dict:
    """The diagram of simulation `sim` with query settings `params` (GenlabError if invalid)."""
    settings, ignored = parse(sim, params)
    key = (sim, tuple(sorted(settings.items())))
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is None:
            hit = _describe(sim, settings)
            _CACHE[key] = hit
            while len(_CACHE) > 64:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
    return {**hit, "ignored": ignored}
