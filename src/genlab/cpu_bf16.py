"""bf16 convolutions on CPUs: the weight gradient on one thread where that is faster.

Measured on a 2-core Zen 4 (AVX-512-BF16, oneDNN 3.12 in torch 2.13): under bf16 autocast the
convolution weight-gradient kernel (oneDNN `jit_bf16:avx512_core_bf16`, backward_weights)
takes ~10x longer with 2 threads than with 1 (e.g. 256->512 channels, 8x8, batch 64: 790 ms
with 2 threads, 82 ms with 1; the forward and data-gradient kernels scale normally). A whole
DCGAN 64x64 step under bf16 autocast ran at 0.5x the fp32 reference loop with 2 threads; with
the weight gradients on one thread it ran at 2.5x (docs/results/speed.md).
Those figures were taken while other jobs loaded the machine (OpenMP threads waiting on each
other); on the idle machine (2026-11-24, nothing else running) the same kernel is faster on 2
threads (256->512, 8x8, batch 64: 20 ms vs 38 ms on 1), the probe says so and nothing is
rerouted. Hence a probe, not a rule.

`enable(model)` routes the model's Conv2d / ConvTranspose2d layers, while CPU bf16 autocast is
on, through `_BF16Conv`: the same bf16 forward and data gradient as autocast, and the weight
gradient from the same kernel with the intra-op thread count set to 1 for that one call. It is
applied only when `one_thread_is_faster()`: a probe, run once per process, that times that
kernel both ways on a small layer (so on CPUs where the multi-threaded kernel is fine, nothing
changes). Everything else (parameter names, dtypes, results up to summation order) is as under
plain autocast.
"""

from __future__ import annotations

import time
import types

import torch
import torch.nn.functional as F
from torch import nn

_PROBE: bool | None = None


class _BF16Conv(torch.autograd.Function):
    """y = conv(x, w) in bf16; dL/dx as autocast computes it; dL/dw on one thread."""

    @staticmethod
    def forward(ctx, x, weight, stride, padding, output_padding, transposed):
        xb, wb = x.to(torch.bfloat16), weight.to(torch.bfloat16)
        if transposed:
            y = F.conv_transpose2d(xb, wb, None, stride, padding, output_padding)
        else:
            y = F.conv2d(xb, wb, None, stride, padding)
        ctx.save_for_backward(xb, wb)
        ctx.setup = (list(stride), list(padding), list(output_padding), transposed, weight.dtype)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        xb, wb = ctx.saved_tensors
        stride, padding, output_padding, transposed, weight_dtype = ctx.setup
        grad_y = grad_y.to(torch.bfloat16)
        grad_x = grad_w = None
        args = (grad_y, xb, wb, None, stride, padding, [1, 1], transposed, output_padding, 1)
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(*args, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            grad_w = _one_thread(lambda: torch.ops.aten.convolution_backward(
                *args, [False, True, False])[1]).to(weight_dtype)
        return grad_x, grad_w, None, None, None, None


def _one_thread(fn):
    n = torch.get_num_threads()
    if n == 1:
        return fn()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(n)


def _routable(m: nn.Module) -> bool:
    return (type(m) in (nn.Conv2d, nn.ConvTranspose2d) and m.bias is None and m.groups == 1
            and m.padding_mode == "zeros" and tuple(m.dilation) == (1, 1)
            and not isinstance(m.padding, str))


def _forward(self, x, *rest):
    if (torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
            and x.device.type == "cpu" and torch.is_grad_enabled() and not rest):
        transposed = isinstance(self, nn.ConvTranspose2d)
        return _BF16Conv.apply(x, self.weight, self.stride, self.padding,
                               self.output_padding if transposed else (0, 0), transposed)
    return type(self).forward(self, x, *rest)


def enable(model: nn.Module, probe: bool = True) -> int:
    """Route `model`'s bias-free Conv2d / ConvTranspose2d layers through `_BF16Conv` (an
    instance-level forward: state_dict and module types unchanged) when `one_thread_is_faster()`
    (or `probe=False`). Returns the number of layers routed."""
    if probe and not one_thread_is_faster():
        return 0
    count = 0
    for m in model.modules():
        if _routable(m):
            m.forward = types.MethodType(_forward, m)
            count += 1
    return count


def one_thread_is_faster() -> bool:
    """Once per process: is the bf16 conv weight gradient faster on 1 thread than on all?"""
    global _PROBE
    if _PROBE is None:
        _PROBE = _probe()
    return _PROBE


def _probe(repeats: int = 2) -> bool:
    if torch.get_num_threads() == 1:
        return False
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 128, 8, 8, generator=gen).bfloat16()
    w = (0.02 * torch.randn(256, 128, 4, 4, generator=gen)).bfloat16()
    grad_y = F.conv2d(x, w, None, 2, 1)
    args = (grad_y, x, w, None, [2, 2], [1, 1], [1, 1], False, [0, 0], 1, [False, True, False])

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        return best

    def run_all():
        return torch.ops.aten.convolution_backward(*args)

    try:
        run_all()  # first call: kernel creation
        _one_thread(run_all)
        return timed(lambda: _one_thread(run_all)) < 0.8 * timed(run_all)
    except RuntimeError:  # a build without this kernel: leave autocast alone
        return False
