"""Models map tensors to tensors; they never compute a loss.

`build_model(cfg)` builds one of MODELS from a resolved ModelConfig (genlab.config.resolve)."""

from __future__ import annotations

import dataclasses

from torch import nn

from genlab.config import ModelConfig
from genlab.errors import GenlabError, unknown_name
from genlab.models.autoencoder import Autoencoder
from genlab.models.dcgan import DCGAN
from genlab.models.gan import GAN
from genlab.models.modes import evaluating
from genlab.models.summary import describe_layers
from genlab.models.vae import VAE, VAEOutput

MODELS = {"ae": Autoencoder, "vae": VAE, "gan": GAN, "dcgan": DCGAN}



def _unresolved(cfg: ModelConfig) -> list[str]:
    """The sizes and choices this model reads that are still None: genlab.config.resolve fills
    them (the one place defaults are decided), so a resolved config has none."""
    chosen = MODELS[cfg.kind].ARCHITECTURE is None  # ae/vae: cfg.architecture decides
    needed = ["latent_dim", "architecture" if chosen else "discriminator_norm"]
    needed += ["filters"] if uses_convolutions(cfg) else ["hidden_dim", "depth"]
    return [name for name in needed if getattr(cfg, name) is None]


def uses_convolutions(cfg: ModelConfig) -> bool:
    """Is this model convolutional: its class's ARCHITECTURE, else cfg.architecture (ae/vae)?"""
    return (MODELS[cfg.kind].ARCHITECTURE or cfg.architecture) == "conv"


def build_model(cfg: ModelConfig) -> nn.Module:
    """The model named by cfg.kind, sized from a resolved ModelConfig (`genlab.config.resolve`
    fills every size and choice; nothing is guessed here); `model.config` is its config.

    num_classes > 0 makes it conditional; conditional GANs cannot pack (GenlabError)."""
    if cfg.kind not in MODELS:
        raise unknown_name("model", cfg.kind, MODELS)
    if not cfg.data_shape:
        raise GenlabError("model config has no data_shape (resolve it against a dataset first)")
    missing = _unresolved(cfg)
    if missing:
        raise GenlabError(f"model config is not resolved: {', '.join(missing)} unset "
                          f"(genlab.config.resolve fills them)")
    cfg = dataclasses.replace(cfg, data_shape=tuple(cfg.data_shape))
    return MODELS[cfg.kind](cfg)


__all__ = ["MODELS", "build_model", "uses_convolutions", "describe_layers", "evaluating",
           "Autoencoder", "VAE", "VAEOutput", "GAN", "DCGAN"]
