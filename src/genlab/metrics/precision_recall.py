"""Improved precision / recall and density / coverage from k-NN balls in feature space.

Kynkäänniemi, Karras, Laine, Lehtinen, Aila, "Improved Precision and Recall Metric for
Assessing Generative Models", NeurIPS 2019, https://arxiv.org/abs/1904.06991 (Eq. 1-2), k = 3:

    f(φ, Φ) = 1 if ‖φ − φ'‖ ≤ ‖φ' − NN_k(φ', Φ)‖ for some φ' ∈ Φ, else 0
    precision = 1/|Φ_g| Σ_{φ_g} f(φ_g, Φ_r)        recall = 1/|Φ_r| Σ_{φ_r} f(φ_r, Φ_g)

Naeem, Oh, Uh, Choi, Yoo, "Reliable Fidelity and Diversity Metrics for Generative Models",
ICML 2020, https://arxiv.org/abs/2002.09797 (Eq. 3-4), k = 5, balls around real points only:

    density  = 1/(kM) Σ_j Σ_i 1[Y_j ∈ B(X_i, NND_k(X_i))]
    coverage = 1/N   Σ_i 1[∃ j: Y_j ∈ B(X_i, NND_k(X_i))]

NN_k / NND_k is the distance to the k-th nearest *other* point of the same set (the point
itself, at distance 0, is not counted: `kthvalue(k + 1)` in NVlabs' code, `np.partition(d,
k)[:, k]` in clovaai's). As in the authors' code, precision/recall use closed balls (`dist <=
kth`, NVlabs stylegan2-ada-pytorch metrics/precision_recall.py) and density/coverage open balls
(`dist < radius`, clovaai/generative-evaluation-prdc prdc.py). Distances are Euclidean, from
torch.cdist in row blocks so memory stays O(block · N).

One orientation for every distance: rows are ball centres. A ball's radius and the test
"is this point inside it" read the same row of the same cdist call (as prdc does with its
real × fake matrix). cdist's matrix-product path rounds ‖a − b‖ and ‖b − a‖ differently,
so a radius from cdist(real, real) tested against cdist(fake, real) put the k-th neighbour
of a copied set inside its open ball now and then (density 1.0015–1.008 for a copy). Now a
copy gives density exactly 1: each point lies in its own ball and in the k − 1 balls whose
k-th neighbour it is not; for independent samples of one distribution it is ≈ 1 as well.
"""

from __future__ import annotations

import torch

from genlab.errors import GenlabError
from genlab.metrics._util import as_float64, same_width

__all__ = ["knn_radii", "improved_precision_recall", "density_coverage"]

BLOCK = 2048  # rows of a distance block


def _blocks(a: torch.Tensor, b: torch.Tensor):
    """Yield (start, distances (rows, len(b))) for row blocks of a: the one distance function
    (radii and ball tests both come from it, rows being the ball centres)."""
    block = BLOCK  # read at call time (a test shrinks it)
    for start in range(0, a.shape[0], block):
        yield start, torch.cdist(a[start : start + block], b)  # (rows, Nb)


def knn_radii(features, k: int) -> torch.Tensor:
    """Distance from each point (N, D) to its k-th nearest other point of the set: (N,)."""
    f = as_float64(features, "features")
    if not 1 <= k < f.shape[0]:
        raise GenlabError(f"k must be in [1, {f.shape[0] - 1}] for {f.shape[0]} points, got {k}")
    radii = torch.empty(f.shape[0], dtype=torch.float64)
    for start, d in _blocks(f, f):
        # k+1 smallest including the point itself at distance 0 -> index k
        radii[start : start + d.shape[0]] = d.kthvalue(k + 1, dim=1).values
    return radii


def _balls(centres: torch.Tensor, radii: torch.Tensor, points: torch.Tensor,
           closed: bool = True):
    """Balls B(centre_i, radius_i) against points: how many balls hold each point (P,) and
    whether each ball holds a point (C,). Distances are rows of centres, as for the radii."""
    count = torch.zeros(points.shape[0], dtype=torch.float64)
    holds = torch.empty(centres.shape[0], dtype=torch.bool)
    for start, d in _blocks(centres, points):  # d[i, j] = ‖c_i − p_j‖, (rows, P)
        r = radii[start : start + d.shape[0], None]  # (rows, 1)
        within = d <= r if closed else d < r
        count += within.sum(dim=0)
        holds[start : start + d.shape[0]] = within.any(dim=1)
    return count, holds


def improved_precision_recall(features_real, features_fake, k: int = 3) -> dict:
    """Improved precision and recall (Kynkäänniemi et al. 2019): {"precision", "recall"}."""
    real = as_float64(features_real, "features_real")
    fake = as_float64(features_fake, "features_fake")
    same_width(real, fake, "precision/recall")
    radii_real = knn_radii(real, k)  # (N,)
    radii_fake = knn_radii(fake, k)  # (M,)
    fake_in_real, _ = _balls(real, radii_real, fake)  # precision: fakes on the real manifold
    real_in_fake, _ = _balls(fake, radii_fake, real)  # recall: reals on the fake manifold
    return {
        "precision": float((fake_in_real > 0).double().mean()),
        "recall": float((real_in_fake > 0).double().mean()),
    }


def density_coverage(features_real, features_fake, k: int = 5) -> dict:
    """Density and coverage (Naeem et al. 2020): {"density", "coverage"}."""
    real = as_float64(features_real, "features_real")
    fake = as_float64(features_fake, "features_fake")
    same_width(real, fake, "density/coverage")
    radii_real = knn_radii(real, k)  # (N,)
    # Eq. 3: Σ_j Σ_i 1[Y_j ∈ B(X_i, NND_k(X_i))]; Eq. 4: balls holding at least one Y_j
    balls_per_fake, covered = _balls(real, radii_real, fake, closed=False)  # (M,), (N,)
    density = balls_per_fake.sum() / (k * fake.shape[0])
    return {"density": float(density), "coverage": float(covered.double().mean())}
