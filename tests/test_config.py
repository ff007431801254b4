"""TrainConfig: defaults by model kind and loss, checks, JSON round trip."""

from __future__ import annotations

import json

import pytest

from genlab.config import KIND_DEFAULTS, DataConfig, ModelConfig, TrainConfig, resolve
from genlab.errors import GenlabError


def _cfg(kind="vae", **kw):
    model_kw = {k: kw.pop(k) for k in list(kw) if k in ModelConfig.__dataclass_fields__}
    return TrainConfig(model=ModelConfig(kind=kind, **model_kw), data=DataConfig("x"), **kw)


def test_resolve_fills_every_none_and_round_trips_through_json():
    cfg = resolve(_cfg("gan", loss="wgan-gp"), "points", (2,), 25, 100_000)
    d = cfg.to_dict()
    assert all(v is not None for k, v in d.items() if k not in ("epochs",))
    assert all(v is not None for k, v in d["model"].items() if k != "filters")  # MLP: no filters
    again = TrainConfig.from_dict(json.loads(json.dumps(d)))
    assert again == cfg
    assert cfg.n_critic == 5 and cfg.lr_d == cfg.lr


def test_epochs_become_steps():
    cfg = resolve(_cfg("vae", epochs=2.0, batch_size=100), "image", (1, 28, 28), 10, 1000)
    assert cfg.steps == 20
    cfg = resolve(_cfg("gan", epochs=1.0, batch_size=100, n_critic=2), "image", (1, 28, 28), 10, 1000)
    assert cfg.steps == 5  # a GAN step eats n_critic batches


@pytest.mark.parametrize("kw, match", [
    (dict(loss="wgan"), "unknown loss 'wgan'"),
    (dict(lr=-1.0), "lr must be"),
    (dict(batch_size=0), "batch_size must be"),
    (dict(pack=3, batch_size=64), "multiple of --pack"),
    (dict(precision="fp8"), "unknown precision"),
    (dict(ema_decay=1.0), "ema_decay"),
    (dict(lr_decay_start=1.5), "lr_decay_start"),
    (dict(epochs=-1.0), "epochs"),
])
def test_bad_values_are_clear_errors(kw, match):
    with pytest.raises(GenlabError, match=match):
        resolve(_cfg("gan", **kw), "points", (2,), 0, 1000)


def test_unknown_kind_and_mismatches():
    with pytest.raises(GenlabError, match="unknown model 'gam'"):
        resolve(_cfg("gam"), "points", (2,), 0, 10)
    with pytest.raises(GenlabError, match="dcgan needs image data"):
        resolve(_cfg("dcgan"), "points", (2,), 0, 10)
    with pytest.raises(GenlabError, match="--loss applies to gan"):
        resolve(_cfg("vae", loss="hinge"), "points", (2,), 0, 10)
    with pytest.raises(GenlabError, match="needs class labels"):
        resolve(_cfg("vae", conditional=True), "points", (2,), 0, 10)
    with pytest.raises(GenlabError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"stepz": 3})


def test_every_kind_has_defaults_for_what_resolve_reads():
    for kind, data_kind in KIND_DEFAULTS:
        shape = (2,) if data_kind == "points" else (1, 28, 28)
        cfg = resolve(_cfg(kind), data_kind, shape, 0, 5000)
        assert cfg.steps >= 1 and cfg.batch_size >= 1 and cfg.lr > 0


def test_wgan_gp_defaults_depend_on_the_data_kind():
    points = resolve(_cfg("gan", loss="wgan-gp"), "points", (2,), 0, 100_000)
    images = resolve(_cfg("gan", loss="wgan-gp"), "image", (1, 28, 28), 0, 5000)
    assert (points.gp_weight, points.n_critic, points.lr_decay_start) == (0.1, 5, 0.5)
    assert (images.gp_weight, tuple(images.betas)) == (10.0, (0.0, 0.9))
    assert resolve(_cfg("gan", loss="wgan-gp", gp_weight=3.0), "points", (2,), 0, 10).gp_weight == 3.0


def test_packed_2d_discriminator_has_no_batch_norm_unless_asked():
    unpacked = resolve(_cfg("gan"), "points", (2,), 0, 100_000)
    packed = resolve(_cfg("gan", pack=4), "points", (2,), 0, 100_000)
    asked = resolve(_cfg("gan", pack=4, discriminator_norm="batch"), "points", (2,), 0, 100_000)
    image = resolve(_cfg("dcgan", pack=2), "image", (1, 28, 28), 0, 5000)
    assert unpacked.model.discriminator_norm == "batch"
    assert packed.model.discriminator_norm == "none"
    assert asked.model.discriminator_norm == "batch"  # an explicit choice is kept
    assert image.model.discriminator_norm == "batch"  # images: PacGAN's DCGAN keeps its BN
    assert (unpacked.model.hidden_dim, unpacked.batch_size, unpacked.lr,
            unpacked.lr_decay_start) == (128, 128, 1e-3, 0.5)


def test_device_and_precision_choices():
    import torch

    from genlab.devices import choose_device, choose_precision

    cpu = torch.device("cpu")
    assert choose_device("cpu") == cpu
    assert choose_precision("auto", cpu, "points").name == "fp32"
    assert choose_precision("bf16", cpu).dtype == torch.bfloat16
    with pytest.raises(GenlabError, match="fp16 needs a CUDA GPU"):
        choose_precision("fp16", cpu)
    with pytest.raises(GenlabError, match="unknown device"):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(GenlabError, match="no CUDA GPU"):
            choose_device("cuda:0")


def test_conditional_with_packing_is_refused_at_resolve():
    from genlab.config import ModelConfig, TrainConfig, resolve
    from genlab.errors import GenlabError

    cfg = TrainConfig(model=ModelConfig(kind="gan", conditional=True, pack=2))
    with pytest.raises(GenlabError, match="--conditional and --pack"):
        resolve(cfg, "image", (1, 8, 8), num_classes=10, dataset_size=100)
