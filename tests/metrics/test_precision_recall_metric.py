import importlib

import numpy as np
import pytest
import torch

from genlab.errors import GenlabError
from genlab.metrics.precision_recall import density_coverage, knn_radii
from genlab.metrics.precision_recall import improved_precision_recall as precision_recall

pr_module = importlib.import_module("genlab.metrics.precision_recall")


def test_knn_radius_excludes_the_point_itself():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(x, 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(x, 2).tolist() == [3.0, 2.0, 3.0, 6.0]


def test_identical_sets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8))
    assert precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}
    dc = density_coverage(x, x, k=5)
    # open balls: each point lies in its own ball and in the k - 1 balls whose k-th neighbour
    # it is not -> exactly k/k = 1 (radii and ball tests read the same distances)
    assert dc == {"density": 1.0, "coverage": 1.0}


@pytest.mark.parametrize("n, d, k, seed", [(300, 8, 5, 0), (1000, 64, 5, 1), (2500, 16, 3, 2),
                                           (513, 2, 7, 3)])
def test_a_copied_set_has_density_exactly_one_like_prdc(n, d, k, seed):
    prdc = pytest.importorskip("prdc")
    x = np.random.default_rng(seed).normal(size=(n, d)) * 3.7
    ref = prdc.compute_prdc(x, x.copy(), nearest_k=k)
    assert ref["density"] == 1.0 and ref["coverage"] == 1.0
    assert density_coverage(x, x.copy(), k=k) == {"density": 1.0, "coverage": 1.0}
    assert precision_recall(x, x.copy(), k=k) == {"precision": 1.0, "recall": 1.0}


@pytest.mark.parametrize("shift, k, seed", [(0.0, 5, 0), (0.5, 5, 1), (1.5, 3, 2), (0.2, 10, 3)])
def test_random_sets_match_prdc(shift, k, seed):
    """prdc (clovaai, Naeem et al.'s code) on continuous data, where no point lies on a ball's
    boundary, so its open-ball precision/recall equal NVlabs' closed-ball ones."""
    prdc = pytest.importorskip("prdc")
    rng = np.random.default_rng(seed)
    real, fake = rng.normal(size=(700, 6)), rng.normal(size=(500, 6)) + shift
    ref = prdc.compute_prdc(real, fake, nearest_k=k)
    ours = {**precision_recall(real, fake, k=k), **density_coverage(real, fake, k=k)}
    assert ours == pytest.approx(ref, abs=1e-12), (ours, ref)


def test_same_distribution_independent_samples():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4))
    r = precision_recall(real, fake)
    assert r["precision"] > 0.9 and r["recall"] > 0.9
    dc = density_coverage(real, fake)
    assert dc["density"] == pytest.approx(1.0, abs=0.1)
    assert dc["coverage"] > 0.95  # Naeem et al.: 1 - (1/2)^k for large samples


def test_disjoint_far_apart_sets():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(200, 4)), rng.normal(size=(200, 4)) + 100
    assert precision_recall(real, fake) == {"precision": 0.0, "recall": 0.0}
    assert density_coverage(real, fake) == {"density": 0.0, "coverage": 0.0}


def test_collapsed_generator_is_precise_but_has_no_recall():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(500, 4))
    fake = np.repeat(real[:1], 500, axis=0)  # every sample is one real point
    r = precision_recall(real, fake)
    assert r["precision"] == 1.0
    assert r["recall"] < 0.02  # fake k-NN radius is 0: only the copied point is recalled
    dc = density_coverage(real, fake)
    assert dc["coverage"] == pytest.approx(1 / 500)
    assert dc["density"] >= 1 / 5  # inside at least its own ball


def test_blocked_computation_matches_unblocked(monkeypatch):
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(137, 3)), rng.normal(size=(91, 3)) + 0.3
    full = (precision_recall(real, fake), density_coverage(real, fake))
    monkeypatch.setattr(pr_module, "BLOCK", 16)
    assert (precision_recall(real, fake), density_coverage(real, fake)) == full


def test_ball_boundaries_follow_the_reference_code():
    # 1D: real {0, 1, 3} with k=1 radii {1, 1, 2}; the fakes at -1 lie exactly on the boundary
    # of B(0, 1) and outside every other ball
    real = np.array([[0.0], [1.0], [3.0]])
    fake = np.array([[-1.0], [-1.0]])
    # closed balls (NVlabs `dist <= kth`): on the boundary counts -> precision 1
    assert precision_recall(real, fake, k=1)["precision"] == 1.0
    # open balls (prdc `dist < radius`): on the boundary does not count
    assert density_coverage(real, fake, k=1) == {"density": 0.0, "coverage": 0.0}
    # strictly inside B(3, 2) only: density 1 / (k * 1) per fake, covers the real point 3
    dc = density_coverage(real, np.array([[3.5]]), k=1)
    assert dc["density"] == 1.0 and dc["coverage"] == pytest.approx(1 / 3)


def test_bad_k():
    with pytest.raises(GenlabError, match="k must be"):
        precision_recall(np.zeros((3, 2)), np.zeros((3, 2)), k=3)
