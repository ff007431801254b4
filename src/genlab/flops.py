"""Counting and measuring floating-point work, for `genlab bench` and benchmarks/.

- `count_flops(fn)`: the FLOPs one call of `fn` performs (forward *and* backward, whatever it
  runs), counted by torch.utils.flop_counter.FlopCounterMode from the shapes of the matmuls
  and convolutions it dispatches (2 FLOPs per multiply-add; element-wise ops, norms and the
  optimizer are not counted, so "achieved GFLOP/s" is a slight underestimate of the work).
- `gemm_peak(dtype)`: this machine's own matmul throughput in GFLOP/s, measured on the spot
  (square GEMMs large enough to reach the best kernel, through both the BLAS and the
  convolution library, best of several warmed-up runs), as the ceiling against which a training
  step's achieved GFLOP/s is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of `fn` (matmuls and convolutions, forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def gemm_peak(dtype: torch.dtype = torch.float32, n: int = 2048, repeats: int = 5,
              min_seconds: float = 0.2, device: str | torch.device = "cpu") -> float:
    """This machine's matmul limit in GFLOP/s: the best of `gemm_rates` over its kernels."""
    return max(gemm_rates(dtype, n, repeats, min_seconds, device).values())


def gemm_rates(dtype: torch.dtype = torch.float32, n: int = 2048, repeats: int = 5,
               min_seconds: float = 0.2, device: str | torch.device = "cpu") -> dict[str, float]:
    """Best GFLOP/s of each matrix-product path a model's layers take, on torch's current
    thread count: {"mm": (n x n) @ (n x n), "conv" / "conv-cl": a DCGAN-shaped 4x4 stride-2
    convolution in the default / channels_last memory format}.

    Both are measured because they are different libraries: torch.mm calls the BLAS (MKL,
    whose fp32 kernel on AMD CPUs runs far below oneDNN's), convolutions call oneDNN (cuDNN on
    CUDA); a peak taken from torch.mm alone sat below what genlab's own fp32 DCGAN reaches.
    Each path is warmed up for `min_seconds` (kernel selection, thread pool, clock ramp),
    then timed `repeats` times for `min_seconds` each; the best run is the limit (other load
    only ever slows a run down)."""
    device = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    rates = {"mm": _best_rate(lambda: torch.mm(a, b, out=out), 2 * n ** 3, repeats,
                              min_seconds, device)}
    for name, fmt in (("conv", torch.contiguous_format), ("conv-cl", torch.channels_last)):
        conv, image = peak_conv(n, dtype, device, fmt, gen)
        with torch.no_grad():
            flops = 2 * conv(image).numel() * conv.in_channels * conv.kernel_size[0] ** 2
            rates[name] = _best_rate(lambda c=conv, x=image: c(x), flops, repeats, min_seconds,
                                     device)
    return rates


def peak_conv(n: int, dtype: torch.dtype, device: torch.device,
              memory_format: torch.memory_format = torch.channels_last,
              gen: torch.Generator | None = None) -> tuple[torch.nn.Conv2d, torch.Tensor]:
    """The convolution gemm_rates times, scaled by n (n = 2048: DCGAN's discriminator layer
    Conv2d(256, 512, 4, stride 2) on a batch of 64 16x16 maps): (conv, input). oneDNN picks
    a different kernel for each memory format, so gemm_rates times both."""
    conv = torch.nn.Conv2d(n // 8, n // 4, 4, 2, 1, bias=False)
    image = torch.randn(max(1, n // 32), n // 8, 16, 16, generator=gen)  # (B, C, 16, 16)
    return (conv.to(device=device, dtype=dtype, memory_format=memory_format),
            image.to(device=device, dtype=dtype, memory_format=memory_format))


def _best_rate(fn: Callable[[], object], flops: int, repeats: int, min_seconds: float,
               device: torch.device) -> float:
    _timed_loop(fn, min_seconds, device)  # warm-up
    return max(flops * count / elapsed / 1e9
               for count, elapsed in (_timed_loop(fn, min_seconds, device)
                                      for _ in range(repeats)))


def _timed_loop(fn: Callable[[], object], min_seconds: float,
                device: torch.device) -> tuple[int, float]:
    """Calls `fn` until `min_seconds` have passed: (calls, seconds)."""
    count, start = 0, time.perf_counter()
    while True:
        fn()
        count += 1
        _sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return count, elapsed


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
