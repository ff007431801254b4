"""Shapes: every kind, architecture and DCGAN preset produces exactly data_shape; D gives (B // pack,)."""

import pytest
import torch

from genlab.config import ModelConfig
from genlab.errors import GenlabError
from genlab.models import MODELS, VAEOutput, build_model


def test_models_dict_is_the_four_kinds():
    assert set(MODELS) == {"ae", "vae", "gan", "dcgan"}


def test_unknown_kind_is_a_genlab_error():
    with pytest.raises(GenlabError, match="unknown model 'flow'"):
        build_model(ModelConfig(kind="flow", data_shape=(2,)))


@pytest.mark.parametrize("kind,shape,missing", [
    ("gan", (2,), "latent_dim, discriminator_norm, hidden_dim, depth"),
    ("vae", (1, 28, 28), "latent_dim, architecture, hidden_dim, depth"),
    ("dcgan", (1, 28, 28), "latent_dim, discriminator_norm, filters"),
])
def test_build_model_decides_no_default(kind, shape, missing):
    """Sizes come from genlab.config.resolve only: an unresolved config is refused, not guessed."""
    with pytest.raises(GenlabError, match=f"not resolved: {missing} unset"):
        build_model(ModelConfig(kind=kind, data_shape=shape))


@pytest.mark.parametrize("kind,data_kind,shape", [
    ("ae", "points", (2,)), ("vae", "points", (2,)), ("vae", "image", (1, 28, 28)),
    ("vae", "image", (1, 8, 8)), ("gan", "points", (2,)), ("gan", "image", (1, 28, 28)),
    ("dcgan", "image", (1, 28, 28))])
def test_a_resolved_config_builds_with_the_configs_sizes(kind, data_kind, shape):
    from genlab.config import TrainConfig, resolve

    cfg = resolve(TrainConfig(model=ModelConfig(kind=kind), steps=1), data_kind, shape).model
    model = build_model(cfg)
    assert model.config == cfg
    widths = {m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)}
    if cfg.hidden_dim is not None and (cfg.architecture == "mlp" or kind == "gan"):
        assert cfg.hidden_dim in widths  # the config's width (512 / 128), not an invented 256


@pytest.mark.parametrize("kind", ["ae", "vae"])
@pytest.mark.parametrize("shape,arch", [((2,), "mlp"), ((1, 8, 8), "mlp"), ((1, 28, 28), "conv"),
                                        ((3, 32, 32), "conv"), ((1, 64, 64), "conv"),
                                        ((1, 28, 28), "mlp")])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_autoencoders_reconstruct_data_shape(kind, shape, arch, likelihood):
    cfg = ModelConfig(kind=kind, data_shape=shape, architecture=arch, latent_dim=3,
                      hidden_dim=16, depth=2, filters=4, likelihood=likelihood)
    model = build_model(cfg)
    x = torch.rand(2, *shape)
    if kind == "vae":
        out = model(x)
        assert isinstance(out, VAEOutput)
        assert out.x_hat.shape == x.shape
        assert out.mu.shape == out.logvar.shape == out.z.shape == (2, 3)
        assert (model.decoder_logvar is not None) == (likelihood == "gaussian")
        if likelihood == "gaussian":
            assert model.decoder_logvar.shape == ()
    else:
        assert model(x).shape == x.shape
        assert model.encode(x).shape == (2, 3)
    assert model.decode(torch.randn(5, 3)).shape == (5, *shape)
    assert model.latent_dim == 3 and model.config.kind == kind


