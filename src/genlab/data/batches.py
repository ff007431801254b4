"""`EpochSampler`: an endless stream of int64 index batches over an in-memory dataset.

The permutation of epoch e is a pure function of (seed, e), so the whole state is
{"epoch", "position"} and a resumed run draws exactly the batches the uninterrupted run would.

Under DDP (world_size > 1) every rank walks the same global permutation; global batch b is
cut into world_size equal slices and rank r takes slice r. So the union of the ranks' local
batches is exactly the single-process global batch, and a DDP step equals a single-process
step on the same data.

Batching does no per-item Python work: `ds.x[idx]` gathers a whole batch in one indexing op.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from genlab.data.dataset import generator
from genlab.errors import GenlabError


class EpochSampler:
    def __init__(self, n: int, batch_size: int, seed: int, drop_last: bool = True,
                 rank: int = 0, world_size: int = 1):
        """`batch_size` is the global batch; each rank yields batch_size // world_size indices."""
        if n < 1:
            raise GenlabError(f"cannot sample batches from an empty dataset (n = {n})")
        if batch_size < 1:
            raise GenlabError(f"batch size must be positive, got {batch_size}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise GenlabError(f"rank {rank} is not in [0, world_size = {world_size})")
        if batch_size % world_size:
            raise GenlabError(f"batch size {batch_size} must be a multiple of the number of "
                              f"processes ({world_size})")
        if drop_last and batch_size > n:
            raise GenlabError(f"batch size {batch_size} is larger than the dataset ({n} examples)")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.drop_last, self.rank, self.world_size = drop_last, rank, world_size
        self.local_batch_size = batch_size // world_size
        self.epoch = 0
        self.position = 0  # index of the next global batch within the epoch
        self._perm_epoch: int | None = None
        self._perm: torch.Tensor | None = None
        if self.batches_per_epoch == 0:
            raise GenlabError(f"{n} examples cannot fill a batch on each of {world_size} processes")

    @property
    def batches_per_epoch(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        # a last partial batch must give every rank at least one example
        return full + (0 if self.drop_last or rest < self.world_size else 1)

    def permutation(self, epoch: int) -> torch.Tensor:
        """The global order of epoch `epoch`: a pure function of (seed, epoch)."""
        return torch.randperm(self.n, generator=generator("epoch-sampler", self.seed, epoch))

    def global_batch(self, epoch: int, position: int) -> torch.Tensor:
        """All ranks' indices of batch `position` in epoch `epoch` (int64)."""
        if self._perm_epoch != epoch:
            self._perm, self._perm_epoch = self.permutation(epoch), epoch
        start = position * self.batch_size
        return self._perm[start:start + self.batch_size]

    def next_batch(self) -> torch.Tensor:
        """This rank's int64 index tensor for the next batch; moves to a new epoch when one ends."""
        if self.position >= self.batches_per_epoch:
            self.epoch, self.position = self.epoch + 1, 0
        batch = self.global_batch(self.epoch, self.position)
        self.position += 1
        if self.world_size == 1:
            return batch
        local = len(batch) // self.world_size  # equal shards (a partial batch drops < world_size)
        return batch[self.rank * local:(self.rank + 1) * local]

    def __iter__(self) -> Iterator[torch.Tensor]:
        return self

    def __next__(self) -> torch.Tensor:
        return self.next_batch()

    @property
    def epochs_done(self) -> float:
        """Fractional epochs consumed (for progress reports)."""
        return self.epoch + self.position / self.batches_per_epoch

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            epoch, position = int(state["epoch"]), int(state["position"])
        except (KeyError, TypeError, ValueError):
            raise GenlabError(f"bad sampler state {state!r}: expected epoch and position") from None
        if epoch < 0 or not 0 <= position <= self.batches_per_epoch:
            raise GenlabError(f"bad sampler state {state!r}: position must be in "
                              f"[0, {self.batches_per_epoch}]")
        self.epoch, self.position = epoch, position
