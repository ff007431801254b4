"""Anomaly-detection quality of per-example scores: AUROC and AUPRC.

The area under the ROC curve (Hanley & McNeil 1982) and average precision (area under the
precision-recall curve, step-wise: AP = Σ_n (R_n − R_{n−1}) P_n) as computed by
scikit-learn's `roc_auc_score` and `average_precision_score`
(https://scikit-learn.org/stable/modules/model_evaluation.html). Convention: label 1 =
anomaly (the positive class), and a *higher* score means *more anomalous* (e.g. negative ELBO,
reconstruction error). Random scores give AUROC ≈ 0.5 and AUPRC ≈ the anomaly fraction.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from genlab.errors import GenlabError

__all__ = ["anomaly_auc"]


def _as_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def anomaly_auc(scores, labels) -> dict:
    """{"auroc", "auprc", "anomaly_fraction"} of `scores` (N,) against binary `labels` (N,)."""
    s = _as_numpy(scores).astype(np.float64).reshape(-1)
    y = _as_numpy(labels).reshape(-1)
    if s.shape != y.shape:
        raise GenlabError(f"scores and labels differ in length ({s.shape[0]} vs {y.shape[0]})")
    if not np.isin(y, (0, 1)).all():
        raise GenlabError("labels must be 0 (normal) or 1 (anomaly)")
    if y.min() == y.max():
        raise GenlabError("labels need both normal (0) and anomalous (1) examples")
    if not np.isfinite(s).all():
        raise GenlabError("anomaly scores must be finite")
    y = y.astype(np.int64)
    return {
        "auroc": float(roc_auc_score(y, s)),
        "auprc": float(average_precision_score(y, s)),
        "anomaly_fraction": float(y.mean()),
    }
