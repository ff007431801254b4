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
"""

from genlab.metrics.anomaly import anomaly_auc
from genlab.metrics.disentanglement import (
    discretize,
    factor_vae_score,
    mig,
    mutual_information_matrix,
    sample_codes,
)
from genlab.metrics.features import FeatureExtractor, InceptionFeatures
from genlab.metrics.frechet import fit_gaussian, frechet_distance, frechet_distance_from_features
from genlab.metrics.kid import kernel_inception_distance, mmd2_unbiased
from genlab.metrics.likelihood import active_units, elbo_terms, iwae_bound, log_likelihood
from genlab.metrics.mode_count import mode_count, stack_digits
from genlab.metrics.precision_recall import density_coverage, knn_radii, precision_recall
from genlab.metrics.toy2d import ModeProtocol, ModeReport, mode_coverage, mode_protocol

__all__ = [
    "FeatureExtractor",
    "InceptionFeatures",
    "ModeProtocol",
    "ModeReport",
    "active_units",
    "anomaly_auc",
    "density_coverage",
    "discretize",
    "elbo_terms",
    "factor_vae_score",
    "fit_gaussian",
    "frechet_distance",
    "frechet_distance_from_features",
    "iwae_bound",
    "kernel_inception_distance",
    "knn_radii",
    "log_likelihood",
    "mig",
    "mmd2_unbiased",
    "mode_count",
    "mode_coverage",
    "mode_protocol",
    "mutual_information_matrix",
    "precision_recall",
    "sample_codes",
    "stack_digits",
]
