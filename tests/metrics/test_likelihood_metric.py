"""ELBO / IWAE / active units on a linear-Gaussian VAE whose log p(x) is known in closed form:
p(z) = N(0, I), p(x|z) = N(Wz + b, σ²I)  =>  p(x) = N(b, WWᵀ + σ²I).
With orthogonal columns of W the exact posterior is a diagonal Gaussian:
q*(z|x) = N(S Wᵀ(x − b)/σ², S),  S = diag(1 / (1 + ‖w_u‖²/σ²)).
"""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.distributions import MultivariateNormal

from genlab.errors import GenlabError
from genlab.metrics.likelihood import active_units, elbo_terms, iwae_bound

D, L, SIGMA = 4, 2, 0.5


class LinearGaussianVAE(nn.Module):
    def __init__(self, mean_shift=0.0, var_scale=1.0, num_classes=0):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        q, _ = torch.linalg.qr(torch.randn(D, D, generator=g, dtype=torch.float64))
        self.W = q[:, :L] * torch.tensor([2.0, 0.7], dtype=torch.float64)  # (D, L) orthogonal cols
        self.b = torch.randn(max(num_classes, 1), D, generator=g, dtype=torch.float64)  # per class
        self.decoder_logvar = nn.Parameter(torch.tensor(math.log(SIGMA**2), dtype=torch.float64))
        self.config = SimpleNamespace(likelihood="gaussian")
        self.mean_shift, self.var_scale = mean_shift, var_scale
        self.S = 1.0 / (1.0 + (self.W**2).sum(0) / SIGMA**2)  # (L,) exact posterior variances

    def bias(self, y, n):
        return self.b[0].expand(n, D) if y is None else self.b[y]

    def encode(self, x, y=None):
        mu = (x - self.bias(y, x.shape[0])) @ self.W * self.S / SIGMA**2 + self.mean_shift
        logvar = torch.log(self.S * self.var_scale).expand(x.shape[0], L)
        return mu, logvar

    def reparameterize(self, mu, logvar):
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z, y=None):
        return z @ self.W.T + self.bias(y, z.shape[0])

    def log_marginal(self, x, y=None):
        cov = self.W @ self.W.T + SIGMA**2 * torch.eye(D, dtype=torch.float64)
        return MultivariateNormal(self.bias(y, x.shape[0]), cov).log_prob(x)

    def closed_form_elbo(self, x, y=None):
        mu, logvar = self.encode(x, y)
        v = logvar.exp()
        resid = x - mu @ self.W.T - self.bias(y, x.shape[0])
        recon = -0.5 * D * math.log(2 * math.pi * SIGMA**2) - (
            (resid**2).sum(1) + (v * (self.W**2).sum(0)).sum(1)
        ) / (2 * SIGMA**2)
        kl = 0.5 * (v + mu**2 - 1 - logvar).sum(1)
        return recon, kl


def data(model, n=32, seed=1, y=None):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, L, generator=g, dtype=torch.float64)
    return model.decode(z, y) + SIGMA * torch.randn(n, D, generator=g, dtype=torch.float64)


def test_exact_posterior_makes_every_bound_tight():
    model = LinearGaussianVAE()
    x = data(model)
    exact = model.log_marginal(x)
    g = torch.Generator().manual_seed(0)
    # with q = p(z|x) every importance weight equals p(x): every IWAE bound equals log p(x)
    torch.testing.assert_close(iwae_bound(model, x, k=1, generator=g), exact)
    torch.testing.assert_close(iwae_bound(model, x, k=250, batch_k=64, generator=g), exact)
    # ... and the ELBO equals log p(x) in expectation (closed form exactly, Monte Carlo nearly)
    recon, kl = model.closed_form_elbo(x)
    torch.testing.assert_close(recon - kl, exact)
    elbo = elbo_terms(model, x, n_samples=2000, generator=g)["elbo"]
    assert (elbo - exact).abs().max().item() < 0.2
    assert (elbo - exact).mean().abs().item() < 0.03


