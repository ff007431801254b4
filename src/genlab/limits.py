"""What a request costs in memory, checked before anything is allocated.

A size a user types (`--hidden-dim 60000 --depth 4`, `sample --n 1000000000000`) either fits
in the memory of the device it runs on or is refused in one line that says how much it would
need and how much there is — instead of an allocator traceback, a swap storm or an
out-of-memory kill.

Available memory: on a CUDA device what `torch.cuda.mem_get_info` reports free; otherwise the
host's MemAvailable (/proc/meminfo; os.sysconf where there is none), lowered to what is left
under a cgroup (container) limit when one is set.

    check_fits("sample --n 1000000000000", needed_bytes)   # GenlabError when it cannot fit
"""

from __future__ import annotations

import os
from pathlib import Path

from genlab.errors import GenlabError

FLOAT_BYTES = 4  # the estimates count float32 (bf16/fp16 would need less)


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # unreachable


def host_available_bytes() -> int:
    """Memory this process could still allocate on the host, in bytes."""
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 1 << 62  # no way to know: let the allocator decide
    cgroup = _cgroup_left()
    return min(available, cgroup) if cgroup is not None else available


def _cgroup_left() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None


def available_bytes(device=None) -> int:
    """Free memory of `device` (a torch.device or a name: cpu, cuda, cuda:N, auto, mps)."""
    name = str(device) if device is not None else "cpu"
    if name.startswith("cuda") or name == "auto":
        try:
            import torch

            if torch.cuda.is_available():
                index = int(name.split(":")[1]) if ":" in name else torch.cuda.current_device()
                return int(torch.cuda.mem_get_info(index)[0])
        except (ImportError, RuntimeError, ValueError, AssertionError):
            pass
    return host_available_bytes()


def check_fits(what: str, needed: int, device=None) -> None:
    """GenlabError when `needed` bytes exceed what `device` has free."""
    have = available_bytes(device)
    if needed > have:
        where = "" if device is None or str(device) in ("cpu", "auto") else f" on {device}"
        raise GenlabError(f"{what} would need about {format_bytes(needed)} of memory{where}, "
                          f"{format_bytes(have)} available")


def tensor_bytes(*shape: int, itemsize: int = FLOAT_BYTES) -> int:
    """Bytes of a dense tensor of `shape` (exact Python integers: no overflow)."""
    n = itemsize
    for s in shape:
        n *= int(s)
    return n


def training_estimate(cfg) -> tuple[int, int]:
    """(parameters, activation values of one training batch) of resolved TrainConfig `cfg`.

    The model is built on torch's "meta" device, which records shapes and allocates nothing,
    and one batch is run through it with forward hooks summing the outputs of every leaf layer
    (what autograd keeps for the backward pass). A GAN counts the generator on a batch and the
    discriminator on a real and a fake batch."""
    import torch

    from genlab.models import GAN, build_model

    m, batch = cfg.model, cfg.batch_size
    with torch.device("meta"):
        model = build_model(m)
    params = sum(p.numel() for p in model.parameters())
    activations = 0

    def count(_module, _inputs, output):
        nonlocal activations
        for t in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(t, torch.Tensor):
                activations += t.numel()

    handles = [mod.register_forward_hook(count) for mod in model.modules()
               if not any(True for _ in mod.children())]
    try:
        y = torch.zeros(batch, dtype=torch.long, device="meta") if m.num_classes else None
        if isinstance(model, GAN):  # (DCGAN is one)
            z = torch.empty(batch, m.latent_dim, device="meta")
            x_fake = model.generator(z, y)
            generator = activations
            model.discriminator(x_fake, y)
            activations += activations - generator  # the real batch: the same shapes again
        else:
            model(torch.empty(batch, *m.data_shape, device="meta"), y)
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        pass  # a layer without a meta kernel: the parameters alone still bound the cost
    finally:
        for h in handles:
            h.remove()
    return params, activations


def training_bytes(cfg) -> int:
    """A lower estimate of training memory in bytes: the weights, their gradients and Adam's
    two moments (4 copies of every parameter; 5 for a GAN generator with an EMA copy, counted
    as the whole model), plus the batch activations kept for backward and their gradients."""
    params, activations = training_estimate(cfg)
    copies = 5 if cfg.ema_decay else 4
    return FLOAT_BYTES * (copies * params + 2 * activations)


def check_training_memory(cfg) -> None:
    """Refuse a resolved config whose model cannot be trained in its device's memory."""
    needed = training_bytes(cfg)
    m = cfg.model
    sizes = [f"latent_dim {m.latent_dim}", f"batch_size {cfg.batch_size}"]
    from genlab.models import uses_convolutions

    if not uses_convolutions(m):
        sizes[:0] = [f"hidden_dim {m.hidden_dim}", f"depth {m.depth}"]
    else:
        sizes[:0] = [f"filters {m.filters}"]
    shape = "x".join(map(str, m.data_shape))
    check_fits(f"training a {m.kind} with {', '.join(sizes)} on {shape} data", needed,
               cfg.device)
