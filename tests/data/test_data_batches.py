import pytest
import torch

from genlab.data import EpochSampler
from genlab.errors import GenlabError


def _take(sampler, k):
    return [sampler.next_batch() for _ in range(k)]


def test_epochs_are_permutations():
    s = EpochSampler(10, 3, seed=0)
    assert s.batches_per_epoch == 3
    first = torch.cat(_take(s, 3))
    assert first.dtype == torch.int64 and len(set(first.tolist())) == 9
    second = torch.cat(_take(s, 3))
    assert s.epoch == 1 and not torch.equal(first, second)
    assert torch.equal(torch.sort(s.permutation(1)).values, torch.arange(10))
    assert torch.equal(EpochSampler(10, 3, seed=0).permutation(4), s.permutation(4))  # pure
    assert not torch.equal(EpochSampler(10, 3, seed=1).permutation(0), s.permutation(0))


def test_keep_last():
    s = EpochSampler(10, 4, seed=0, drop_last=False)
    sizes = [len(b) for b in _take(s, 6)]
    assert sizes == [4, 4, 2, 4, 4, 2]


def test_iterates_forever():
    s = EpochSampler(8, 4, seed=3)
    it = iter(s)
    assert len([next(it) for _ in range(11)]) == 11 and s.epoch == 5


def test_exact_resume_mid_epoch():
    ref = EpochSampler(103, 10, seed=7)
    expected = _take(ref, 25)
    s = EpochSampler(103, 10, seed=7)
    _take(s, 13)
    state = s.state_dict()
    assert state == {"epoch": 1, "position": 3}
    resumed = EpochSampler(103, 10, seed=7)
    resumed.load_state_dict(state)
    for a, b in zip(_take(resumed, 12), expected[13:]):
        assert torch.equal(a, b)


def test_ddp_shards_make_the_global_batch():
    single = EpochSampler(100, 12, seed=5)
    ranks = [EpochSampler(100, 12, seed=5, rank=r, world_size=3) for r in range(3)]
    for _ in range(20):
        global_batch = single.next_batch()
        shards = [s.next_batch() for s in ranks]
        assert all(len(sh) == 4 for sh in shards)
        assert torch.equal(torch.cat(shards), global_batch)  # rank r holds the r-th slice
        assert len(set(torch.cat(shards).tolist())) == 12  # disjoint


def test_bad_arguments():
    with pytest.raises(GenlabError):
        EpochSampler(10, 20, seed=0)
    with pytest.raises(GenlabError):
        EpochSampler(10, 5, seed=0, world_size=2)
    with pytest.raises(GenlabError):
        EpochSampler(10, 4, seed=0, rank=2, world_size=2)
    with pytest.raises(GenlabError):
        EpochSampler(10, 2, seed=0).load_state_dict({"epoch": 0})
