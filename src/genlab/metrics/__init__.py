"""Evaluation metrics: pure functions, each pinned by tests on cases with known answers.

- `toy2d`: PacGAN/VEEGAN mode coverage on 2D Gaussian mixtures.
- `frechet`: Fréchet distance between Gaussians fitted to features (FID).
- `kid`: kernel inception distance (unbiased MMD², cubic kernel, subsets).
- `precision_recall`: improved precision/recall (k=3) and density/coverage (k=5).
- `likelihood`: ELBO terms, IWAE bound (k = 5000 in batches), active units.
- `features`: the evaluation networks (genlab classifier per data set; local Inception).
- `anomaly`: AUROC / AUPRC of anomaly scores.
- `disentanglement`: MIG and the FactorVAE score (disentanglement_lib settings).
- `mode_count`: classes found and KL of the class histogram (stacked-MNIST protocol).

The names below are loaded on first use (PEP 562), so `import genlab.metrics.toy2d` does not
pay for scikit-learn or safetensors.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "toy2d": ("ModeProtocol", "ModeReport", "mode_coverage", "mode_protocol"),
    "frechet": ("fit_gaussian", "frechet_distance", "frechet_distance_from_features"),
    "kid": ("kernel_inception_distance", "mmd2_unbiased", "polynomial_kernel"),
    "precision_recall": ("density_coverage", "improved_precision_recall", "knn_radii"),
    "likelihood": ("active_units", "elbo_terms", "iwae_bound", "log_likelihood"),
    "features": ("FeatureExtractor", "InceptionFeatures"),
    "anomaly": ("anomaly_auc",),
    "disentanglement": ("discretize", "factor_vae_score", "mig", "mutual_information_matrix",
                        "sample_codes"),
    "mode_count": ("count_modes", "stack_digits"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
