"""The Python API (issue 10, section 5): examples are read by dtype (uint8 raw pixels, float
images in [0, 1] as `sample` returns them), and `genlab.train` stays the function whatever is
imported."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from cli_helpers import cli_env

from genlab.data import Normalizer
from genlab.errors import GenlabError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def image_vae(tmp_path_factory):
    """A small MLP VAE on the 8x8 digits, trained enough to reconstruct what it is shown."""
    import genlab

    out = tmp_path_factory.mktemp("api") / "vae"
    cfg = genlab.TrainConfig(model=genlab.ModelConfig(kind="vae", architecture="mlp",
                                                      hidden_dim=64, depth=1, latent_dim=8),
                             data=genlab.DataConfig("digits"), steps=150, batch_size=64,
                             lr=3e-3, log_every=50)
    for _ in genlab.train(cfg, out):
        pass
    return genlab.load_run(out)


def test_reconstruct_of_samples_reads_them_as_images_not_raw_pixels(image_vae):
    import genlab

    x = genlab.sample(image_vae, 8)  # float32 in [0, 1]
    as_uint8 = (x * 255).round().to(torch.uint8)
    from_float = genlab.reconstruct(image_vae, x)
    from_uint8 = genlab.reconstruct(image_vae, as_uint8)
    assert from_float.dtype == torch.float32
    assert (from_float - from_uint8).abs().max() < 0.02  # the same images, up to rounding
    # not near-black: as bright as the reconstruction of the same images given as pixels
    assert float(from_float.mean()) > 0.5 * float(from_uint8.mean()) > 0.02
    assert torch.allclose(genlab.encode(image_vae, x), genlab.encode(image_vae, as_uint8),
                          atol=1e-2)


def test_reconstruct_of_a_uint8_batch_is_unchanged(image_vae):
    import genlab
    from genlab.data import load_dataset

    ds = load_dataset("digits", split="test")
    x = ds.x[:16]
    norm = image_vae.normalizer
    assert torch.equal(norm.encode_examples(x), norm.encode(x))
    x_hat = genlab.reconstruct(image_vae, x)
    x_hat_float = genlab.reconstruct(image_vae, x.float() / 255)
    assert torch.allclose(x_hat, x_hat_float, atol=1e-4)
    err = (x_hat - x.float() / 255).abs().mean()
    assert err < 0.25  # it learned something: the round trip is a real test


def test_anomaly_scores_agree_on_uint8_and_float_images(image_vae):
    import genlab
    from genlab.data import load_dataset

    x = load_dataset("digits", split="test").x[:32]
    a = genlab.anomaly_scores(image_vae, x, seed=3)
    b = genlab.anomaly_scores(image_vae, x.double() / 255, seed=3)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("x, message", [
    (torch.full((2, 1, 8, 8), 2.0), r"float images must be in \[0, 1\].*got values in \[2, 2\]"),
    (torch.full((2, 1, 8, 8), -0.5), r"float images must be in \[0, 1\]"),
    (torch.full((2, 1, 8, 8), float("nan")), "nan or inf"),
    (torch.full((2, 1, 8, 8), 300, dtype=torch.int64), r"raw pixels in \[0, 255\]"),
    (torch.ones((2, 1, 8, 8), dtype=torch.bool), "must be numbers"),
])
def test_out_of_range_examples_are_refused_in_one_line(image_vae, x, message):
    import genlab

    with pytest.raises(GenlabError, match=message):
        genlab.reconstruct(image_vae, x)


@pytest.mark.parametrize("target", ["unit", "symmetric"])
def test_normalizer_reads_float_images_as_image_space(target):
    shift, scale = ([0.0], [255.0]) if target == "unit" else ([127.5], [127.5])
    norm = Normalizer("image", target, shift, scale)
    raw = torch.arange(256, dtype=torch.uint8).reshape(4, 1, 8, 8)
    assert torch.allclose(norm.encode_examples(raw.float() / 255), norm.encode(raw), atol=1e-6)
    assert torch.allclose(norm.decode(norm.encode_examples(norm.decode(norm.encode(raw)))),
                          raw.float() / 255, atol=1e-6)


def test_points_are_data_coordinates_whatever_their_dtype():
    norm = Normalizer("points", "standard", [1.0, -2.0], [3.0, 0.5])
    x = torch.tensor([[10.0, 20.0], [-4.0, 7.0]])
    assert torch.equal(norm.encode_examples(x), norm.encode(x))
    with pytest.raises(GenlabError, match="nan or inf"):
        norm.encode_examples(torch.tensor([[float("inf"), 0.0]]))


def test_genlab_train_stays_the_function_whatever_is_imported():
    # The loop lives in genlab.training.loop; there is no genlab.train module to shadow it.
    code = ("import genlab.training.loop\n"
            "from genlab import TrainingDiverged\n"
            "import genlab\n"
            "from genlab.training.state import build_state\n"
            "import types\n"
            "assert isinstance(genlab.train, types.FunctionType), genlab.train\n"
            "assert genlab.train is sys.modules['genlab.training.loop'].train\n"
            "assert TrainingDiverged is genlab.TrainingDiverged\n"
            "from genlab import train\n"
            "assert train is genlab.train\n"
            "try:\n"
            "    import genlab.train\n"
            "except ModuleNotFoundError:\n"
            "    pass\n"
            "else:\n"
            "    raise AssertionError('a genlab.train module exists again')\n"
            "assert genlab.train is train\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", "import sys\n" + code], env=cli_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
