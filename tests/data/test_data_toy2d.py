import math

import pytest
import torch

from genlab.data import load_dataset, points_dataset
from genlab.data.toy2d import grid25_modes, ring8_modes
from genlab.errors import GenlabError


def test_ring8_geometry_pacgan():
    modes = ring8_modes()
    assert modes.shape == (8, 2)
    assert torch.allclose(modes.norm(dim=1), torch.ones(8), atol=1e-6)
    # 8 distinct modes, consecutive ones 2π/8 apart (linspace(0, 2π, 8) would duplicate one)
    dist = torch.cdist(modes, modes) + torch.eye(8) * 10
    assert dist.min() == pytest.approx(2 * math.sin(math.pi / 8), abs=1e-5)
    angles = torch.atan2(modes[:, 1], modes[:, 0]) % (2 * math.pi)
    assert torch.allclose(angles, torch.arange(8) * 2 * math.pi / 8, atol=1e-5)


def test_grid25_geometry():
    modes = grid25_modes()
    assert modes.shape == (25, 2)
    assert len({tuple(m) for m in modes.tolist()}) == 25
    assert set(modes[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


@pytest.mark.parametrize("name,std,m", [("ring8", 0.01, 8), ("grid25", 0.05, 25)])
def test_mixture_samples(name, std, m):
    ds = load_dataset(name, n_train=20_000)
    assert ds.kind == "points" and ds.x.dtype == torch.float32 and ds.x.shape == (20_000, 2)
    assert ds.mode_std == std and ds.modes.shape == (m, 2) and ds.num_classes == m
    residual = ds.x - ds.modes[ds.y]
    assert residual.std().item() == pytest.approx(std, rel=0.03)
    assert residual.mean(0).abs().max() < 5 * std / math.sqrt(len(ds) / 2) + 1e-4
    # y is the nearest mode (modes are > 20 std apart) and modes are used uniformly
    assert torch.equal(torch.cdist(ds.x, ds.modes).argmin(1), ds.y)
    counts = torch.bincount(ds.y, minlength=m).float()
    assert (counts / counts.mean() - 1).abs().max() < 0.15


def test_sizes_and_determinism():
    a = load_dataset("moons", n_train=500)
    b = load_dataset("moons", n_train=500)
    c = load_dataset("moons", n_train=500, seed=1)
    t = load_dataset("moons", split="test")
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    assert len(t) == 10_000 and len(load_dataset("ring8")) == 100_000
    assert not torch.equal(t.x[:500], a.x)


@pytest.mark.parametrize("name", ["spiral", "moons", "circles", "checkerboard"])
def test_other_toys(name):
    ds = load_dataset(name, n_train=4000)
    assert ds.x.shape == (4000, 2) and torch.isfinite(ds.x).all()
    assert ds.x.abs().max() < 5
    if name == "checkerboard":  # only the 8 "black" cells of the 4x4 board are filled
        cell = torch.floor(ds.x / 2).long()
        assert ((cell[:, 0] + cell[:, 1]) % 2 == 0).all()
    if name == "circles":
        r = ds.x.norm(dim=1)
        assert (r[ds.y == 0].mean() - 1).abs() < 0.01 and (r[ds.y == 1].mean() - 0.5).abs() < 0.01


def test_csv_points(tmp_path):
    p = tmp_path / "pts.csv"
    p.write_text("x,y\n0.5,-1\n\n2, 3.25\n")
    ds = load_dataset(f"csv:{p}")
    assert ds.x.tolist() == [[0.5, -1.0], [2.0, 3.25]] and ds.y is None
    p.write_text("1,2\n3,4\n")
    assert len(load_dataset(f"csv:{p}", split="test")) == 2


@pytest.mark.parametrize("text,expected", [
    ("x,y\n1,2\n3,abc\n", "line 3"),
    ("1,2\n3\n", "line 2"),
    ("1,2,3\n", "line 1"),
    ("x,y\n", "no points"),
    ("1,2\nnan,1\n", "line 2"),
])
def test_bad_csv(tmp_path, text, expected):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(GenlabError, match=expected) as e:
        load_dataset(f"csv:{p}")
    assert "bad.csv" in str(e.value) and "\n" not in str(e.value)


def test_missing_csv(tmp_path):
    with pytest.raises(GenlabError, match="nope.csv"):
        load_dataset(f"csv:{tmp_path / 'nope.csv'}")


def test_points_dataset():
    ds = points_dataset([(0, 1), (2.5, -1)])
    assert ds.name == "drawn" and ds.x.dtype == torch.float32 and len(ds) == 2
    for bad in ([], [(1, 2, 3)], [("a", 1)], [(float("inf"), 0)]):
        with pytest.raises(GenlabError):
            points_dataset(bad)


def test_unknown_names_and_options():
    with pytest.raises(GenlabError, match="unknown dataset 'ring9': choose one of"):
        load_dataset("ring9")
    with pytest.raises(GenlabError, match="needs a path"):
        load_dataset("csv")
    with pytest.raises(GenlabError, match="split"):
        load_dataset("ring8", split="val")
    with pytest.raises(GenlabError, match="option"):
        load_dataset("ring8", colour=3)
