"""genlab.cpu_bf16: the routed bf16 convolutions compute what bf16 autocast computes."""

from __future__ import annotations

import copy

import torch
from torch import nn

from genlab import cpu_bf16


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 4, 2, 1, bias=False),  # (B, 8, 8, 8)
        nn.BatchNorm2d(8),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(8, 4, 4, 2, 1, bias=False),  # (B, 4, 16, 16)
        nn.Conv2d(4, 2, 3, 1, 1),  # with a bias: left to autocast
    )


def _grads(net: nn.Module, x: torch.Tensor):
    net.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = net(x)
    assert y.dtype == torch.bfloat16
    y.float().square().mean().backward()
    return y.detach().float(), [p.grad.clone() for p in net.parameters()]


def test_routed_convolutions_match_autocast():
    plain = _net()
    routed = copy.deepcopy(plain)
    assert cpu_bf16.enable(routed, probe=False) == 2  # the two bias-free layers
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    y0, g0 = _grads(plain, x)
    y1, g1 = _grads(routed, x)
    torch.testing.assert_close(y1, y0, rtol=0, atol=0)  # the same bf16 forward kernels
    for a, b in zip(g1, g0):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=2e-2, atol=1e-4)  # bf16 sums in another order
    assert routed.state_dict().keys() == plain.state_dict().keys()


def test_outside_autocast_nothing_changes():
    plain = _net()
    routed = copy.deepcopy(plain)
    cpu_bf16.enable(routed, probe=False)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(routed(x), plain(x), rtol=0, atol=0)


def test_probe_answers_once():
    first = cpu_bf16.one_thread_is_faster()
    assert cpu_bf16.one_thread_is_faster() is first
