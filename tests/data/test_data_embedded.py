import pytest
import torch

from genlab.data import load_dataset, stratified_split
from genlab.data.embedded import parse_int_csv
from genlab.errors import GenlabError


def test_mnist5k_split():
    train, test = load_dataset("mnist5k"), load_dataset("mnist5k", split="test")
    assert train.x.shape == (4500, 1, 28, 28) and test.x.shape == (500, 1, 28, 28)
    assert train.x.dtype == torch.uint8 and train.y.dtype == torch.int64
    assert torch.bincount(train.y).tolist() == [450] * 10
    assert torch.bincount(test.y).tolist() == [50] * 10
    assert train.num_classes == 10 and train.x.max() == 255
    # disjoint: no test image appears in train
    train_rows = {bytes(r) for r in train.x.reshape(len(train), -1).numpy()}
    assert sum(bytes(r) in train_rows for r in test.x.reshape(len(test), -1).numpy()) < 5
    assert torch.equal(load_dataset("mnist5k").x, train.x)  # deterministic


def test_digits():
    train, test = load_dataset("digits"), load_dataset("digits", split="test")
    assert train.x.shape[1:] == (1, 8, 8) and len(train) + len(test) == 1797
    assert train.x.max() == 255 and train.x.min() == 0 and len(set(test.y.tolist())) == 10


def test_holdout_and_resize():
    ds = load_dataset("digits", holdout_class=3, image_size=16)
    assert 3 not in ds.y.tolist() and ds.x.shape[1:] == (1, 16, 16)
    assert 3 in load_dataset("digits", split="test", holdout_class=3).y.tolist()
    with pytest.raises(GenlabError):
        load_dataset("ring8", image_size=16)


def test_stratified_split_is_partition():
    y = torch.tensor([0] * 10 + [1] * 20 + [2] * 5)
    train, test = stratified_split(y, 0.2)
    assert torch.equal(torch.sort(torch.cat([train, test])).values, torch.arange(35))
    assert torch.bincount(y[test]).tolist() == [2, 4, 1]


def test_parse_int_csv():
    assert parse_int_csv(b"1,20,255\n0,7,9\n", 3, "t").tolist() == [[1, 20, 255], [0, 7, 9]]
    for bad in (b"1,2\n3\n", b"1,,3\n", b"1,2.5,3\n", b"1,2,3000\n"):
        with pytest.raises(GenlabError):
            parse_int_csv(bad, 3, "t")
