"""The "classic" DCGAN preset against the PyTorch examples' dcgan/main.py (64x64, nz=100,
ngf=ndf=64, nc=3), hard-coded here from that file: layer for layer, parameter for parameter,
and output for output once the reference weights are loaded."""

import pytest
import torch
from torch import nn

from genlab.config import ModelConfig
from genlab.models import build_model

nz, ngf, ndf, nc = 100, 64, 64, 3


def reference_generator():
    return nn.Sequential(  # pytorch/examples dcgan/main.py, Generator.main
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


def reference_discriminator():
    return nn.Sequential(  # pytorch/examples dcgan/main.py, Discriminator.main
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        nn.Sigmoid(),
    )


def _signature(m: nn.Module):
    """What defines a layer: class, hyper-parameters, parameter shapes and count."""
    hyper = {k: getattr(m, k) for k in ("in_channels", "out_channels", "kernel_size", "stride",
                                        "padding", "num_features", "eps", "momentum",
                                        "negative_slope") if hasattr(m, k)}
    shapes = [tuple(p.shape) for p in m.parameters()]
    return type(m).__name__, hyper, shapes, sum(p.numel() for p in m.parameters())


def _leaves(m: nn.Module):
    return [c for c in m.modules() if not list(c.children())]


@pytest.fixture(scope="module")
def classic():
    torch.manual_seed(0)
    return build_model(ModelConfig(kind="dcgan", data_shape=(nc, 64, 64), latent_dim=nz,
                                   filters=64, preset="classic", discriminator_norm="batch"))


def test_generator_layer_for_layer(classic):
    ours, ref = _leaves(classic.generator), _leaves(reference_generator())
    assert [_signature(m) for m in ours] == [_signature(m) for m in ref]
    assert sum(p.numel() for p in classic.generator.parameters()) == 3_576_704


def test_discriminator_layer_for_layer(classic):
    ours, ref = _leaves(classic.discriminator), _leaves(reference_discriminator())
    # DEVIATION (documented in dcgan.py): no final Sigmoid, the discriminator returns logits
    assert isinstance(ref[-1], nn.Sigmoid)
    assert [_signature(m) for m in ours] == [_signature(m) for m in ref[:-1]]
    assert sum(p.numel() for p in classic.discriminator.parameters()) == 2_765_568


def test_reference_weights_give_the_same_outputs(classic):
    ref_g, ref_d = reference_generator(), reference_discriminator()
    # same parameter / buffer order: copy the reference state into ours, position by position
    for ours, ref in [(classic.generator, ref_g), (classic.discriminator, ref_d)]:
        ours_state, ref_state = ours.state_dict(), ref.state_dict()
        assert [v.shape for v in ours_state.values()] == [v.shape for v in ref_state.values()]
        ours.load_state_dict(dict(zip(ours_state.keys(), ref_state.values())))
    classic.eval(), ref_g.eval(), ref_d.eval()
    z = torch.randn(2, nz)
    with torch.no_grad():
        x = classic.generator(z)
        torch.testing.assert_close(x, ref_g(z[:, :, None, None]))
        # sigmoid(our logit) is the reference's probability
        torch.testing.assert_close(torch.sigmoid(classic.discriminator(x)), ref_d(x).view(-1))


def test_weights_init_as_the_reference():
    torch.manual_seed(1)
    classic = build_model(ModelConfig(kind="dcgan", data_shape=(nc, 64, 64), latent_dim=nz,
                                      filters=64, preset="classic", discriminator_norm="batch"))
    convs = [m for m in classic.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert weights.mean().abs() < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.02)
    bns = [m for m in classic.modules() if isinstance(m, nn.BatchNorm2d)]
    gammas = torch.cat([m.weight for m in bns])
    assert gammas.mean().item() == pytest.approx(1.0, abs=5e-3)
    assert gammas.std().item() == pytest.approx(0.02, rel=0.1)
    assert all((m.bias == 0).all() for m in bns)


def test_generator_is_a_sequential_called_main(classic):
    # the reference's state-dict keys (main.0.weight, ...) load unchanged into our generator
    ref_keys = list(reference_generator().state_dict().keys())
    assert list(classic.generator.main.state_dict().keys()) == ref_keys


@pytest.mark.parametrize("size,expected", [(28, [(7, 16), (14, 8), (28, 1)]),
                                           (32, [(4, 32), (8, 16), (16, 8), (32, 1)]),
                                           (128, [(4, 128), (8, 64), (16, 32), (32, 16),
                                                  (64, 8), (128, 1)])])
def test_classic_generalizes_by_size(size, expected):
    # (map size, channels) after each transposed conv, with ngf = 8: channels halve as the
    # map doubles, from ngf · 2^(n−1) at the 4x4 (or 7x7) base, as in the 64x64 reference
    model = build_model(ModelConfig(kind="dcgan", data_shape=(1, size, size), latent_dim=nz,
                                    filters=8, discriminator_norm="batch"))
    convs = [m for m in model.generator.main if isinstance(m, nn.ConvTranspose2d)]
    x = torch.randn(1, nz, 1, 1)
    sizes = []
    for m in model.generator.main:
        x = m(x) if not isinstance(m, nn.BatchNorm2d) else x
        if isinstance(m, nn.ConvTranspose2d):
            sizes.append((x.shape[-1], x.shape[1]))
    assert sizes == expected and len(convs) == len(expected)


def test_lesson_preset_projects_z_linearly():
    model = build_model(ModelConfig(kind="dcgan", data_shape=(1, 64, 64), latent_dim=100,
                                    filters=64, preset="lesson", discriminator_norm="batch"))
    first = model.generator.main[0]
    assert isinstance(first, nn.Linear) and first.out_features == 512 * 4 * 4
    assert isinstance(model.generator.main[1], nn.Unflatten)
    assert isinstance(model.generator.main[-1], nn.Tanh)
    ups = [m for m in model.generator.main if isinstance(m, nn.ConvTranspose2d)]
    assert [m.stride for m in ups] == [(2, 2)] * 4
    # 28 x 28: 7 -> 14 -> 28
    model = build_model(ModelConfig(kind="dcgan", data_shape=(1, 28, 28), latent_dim=8,
                                    filters=8, preset="lesson", discriminator_norm="batch"))
    assert model.generator.main[0].out_features == 64 * 7 * 7
    assert model.generator(torch.randn(2, 8)).shape == (2, 1, 28, 28)
