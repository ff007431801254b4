"""DDP: one step on 2 CPU processes (torchrun, gloo) equals one single-process step on the
same global batch.

The models compared have no BatchNorm (on CPU, gloo has no SyncBatchNorm: each rank would
normalize with its local batch statistics, see genlab.training.distributed): an MLP VAE (noise ε drawn
for the global batch and sliced per rank) and an MLP GAN with a layer-normalized critic
(z likewise; a discriminator step and a generator step). The global batch is cut by
EpochSampler(rank, world_size); DDP averages the ranks' gradients of their local means.

Run as a script, this file is the worker torchrun starts: it trains one step and rank 0 saves
the weights.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("vae", "gan")
GLOBAL_BATCH = 16


def make_state(kind: str, rank: int = 0, world_size: int = 1):
    from genlab.config import TrainConfig, resolve
    from genlab.data.dataset import Dataset
    from genlab.devices import seed_everything
    from genlab.training.state import build_state

    gen = torch.Generator().manual_seed(7)
    x = torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8, generator=gen)
    ds = Dataset(name="tiny", kind="image", x=x)
    cfg = TrainConfig(seed=3, steps=10, batch_size=GLOBAL_BATCH, device="cpu", precision="fp32")
    cfg.model.kind, cfg.model.architecture = kind, "mlp"
    cfg.model.hidden_dim, cfg.model.depth, cfg.model.latent_dim = 32, 2, 4
    if kind == "gan":
        cfg.model.discriminator_norm = "layer"
        cfg.lr = 1e-3  # a visible step
    cfg = resolve(cfg, ds.kind, ds.example_shape, 0, len(ds))
    seed_everything(cfg.seed)  # as train() does: the same initial weights in every process
    state = build_state(cfg, ds, torch.device("cpu"), rank, world_size)
    return state, ds


def one_step(state, ds) -> dict[str, torch.Tensor]:
    """One optimizer step (GAN: one D step and one G step) with genlab's own step functions."""
    from genlab.data import normalizer_for
    from genlab.training.steps import gan_step, normalization_target, vae_step

    norm = normalizer_for(ds, normalization_target(state.cfg, ds.kind))

    def next_batch():
        return norm.encode(ds.x[state.sampler.next_batch()]), None

    torch.manual_seed(1234)  # nothing may depend on the global stream; make sure it agrees
    if state.cfg.model.kind == "gan":
        gan_step(state, next_batch)
    else:
        vae_step(state, next_batch)
    return {k: v.detach().clone() for k, v in state.model.state_dict().items()}


def worker(kind: str, out: str) -> None:
    from genlab.training import distributed

    ctx, _ = distributed.setup("cpu")
    torch.set_num_threads(1)
    state, ds = make_state(kind, ctx.rank, ctx.world_size)
    distributed.attach(state, ctx)
    assert state.sampler.local_batch_size == GLOBAL_BATCH // ctx.world_size
    weights = one_step(state, ds)
    if ctx.rank == 0:
        torch.save(weights, out)
    # Free the DDP wrappers (their reducers hold the process group) before leaving it, as
    # train() does when its generator ends: one CI run aborted a rank at exit ("terminate
    # called without an active exception") while they were still alive.
    del state
    gc.collect()
    distributed.teardown()


@pytest.fixture(scope="module")
def ddp_weights(tmp_path_factory):
    """Both kinds trained by one torchrun launch per kind, run in parallel (2 + 2 processes)."""
    folder = tmp_path_factory.mktemp("ddp")
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = {}
    for kind in KINDS:
        out = folder / f"{kind}.pt"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", __file__, kind, str(out)]
        procs[kind] = (subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True), out)
    results = {}
    for kind, (proc, out) in procs.items():
        log, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"torchrun ({kind}) failed:\n{log[-4000:]}"
        results[kind] = torch.load(out)
    return results


@pytest.mark.parametrize("kind", KINDS)
def test_ddp_step_equals_single_process_step(kind, ddp_weights):
    state, ds = make_state(kind)
    before = {k: v.clone() for k, v in state.model.state_dict().items()}
    single = one_step(state, ds)
    ddp = ddp_weights[kind]
    assert single.keys() == ddp.keys()
    moved = 0
    for name, value in single.items():
        torch.testing.assert_close(ddp[name], value, rtol=1e-5, atol=1e-6, msg=name)
        moved += int(not torch.equal(value, before[name]))
    assert moved > 0, "the step changed no weight: the comparison would be empty"


def test_randn_shard_slices_the_global_draw():
    from genlab.training.distributed import DistContext, randn_shard

    full = torch.randn((8, 3), generator=torch.Generator().manual_seed(5))
    parts = [randn_shard((4, 3), torch.Generator().manual_seed(5), torch.device("cpu"),
                         DistContext(rank=r, world_size=2)) for r in range(2)]
    torch.testing.assert_close(torch.cat(parts), full, rtol=0, atol=0)


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2])
