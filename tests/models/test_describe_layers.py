"""describe_layers walks a module with forward hooks: what the hub draws is what runs."""

import torch
from torch import nn

from genlab.config import ModelConfig
from genlab.models import build_model, describe_layers


def test_describe_mlp_vae():
    model = build_model(ModelConfig(kind="vae", data_shape=(1, 8, 8), architecture="mlp",
                                    latent_dim=2, hidden_dim=16, depth=1))
    model.train()
    rows = describe_layers(model, torch.rand(3, 1, 8, 8))
    assert rows == [
        ("encoder.flatten", "Flatten", (3, 64), 0),
        ("encoder.net.0", "Linear", (3, 16), 64 * 16 + 16),
        ("encoder.net.1", "ReLU", (3, 16), 0),
        ("encoder.net.2", "Linear", (3, 4), 16 * 4 + 4),  # [μ, log σ²]
        ("decoder.net.0", "Linear", (3, 16), 2 * 16 + 16),
        ("decoder.net.1", "ReLU", (3, 16), 0),
        ("decoder.net.2", "Linear", (3, 64), 16 * 64 + 64),
        ("decoder.net.3", "Unflatten", (3, 1, 8, 8), 0),
    ]
    assert sum(r[3] for r in rows) == sum(p.numel() for p in model.parameters())
    assert model.training and all(m.training for m in model.modules())  # flags restored


def test_describe_dcgan_generator_and_spectral_discriminator():
    model = build_model(ModelConfig(kind="dcgan", data_shape=(1, 28, 28), latent_dim=8,
                                    filters=4, spectral_norm=True, num_classes=3,
                                    discriminator_norm="batch"))
    z, y = model.sample_latent(2), torch.tensor([0, 2])
    rows = describe_layers(model.generator, (z, y))
    assert rows[0] == ("main.0", "ConvTranspose2d", (2, 8, 7, 7), (8 + 3) * 8 * 7 * 7)
    assert rows[-1] == ("main.7", "Tanh", (2, 1, 28, 28), 0)
    d_rows = describe_layers(model.discriminator, (torch.randn(2, 1, 28, 28), y))
    names = [r[1] for r in d_rows]
    assert names == ["Conv2d", "LeakyReLU", "Conv2d", "BatchNorm2d", "LeakyReLU", "Conv2d",
                     "Embedding"]
    assert d_rows[-2][2] == (2, 1, 1, 1)
    assert d_rows[-1] == ("embed", "Embedding", (2, 8 * 7 * 7), 3 * 8 * 7 * 7)


def test_describe_gan_forward_is_the_generator():
    model = build_model(ModelConfig(kind="gan", data_shape=(2,), latent_dim=2, hidden_dim=8,
                                    depth=1, minibatch_disc=True, discriminator_norm="batch"))
    rows = describe_layers(model, torch.randn(4, 2))
    assert [r[0] for r in rows] == ["generator.net.0", "generator.net.1", "generator.net.2"]
    rows = describe_layers(model.discriminator, torch.randn(4, 2))
    assert ("head.1", "MinibatchDiscrimination", (4, 8 + 50), 8 * 250) in rows
    assert isinstance(model.discriminator.head[1], nn.Module)
