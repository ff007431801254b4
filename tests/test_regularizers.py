"""Regularizers pinned against hand-written references: WGAN-GP on critics with known
gradients, spectral norm vs torch.linalg, minibatch discrimination by hand, packing, EMA."""

import pytest
import torch
from torch import nn

from genlab import regularizers
from genlab.errors import GenlabError


class LinearCritic(nn.Module):
    """D(x) = w · flatten(x): ∇D = w everywhere, so the penalty is exactly (‖w‖ − 1)²."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x, y=None):
        return x.flatten(1) @ self.w


def test_gradient_penalty_linear_critic_is_exact():
    w = torch.tensor([3.0, 4.0, 0.0, 12.0])  # ‖w‖ = 13
    critic = LinearCritic(w.clone())
    x_real, x_fake = torch.randn(16, 4), torch.randn(16, 4)
    gp = regularizers.gradient_penalty(critic, x_real, x_fake)
    assert gp.shape == ()
    assert gp.item() == pytest.approx((13.0 - 1.0) ** 2)
    gp.backward()  # create_graph=True: the penalty trains the critic, ∂/∂w = 2(‖w‖−1) w/‖w‖
    torch.testing.assert_close(critic.w.grad, 2 * (13.0 - 1.0) * w / 13.0)


class QuadraticCritic(nn.Module):
    """D(x) = ½ Σ a ⊙ pack(x)²: ∇D = a ⊙ pack(x), one value per packed group."""

    def __init__(self, a, pack=1):
        super().__init__()
        self.a, self.pack = a, pack

    def forward(self, x, y=None):
        h = regularizers.pack(x, self.pack).flatten(1)
        return 0.5 * (self.a * h * h).sum(1)


def test_gradient_penalty_draws_eps_uniform_per_sample():
    # x̃ = 0 and ‖x‖ = 1: x̂ = ε x, ‖∇D(x̂)‖ = ε, penalty = mean (ε − 1)², E = ∫(ε−1)² dε = 1/3
    x_real = torch.nn.functional.normalize(torch.randn(20000, 3), dim=1)
    critic = QuadraticCritic(torch.ones(3))
    gp = regularizers.gradient_penalty(critic, x_real, torch.zeros_like(x_real))
    assert gp.item() == pytest.approx(1 / 3, abs=0.01)
    # the same with a seeded generator, against the ε the reference draws from it
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    x_real = torch.randn(64, 3)
    gp = regularizers.gradient_penalty(critic, x_real, torch.zeros_like(x_real), generator=g1)
    eps = torch.rand(64, 1, generator=g2)
    ref = ((eps * x_real).norm(dim=1) - 1).pow(2).mean()
    torch.testing.assert_close(gp.detach(), ref)


def test_gradient_penalty_matches_autograd_reference_on_mlp_critic():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1), nn.Flatten(0))
    x = torch.randn(6, 3)  # x = x̃, so x̂ = x whatever ε is
    gp = regularizers.gradient_penalty(lambda v, y=None: critic(v), x, x.clone())
    ref = []
    for i in range(6):
        jac = torch.autograd.functional.jacobian(lambda v: critic(v[None]).sum(), x[i])
        ref.append((jac.norm() - 1) ** 2)
    torch.testing.assert_close(gp.detach(), torch.stack(ref).mean())
    gp.backward()  # second-order gradients reach the critic's weights (not the output bias)
    assert all(critic[i].weight.grad.abs().sum() > 0 for i in (0, 2))


@pytest.mark.parametrize("pack", [2, 4])
def test_gradient_penalty_with_packing_norms_each_group(pack):
    a = torch.rand(pack * 3) + 0.5
    critic = QuadraticCritic(a, pack)
    x = torch.randn(8, 3)
    gp = regularizers.gradient_penalty(critic, x, x.clone(), pack=pack)
    grads = a * x.reshape(8 // pack, pack * 3)  # one gradient per packed group
    ref = (grads.norm(dim=1) - 1).pow(2).mean()
    torch.testing.assert_close(gp.detach(), ref)
    # a linear critic on packed input: exactly (‖w‖ − 1)²
    w = torch.randn(pack * 3)
    linear = lambda v, y=None: regularizers.pack(v, pack) @ w  # noqa: E731
    gp = regularizers.gradient_penalty(linear, torch.randn(8, 3), torch.randn(8, 3), pack=pack)
    assert gp.item() == pytest.approx(float((w.norm() - 1) ** 2), rel=1e-5)


def test_gradient_penalty_draws_one_eps_per_packed_group():
    # x̃ = 0: the gradient of group g is ε_g · a ⊙ pack(x)_g, with ε_g shared by its members
    critic = QuadraticCritic(torch.ones(6), pack=2)
    x_real = torch.randn(8, 3)
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    gp = regularizers.gradient_penalty(critic, x_real, torch.zeros_like(x_real), pack=2,
                                       generator=g1)
    eps = torch.rand(4, 1, generator=g2)
    ref = ((eps * x_real.reshape(4, 6)).norm(dim=1) - 1).pow(2).mean()
    torch.testing.assert_close(gp.detach(), ref)


def test_gradient_penalty_on_real_discriminators():
    from genlab.config import ModelConfig
    from genlab.models import build_model
    for cfg in [ModelConfig(kind="dcgan", data_shape=(1, 28, 28), filters=4, latent_dim=4,
                            discriminator_norm="layer", pack=2),
                ModelConfig(kind="gan", data_shape=(2,), hidden_dim=8, depth=2, latent_dim=2,
                            num_classes=3, discriminator_norm="layer")]:
        d = build_model(cfg).discriminator
        x = torch.randn(4, *cfg.data_shape)
        y = torch.tensor([0, 1, 2, 0]) if cfg.num_classes else None
        gp = regularizers.gradient_penalty(d, x, torch.randn_like(x), y=y, pack=cfg.pack)
        gp.backward()
        assert torch.isfinite(gp) and any(p.grad is not None for p in d.parameters())


def test_gradient_penalty_rejects_mismatched_batches():
    with pytest.raises(GenlabError):
        regularizers.gradient_penalty(LinearCritic(torch.ones(2)), torch.ones(4, 2), torch.ones(3, 2))
    with pytest.raises(GenlabError):
        regularizers.gradient_penalty(LinearCritic(torch.ones(2)), torch.ones(3, 2),
                                      torch.ones(3, 2), pack=2)


def test_pack_groups_consecutive_samples():
    x = torch.arange(8 * 3.0).reshape(8, 3)
    packed = regularizers.pack(x, 2)
    assert packed.shape == (4, 6)
    torch.testing.assert_close(packed[1], torch.cat([x[2], x[3]]))
    img = torch.randn(6, 2, 4, 4)
    packed = regularizers.pack(img, 3)
    assert packed.shape == (2, 6, 4, 4)
    torch.testing.assert_close(packed[1, 2:4], img[4])  # group 1, member 1 -> channels 2..3
    assert regularizers.pack(img, 1) is img
    with pytest.raises(GenlabError):
        regularizers.pack(img, 4)


@pytest.mark.parametrize("kind,shape", [("gan", (2,)), ("dcgan", (3, 32, 32))])
def test_spectral_norm_matches_largest_singular_value(kind, shape):
    from genlab.config import ModelConfig
    from genlab.models import build_model
    model = build_model(ModelConfig(kind=kind, data_shape=shape, latent_dim=4, hidden_dim=32,
                                    depth=3, filters=8, spectral_norm=True,
                                    discriminator_norm="batch"))
    layers = [m for m in model.discriminator.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert layers and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(torch.nn.utils.parametrize.is_parametrized(m)
                   for m in model.generator.modules())
    model.train()
    for layer in layers:
        for _ in range(200):  # each training-mode access runs one power iteration
            _ = layer.weight
        w = layer.parametrizations.weight.original
        w_mat = w.reshape(w.shape[0], -1)  # (out, in · kh · kw)
        sigma = torch.linalg.matrix_norm(w_mat, ord=2)
        sn = layer.parametrizations.weight[0]
        sigma_hat = torch.vdot(sn._u, w_mat.mv(sn._v))  # uᵀ W v
        assert sigma_hat.item() == pytest.approx(sigma.item(), rel=1e-3)
        w_sn = layer.weight.reshape(w.shape[0], -1)
        torch.testing.assert_close(w_sn, w_mat / sigma_hat)  # W_SN = W / σ(W)
        assert torch.linalg.matrix_norm(w_sn, ord=2).item() == pytest.approx(1.0, rel=1e-3)


def test_minibatch_discrimination_by_hand():
    mbd = regularizers.MinibatchDiscrimination(2, num_kernels=1, kernel_dim=2)
    with torch.no_grad():
        mbd.T.copy_(torch.eye(2))  # M_i = x_i
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    # L1 distances: d01 = 1, d02 = 2, d12 = 3; o_i = Σ_{j≠i} exp(−d_ij)
    e = torch.exp
    o = torch.stack([e(torch.tensor(-1.)) + e(torch.tensor(-2.)),
                     e(torch.tensor(-1.)) + e(torch.tensor(-3.)),
                     e(torch.tensor(-2.)) + e(torch.tensor(-3.))])
    torch.testing.assert_close(mbd(x), torch.cat([x, o[:, None]], 1))
    # two kernels of dimension 1 see the two coordinates separately
    mbd2 = regularizers.MinibatchDiscrimination(2, num_kernels=2, kernel_dim=1)
    with torch.no_grad():
        mbd2.T.copy_(torch.eye(2))
    o0 = torch.tensor([1 + e(torch.tensor(-1.)), 2 * e(torch.tensor(-1.)), 1 + e(torch.tensor(-1.))])
    o1 = torch.tensor([1 + e(torch.tensor(-2.)), 1 + e(torch.tensor(-2.)), 2 * e(torch.tensor(-2.))])
    torch.testing.assert_close(mbd2(x)[:, 2:], torch.stack([o0, o1], 1))


def test_minibatch_discrimination_sees_the_other_samples():
    torch.manual_seed(0)
    mbd = regularizers.MinibatchDiscrimination(4, num_kernels=3, kernel_dim=2)
    x = torch.randn(5, 4)
    out = mbd(x)
    assert out.shape == (5, 7)
    x2 = x.clone()
    x2[4] += 1.0  # change another batch member
    assert not torch.allclose(mbd(x2)[0, 4:], out[0, 4:])
    torch.testing.assert_close(mbd(x2)[0, :4], x[0])  # the features pass through
    single = mbd(x[:1])
    torch.testing.assert_close(single[0, 4:], torch.zeros(3))  # alone: no other samples
    out.sum().backward()
    assert mbd.T.grad.abs().sum() > 0


def test_minibatch_discrimination_matches_the_direct_formula_and_its_gradient():
    """The batched-cdist forward equals Salimans et al.'s formula written out directly
    (the (N, N, B, C) difference tensor), values and gradients, in float64."""
    torch.manual_seed(1)
    mbd = regularizers.MinibatchDiscrimination(6, num_kernels=4, kernel_dim=3).double()
    f = torch.randn(9, 6, dtype=torch.float64, requires_grad=True)

    def direct(f):
        m = (f @ mbd.T).reshape(-1, 4, 3)  # (N, B, C)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)  # (N, N, B)
        o = torch.exp(-l1).sum(1) - 1.0  # (N, B)
        return torch.cat([f, o], 1)

    fast, slow = mbd(f), direct(f)
    torch.testing.assert_close(fast, slow)
    w = torch.randn_like(fast)  # a generic upstream gradient
    g_fast = torch.autograd.grad((fast * w).sum(), [f, mbd.T])
    g_slow = torch.autograd.grad((slow * w).sum(), [f, mbd.T])
    for a, b in zip(g_fast, g_slow):
        torch.testing.assert_close(a, b)


def test_the_gradient_penalty_differentiates_through_minibatch_discrimination():
    """WGAN-GP + minibatch discrimination: the penalty's backward needs D's second derivative,
    which cdist has none of; inside the penalty the layer's L1 distances are computed so that
    it exists, and the penalty's gradient equals the one through the direct formula."""
    torch.manual_seed(2)
    critic = nn.Sequential(nn.Linear(2, 6), regularizers.MinibatchDiscrimination(6, 4, 3),
                           nn.Linear(10, 1), nn.Flatten(0)).double()
    x_real, x_fake = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    penalty = regularizers.gradient_penalty(critic, x_real, x_fake, generator=gen)
    # raised "derivative for '_cdist_backward' is not implemented" before the fix (the last
    # bias has no part in ∇_x D)
    grads = torch.autograd.grad(penalty, list(critic.parameters()), allow_unused=True)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)
    assert grads[2] is not None and grads[2].abs().sum() > 0  # T, the layer's tensor
    with regularizers._twice_differentiable():  # the same penalty, every distance by hand
        again = regularizers.gradient_penalty(critic, x_real, x_fake,
                                              generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(penalty, again)


def test_minibatch_stddev_by_hand():
    layer = regularizers.MinibatchStdDev(eps=0.0)
    x = torch.tensor([[[[1.0, 5.0]]], [[[3.0, 1.0]]]])  # (N=2, C=1, H=1, W=2)
    # population std per position: |1−3|/2 = 1, |5−1|/2 = 2; averaged: 1.5
    out = layer(x)
    assert out.shape == (2, 2, 1, 2)
    torch.testing.assert_close(out[:, 1], torch.full((2, 1, 2), 1.5))
    torch.testing.assert_close(out[:, :1], x)
    flat = layer(torch.tensor([[0.0, 0.0], [2.0, 4.0]]))  # stds 1 and 2 -> 1.5
    torch.testing.assert_close(flat[:, 2], torch.tensor([1.5, 1.5]))


def test_ema_follows_the_recurrence():
    gen = nn.Linear(2, 2)
    ema = regularizers.make_ema(gen, decay=0.9)
    ema.update_parameters(gen)  # the first update copies
    w0 = gen.weight.detach().clone()
    with torch.no_grad():
        gen.weight.add_(1.0)
    ema.update_parameters(gen)
    torch.testing.assert_close(ema.module.weight, 0.9 * w0 + 0.1 * (w0 + 1.0))
    z = torch.randn(3, 2)
    torch.testing.assert_close(ema(z), ema.module(z))
    with pytest.raises(GenlabError):
        regularizers.make_ema(gen, 1.0)


def _updated(gen: nn.Module, k: int) -> None:
    with torch.no_grad():  # a stand-in for an optimizer step, and new batch-norm statistics
        for i, p in enumerate(gen.parameters()):
            p.mul_(0.9).add_(0.01 * (k + i))
        gen(torch.randn(8, 2, generator=torch.Generator().manual_seed(k)))


def test_ema_is_bit_identical_to_torch_averaged_model():
    """GeneratorEMA skips AveragedModel's per-step regrouping: the same weights, the same
    state_dict, across a load_state_dict (a resume) and a module.to() that swaps .data."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    torch.manual_seed(0)
    gen = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    ours = regularizers.make_ema(gen, 0.97)
    ref = AveragedModel(gen, multi_avg_fn=get_ema_multi_avg_fn(0.97), use_buffers=False)
    for k in range(5):
        _updated(gen, k)
        ours.update_parameters(gen)
        ref.update_parameters(gen)
    saved = {k: v.clone() for k, v in ours.state_dict().items()}
    assert saved.keys() == ref.state_dict().keys()
    resumed = regularizers.make_ema(gen, 0.97)
    resumed.load_state_dict(saved)  # n_averaged 5: the next update averages, it does not copy
    gen.to(torch.float64).to(torch.float32)  # new .data behind the same Parameter objects
    for k in range(5, 8):
        _updated(gen, k)
        for ema in (ours, resumed, ref):
            ema.update_parameters(gen)
    for name, value in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[name], value), name
        assert torch.equal(resumed.state_dict()[name], value), name
    assert int(ours.n_averaged) == 8
    assert not torch.equal(ref.module[0].weight, gen[0].weight)  # it averaged, not copied
