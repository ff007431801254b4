"""VAE: reparameterization z = μ + σ ⊙ ε (Kingma & Welling 2014, Sec. 2.4) and the analytic-KL
ELBO estimator (Eq. 10) against a Monte-Carlo ELBO computed with torch.distributions."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal

from genlab import losses
from genlab.config import ModelConfig
from genlab.models import build_model


def _vae(**kw):
    torch.manual_seed(0)
    cfg = dict(kind="vae", data_shape=(6,), architecture="mlp", latent_dim=2, hidden_dim=16,
               depth=1)
    cfg.update(kw)
    return build_model(ModelConfig(**cfg))


def test_reparameterization_moments_and_gradients():
    model = _vae()
    n = 200_000
    mu = torch.tensor([1.0, -2.0], requires_grad=True)
    logvar = torch.tensor([0.5, -1.0], requires_grad=True)
    g = torch.Generator().manual_seed(1)
    z = model.reparameterize(mu.expand(n, 2), logvar.expand(n, 2), generator=g)
    assert z.shape == (n, 2)
    torch.testing.assert_close(z.mean(0), mu.detach(), atol=0.01, rtol=0)
    torch.testing.assert_close(z.var(0), logvar.detach().exp(), atol=0.02, rtol=0.01)
    z.sum().backward()
    # ∂z/∂μ = 1;  ∂z/∂logvar = ½ σ ε = ½ (z − μ)
    torch.testing.assert_close(mu.grad, torch.full((2,), float(n)))
    torch.testing.assert_close(logvar.grad, 0.5 * (z.detach() - mu.detach()).sum(0),
                               rtol=1e-4, atol=1e-2)


def test_forward_samples_through_the_reparameterization():
    model = _vae()
    x = torch.rand(4, 6).round()
    out = model(x)
    mu, logvar = model.encode(x)
    torch.testing.assert_close(out.mu, mu)
    torch.testing.assert_close(model.decode(out.z), out.x_hat)
    out.x_hat.sum().backward()
    assert all(p.grad is not None for p in model.encoder.parameters())


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_analytic_elbo_matches_monte_carlo(likelihood):
    model = _vae(likelihood=likelihood)
    if likelihood == "gaussian":
        with torch.no_grad():
            model.decoder_logvar.fill_(-0.7)
    x = torch.tensor([[1.0, 0, 1, 1, 0, 0], [0, 0, 1, 0, 1, 1], [1, 1, 1, 0, 0, 1]])
    s = 20_000
    with torch.no_grad():
        mu, logvar = model.encode(x)  # (3, 2)
        # Monte Carlo with torch.distributions: E_q[log p(x|z) + log p(z) − log q(z|x)]
        torch.manual_seed(2)
        q = Normal(mu, torch.exp(0.5 * logvar))
        z = q.sample((s,))  # (S, 3, 2)
        params = model.decode(z.reshape(-1, 2)).reshape(s, 3, 6)
        if likelihood == "bernoulli":
            log_px = Independent(Bernoulli(logits=params), 1).log_prob(x)
        else:
            log_px = Independent(Normal(params, math.exp(0.5 * -0.7)), 1).log_prob(x)
        log_pz = Normal(0.0, 1.0).log_prob(z).sum(-1)
        log_qz = q.log_prob(z).sum(-1)
        terms = log_px + log_pz - log_qz  # (S, 3)
        elbo_mc = terms.mean()
        se = terms.std() / math.sqrt(terms.numel())
        # the estimator of Eq. 10 via vae_loss, with fresh reparameterized samples
        torch.manual_seed(3)
        mu_rep, logvar_rep = mu.repeat(s, 1), logvar.repeat(s, 1)
        z_rep = model.reparameterize(mu_rep, logvar_rep)
        out = losses.vae_loss(x.repeat(s, 1), model.decode(z_rep), mu_rep, logvar_rep,
                              likelihood=likelihood, decoder_logvar=model.decoder_logvar)
    assert abs(-out["loss"].item() - elbo_mc.item()) < 5 * se.item() + 1e-3
    assert -out["loss"].item() < 0


def test_vae_mean_and_sampling():
    model = _vae()
    logits = torch.tensor([[0.0, 2.0]])
    torch.testing.assert_close(model.mean(logits), torch.sigmoid(logits))
    assert model.sample_latent(5).shape == (5, 2)
    model = _vae(likelihood="gaussian")
    torch.testing.assert_close(model.mean(logits), logits)
    assert "decoder_logvar" in dict(model.named_parameters())


def test_training_reparameterizes_with_the_models_own_function(monkeypatch):
    """The trainer's vae_step computes z with VAE.reparameterize (the function the lesson
    names), on the ε it drew from the run's noise stream."""
    from genlab.config import TrainConfig, resolve
    from genlab.data import load_dataset, normalizer_for
    from genlab.models import VAE
    from genlab.training.state import build_state
    from genlab.training.steps import vae_step

    ds = load_dataset("moons", "train", n_train=64, n_test=8)
    cfg = resolve(TrainConfig(model=ModelConfig(kind="vae", latent_dim=2, hidden_dim=8, depth=1),
                              steps=1, batch_size=16, precision="fp32"), ds.kind, ds.example_shape)
    state = build_state(cfg, ds, torch.device("cpu"))
    x = normalizer_for(ds, "standard").encode(ds.x[:16])
    calls = []
    original = VAE.reparameterize

    def spy(self, mu, logvar, generator=None, eps=None):
        calls.append(eps)
        return original(self, mu, logvar, generator=generator, eps=eps)

    monkeypatch.setattr(VAE, "reparameterize", spy)
    vae_step(state, lambda: (x, None))
    assert len(calls) == 1 and calls[0] is not None and calls[0].shape == (16, 2)
