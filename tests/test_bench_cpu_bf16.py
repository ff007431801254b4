"""genlab.training.cpu_bf16: the routed bf16 convolutions compute what bf16 autocast computes."""

from __future__ import annotations

import copy
from contextlib import nullcontext

import pytest
import torch
from torch import nn

from genlab.training import cpu_bf16


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 4, 2, 1, bias=False),  # (B, 8, 8, 8)
        nn.BatchNorm2d(8),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(8, 4, 4, 2, 1, bias=False),  # (B, 4, 16, 16)
        nn.Conv2d(4, 2, 3, 1, 1),  # with a bias: left to autocast
    )


def _grads(net: nn.Module, x: torch.Tensor, routed: bool = False):
    """Output and weight gradients under bf16 autocast; `routed`: inside the fast path's
    switch. Returns (y, grads, the number of convolutions the switch routed)."""
    net.zero_grad()
    switch = cpu_bf16.convolutions()
    with torch.autocast("cpu", dtype=torch.bfloat16), (switch if routed else nullcontext()):
        y = net(x)
    assert y.dtype == torch.bfloat16
    y.float().square().mean().backward()
    return y.detach().float(), [p.grad.clone() for p in net.parameters()], switch.routed


@pytest.mark.parametrize("size", [16, 8])  # 8: both routed layers take the GEMM weight gradient
def test_routed_convolutions_match_autocast(size):
    plain = _net()
    routed = copy.deepcopy(plain)
    x = torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(1))
    y0, g0, _ = _grads(plain, x)
    y1, g1, count = _grads(routed, x, routed=True)
    assert count == 2  # the two bias-free layers
    torch.testing.assert_close(y1, y0, rtol=0, atol=0)  # the same bf16 forward kernels
    for a, b in zip(g1, g0):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=2e-2, atol=1e-4)  # bf16 sums in another order
    assert routed.state_dict().keys() == plain.state_dict().keys()


def test_outside_autocast_nothing_changes():
    plain = _net()
    routed = copy.deepcopy(plain)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        with cpu_bf16.convolutions() as switch:
            y = routed(x)
        torch.testing.assert_close(y, plain(x), rtol=0, atol=0)
    assert switch.routed == 0


def test_probe_answers_once():
    first = cpu_bf16.one_thread_is_faster()
    assert cpu_bf16.one_thread_is_faster() is first


SHAPES = [  # (batch, in, out, size, kernel, stride, padding)
    (3, 5, 7, 8, 4, 2, 1),  # DCGAN's block
    (2, 4, 6, 5, 3, 1, 1),
    (2, 3, 4, 6, 3, 2, 0),
]


@pytest.mark.parametrize("transposed,shape", [(False, s) for s in SHAPES] + [
    (True, s) for s in SHAPES + [(2, 6, 3, 1, 4, 1, 0)]])  # the last: DCGAN's G 1x1 -> 4x4
def test_gemm_weight_grad_is_the_convolution_weight_gradient(shape, transposed):
    """Against autograd through torch's own convolution, float64, channels_last inputs."""
    b, c_in, c_out, size, k, s, p = shape
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(b, c_in, size, size, dtype=torch.float64, generator=gen)
    x = x.to(memory_format=torch.channels_last)
    w_shape = (c_in, c_out, k, k) if transposed else (c_out, c_in, k, k)
    w = torch.randn(w_shape, dtype=torch.float64, generator=gen).requires_grad_()
    conv = nn.functional.conv_transpose2d if transposed else nn.functional.conv2d
    y = conv(x, w, None, s, p)
    grad_y = torch.randn(y.shape, dtype=torch.float64, generator=gen)
    grad_y = grad_y.to(memory_format=torch.channels_last)
    y.backward(grad_y)
    if transposed:  # the direct convolution's weight gradient, input and output swapped
        ours = cpu_bf16.gemm_weight_grad(grad_y, x, (k, k), (s, s), (p, p))
    else:
        ours = cpu_bf16.gemm_weight_grad(x, grad_y, (k, k), (s, s), (p, p))
    torch.testing.assert_close(ours, w.grad, rtol=1e-10, atol=1e-10)
