"""Counting and measuring floating-point work, for `genlab bench` and benchmarks/.

- `count_flops(fn)`: the FLOPs one call of `fn` performs (forward *and* backward, whatever it
  runs), counted by torch.utils.flop_counter.FlopCounterMode from the shapes of the matmuls
  and convolutions it dispatches (2 FLOPs per multiply-add; element-wise ops, norms and the
  optimizer are not counted, so "achieved GFLOP/s" is a slight underestimate of the work).
- `gemm_peak(dtype)`: this machine's own matmul throughput in GFLOP/s, measured on the spot
  (square GEMMs large enough to reach the library's best kernel), as the ceiling against which
  a training step's achieved GFLOP/s is read.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of `fn` (matmuls and convolutions, forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def gemm_peak(dtype: torch.dtype = torch.float32, n: int = 2048, repeats: int = 5,
              min_seconds: float = 0.2, device: str | torch.device = "cpu") -> float:
    """Median GFLOP/s of (n x n) @ (n x n) in `dtype` over `repeats` timed runs.

    Each run repeats the product until `min_seconds` have passed; 2 n³ FLOPs per product."""
    device = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up: first call picks and loads the kernel
    _sync(device)
    rates = []
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while True:
            torch.mm(a, b, out=out)
            count += 1
            _sync(device)
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        rates.append(2 * n ** 3 * count / elapsed / 1e9)
    return statistics.median(rates)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
