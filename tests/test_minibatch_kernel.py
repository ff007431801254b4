"""The compiled minibatch-discrimination kernel (genlab.kernels.minibatch_l1) against the layer's
eager PyTorch code and Salimans et al.'s formula written out directly (values and gradients,
several N/B/C, bf16 autocast), its fallback when it cannot be built, determinism, and training
with it (WGAN-GP's double backward keeps the eager code)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys

import pytest
import torch
from cli_helpers import cli_env
from torch import nn

from genlab import regularizers, train
from genlab.config import DataConfig, ModelConfig, TrainConfig
from genlab.kernels import minibatch_l1

pytestmark = pytest.mark.usefixtures("one_thread")

# (N, B, C): N = 1 (no other sample), N not a multiple of the 8 vector lanes, C known at
# compile time (1-5, 8) and not (7), the layer's default (50, 5) at the 2D GAN batch 128
SIZES = [(1, 3, 2), (2, 1, 1), (7, 4, 3), (9, 50, 5), (17, 5, 7), (33, 2, 8), (128, 50, 5)]


def _kernel():
    """The built kernel's ops; skipped only where no C++ compiler or ninja exists (a build
    that fails with one is a failure)."""
    from torch.utils import cpp_extension

    if shutil.which("c++") is None or not cpp_extension.is_ninja_available():
        pytest.skip("no C++ compiler or ninja: the layer runs its eager code")
    ops = minibatch_l1.ops()
    assert ops is not None, "the minibatch-discrimination kernel did not build (see the log)"
    return ops


def _direct(m: torch.Tensor) -> torch.Tensor:
    """o_ib = Σ_{j≠i} exp(−‖M_ib − M_jb‖_L1) through the (N, N, B, C) difference tensor."""
    l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)  # (N, N, B)
    return torch.exp(-l1).sum(1) - 1.0  # (N, B)


def _m(n, b, c, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    m = torch.randn(n, b, c, generator=gen, dtype=dtype) * 0.5
    if n > 3:
        m[3] = m[1]  # a duplicate sample: distance 0, sign(0) = 0 in the backward
        m[2] = m[2] * 60.0  # far from the others: exp underflows to 0
    return m.requires_grad_(True)


def _close(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-6) -> None:
    """Equal within float32 rounding (eps; bf16's is 2^-8) of sums: an entry of a gradient sums
    N·B terms of either sign, so its rounding error scales with the largest entries."""
    torch.testing.assert_close(a, b, rtol=1.3 * eps, atol=eps * max(1.0, b.abs().max().item()))


def _value_and_grad(fn, m, seed=1):
    o = fn(m)
    w = torch.randn(o.shape, generator=torch.Generator().manual_seed(seed)).to(o.dtype)
    (g,) = torch.autograd.grad((o * w).sum(), m)  # a generic upstream gradient
    return o, g


@pytest.mark.parametrize("size", SIZES)
def test_the_kernel_equals_the_direct_formula_in_float64(size):
    _kernel()
    m = _m(*size, torch.float64)
    o, g = _value_and_grad(minibatch_l1.similarity, m)
    o_ref, g_ref = _value_and_grad(_direct, m)
    assert o.dtype == torch.float64
    torch.testing.assert_close(o, o_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g, g_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size", SIZES)
def test_the_kernel_equals_the_eager_layer_code_in_float32(size):
    _kernel()
    m = _m(*size, torch.float32)
    o, g = _value_and_grad(minibatch_l1.similarity, m)
    o_eager, g_eager = _value_and_grad(regularizers.minibatch_similarity_eager, m)
    assert o.dtype == torch.float32 and o.shape == (size[0], size[1])
    _close(o, o_eager)
    _close(g, g_eager)
    # and both within float32 rounding of the formula in float64
    o64, g64 = _value_and_grad(_direct, m.detach().double().requires_grad_(True))
    _close(o, o64.float())
    _close(g, g64.float())


def _layer_outputs(layer, f, eager: bool, monkeypatch, autocast: bool = False):
    with monkeypatch.context() as patch:
        if eager:
            patch.setattr(minibatch_l1, "usable", lambda m: False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = layer(f)
        w = torch.randn(out.shape, generator=torch.Generator().manual_seed(3))
        grads = torch.autograd.grad((out.float() * w).sum(), [f, layer.T])
    return out, grads


@pytest.mark.parametrize("autocast", [False, True], ids=["fp32", "bf16-autocast"])
def test_the_layer_gives_what_its_eager_code_gives(autocast, monkeypatch):
    _kernel()
    torch.manual_seed(4)
    layer = regularizers.MinibatchDiscrimination(16)  # 50 kernels of dimension 5
    f = torch.randn(37, 16, requires_grad=True)
    out, grads = _layer_outputs(layer, f, False, monkeypatch, autocast)
    ref, ref_grads = _layer_outputs(layer, f, True, monkeypatch, autocast)
    assert out.dtype == ref.dtype and out.shape == (37, 66)
    _close(out, ref)  # o in float32 in both (cdist runs in float32 under autocast)
    for a, b in zip(grads, ref_grads):  # through the bf16 matmul M = f T: bf16 rounding
        _close(a, b, 2.0**-8 if autocast else 1e-6)


def test_the_kernel_is_deterministic_for_any_thread_count():
    _kernel()
    m = _m(64, 50, 5, torch.float32)
    runs = []
    for threads in (1, 2, 1):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            runs.append(_value_and_grad(minibatch_l1.similarity, m))
        finally:
            torch.set_num_threads(before)
    for o, g in runs[1:]:
        assert torch.equal(o, runs[0][0]) and torch.equal(g, runs[0][1])


def test_a_failed_build_falls_back_to_the_eager_code_with_one_log_line(monkeypatch, caplog):
    def no_compiler():
        raise RuntimeError("Error building extension 'genlab_mbd':\n[1/2] c++ -c x.cpp\n"
                           "x.cpp:1:10: fatal error: no such compiler")

    monkeypatch.setattr(minibatch_l1, "_ops", None)  # as in a fresh process
    monkeypatch.setattr(minibatch_l1, "_build", no_compiler)
    torch.manual_seed(5)
    layer = regularizers.MinibatchDiscrimination(4, num_kernels=3, kernel_dim=2)
    f = torch.randn(6, 4)
    with caplog.at_level(logging.WARNING, logger="genlab.kernels"):
        out = layer(f)
        again = layer(f)  # the build is not retried, nor the line repeated
    lines = [r.getMessage() for r in caplog.records if r.name == "genlab.kernels"]
    assert len(lines) == 1, lines
    assert "fatal error: no such compiler" in lines[0] and "eager" in lines[0]
    m = (f @ layer.T).reshape(6, 3, 2)
    torch.testing.assert_close(out[:, 4:], _direct(m))
    torch.testing.assert_close(again, out)


def test_genlab_kernels_0_turns_the_kernel_off(monkeypatch, caplog):
    monkeypatch.setattr(minibatch_l1, "_ops", None)
    monkeypatch.setenv("GENLAB_KERNELS", "0")
    monkeypatch.setattr(minibatch_l1, "_build", lambda: pytest.fail("built with GENLAB_KERNELS=0"))
    with caplog.at_level(logging.WARNING, logger="genlab.kernels"):
        assert not minibatch_l1.usable(torch.zeros(3, 2, 2))
    assert not caplog.records


def test_only_eager_code_off_the_cpu_and_under_torch_compile(monkeypatch):
    monkeypatch.setattr(minibatch_l1, "ops", lambda: pytest.fail("the kernel was asked for"))
    assert not minibatch_l1.usable(torch.empty(4, 3, 2, device="meta"))  # a non-CPU device
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    assert not minibatch_l1.usable(torch.zeros(4, 3, 2))


def test_importing_genlab_compiles_nothing():
    code = ("import sys, genlab, genlab.regularizers, genlab.models, genlab.training.steps\n"
            "from genlab.kernels import minibatch_l1\n"
            "assert minibatch_l1._ops is None, 'built at import'\n"
            "assert 'torch.utils.cpp_extension' not in sys.modules, 'cpp_extension imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], env=cli_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _train_losses(tmp_path, name, **kw):
    cfg = TrainConfig(model=ModelConfig(kind="gan", minibatch_disc=True, hidden_dim=32),
                      data=DataConfig("grid25"), steps=4, batch_size=32, log_every=1, **kw)
    events = list(train(cfg, tmp_path / name))
    return [(e["loss_d"], e["loss_g"]) for e in events if e["event"] == "log"]


def test_minibatch_disc_trains_the_same_twice_and_with_wgan_gp(tmp_path):
    _kernel()
    first, second = _train_losses(tmp_path, "a"), _train_losses(tmp_path, "b")
    assert len(first) == 4 and first == second  # a fixed seed gives the same run
    # WGAN-GP: the penalty differentiates D's gradient, through the layer's eager code
    wgan = _train_losses(tmp_path, "gp", loss="wgan-gp", n_critic=2)
    assert len(wgan) == 4 and all(torch.isfinite(torch.tensor(pair)).all() for pair in wgan)


def test_the_penalty_through_the_layer_matches_the_kernel_free_layer(monkeypatch):
    """WGAN-GP + minibatch discrimination: the critic's loss goes through the kernel and its
    penalty through the eager code; the total's gradient equals that with no kernel at all."""
    _kernel()
    torch.manual_seed(6)
    critic = nn.Sequential(nn.Linear(2, 8), regularizers.MinibatchDiscrimination(8, 4, 3),
                           nn.Linear(12, 1), nn.Flatten(0))
    x_real, x_fake = torch.randn(16, 2), torch.randn(16, 2)

    def total_grads():
        loss = critic(x_fake).mean() - critic(x_real).mean() + 10.0 * regularizers.gradient_penalty(
            critic, x_real, x_fake, generator=torch.Generator().manual_seed(0))
        return torch.autograd.grad(loss, list(critic.parameters()))

    with_kernel = total_grads()
    monkeypatch.setattr(minibatch_l1, "usable", lambda m: False)
    for a, b in zip(with_kernel, total_grads()):
        _close(a, b)


def test_the_float32_exp_is_within_one_ulp_and_keeps_nan():
    """The kernel's own float32 exp(−d) (N = 2: o_0,b = exp(−|d_b|)) against float64's, in
    calls small enough for the AVX-512 tiles (which keep c up to 64 MB): ≤ 1 ulp (measured over
    every float32 in [1, 86]: 0.90), subnormal results rounded right, 0 from d = 104 on and for
    inf, NaN for NaN. The triangle's Cephes exp elsewhere: ≤ 1.02 ulp (measured: 1.016)."""
    ops = _kernel()
    gen = torch.Generator().manual_seed(0)
    d = torch.cat([torch.linspace(0.0, 104.0, 200_001), torch.rand(100_000, generator=gen) * 104.0])
    ulps, past_86, tiles = [], [], []
    for part in d.split(50_000):
        m = torch.zeros(2, part.numel(), 1)
        m[1, :, 0] = part
        tiles.append(ops.forward(m)[2].numel() > 0)
        got = minibatch_l1.similarity(m)[0].double()
        exact = torch.exp(-part.double())
        ulp = (torch.nextafter(exact.float(), torch.tensor(float("inf"))) - exact.float()).double()
        ulps.append((got - exact).abs() / ulp)  # a subnormal's ulp: 2^-149
        past_86.append((got - exact).abs()[part > 86.0])
    ulps, past_86, normal = torch.cat(ulps), torch.cat(past_86), d <= 86.0
    assert len(set(tiles)) == 1
    if torch.backends.cpu.get_cpu_capability() == "AVX512":
        assert tiles[0], "the AVX-512 tiles did not run"
    if tiles[0]:
        assert ulps.max().item() <= 1.0  # the subnormals too
    else:
        assert ulps[normal].max().item() <= 1.02 and past_86.max().item() < 1e-37
    m = torch.zeros(2, 4, 1)
    m[1, :, 0] = torch.tensor([float("nan"), float("inf"), 104.0, 1e30])
    out = minibatch_l1.similarity(m)[0]
    assert out[0].isnan() and (out[1:] == 0.0).all()


def test_the_hubs_gan_playground_steps_with_the_kernel(monkeypatch):
    """The gan2d lab's minibatch-discrimination preset trains and draws its frame (the critic's
    heat map scores grid points in chunks beside generated ones) through the kernel."""
    from genlab.web.simulations.gan2d import GanPlayground
    from genlab.web.simulations.schemas import GAN_PRESETS, SimLimits, parse_config

    _kernel()
    calls = []
    real = minibatch_l1.similarity
    monkeypatch.setattr(minibatch_l1, "similarity", lambda m: calls.append(m.shape) or real(m))
    cfg = parse_config("gan2d", GAN_PRESETS["minibatch-discrimination"]["values"])
    playground = GanPlayground(cfg, SimLimits())
    for _ in range(3):
        playground.train_step()
    frame = playground.frame()
    assert len(frame) > 1000 and calls and all(shape[0] <= 128 for shape in calls)
    layers = [m for m in playground.live.state.model.modules()
              if isinstance(m, regularizers.MinibatchDiscrimination)]
    assert len(layers) == 1 and torch.isfinite(layers[0].T).all()


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["-mavx2", "-mfma"], []], ids=["avx2", "no-simd-flags"])
def test_the_kernel_built_without_avx512_is_right_too(flags, tmp_path, monkeypatch):
    """The source's other paths (the j-vectorized triangle, recomputing c in the backward, and
    its Cephes exp), compiled as a machine without AVX-512 gets them, into a fresh cache."""
    _kernel()
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(minibatch_l1, "_flags", lambda: ["-O3", "-fopenmp", "-fno-math-errno", *flags])
    monkeypatch.setattr(minibatch_l1, "_ops", None)
    ops = minibatch_l1.ops()
    assert ops is not None and any((tmp_path / "kernels").iterdir())
    for size in [(9, 50, 5), (33, 2, 8), (128, 50, 5)]:
        m = _m(*size, torch.float32)
        o, g = _value_and_grad(minibatch_l1.similarity, m)
        assert ops.forward(m.detach())[2].numel() == 0  # no stored c: the backward recomputes
        o64, g64 = _value_and_grad(_direct, m.detach().double().requires_grad_(True))
        _close(o, o64.float())
        _close(g, g64.float())
    m = torch.zeros(2, 3, 1)
    m[1, :, 0] = torch.tensor([float("nan"), float("inf"), 104.0])
    out = minibatch_l1.similarity(m)[0]
    assert out[0].isnan() and (out[1:] == 0.0).all()


