"""The metrics against the rest of genlab: the data's own mode tables, the training losses
(cross-checked against the torch.distributions terms of metrics.likelihood) and real VAEs."""

import pytest
import torch

from genlab.metrics.likelihood import active_units, elbo_terms, iwae_bound, log_likelihood
from genlab.metrics.toy2d import mode_coverage, mode_protocol


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_data_modes_match_the_protocol_and_are_fully_covered(name):
    data = pytest.importorskip("genlab.data")
    ds = data.load_dataset(name, "test", n_test=2500)
    p = mode_protocol(name)
    torch.testing.assert_close(ds.modes, p.modes)
    assert ds.mode_std == p.std
    r = mode_coverage(ds.x[:2500], ds.modes, ds.mode_std)
    assert r.modes_covered == len(p.modes) and r.high_quality_fraction > 0.97


def tiny_vae(likelihood, data_shape=(6,), latent_dim=3):
    config = pytest.importorskip("genlab.config")
    models = pytest.importorskip("genlab.models")
    torch.manual_seed(0)
    cfg = config.ModelConfig(kind="vae", data_shape=data_shape, latent_dim=latent_dim,
                             likelihood=likelihood, hidden_dim=16, depth=1, architecture="mlp")
    model = models.build_model(cfg).eval()
    if likelihood == "gaussian":
        with torch.no_grad():
            model.decoder_logvar.fill_(-1.3)
    return model


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_likelihood_terms_agree_with_genlab_losses(likelihood):
    losses = pytest.importorskip("genlab.losses")
    model = tiny_vae(likelihood)
    x = torch.rand(8, 6)
    if likelihood == "bernoulli":
        x = (x > 0.5).float()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        x_hat = model.decode(mu)
        expected = losses.reconstruction_log_likelihood(x, x_hat, likelihood, model.decoder_logvar)
        torch.testing.assert_close(log_likelihood(model, x_hat, x), expected)
        terms = elbo_terms(model, x)
        torch.testing.assert_close(terms["kl"], losses.kl_standard_normal(mu, logvar))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_bounds_on_a_real_vae(likelihood):
    model = tiny_vae(likelihood)
    x = (torch.rand(16, 6) > 0.5).float()
    g = torch.Generator().manual_seed(0)
    elbo = elbo_terms(model, x, n_samples=200, generator=g)["elbo"].mean()
    l_50 = iwae_bound(model, x, k=50, batch_k=16, generator=g).mean()
    l_500 = iwae_bound(model, x, k=500, batch_k=128, generator=g).mean()
    assert elbo - 0.05 <= l_50 <= l_500 + 0.05
    r = active_units(model, x)
    assert r["num_units"] == 3 and r["activity"].shape == (3,)


def test_package_exports_resolve_and_toy2d_stays_light():
    import subprocess
    import sys

    import genlab.metrics as metrics

    assert all(callable(getattr(metrics, name)) for name in metrics.__all__)
    code = "import sys, genlab.metrics.toy2d; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_factor_vae_on_rendered_shapes_with_a_position_and_size_code():
    """A code of (centroid x, centroid y, sqrt area) of each sprite captures 3 of the 5 shape
    factors (posX, posY, scale): the FactorVAE score sits near 3/5, far above chance (1/5)."""
    shapes = pytest.importorskip("genlab.data.shapes")
    import numpy as np

    from genlab.metrics.disentanglement import factor_vae_score

    def represent(images):
        x = images.float().squeeze(1) / 255  # (B, 64, 64)
        area = x.sum((1, 2)).clamp(min=1)
        ii = torch.arange(64.0)
        cy = (x.sum(2) * ii).sum(1) / area
        cx = (x.sum(1) * ii).sum(1) / area
        return torch.stack([cx / 8, cy / 8, area.sqrt() / 8], 1)  # (B, 3)

    r = factor_vae_score(represent, shapes.render_shapes, shapes.FACTOR_SIZES,
                         np.random.default_rng(0), num_train=100, num_eval=100,
                         num_variance_estimate=1000)
    assert r["num_active_dims"] == 3
    assert 0.4 <= r["eval_accuracy"] <= 0.75