@pytest.mark.parametrize("preset", ["classic", "lesson"])
@pytest.mark.parametrize("size", [28, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_output_shapes(preset, size, channels):
    cfg = ModelConfig(kind="dcgan", data_shape=(channels, size, size), latent_dim=8, filters=4,
                      preset=preset, discriminator_norm="batch")
    model = build_model(cfg)
    z = model.sample_latent(2)
    assert z.shape == (2, 8)
    x = model.generator(z)
    assert x.shape == (2, channels, size, size)
    assert x.abs().max() <= 1.0  # tanh output
    assert model.discriminator(x).shape == (2,)


@pytest.mark.parametrize("shape", [(2,), (1, 8, 8), (1, 28, 28)])
def test_mlp_gan_output(shape):
    model = build_model(ModelConfig(kind="gan", data_shape=shape, latent_dim=2, hidden_dim=16,
                                    depth=2, discriminator_norm="batch"))
    x = model.generator(model.sample_latent(6))
    assert x.shape == (6, *shape)
    if len(shape) == 1:  # linear output for points: not squashed
        model.generator.net[-1].bias.data.fill_(5.0)
        assert model.generator(model.sample_latent(6)).min() > 1.0
    else:
        assert x.abs().max() <= 1.0
    assert model.discriminator(x).shape == (6,)


@pytest.mark.parametrize("kind,shape", [("gan", (2,)), ("gan", (1, 8, 8)), ("dcgan", (3, 32, 32))])
@pytest.mark.parametrize("pack", [2, 4])
def test_packed_discriminator_shape(kind, shape, pack):
    cfg = ModelConfig(kind=kind, data_shape=shape, latent_dim=4, hidden_dim=16, depth=2,
                      filters=4, pack=pack, discriminator_norm="batch")
    model = build_model(cfg)
    assert model.discriminator(torch.randn(8, *shape)).shape == (8 // pack,)
    with pytest.raises(GenlabError):
        model.discriminator(torch.randn(pack + 1, *shape))


@pytest.mark.parametrize("options", [dict(spectral_norm=True), dict(minibatch_disc=True),
                                     dict(minibatch_std=True), dict(discriminator_norm="layer"),
                                     dict(discriminator_norm="none"),
                                     dict(minibatch_disc=True, minibatch_std=True,
                                          spectral_norm=True, pack=2)])
@pytest.mark.parametrize("kind,shape,preset", [("gan", (2,), "classic"),
                                               ("dcgan", (1, 28, 28), "classic"),
                                               ("dcgan", (3, 32, 32), "lesson")])
def test_discriminator_options_keep_shapes(options, kind, shape, preset):
    cfg = ModelConfig(kind=kind, data_shape=shape, latent_dim=4, hidden_dim=16, depth=2,
                      filters=4, preset=preset, **{"discriminator_norm": "batch", **options})
    model = build_model(cfg)
    out = model.discriminator(torch.randn(8, *shape))
    assert out.shape == (8 // options.get("pack", 1),)
    out.sum().backward()


def test_config_sizes_are_honoured():
    from torch import nn
    vae = build_model(ModelConfig(kind="vae", data_shape=(2,), architecture="mlp", latent_dim=3,
                                  hidden_dim=24, depth=3))
    linears = [m for m in vae.encoder.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [24, 24, 24, 6]  # depth 3, then [μ, log σ²]
    gan = build_model(ModelConfig(kind="gan", data_shape=(2,), latent_dim=5, hidden_dim=12,
                                  depth=2, discriminator_norm="batch"))
    assert gan.generator.net[0].in_features == 5 and gan.generator.net[0].out_features == 12
    conv = build_model(ModelConfig(kind="ae", data_shape=(1, 28, 28), architecture="conv",
                                   latent_dim=3, filters=6))
    convs = [m for m in conv.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs] == [6, 12]  # 28 -> 14 -> 7


def test_discriminator_norm_choices():
    from torch import nn
    def norms(model):
        return {type(m).__name__ for m in model.discriminator.modules()
                if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm))}
    base = dict(latent_dim=4, hidden_dim=8, depth=3, filters=4)
    assert norms(build_model(ModelConfig(kind="dcgan", data_shape=(1, 32, 32),
                                         discriminator_norm="batch", **base))) == {"BatchNorm2d"}
    layer = build_model(ModelConfig(kind="dcgan", data_shape=(1, 32, 32),
                                    discriminator_norm="layer", **base))
    assert norms(layer) == {"GroupNorm"}
    assert all(m.num_groups == 1 for m in layer.discriminator.modules()
               if isinstance(m, nn.GroupNorm))  # GroupNorm(1, C): layer norm over (C, H, W)
    assert norms(build_model(ModelConfig(kind="dcgan", data_shape=(1, 32, 32),
                                         discriminator_norm="none", **base))) == set()
    assert norms(build_model(ModelConfig(kind="gan", data_shape=(2,),
                                         discriminator_norm="layer", **base))) == {"LayerNorm"}
    # WGAN-GP needs per-sample critic values: with layer norm, D(x_i) ignores the other samples
    d = layer.discriminator.train()  # training mode: batch statistics would couple samples
    x = torch.randn(4, 1, 32, 32)
    x2 = x.clone()
    x2[3] = 5.0
    torch.testing.assert_close(d(x)[:3], d(x2)[:3])
