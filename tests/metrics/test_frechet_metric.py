import numpy as np
import pytest
import scipy.linalg
import torch

from genlab.errors import GenlabError
from genlab.metrics.frechet import fit_gaussian, frechet_distance, frechet_distance_from_features


def reference_fid(mu1, s1, mu2, s2, eps=1e-6):
    """Independent reference: the scipy.linalg.sqrtm route of the TTUR / pytorch-fid code."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_closed_form_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(expected, rel=1e-12)


def test_matches_scipy_sqrtm_on_random_gaussians():
    rng = np.random.default_rng(0)
    for d in (2, 5, 32):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = random_spd(rng, d), random_spd(rng, d)
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
            reference_fid(mu1, s1, mu2, s2), rel=1e-8, abs=1e-9
        )


def test_singular_covariances_match_reference_with_eps():
    rng = np.random.default_rng(1)
    d = 16
    f1 = rng.normal(size=(8, d))  # rank-deficient: fewer points than dimensions
    f2 = rng.normal(size=(8, d)) + 0.5
    mu1, s1 = (t.numpy() for t in fit_gaussian(f1))
    mu2, s2 = (t.numpy() for t in fit_gaussian(f2))
    got = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(got) and got > 0
    assert got == pytest.approx(reference_fid(mu1, s1, mu2, s2), rel=1e-4)


def test_identical_sets_give_zero_and_symmetry():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(500, 20))
    g = rng.normal(size=(400, 20)) * 1.5 + 0.3
    assert frechet_distance_from_features(f, f) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance_from_features(f, g) == pytest.approx(
        frechet_distance_from_features(g, f), rel=1e-9
    )


def test_fit_gaussian_is_unbiased_sample_covariance():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(50, 4))
    mu, sigma = fit_gaussian(torch.from_numpy(f).float())
    np.testing.assert_allclose(mu.numpy(), f.mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(sigma.numpy(), np.cov(f, rowvar=False), rtol=1e-5, atol=1e-6)


def test_shape_errors():
    with pytest.raises(GenlabError, match="feature sizes differ"):
        frechet_distance_from_features(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(GenlabError, match="at least 2"):
        fit_gaussian(np.zeros((1, 3)))
    with pytest.raises(GenlabError, match="disagree"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
