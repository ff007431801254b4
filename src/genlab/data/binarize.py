"""Stochastic binarization of grey-level images: each pixel x ~ Bernoulli(intensity / 255).

Burda et al. 2016 (IWAE, https://arxiv.org/abs/1509.00519, Sec. 5) train on MNIST binarized
*dynamically* — a fresh binary sample of every training image each time it is used — and
evaluate on a test set binarized once. genlab's modes (`DataConfig.binarize`):

- "none":    grey levels as stored.
- "fixed":   every split binarized once, from a seed that is a pure function of (data set,
             split): the same binary images in every epoch and every run.
- "dynamic": the training batches are binarized afresh as they are drawn (`DynamicBinarizer`);
             the test split is binarized once, exactly as "fixed" does it.

Binary pixels are stored as uint8 0 / 255, so the Normalizer (the one place pixel range lives)
maps them to exact {0, 1} ("unit") or {-1, 1} ("symmetric").

The dynamic draw of a batch is a pure function of (run seed, epoch, position of the batch in
the epoch): a resumed run, whose checkpoint holds the sampler's (epoch, position), draws the
same binary images as the uninterrupted run, without a random stream of its own. As for the
indices (EpochSampler), the draw is made for the global batch and each DDP rank keeps its slice.
"""

from __future__ import annotations

import torch

from genlab.config import check_binarize
from genlab.data.batches import EpochSampler
from genlab.data.dataset import generator
from genlab.errors import GenlabError


def bernoulli_pixels(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """uint8 images (N, C, H, W) 0..255 -> uint8 0 / 255 with P(255) = x / 255 per pixel."""
    return _threshold(x, torch.rand(x.shape, generator=g))  # u: (N, C, H, W) uniform [0, 1)


def _threshold(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """255 where u < x / 255 (probability x / 255 for u ~ U[0, 1)), else 0; uint8."""
    if x.dtype != torch.uint8:
        raise GenlabError(f"binarization takes uint8 images 0..255, got {x.dtype}")
    return (u.to(x.device) < x.to(torch.float32) / 255.0).to(torch.uint8) * 255


def binarize_fixed(x: torch.Tensor, name: str, split: str) -> torch.Tensor:
    """The one fixed binarization of split `split` of data set `name`."""
    return bernoulli_pixels(x, generator("binarize", name, split))


class DynamicBinarizer:
    """Binarizes each training batch afresh: call it on the local batch `sampler` just gave."""

    def __init__(self, sampler: EpochSampler, seed: int):
        self.sampler, self.seed = sampler, seed

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        s = self.sampler
        epoch, position = s.epoch, s.position - 1  # the batch next_batch() returned last
        if position < 0:
            raise GenlabError("DynamicBinarizer is called after sampler.next_batch()")
        g = generator("binarize-dynamic", self.seed, epoch, position)
        u = torch.rand((len(x) * s.world_size, *x.shape[1:]), generator=g)  # the global batch
        return _threshold(x, u[s.rank * len(x):(s.rank + 1) * len(x)])  # this rank's slice


def batch_binarizer(mode: str, sampler: EpochSampler, seed: int):
    """What the trainer applies to each raw batch: DynamicBinarizer for "dynamic", else the
    identity ("fixed" data were binarized when loaded)."""
    check_binarize(mode)
    if mode == "dynamic":
        return DynamicBinarizer(sampler, seed)
    return lambda x: x
