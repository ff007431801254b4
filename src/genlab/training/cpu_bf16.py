"""bf16 convolutions on CPUs: faster weight gradients, the same results.

One switch: `with convolutions():` (entered by the training steps with their autocast when
`TrainState.cpu_bf16` is on, decided once in build_state) routes the bias-free Conv2d /
ConvTranspose2d calls that run under CPU bf16 autocast through `_BF16Conv`: the same bf16
forward and data gradient as autocast, and the weight gradient computed one of two ways:

- Few output positions (H·W ≤ `GEMM_MAX_POSITIONS` = 64, e.g. DCGAN's 8x8 -> 4x4 layers):
  oneDNN's bf16 weight-gradient kernel is slow for its FLOPs there, so it is formed as one GEMM
  (`gemm_weight_grad`: im2col of the NHWC input as a strided view, then grad_yᵀ · columns,
  accumulated in fp32 as oneDNN does); 64 is the threshold that made whole DCGAN steps fastest.
- Otherwise oneDNN's kernel, on one thread when `one_thread_is_faster()`: a probe, run once per
  process, since which thread count wins depends on the machine's load. Its one process-wide
  effect: around that kernel, in backward, torch's thread count is set to 1 and restored
  (`_one_thread`).
Per-kernel timings and the threshold sweep: docs/results/notes.md, "bf16 convolution weight
gradients"; whole-step ratios: docs/results/speed.md.

Parameter names, dtypes and results (up to summation order) are as under plain autocast.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

_PROBE: bool | None = None


class _BF16Conv(torch.autograd.Function):
    """y = conv(x, w) in bf16; dL/dx as autocast computes it; dL/dw as one GEMM for few output
    positions, else oneDNN's kernel (on one thread where the probe finds that faster)."""

    @staticmethod
    def forward(ctx, x, weight, stride, padding, output_padding, transposed):
        xb, wb = x.to(torch.bfloat16), weight.to(torch.bfloat16)
        if transposed:
            y = F.conv_transpose2d(xb, wb, None, stride, padding, output_padding)
        else:
            y = F.conv2d(xb, wb, None, stride, padding)
        ctx.save_for_backward(xb, wb)
        ctx.setup = (list(stride), list(padding), list(output_padding), transposed)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        xb, wb = ctx.saved_tensors
        stride, padding, output_padding, transposed = ctx.setup
        grad_y = grad_y.to(torch.bfloat16)
        grad_x = grad_w = None
        args = (grad_y, xb, wb, None, stride, padding, [1, 1], transposed, output_padding, 1)
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(*args, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            grad_w = _weight_grad(grad_y, xb, wb, stride, padding, transposed, args)  # bf16
        return grad_x, grad_w, None, None, None, None


GEMM_MAX_POSITIONS = 64  # output positions (H·W) up to which the weight gradient is one GEMM


def _weight_grad(grad_y, xb, wb, stride, padding, transposed, args):
    """dL/dw in bf16 (autograd casts it to the fp32 weight's dtype); `args`: the
    convolution_backward arguments for oneDNN's kernel."""
    # A transposed convolution's weight gradient (weight (in, out, k, k)) is the direct one
    # with its input and output gradient swapped: dL/dw[i, o] = Σ x[:, i] ⋆ grad_y[:, o].
    inp, out = (grad_y, xb) if transposed else (xb, grad_y)
    if out.shape[2] * out.shape[3] <= GEMM_MAX_POSITIONS:
        return gemm_weight_grad(inp, out, tuple(wb.shape[2:]), stride, padding)

    def kernel():
        return torch.ops.aten.convolution_backward(*args, [False, True, False])[1]

    return _one_thread(kernel) if one_thread_is_faster() else kernel()


def gemm_weight_grad(x: torch.Tensor, grad_y: torch.Tensor, kernel: tuple[int, int],
                     stride, padding) -> torch.Tensor:
    """dL/dw of y = conv2d(x, w, stride, padding) (no dilation, one group), as one GEMM.

    dL/dw[o, c, i, j] = Σ_{b, p, q} grad_y[b, o, p, q] · x_pad[b, c, s_h·p + i, s_w·q + j]
    (x (B, C, H, W), grad_y (B, O, P, Q) → (O, C, kh, kw), channels_last like the weights).
    The windows x_pad[b, s·p : s·p + k, s·q : s·q + k, :] of the NHWC input are a strided view,
    copied once into the (B·P·Q, kh·kw·C) column matrix."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, tuple(stride), tuple(padding)
    b, c, h, w = x.shape
    o, p, q = grad_y.shape[1:]
    x_nhwc = x.permute(0, 2, 3, 1)  # a view when x is channels_last
    if ph or pw:
        padded = x_nhwc.new_zeros((b, h + 2 * ph, w + 2 * pw, c))
        padded[:, ph:ph + h, pw:pw + w] = x_nhwc
    else:
        padded = x_nhwc.contiguous()
    s_b, s_h, s_w, s_c = padded.stride()
    columns = padded.as_strided((b, p, q, kh, kw, c), (s_b, sh * s_h, sw * s_w, s_h, s_w, s_c))
    columns = columns.reshape(b * p * q, kh * kw * c)
    grad_rows = grad_y.permute(0, 2, 3, 1).reshape(b * p * q, o)
    return grad_rows.t().mm(columns).view(o, kh, kw, c).permute(0, 3, 1, 2)


def _one_thread(fn):
    n = torch.get_num_threads()
    if n == 1:
        return fn()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(n)


class convolutions(TorchFunctionMode):
    """`with convolutions():` — the switch. While it is active, every bias-free 2D convolution
    (or transposed one) with a plain weight parameter, one group, no dilation and numeric
    padding that runs under CPU bf16 autocast with gradients enabled goes through
    `_BF16Conv`; anything else runs as torch runs it. The training steps enter it with their
    autocast when `TrainState.cpu_bf16` is on (genlab.training.steps.autocast); no module is
    changed, so state_dicts and module types are as without it. `routed` counts the
    convolutions it took (for tests)."""

    def __init__(self):
        super().__init__()
        self.routed = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.conv2d or func is F.conv_transpose2d:
            call = _routable_call(func is F.conv_transpose2d, args, kwargs)
            if call is not None:
                self.routed += 1
                return _BF16Conv.apply(*call)
        return func(*args, **kwargs)


_CONV_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONV_T_ARGS = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups",
                "dilation")


def _routable_call(transposed: bool, args, kwargs):
    """(x, weight, stride, padding, output_padding, transposed) for `_BF16Conv`, or None."""
    names = _CONV_T_ARGS if transposed else _CONV_ARGS
    a = dict(zip(names, args), **kwargs)
    x, weight = a["input"], a["weight"]
    if not (torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") == torch.bfloat16
            and torch.is_grad_enabled() and x.device.type == "cpu" and x.dim() == 4
            and a.get("bias") is None and isinstance(weight, nn.Parameter)
            and a.get("groups", 1) == 1 and not isinstance(a.get("padding", 0), str)
            and _pair(a.get("dilation", 1)) == (1, 1)):
        return None
    return (x, weight, _pair(a.get("stride", 1)), _pair(a.get("padding", 0)),
            _pair(a.get("output_padding", 0)) if transposed else (0, 0), transposed)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


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
