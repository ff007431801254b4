"""Every loss formula pinned against an independent reference (torch.distributions, closed
forms computed with numpy / math, scipy's Jensen-Shannon distance, a numerical optimum)."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from genlab import losses
from genlab.config import GAN_LOSSES
from genlab.errors import GenlabError


def test_kl_standard_normal_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    ref = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(1)
    out = losses.kl_standard_normal(mu, logvar)
    assert out.shape == (7,)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_bernoulli_log_likelihood_matches_log_prob():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 1, 3, 3, generator=g) * 5
    x = torch.rand(4, 1, 3, 3, generator=g).round()
    ref = Independent(Bernoulli(logits=logits), 3).log_prob(x)
    out = losses.bernoulli_log_likelihood(logits, x)
    assert out.shape == (4,)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_bernoulli_log_likelihood_accepts_grey_levels():
    # continuous x in [0, 1]: x log σ(l) + (1 − x) log(1 − σ(l)), by hand
    logits, x = torch.tensor([[0.3, -2.0]]), torch.tensor([[0.25, 0.9]])
    p = torch.sigmoid(logits)
    ref = (x * p.log() + (1 - x) * (1 - p).log()).sum(1)
    torch.testing.assert_close(losses.bernoulli_log_likelihood(logits, x), ref)


@pytest.mark.parametrize("logvar_shape", [(), (6, 2, 4)])
def test_gaussian_log_likelihood_matches_log_prob(logvar_shape):
    g = torch.Generator().manual_seed(2)
    mean, x = torch.randn(6, 2, 4, generator=g), torch.randn(6, 2, 4, generator=g)
    logvar = torch.randn(logvar_shape, generator=g)
    ref = Normal(mean, torch.exp(0.5 * logvar)).log_prob(x).sum((1, 2))
    out = losses.gaussian_log_likelihood(mean, logvar, x)
    assert out.shape == (6,)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_vae_loss_is_recon_plus_beta_kl():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(5, 10, generator=g)
    x_hat, mu, logvar = (torch.randn(5, 10, generator=g), torch.randn(5, 3, generator=g),
                         torch.randn(5, 3, generator=g))
    recon = -Independent(Bernoulli(logits=x_hat), 1).log_prob(x.round())
    x = x.round()
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(1)
    out = losses.vae_loss(x, x_hat, mu, logvar, beta=4.0)
    torch.testing.assert_close(out["recon"], recon.mean(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out["kl"], kl.mean(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out["loss"], (recon + 4.0 * kl).mean(), rtol=1e-5, atol=1e-5)
    # Gaussian decoder with a learned scalar log-variance
    dlv = torch.tensor(-1.3)
    out = losses.vae_loss(x, x_hat, mu, logvar, likelihood="gaussian", decoder_logvar=dlv)
    ref = -Normal(x_hat, torch.exp(0.5 * dlv)).log_prob(x).sum(1)
    torch.testing.assert_close(out["recon"], ref.mean(), rtol=1e-5, atol=1e-5)
    with pytest.raises(GenlabError):
        losses.vae_loss(x, x_hat, mu, logvar, likelihood="gaussian")
    with pytest.raises(GenlabError, match="unknown likelihood"):
        losses.vae_loss(x, x_hat, mu, logvar, likelihood="poisson")


def test_ae_loss():
    x, x_hat = torch.rand(3, 4).round(), torch.randn(3, 4)
    out = losses.ae_loss(x, x_hat, "bernoulli")
    ref = -Independent(Bernoulli(logits=x_hat), 1).log_prob(x).mean()
    torch.testing.assert_close(out["loss"], ref)
    out = losses.ae_loss(x, x_hat, "gaussian")
    ref = (0.5 * (x - x_hat).pow(2).sum(1) + 0.5 * 4 * math.log(2 * math.pi)).mean()
    torch.testing.assert_close(out["recon"], ref)


# ----- GAN losses: closed forms on given logits (numpy, from the papers' formulas) -----------

D_REAL = np.array([2.0, -0.5, 0.1, 4.0])
D_FAKE = np.array([-1.0, 0.3, -3.0, 1.5])


def _sig(d):
    return 1.0 / (1.0 + np.exp(-d))


CLOSED_FORM_D = {
    "minimax": -np.mean(np.log(_sig(D_REAL))) - np.mean(np.log(1 - _sig(D_FAKE))),
    "non-saturating": -np.mean(np.log(_sig(D_REAL))) - np.mean(np.log(1 - _sig(D_FAKE))),
    "hinge": np.mean(np.maximum(0, 1 - D_REAL)) + np.mean(np.maximum(0, 1 + D_FAKE)),
    "least-squares": 0.5 * np.mean((D_REAL - 1) ** 2) + 0.5 * np.mean((D_FAKE - 0) ** 2),
    "wgan-gp": np.mean(D_FAKE) - np.mean(D_REAL),
}
CLOSED_FORM_G = {
    "minimax": np.mean(np.log(1 - _sig(D_FAKE))),
    "non-saturating": -np.mean(np.log(_sig(D_FAKE))),
    "hinge": -np.mean(D_FAKE),
    "least-squares": 0.5 * np.mean((D_FAKE - 1) ** 2),
    "wgan-gp": -np.mean(D_FAKE),
}


@pytest.mark.parametrize("name", GAN_LOSSES)
def test_gan_losses_closed_form(name):
    d_real, d_fake = torch.tensor(D_REAL), torch.tensor(D_FAKE)
    assert float(losses.discriminator_loss(name, d_real, d_fake)) == pytest.approx(
        CLOSED_FORM_D[name], rel=1e-9)
    assert float(losses.generator_loss(name, d_fake)) == pytest.approx(CLOSED_FORM_G[name],
                                                                        rel=1e-9)


def test_unknown_gan_loss():
    with pytest.raises(GenlabError, match="unknown loss 'wgan': choose one of hinge"):
        losses.discriminator_loss("wgan", torch.zeros(1), torch.zeros(1))
    with pytest.raises(GenlabError, match="unknown loss"):
        losses.generator_loss("wgan", torch.zeros(1))


def test_logit_losses_are_stable_for_large_logits():
    big = torch.tensor([80.0, -80.0], requires_grad=True)
    for name in GAN_LOSSES:
        loss = losses.discriminator_loss(name, big, -big) + losses.generator_loss(name, big)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(big.grad).all()


# ----- Goodfellow et al. 2014, Prop. 1 and Thm. 1 on a 1D toy -------------------------------

def _toy_counts():
    """p_data and p_g on a 1D grid as integer counts, so an empirical batch is exact."""
    grid = np.linspace(-4, 4, 33)
    p = np.exp(-0.5 * ((grid + 1) / 0.8) ** 2) + 0.3 * np.exp(-0.5 * ((grid - 2) / 0.5) ** 2)
    q = np.exp(-0.5 * ((grid - 0.5) / 1.5) ** 2)
    n_data = np.round(400 * p / p.sum()).astype(int) + 1  # every point has mass in both
    n_g = np.round(400 * q / q.sum()).astype(int) + 1
    idx_real = torch.tensor(np.repeat(np.arange(len(grid)), n_data))
    idx_fake = torch.tensor(np.repeat(np.arange(len(grid)), n_g))
    return n_data / n_data.sum(), n_g / n_g.sum(), idx_real, idx_fake


def _optimal_free_discriminator(name, idx_real, idx_fake, size):
    """Minimize discriminator_loss over a free logit per grid point."""
    logits = torch.zeros(size, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([logits], lr=1, max_iter=500, tolerance_grad=1e-12,
                            tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = losses.discriminator_loss(name, logits[idx_real], logits[idx_fake])
        loss.backward()
        return loss

    opt.step(closure)
    return logits.detach()


@pytest.mark.parametrize("name", ["minimax", "non-saturating"])
def test_optimal_discriminator_and_jensen_shannon(name):
    p_data, p_g, idx_real, idx_fake = _toy_counts()
    logits = _optimal_free_discriminator(name, idx_real, idx_fake, len(p_data))
    # Prop. 1: D*(x) = p_data(x) / (p_data(x) + p_g(x))
    d_star = p_data / (p_data + p_g)
    np.testing.assert_allclose(torch.sigmoid(logits).numpy(), d_star, atol=1e-5)
    # Thm. 1: C(G) = max_D V(D, G) = −log 4 + 2 · JSD(p_data ‖ p_g)
    value = -float(losses.discriminator_loss(name, logits[idx_real], logits[idx_fake]))
    jsd = jensenshannon(p_data, p_g) ** 2  # scipy returns the distance √JSD (natural log)
    assert value == pytest.approx(-math.log(4) + 2 * jsd, abs=1e-8)
    # the minimax generator term alone: E_{p_g}[log(1 − D*(x))]
    g_value = float(losses.generator_loss("minimax", logits[idx_fake]))
    assert g_value == pytest.approx(float(np.sum(p_g * np.log(1 - d_star))), abs=1e-8)


def test_least_squares_optimal_discriminator():
    # Mao et al. 2017, Eq. 4: D* = (b p_data + a p_g) / (p_data + p_g), a = 0, b = 1
    p_data, p_g, idx_real, idx_fake = _toy_counts()
    d = _optimal_free_discriminator("least-squares", idx_real, idx_fake, len(p_data))
    np.testing.assert_allclose(d.numpy(), p_data / (p_data + p_g), atol=1e-5)


def test_hinge_optimal_discriminator_is_clipped_sign():
    # hinge D loss per point: p·max(0, 1 − d) + q·max(0, 1 + d), minimized by d = +1 where
    # p > q and d = −1 where p < q: no single-point change of that D lowers the loss
    p_data, p_g, idx_real, idx_fake = _toy_counts()
    d_star = torch.tensor(np.sign(p_data - p_g), dtype=torch.float64)
    best = float(losses.discriminator_loss("hinge", d_star[idx_real], d_star[idx_fake]))
    for i in range(len(p_data)):
        for c in np.linspace(-3, 3, 61):
            d = d_star.clone()
            d[i] = c
            value = float(losses.discriminator_loss("hinge", d[idx_real], d[idx_fake]))
            assert value >= best - 1e-12
