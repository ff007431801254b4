"""Kernel Inception Distance: unbiased MMD² with a cubic polynomial kernel, over subsets.

Bińkowski, Sutherland, Arbel, Gretton, "Demystifying MMD GANs", ICLR 2018,
https://arxiv.org/abs/1801.01401 (Sec. 2.3 and Appendix; kernel of Eq. 4 / KID in Sec. 4):

    k(x, y) = (xᵀy / d + 1)³
    MMD²_u(X, Y) = 1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n−1)) Σ_{i≠j} k(y_i, y_j)
                   − 2/(mn) Σ_{i,j} k(x_i, y_j)

KID is the mean of MMD²_u over `num_subsets` random subsets (default 100 subsets of 1000
drawn without replacement from each set, as in the authors' code and torch-fidelity), with
the standard deviation over subsets. The subset size is capped by both set sizes. The
estimator is unbiased, so for two samples of one distribution it scatters around 0 and can be
slightly negative.
"""

from __future__ import annotations

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.metrics._util import as_float64, same_width

__all__ = ["polynomial_kernel", "mmd2_unbiased", "kernel_inception_distance"]


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = 3, coef0: float = 1.0):
    """k(x, y) = (xᵀy / d + coef0)^degree for all pairs: (m, d), (n, d) -> (m, n)."""
    d = x.shape[1]
    return (x @ y.T / d + coef0) ** degree


def mmd2_unbiased(x, y, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD² between samples x (m, d) and y (n, d) with the polynomial kernel."""
    x = as_float64(x, "x")
    y = as_float64(y, "y")
    same_width(x, y, "mmd")
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        raise GenlabError("unbiased MMD needs at least 2 samples in each set")
    k_xx = polynomial_kernel(x, x, degree, coef0)  # (m, m)
    k_yy = polynomial_kernel(y, y, degree, coef0)  # (n, n)
    k_xy = polynomial_kernel(x, y, degree, coef0)  # (m, n)
    term_xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))  # Σ_{i≠j} k(x_i, x_j)
    term_yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))  # Σ_{i≠j} k(y_i, y_j)
    term_xy = k_xy.sum() / (m * n)  # Σ_{i,j} k(x_i, y_j)
    return float(term_xx + term_yy - 2 * term_xy)


def kernel_inception_distance(
    features_real,
    features_fake,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int | np.random.Generator = 0,
) -> dict:
    """KID between two feature sets (N, D), (M, D): {"kid_mean", "kid_std", "subset_size",
    "num_subsets"}. `seed` (int or numpy Generator) fixes the subsets."""
    real = as_float64(features_real, "features_real")
    fake = as_float64(features_fake, "features_fake")
    same_width(real, fake, "kernel inception distance")
    if num_subsets < 1:
        raise GenlabError(f"num_subsets must be >= 1, got {num_subsets}")
    size = min(subset_size, real.shape[0], fake.shape[0])
    if size < 2:
        raise GenlabError("kernel inception distance needs at least 2 samples in each set")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    values = np.empty(num_subsets)
    for s in range(num_subsets):
        idx_real = torch.from_numpy(rng.choice(real.shape[0], size, replace=False))
        idx_fake = torch.from_numpy(rng.choice(fake.shape[0], size, replace=False))
        values[s] = mmd2_unbiased(real[idx_real], fake[idx_fake])
    return {
        "kid_mean": float(values.mean()),
        "kid_std": float(values.std()),
        "subset_size": size,
        "num_subsets": num_subsets,
    }