def test_a_large_batch_keeps_no_n_squared_tensor_and_stays_right():
    """Where the tiles' c (2·B·N² bytes) would pass 64 MB the op keeps nothing of size N²
    and its backward recomputes c: the same values either way."""
    ops = _kernel()
    small = _m(128, 50, 5, torch.float32)
    kept = ops.forward(small.detach())[2]
    if torch.backends.cpu.get_cpu_capability() == "AVX512":
        assert kept.numel() == 50 * 8 * 8 * 8 * 16  # the tiles ran and kept c
    m = _m(1100, 30, 5, torch.float32)  # 30 · 8 · 69² · 16 floats > 2^24
    assert ops.forward(m.detach())[2].numel() == 0
    o, g = _value_and_grad(minibatch_l1.similarity, m)
    o_eager, g_eager = _value_and_grad(regularizers.minibatch_similarity_eager, m)
    _close(o, o_eager)
    _close(g, g_eager)


@pytest.mark.parametrize("shape", [(0, 3, 5), (4, 0, 5)], ids=["no-samples", "no-kernels"])
def test_an_empty_batch_gives_empty_outputs_and_gradients(shape):
    _kernel()
    m = torch.randn(*shape, requires_grad=True)
    o = minibatch_l1.similarity(m)
    o.sum().backward()
    assert o.shape == shape[:2] and m.grad.shape == shape


