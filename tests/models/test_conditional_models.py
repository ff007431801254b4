"""Conditional models use y (Sohn et al. 2015 CVAE; projection discriminator, Miyato & Koyama
2018), and reject what they cannot do."""

import pytest
import torch

from genlab.config import ModelConfig
from genlab.errors import GenlabError
from genlab.models import build_model

CASES = [("vae", (1, 8, 8), "mlp"), ("vae", (1, 28, 28), "conv"), ("ae", (2,), "mlp"),
         ("ae", (3, 32, 32), "conv")]


@pytest.mark.parametrize("kind,shape,arch", CASES)
def test_conditional_autoencoders_use_y(kind, shape, arch):
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind=kind, data_shape=shape, architecture=arch,
                                    latent_dim=3, hidden_dim=16, depth=2, filters=4,
                                    num_classes=4))
    x, z = torch.rand(2, *shape), torch.randn(2, 3)
    y0, y1 = torch.tensor([0, 0]), torch.tensor([3, 3])
    enc = (lambda *a: model.encode(*a)[0]) if kind == "vae" else model.encode
    assert not torch.allclose(enc(x, y0), enc(x, y1))  # encoder sees y
    assert not torch.allclose(model.decode(z, y0), model.decode(z, y1))  # decoder sees y
    assert model.decode(z, y0).shape == (2, *shape)
    with pytest.raises(GenlabError, match="pass class labels"):
        model.decode(z)
    with pytest.raises(GenlabError, match="class labels must be in"):
        model.decode(z, torch.tensor([0, 4]))


@pytest.mark.parametrize("kind,shape,preset", [("gan", (2,), "classic"),
                                               ("gan", (1, 8, 8), "classic"),
                                               ("dcgan", (1, 28, 28), "classic"),
                                               ("dcgan", (3, 32, 32), "lesson")])
def test_conditional_gans_use_y(kind, shape, preset):
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind=kind, data_shape=shape, latent_dim=4, hidden_dim=16,
                                    depth=2, filters=4, preset=preset, num_classes=10,
                                    minibatch_std=True, discriminator_norm="batch"))
    model.eval()
    z = model.sample_latent(3)
    y0, y1 = torch.tensor([0, 1, 2]), torch.tensor([7, 8, 9])
    x0 = model.generator(z, y0)
    assert x0.shape == (3, *shape)
    assert not torch.allclose(x0, model.generator(z, y1))
    d0, d1 = model.discriminator(x0, y0), model.discriminator(x0, y1)
    assert d0.shape == (3,) and not torch.allclose(d0, d1)
    # projection: D(x, y) − D(x, y') = (embed(y) − embed(y'))ᵀ φ(x)
    disc = model.discriminator
    phi = disc.body(x0).flatten(1)
    diff = ((disc.embed(y0) - disc.embed(y1)) * phi).sum(1)
    torch.testing.assert_close(d0 - d1, diff, rtol=1e-4, atol=1e-5)
    with pytest.raises(GenlabError):
        model.discriminator(x0)


def test_conditional_with_packing_is_rejected():
    with pytest.raises(GenlabError, match="pack"):
        build_model(ModelConfig(kind="gan", data_shape=(2,), num_classes=3, pack=2,
                                latent_dim=2, hidden_dim=8, depth=1, discriminator_norm="batch"))
    with pytest.raises(GenlabError, match="pack"):
        build_model(ModelConfig(kind="dcgan", data_shape=(1, 28, 28), latent_dim=2, filters=4,
                                num_classes=3, pack=4, discriminator_norm="batch"))


def test_unconditional_models_ignore_y():
    model = build_model(ModelConfig(kind="gan", data_shape=(2,), latent_dim=2, hidden_dim=8,
                                    depth=1, discriminator_norm="batch"))
    z = model.sample_latent(2)
    torch.testing.assert_close(model.generator(z, torch.tensor([0, 1])), model.generator(z))


def test_bad_shapes_are_genlab_errors():
    with pytest.raises(GenlabError, match="too small or odd"):
        build_model(ModelConfig(kind="vae", data_shape=(1, 7, 7), architecture="conv",
                                latent_dim=2, filters=4))
    with pytest.raises(GenlabError, match="square"):
        build_model(ModelConfig(kind="dcgan", data_shape=(1, 32, 64), latent_dim=2, filters=4,
                                discriminator_norm="batch"))
    with pytest.raises(GenlabError, match="conv model needs image"):
        build_model(ModelConfig(kind="ae", data_shape=(2,), architecture="conv", latent_dim=2,
                                filters=4))
    with pytest.raises(GenlabError, match="unknown dcgan preset"):
        build_model(ModelConfig(kind="dcgan", data_shape=(1, 32, 32), latent_dim=2, filters=4,
                                preset="huge", discriminator_norm="batch"))
    with pytest.raises(GenlabError, match="unknown discriminator norm"):
        build_model(ModelConfig(kind="gan", data_shape=(2,), discriminator_norm="instance",
                                latent_dim=2, hidden_dim=8, depth=2))  # norms from layer 2
