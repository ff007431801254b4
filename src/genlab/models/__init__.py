"""Models map tensors to tensors; they never compute a loss.

`build_model(cfg)` builds one of MODELS from a (resolved) ModelConfig."""

from __future__ import annotations

import dataclasses

from torch import nn

from genlab.config import ModelConfig
from genlab.errors import GenlabError, unknown_name
from genlab.models.autoencoder import Autoencoder
from genlab.models.dcgan import DCGAN
from genlab.models.gan import GAN
from genlab.models.summary import describe_layers
from genlab.models.vae import VAE, VAEOutput

MODELS = {"ae": Autoencoder, "vae": VAE, "gan": GAN, "dcgan": DCGAN}

# Used only for fields an unresolved config leaves as None (config.resolve() fills them all).
_FALLBACKS = dict(latent_dim=16, hidden_dim=256, depth=2, filters=32, discriminator_norm="batch")


def build_model(cfg: ModelConfig) -> nn.Module:
    """The model named by cfg.kind, sized from cfg.data_shape; `model.config` is its config.

    num_classes > 0 makes it conditional; conditional GANs cannot pack (GenlabError)."""
    if cfg.kind not in MODELS:
        raise unknown_name("model", cfg.kind, MODELS)
    if not cfg.data_shape:
        raise GenlabError("model config has no data_shape (resolve it against a dataset first)")
    cfg = dataclasses.replace(cfg, data_shape=tuple(cfg.data_shape))
    for name, value in _FALLBACKS.items():
        if getattr(cfg, name) is None:
            setattr(cfg, name, 64 if (name == "filters" and cfg.kind == "dcgan") else value)
    if cfg.architecture is None:
        image = len(cfg.data_shape) == 3 and min(cfg.data_shape[1:]) >= 28
        cfg.architecture = "conv" if image else "mlp"
    return MODELS[cfg.kind](cfg)


__all__ = ["MODELS", "build_model", "describe_layers", "Autoencoder", "VAE", "VAEOutput",
           "GAN", "DCGAN"]