def test_a_graph_kept_for_a_second_backward_keeps_its_c():
    """The tiles' c buffers come from a pool; a buffer returns to it only when its tensor is
    freed, so calls made between two backwards of one retained graph cannot overwrite it."""
    _kernel()
    m = _m(128, 50, 5, torch.float32).requires_grad_()
    o = minibatch_l1.similarity(m)
    g = torch.randn_like(o)
    (first,) = torch.autograd.grad(o, m, g, retain_graph=True)
    for _ in range(4):  # other calls, each taking a block from the pool and freeing it
        minibatch_l1.similarity(torch.randn(128, 50, 5, requires_grad=True)).sum().backward()
    (second,) = torch.autograd.grad(o, m, g)
    assert torch.equal(first, second)


@pytest.mark.skipif(sys.platform != "linux", reason="counts the process's page faults")
def test_repeated_calls_reuse_their_buffers_without_page_faults():
    """Three calls alive at once, then their backwards, as in a GAN step: after warm-up the
    tiles' c comes from the pool, not from fresh pages (without it: ~155 faults per call)."""
    import resource

    _kernel()
    if torch.backends.cpu.get_cpu_capability() != "AVX512":
        pytest.skip("the tiles (and their pool) run with AVX-512 only")
    ms = [torch.randn(128, 50, 5, requires_grad=True) for _ in range(3)]

    def step():
        outs = [minibatch_l1.similarity(m) for m in ms]
        for o in outs:
            o.sum().backward()

    for _ in range(10):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults / 60 < 5, faults
