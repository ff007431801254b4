"""Fréchet distance between Gaussians fitted to two feature sets (FID when the features are
Inception pool3 features).

Heusel, Ramsauer, Unterthiner, Nessler, Hochreiter, "GANs Trained by a Two Time-Scale Update
Rule Converge to a Local Nash Equilibrium", NeurIPS 2017, https://arxiv.org/abs/1706.08500
(Eq. 6; Dowson & Landau 1982 for the Gaussian case):

    d²((μ1, Σ1), (μ2, Σ2)) = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)

Tr (Σ1 Σ2)^½ is computed without a non-symmetric matrix square root: Σ1 Σ2 is similar to the
symmetric PSD matrix A = Σ1^½ Σ2 Σ1^½ (Σ1^½ A Σ1^-½ = Σ1 Σ2 when Σ1 is invertible, and by
continuity otherwise), so Tr (Σ1 Σ2)^½ = Σ_i sqrt(λ_i(A)), with λ_i ≥ 0 from a symmetric
eigendecomposition (negative round-off clipped to 0). This needs no `eps` offset for singular
covariances, unlike the scipy.linalg.sqrtm route of the reference implementations, and it
agrees with it where that route is well defined (pinned by the tests). Covariances are the
unbiased sample covariances (ddof=1), as in the reference TF/pytorch-fid code.
"""

from __future__ import annotations

import torch

from genlab.errors import GenlabError
from genlab.metrics._util import as_float64, same_width

__all__ = ["fit_gaussian", "frechet_distance", "frechet_distance_from_features"]


def fit_gaussian(features) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of `features` (N, D), in float64."""
    f = as_float64(features, "features")  # (N, D)
    if f.shape[0] < 2:
        raise GenlabError(f"need at least 2 feature vectors to fit a Gaussian, got {f.shape[0]}")
    mu = f.mean(dim=0)  # (D,)
    centred = f - mu  # (N, D)
    sigma = centred.T @ centred / (f.shape[0] - 1)  # (D, D)
    return mu, sigma


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric PSD matrix by eigendecomposition."""
    sym = (matrix + matrix.T) / 2
    eigvals, eigvecs = torch.linalg.eigh(sym)
    return (eigvecs * eigvals.clamp(min=0).sqrt()) @ eigvecs.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """d² between N(mu1, sigma1) and N(mu2, sigma2) (Heusel et al. 2017, Eq. 6)."""
    mu1 = as_float64(mu1, "mu1", ndim=1)
    mu2 = as_float64(mu2, "mu2", ndim=1)
    sigma1 = as_float64(sigma1, "sigma1")
    sigma2 = as_float64(sigma2, "sigma2")
    d = mu1.shape[0]
    if mu2.shape[0] != d or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise GenlabError(
            f"Gaussian shapes disagree: mu1 {tuple(mu1.shape)}, sigma1 {tuple(sigma1.shape)}, "
            f"mu2 {tuple(mu2.shape)}, sigma2 {tuple(sigma2.shape)}"
        )
    mean_term = (mu1 - mu2).square().sum()  # ‖μ1 − μ2‖²
    root1 = _sqrt_psd(sigma1)  # Σ1^½
    inner = root1 @ sigma2 @ root1  # Σ1^½ Σ2 Σ1^½ (similar to Σ1 Σ2)
    inner = (inner + inner.T) / 2
    trace_sqrt = torch.linalg.eigvalsh(inner).clamp(min=0).sqrt().sum()  # Tr (Σ1 Σ2)^½
    value = mean_term + torch.trace(sigma1) + torch.trace(sigma2) - 2 * trace_sqrt
    return float(value.clamp(min=0))  # d² ≥ 0; clamp round-off


def frechet_distance_from_features(features1, features2) -> float:
    """Fit a Gaussian to each feature set (N, D) and return their Fréchet distance."""
    f1 = as_float64(features1, "features1")
    f2 = as_float64(features2, "features2")
    same_width(f1, f2, "frechet distance")
    return frechet_distance(*fit_gaussian(f1), *fit_gaussian(f2))
