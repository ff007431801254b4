"""Several processes, one model: DistributedDataParallel under torchrun.

    torchrun --nproc_per_node 2 -m genlab train vae --data fashion-mnist --out runs/v
    torchrun --nnodes 2 --node_rank R --master_addr HOST --nproc_per_node 4 -m genlab train ...

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; `setup()` reads them and
joins the process group: gloo on CPUs, nccl on CUDA GPUs (one GPU per process, cuda:LOCAL_RANK).
Without those variables (or with WORLD_SIZE=1) everything here is a no-op and training is the
plain single-process loop.

How a DDP step equals a single-process step on the same global batch (Li et al. 2020,
"PyTorch Distributed: Experiences on Accelerating Data Parallel Training",
https://arxiv.org/abs/2006.15704): every rank walks the same global permutation and takes its
slice (genlab.data.EpochSampler(rank, world_size)); every random draw of a step (z, ε) is drawn
for the *global* batch from the same seeded stream on every rank, and each rank keeps its slice
(`randn_shard`); each rank's loss is the mean over its local batch, and DDP averages the gradients
over ranks, so the update is the gradient of the global-batch mean. Only rank 0 writes files.

Batch normalization: on CUDA the BatchNorm layers become SyncBatchNorm (statistics over the
global batch, as one process would compute them). On CPU (gloo) torch has no SyncBatchNorm
kernel, so each rank normalizes with the statistics of its local batch (global batch / world
size), and DDP broadcasts rank 0's running statistics to the others at every forward: a model
with BatchNorm trains correctly but not bit-for-bit like one process with the global batch.
Models without BatchNorm (MLP AE/VAE, MLP GAN with --discriminator-norm layer or none) match it.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from dataclasses import dataclass

import torch
from torch import nn

from genlab.errors import GenlabError


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # "gloo" | "nccl" | None (single process)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_writer(self) -> bool:
        return self.rank == 0


SINGLE = DistContext()


def env_world_size() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise GenlabError(f"WORLD_SIZE must be a number, got {os.environ['WORLD_SIZE']!r}") \
            from None


def setup(device_name: str = "auto", timeout_s: float = 600.0) -> tuple[DistContext, str]:
    """Join the torchrun process group when WORLD_SIZE > 1. Returns (context, device name):
    on CUDA each process takes cuda:LOCAL_RANK; on CPU, "cpu"."""
    world = env_world_size()
    if world <= 1:
        return SINGLE, device_name
    import torch.distributed as dist

    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name.startswith("cuda") or (device_name == "auto"
                                                  and torch.cuda.is_available())
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise GenlabError(f"local rank {local_rank} has no GPU (this machine has "
                              f"{torch.cuda.device_count()}); use --nproc_per_node ≤ that")
        torch.cuda.set_device(local_rank)
        backend, device_name = "nccl", f"cuda:{local_rank}"
    else:
        backend, device_name = "gloo", "cpu"
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=timeout_s))
    return DistContext(rank, world, local_rank, backend), device_name


def teardown(wait_for_peers: bool = True) -> None:
    """Leave the process group. `wait_for_peers=False` on an error path, where a peer may
    never arrive at the barrier."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        # Every rank arrives before any tears down: a gloo peer that closes its connections
        # while another rank is still in flight (rank 0 writing files) can abort that rank
        # ("terminate called without an active exception"), seen in CI.
        if wait_for_peers:
            dist.barrier()
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        import torch.distributed as dist

        dist.barrier()


def broadcast_object(ctx: DistContext, obj):
    """Rank 0's `obj` on every rank (e.g. a resolved config or an error message)."""
    if not ctx.enabled:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def randn_shard(shape: tuple[int, ...], generator: torch.Generator, device: torch.device,
                ctx: DistContext = SINGLE) -> torch.Tensor:
    """Standard normal noise for this rank's slice of the global batch: the global
    (world_size * shape[0], ...) draw from `generator` (seeded alike on every rank), sliced.
    With one process this is exactly `randn(shape)`."""
    local = shape[0]
    full = (local * ctx.world_size, *shape[1:])
    z = torch.randn(full, generator=generator, device=generator.device)
    if ctx.enabled:
        z = z[ctx.rank * local:(ctx.rank + 1) * local]
    return z.to(device)


def has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def prepare_module(module: nn.Module, ctx: DistContext, device: torch.device) -> nn.Module:
    """SyncBatchNorm on CUDA (in place: parameter and buffer names are unchanged, so
    checkpoints stay interchangeable with single-process runs); on CPU, unchanged."""
    if ctx.enabled and device.type == "cuda" and has_batch_norm(module):
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return module


def wrap(module: nn.Module, ctx: DistContext, device: torch.device) -> nn.Module:
    """`module` inside DistributedDataParallel (gradients averaged over ranks in backward);
    the module itself when single-process. Weights are broadcast from rank 0 at wrap time."""
    if not ctx.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    return DDP(module, device_ids=ids)  # buffers (BN statistics) follow rank 0 at each forward


def all_mean(ctx: DistContext, value: torch.Tensor) -> torch.Tensor:
    """The mean of a scalar tensor over ranks (for logged losses)."""
    if not ctx.enabled:
        return value
    import torch.distributed as dist

    out = value.detach().float().clone()
    dist.all_reduce(out)
    return out / ctx.world_size


def attach(state, ctx: DistContext) -> None:
    """Make a built TrainState distributed: `state.dist` (read by the steps for `randn_shard`)
    and, with several processes, each of `state.units` (the modules its family's step calls
    forward through, genlab.training.steps.Units) prepared and wrapped in DDP. The model
    itself stays unwrapped, so its state_dict (and every checkpoint) is the same as a
    single-process run's."""
    state.dist = ctx
    if not ctx.enabled:
        return
    units = state.units
    for f in dataclasses.fields(units):
        unit = getattr(units, f.name)
        if unit is not None:  # SyncBatchNorm converts in place: the model sees it too
            setattr(units, f.name, wrap(prepare_module(unit, ctx, state.device), ctx,
                                        state.device))
