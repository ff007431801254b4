"""genlab bench and genlab.flops: FLOP counts against the closed form, and a tiny bench run
that times genlab's step next to the reference loop and reports the ratio."""

from __future__ import annotations

import argparse

import pytest
import torch

from genlab import bench, flops
from genlab.flops import count_flops, gemm_peak, gemm_rates


def test_count_flops_linear_forward_and_backward():
    layer = torch.nn.Linear(30, 20, bias=False)
    x = torch.randn(8, 30)
    assert count_flops(lambda: layer(x)) == 2 * 8 * 30 * 20  # one multiply-add = 2 FLOPs

    def step():
        layer(x).sum().backward()  # backward: weight grad only (x needs no grad)

    assert count_flops(step) == 2 * (2 * 8 * 30 * 20)


def test_gemm_peak_is_the_best_of_both_gemm_paths():
    rates = gemm_rates(torch.float32, n=128, repeats=2, min_seconds=0.01)
    assert set(rates) == {"mm", "conv", "conv-cl"} and all(r > 0 for r in rates.values())
    assert gemm_peak(torch.float32, n=128, repeats=1, min_seconds=0.01) > 0


def test_the_conv_path_is_credited_with_the_flops_it_performs():
    # gemm_rates credits its convolution with 2 · outputs · C_in · k² FLOPs: that must be what
    # torch's own FLOP counter counts for the same call
    conv, image = flops.peak_conv(128, torch.float32, torch.device("cpu"))
    with torch.no_grad():
        credited = 2 * conv(image).numel() * conv.in_channels * conv.kernel_size[0] ** 2
        assert count_flops(lambda: conv(image)) == credited


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    return p.parse_args(list(argv))


def test_bench_times_genlab_next_to_the_reference(capsys):
    args = _args("--models", "mlp-vae", "--precisions", "fp32", "--steps", "1", "--repeats",
                 "1", "--warmup", "0", "--no-peak", "--threads", "1")
    assert bench.run(args) == 0
    out = capsys.readouterr().out
    assert "reference mlp-vae 28 fp32" in out and "genlab mlp-vae 28 fp32" in out
    assert "MLP VAE 28×28 fp32:" in out and "× reference" in out


def test_bench_dcgan_step_counts_its_flops():
    w = bench.genlab_workload("dcgan", 28, "fp32", batch=4)
    bench.time_round_robin([w], steps=1, repeats=1, warmup=0, log=lambda s: None)
    r = w.result
    assert r.flops_per_step > 0 and r.median > 0 and r.gflops > 0
    assert r.batch == 4 and r.precision == "fp32"


def test_bench_unknown_model_is_one_clear_error():
    from genlab.errors import GenlabError

    with pytest.raises(GenlabError, match="unknown bench model 'gan'"):
        bench.measure(_args("--models", "gan", "--no-peak"), log=lambda s: None)


def test_mlp_image_vae_gets_the_fast_recipe_and_explicit_values_win():
    from genlab.config import MLP_IMAGE_VAE_DEFAULTS, TrainConfig, resolve

    def resolved(**kw):
        cfg = TrainConfig(steps=10, **{k: v for k, v in kw.items() if k != "architecture"})
        cfg.model.kind, cfg.model.architecture = "vae", kw.get("architecture")
        return resolve(cfg, "image", (1, 28, 28), 0, 1000)

    mlp = resolved(architecture="mlp")
    assert (mlp.lr, mlp.lr_decay_start) == (MLP_IMAGE_VAE_DEFAULTS["lr"],
                                            MLP_IMAGE_VAE_DEFAULTS["lr_decay_start"])
    conv = resolved(architecture="conv")
    assert (conv.lr, conv.lr_decay_start) == (1e-3, 1.0)
    mine = resolved(architecture="mlp", lr=1e-3, lr_decay_start=1.0)
    assert (mine.lr, mine.lr_decay_start) == (1e-3, 1.0)


@pytest.mark.parametrize("binarize", ["none", "dynamic"])
def test_batch_source_gathers_what_per_batch_encoding_gives(binarize):
    """The training set normalized once up front gives the very values of normalizing each
    gathered batch (and dynamic binarization still draws per batch)."""
    from genlab.config import TrainConfig, resolve
    from genlab.data import batch_binarizer, normalizer_for
    from genlab.devices import choose_device
    from genlab.training.loop import batch_source
    from genlab.training.state import build_state

    ds = bench.synthetic_images(64, 1, 28)
    cfg = TrainConfig(steps=10, batch_size=16)
    cfg.model.kind, cfg.model.architecture, cfg.data.binarize = "vae", "mlp", binarize
    cfg = resolve(cfg, ds.kind, ds.example_shape, 0, len(ds))
    norm = normalizer_for(ds, "unit")
    state, twin = (build_state(cfg, ds, choose_device("cpu")) for _ in range(2))
    next_batch = batch_source(ds, norm, state)
    binarize_twin = batch_binarizer(binarize, twin.sampler, cfg.seed)
    for _ in range(6):  # more than one epoch
        x, y = next_batch()
        expected = norm.encode(binarize_twin(ds.x[twin.sampler.next_batch()]))
        assert y is None and x.dtype == torch.float32 and torch.equal(x, expected)
