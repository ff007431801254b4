import numpy as np
import pytest
import torch

from genlab.errors import GenlabError
from genlab.metrics.anomaly import anomaly_auc


def test_perfect_inverted_and_random_scores():
    labels = np.array([0] * 90 + [1] * 10)
    perfect = labels + np.linspace(0, 0.5, 100)
    r = anomaly_auc(perfect, labels)
    assert r["auroc"] == 1.0 and r["auprc"] == pytest.approx(1.0) and r["anomaly_fraction"] == 0.1
    inv = anomaly_auc(-perfect, labels)
    assert inv["auroc"] == 0.0
    # inverted: anomalies ranked last; AP = mean over anomalies of (rank among anomalies/rank)
    expected_ap = np.mean([(i + 1) / (90 + i + 1) for i in range(10)])
    assert inv["auprc"] == pytest.approx(expected_ap)
    rng = np.random.default_rng(0)
    big_labels = (rng.random(20000) < 0.2).astype(int)
    rnd = anomaly_auc(torch.from_numpy(rng.random(20000)), torch.from_numpy(big_labels))
    assert rnd["auroc"] == pytest.approx(0.5, abs=0.02)
    assert rnd["auprc"] == pytest.approx(0.2, abs=0.02)


def test_hand_computed_auroc():
    # pairs (anomaly, normal) correctly ordered: 3 of 4 -> 0.75
    assert anomaly_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])["auroc"] == 0.75


def test_errors():
    with pytest.raises(GenlabError, match="both"):
        anomaly_auc([0.1, 0.2], [1, 1])
    with pytest.raises(GenlabError, match="0 \\(normal\\) or 1"):
        anomaly_auc([0.1, 0.2], [0, 2])
    with pytest.raises(GenlabError, match="length"):
        anomaly_auc([0.1, 0.2, 0.3], [0, 1])