def test_elbo_terms_match_closed_form():
    model = LinearGaussianVAE(mean_shift=0.3, var_scale=2.0)
    x = data(model)
    recon, kl = model.closed_form_elbo(x)
    t = elbo_terms(model, x, n_samples=4000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(t["kl"], kl)  # analytic term: exact
    assert (t["recon"] - recon).abs().max().item() < 0.25  # Monte Carlo, per example
    assert (t["recon"] - recon).mean().abs().item() < 0.03  # ... and over the batch
    torch.testing.assert_close(t["elbo"], t["recon"] - t["kl"])
    # the ELBO gap is KL(q || p(z|x)) > 0
    assert bool(((recon - kl) < model.log_marginal(x)).all())


def test_iwae_is_monotone_in_k_and_converges_to_log_px():
    model = LinearGaussianVAE(mean_shift=0.4, var_scale=3.0)  # a poor encoder: a clear gap
    x = data(model, n=400)
    exact = model.log_marginal(x).mean().item()
    recon, kl = model.closed_form_elbo(x)
    elbo = (recon - kl).mean().item()
    g = torch.Generator().manual_seed(0)
    bounds = [iwae_bound(model, x, k, batch_k=1000, generator=g).mean().item()
              for k in (1, 10, 100, 5000)]
    assert exact - elbo > 0.5  # the gap the bound has to close
    assert bounds[0] == pytest.approx(elbo, abs=0.4)  # L_1 is a one-sample ELBO (noisy)
    assert bounds == sorted(bounds)  # ELBO ≤ L_10 ≤ L_100 ≤ L_5000
    assert bounds[-1] <= exact + 0.01
    assert bounds[-1] == pytest.approx(exact, abs=0.02)


def test_conditional_labels_follow_their_examples_through_k_batches():
    model = LinearGaussianVAE(num_classes=3)
    y = torch.tensor([0, 1, 2, 2, 1, 0, 1])
    x = data(model, n=7, y=y)
    exact = model.log_marginal(x, y)
    torch.testing.assert_close(iwae_bound(model, x, k=10, y=y, batch_k=3), exact)
    recon, kl = model.closed_form_elbo(x, y)
    torch.testing.assert_close(elbo_terms(model, x, y=y)["kl"], kl)


class ConstantBernoulliVAE(nn.Module):
    """q(z|x) = N(1, e^{-1}) per unit, decoder logits l independent of z."""

    def __init__(self):
        super().__init__()
        self.config = SimpleNamespace(likelihood="bernoulli")
        self.logits = torch.tensor([[-2.0, 0.0, 3.0]])

    def encode(self, x, y=None):
        return torch.ones(x.shape[0], 2), -torch.ones(x.shape[0], 2)

    def decode(self, z, y=None):
        return self.logits.expand(z.shape[0], 3)


def test_bernoulli_reconstruction_and_kl_by_hand():
    model = ConstantBernoulliVAE()
    x = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.25]])
    t = elbo_terms(model, x)
    p = torch.sigmoid(model.logits)
    expected = (x * p.log() + (1 - x) * (1 - p).log()).sum(1)
    torch.testing.assert_close(t["recon"], expected)
    kl_one = 0.5 * (math.exp(-1) + 1 - 1 + 1)  # ½(σ² + μ² − 1 − log σ²)
    torch.testing.assert_close(t["kl"], torch.full((2,), 2 * kl_one))


class ActivityVAE(nn.Module):
    config = SimpleNamespace(likelihood="bernoulli")

    def encode(self, x, y=None):
        mu = torch.stack([x[:, 0], 0.01 * x[:, 1], torch.zeros_like(x[:, 0])], dim=1)
        return mu, torch.zeros_like(mu)


def test_active_units_counts_units_whose_mean_varies():
    x = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
    r = active_units(ActivityVAE(), x, batch_size=128)
    assert r["active"] == 1 and r["num_units"] == 3
    assert r["activity"][0].item() == pytest.approx(x[:, 0].double().var().item())
    assert r["activity"][1].item() == pytest.approx(1e-4, rel=0.2)  # below 0.01: inactive
    assert r["activity"][2].item() == 0.0


def test_bad_arguments():
    model = LinearGaussianVAE()
    x = data(model, n=2)
    with pytest.raises(GenlabError):
        iwae_bound(model, x, k=0)
    with pytest.raises(GenlabError):
        elbo_terms(model, x, n_samples=0)
    model.config = SimpleNamespace(likelihood="poisson")
    with pytest.raises(GenlabError, match="unknown likelihood"):
        elbo_terms(model, x)
