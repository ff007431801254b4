"""Architecture diagrams from the real modules: GET /api/architecture?sim=...&<settings>.

The settings are the simulation's own, checked by its pydantic model (the one definition of
every setting: genlab.web.simulations.schemas), so a diagram accepts exactly what its
simulation accepts, with the same words for what it refuses. The model is the simulation's:
`train_config()` of the checked settings, resolved with `genlab.config.resolve` and built with
`genlab.models.build_model`; then `genlab.models.describe_layers` runs one forward pass with
hooks and reports every layer's output shape and parameter count. Settings that do not shape
the model (learning rates, speed, seed, ...) are checked, then ignored and listed as such.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

import torch

from genlab.config import resolve
from genlab.errors import GenlabError, unknown_name
from genlab.models import build_model, describe_layers
from genlab.web.simulations import schemas

TITLES = {"gan2d": "2D GAN playground (MLP GAN on points)",
          "vae": "VAE lab (MNIST digits, 1×28×28)",
          "dcgan": "DCGAN lab (MNIST digits, 1×28×28)"}
# Layers drawn on the row of the layer before them when they keep its shape.
FOLDED = {"ReLU", "LeakyReLU", "Tanh", "Sigmoid", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
          "GroupNorm", "InstanceNorm2d", "Dropout", "Identity", "SiLU", "GELU", "ELU"}


def settings_schema() -> dict[str, list[dict]]:
    """The settings each diagram accepts: its simulation's field list (schemas.field_list)."""
    return {sim: schemas.field_list(sim) for sim in TITLES}


def shaping(sim: str) -> list[str]:
    """The settings of `sim` that shape its model (the others never change the diagram)."""
    return [f["name"] for f in schemas.field_list(sim) if f.get("shapes_model")]


def parse(sim: str, params: dict[str, str]):
    """(checked settings, the names that were ignored); GenlabError naming what is wrong."""
    if sim not in TITLES:
        raise unknown_name("simulation", sim, TITLES)
    given = {k: v for k, v in params.items() if v != ""}  # empty: the default
    try:
        cfg = schemas.parse_config(sim, given)
    except schemas.MessageError as e:
        raise GenlabError(str(e)) from None
    used = set(shaping(sim))
    return cfg, sorted(k for k in params if k not in used)


def _model_for(cfg: schemas._Strict):
    """(resolved ModelConfig, built model) of the simulation with checked settings `cfg`."""
    data_kind, shape = cfg.DATA
    train = resolve(cfg.train_config(), data_kind, shape)
    torch.manual_seed(0)
    return train.model, build_model(train.model)


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


def _describe(sim: str, cfg: schemas._Strict) -> dict:
    mcfg, model = _model_for(cfg)
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
                settings={k: getattr(cfg, k) for k in shaping(sim)},
                config={k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in vars(mcfg).items()},
                data_shape=list(mcfg.data_shape), params_total=total, blocks=blocks)


_CACHE: OrderedDict[tuple, dict] = OrderedDict()
_LOCK = Lock()


def describe(sim: str, params: dict[str, str]) -> dict:
    """The diagram of simulation `sim` with query settings `params` (GenlabError if invalid)."""
    cfg, ignored = parse(sim, params)
    key = (type(cfg), tuple((k, getattr(cfg, k)) for k in shaping(sim)))
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is None:
            hit = _describe(sim, cfg)
            _CACHE[key] = hit
            while len(_CACHE) > 64:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
    return {**hit, "ignored": ignored}
