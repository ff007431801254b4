"""sample / interpolate / reconstruct / anomaly_scores on loaded runs."""

from __future__ import annotations

import math

import pytest
import torch

import genlab
from genlab import train
from genlab.config import DataConfig, ModelConfig, TrainConfig
from genlab.errors import GenlabError
from genlab.operations import slerp


def _train(tmp_path_factory, name, kind, data, **kw):
    model_kw = {k: kw.pop(k) for k in list(kw) if k in ModelConfig.__dataclass_fields__}
    cfg = TrainConfig(model=ModelConfig(kind=kind, **model_kw), data=DataConfig(data), **kw)
    out = tmp_path_factory.mktemp(name)
    torch.set_num_threads(1)
    for _ in train(cfg, out, force=True):
        pass
    return out


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    return _train(tmp_path_factory, "vae", "vae", "digits", steps=60, batch_size=32,
                  hidden_dim=64, latent_dim=4)


@pytest.fixture(scope="module")
def cvae_run(tmp_path_factory):
    return _train(tmp_path_factory, "cvae", "vae", "digits", steps=20, batch_size=32,
                  hidden_dim=32, conditional=True)


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    return _train(tmp_path_factory, "gan", "gan", "ring8", steps=20, batch_size=32,
                  hidden_dim=32, ema_decay=0.9)


def test_load_run_gives_an_eval_model_with_its_normalizer(vae_run):
    run = genlab.load_run(vae_run)
    assert run.kind == "vae" and run.step == 60 and not run.model.training
    assert run.normalizer.target == "unit" and run.latent_dim == 4
    assert run.config.data.name == "digits" and str(run.device) == "cpu"


def test_gan_run_uses_ema_weights(gan_run):
    from genlab.training.checkpoints import load

    run, raw = genlab.load_run(gan_run), genlab.load_run(gan_run, use_ema=False)
    assert run.ema and not raw.ema
    _, tensors = load(gan_run)
    w = "generator.net.0.weight"
    assert torch.equal(run.model.state_dict()[w], tensors["ema/module.net.0.weight"])
    assert torch.equal(raw.model.state_dict()[w], tensors["model/" + w])
    with pytest.raises(GenlabError, match="holds a gan run, not a vae"):
        genlab.load_run(gan_run, kind="vae")


def test_sample_returns_data_space(vae_run, gan_run):
    x = genlab.sample(genlab.load_run(vae_run), 10, seed=1)
    assert x.shape == (10, 1, 8, 8) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert torch.equal(x, genlab.sample(genlab.load_run(vae_run), 10, seed=1))  # seeded
    pts = genlab.sample(genlab.load_run(gan_run), 50)
    assert pts.shape == (50, 2) and pts.dtype == torch.float32


def test_conditional_sampling_by_class(cvae_run, vae_run):
    run = genlab.load_run(cvae_run)
    assert run.num_classes == 10
    assert genlab.sample(run, 6, y=3).shape == (6, 1, 8, 8)
    with pytest.raises(GenlabError, match="class must be in"):
        genlab.sample(run, 2, y=11)
    with pytest.raises(GenlabError, match="not conditional"):
        genlab.sample(genlab.load_run(vae_run), 2, y=1)


def test_slerp_matches_its_formula_and_endpoints():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    t = torch.tensor([0.0, 0.5, 1.0])
    out = slerp(z0, z1, t)
    assert torch.allclose(out[0], z0) and torch.allclose(out[2], z1)
    # Ω = π/2: slerp(0.5) = sin(π/4)/1 · (z0 + z1)
    assert torch.allclose(out[1], math.sin(math.pi / 4) * (z0 + z1))


def test_interpolate_linear_and_slerp_from_latents_and_examples(vae_run):
    run = genlab.load_run(vae_run)
    a, b = torch.zeros(4), torch.ones(4)
    lin = genlab.interpolate(run, 5, "linear", start=a, end=b)
    assert lin.shape == (5, 1, 8, 8)
    ends = genlab.operations.decode_latent(run.model, None, torch.stack([a, b]), None,
                                           run.normalizer)
    assert torch.allclose(lin[0], ends[0]) and torch.allclose(lin[-1], ends[1])
    ds = genlab.load_dataset("digits", split="test")
    strip = genlab.interpolate(run, 4, "slerp", start=ds.x[0], end=ds.x[1])
    assert strip.shape == (4, 1, 8, 8)
    with pytest.raises(GenlabError, match="unknown interpolation"):
        genlab.interpolate(run, 4, "cubic")


def test_reconstruct_and_encode(vae_run, gan_run):
    run = genlab.load_run(vae_run)
    ds = genlab.load_dataset("digits", split="test")
    x_hat = genlab.reconstruct(run, ds.x[:7])
    assert x_hat.shape == (7, 1, 8, 8)
    with pytest.raises(GenlabError, match="examples must have shape"):
        genlab.reconstruct(run, torch.zeros(3, 2))
    with pytest.raises(GenlabError, match="has no encoder"):
        genlab.reconstruct(genlab.load_run(gan_run), torch.zeros(3, 2))


def test_anomaly_scores_elbo_iwae_and_ae(vae_run, gan_run, tmp_path_factory):
    run = genlab.load_run(vae_run)
    ds = genlab.load_dataset("digits", split="test").subset(torch.arange(40))
    elbo = genlab.anomaly_scores(run, ds, method="elbo", k=20)
    iwae = genlab.anomaly_scores(run, ds, method="iwae", k=20)
    assert elbo.shape == iwae.shape == (40,)
    # −IWAE_k ≤ −ELBO on average (Burda et al. 2016, Theorem 1: the bound tightens with k)
    assert float(iwae.mean()) <= float(elbo.mean()) + 1e-3
    noise = torch.randint(0, 256, (10, 1, 8, 8), dtype=torch.uint8)
    assert float(genlab.anomaly_scores(run, noise).mean()) > float(elbo.mean())
    ae = _train(tmp_path_factory, "ae", "ae", "digits", steps=10, batch_size=32, hidden_dim=16)
    assert genlab.anomaly_scores(genlab.load_run(ae), ds).shape == (40,)
    with pytest.raises(GenlabError, match="no likelihood"):
        genlab.anomaly_scores(genlab.load_run(gan_run), torch.zeros(3, 2))


def _colour_count(path, colour):
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(path).convert("RGB"))  # (H, W, 3)
    return int((pixels == np.array(colour)).all(-1).sum())


def test_2d_sample_png_draws_the_real_data_behind_the_samples(gan_run, tmp_path, cli):
    from genlab.operations import reference_points
    from genlab.scatterplot import FAKE, MODE, REAL, save_scatter

    real, modes = reference_points(genlab.load_run(gan_run))
    assert real.shape == (2500, 2) and modes.shape == (8, 2)  # ring8's training points
    assert torch.equal(real, reference_points(genlab.load_run(gan_run))[0])  # seeded
    fake = torch.randn(200, 2)
    save_scatter(tmp_path / "alone.png", real=None, fake=fake)
    assert _colour_count(tmp_path / "alone.png", REAL) == 0  # no "real" in the legend either
    assert _colour_count(tmp_path / "alone.png", FAKE) > 0
    cli("sample", gan_run, "--n", "200", "--out", tmp_path / "s.png", check=True)
    assert _colour_count(tmp_path / "s.png", REAL) > 300  # 2,500 real points (ring8: tight)
    assert _colour_count(tmp_path / "s.png", FAKE) > 0 and _colour_count(tmp_path / "s.png", MODE) > 0
