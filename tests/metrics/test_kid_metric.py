import numpy as np
import pytest

from genlab.errors import GenlabError
from genlab.metrics.kid import kernel_inception_distance, mmd2_unbiased


def brute_force_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_unbiased_estimator_equals_double_loop():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) + 0.4
    assert mmd2_unbiased(x, y) == pytest.approx(brute_force_mmd2(x, y), rel=1e-12)


def test_single_subset_covering_everything_equals_mmd2():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(30, 4)) + 1
    r = kernel_inception_distance(x, y, num_subsets=1, subset_size=100)
    assert r["subset_size"] == 30  # capped by the set sizes
    # a subset of all points (in permuted order) gives the full-sample estimate
    assert r["kid_mean"] == pytest.approx(mmd2_unbiased(x, y), rel=1e-10)
    assert r["kid_std"] == 0.0


def test_same_distribution_is_near_zero_and_shift_is_positive():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(1000, 16))
    fake_same = rng.normal(size=(1000, 16))
    fake_shift = rng.normal(size=(1000, 16)) + 0.5
    same = kernel_inception_distance(real, fake_same, num_subsets=20, subset_size=200, seed=0)
    shift = kernel_inception_distance(real, fake_shift, num_subsets=20, subset_size=200, seed=0)
    assert abs(same["kid_mean"]) < 3 * same["kid_std"] / np.sqrt(20) + 1e-3
    assert shift["kid_mean"] > 10 * shift["kid_std"] / np.sqrt(20)
    assert shift["kid_mean"] > 0.05


def test_seed_fixes_subsets():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(100, 4)), rng.normal(size=(100, 4))
    a = kernel_inception_distance(x, y, num_subsets=5, subset_size=20, seed=7)
    b = kernel_inception_distance(x, y, num_subsets=5, subset_size=20, seed=7)
    assert a == b


def test_errors():
    with pytest.raises(GenlabError):
        kernel_inception_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(GenlabError, match="feature sizes differ"):
        kernel_inception_distance(np.zeros((4, 3)), np.zeros((5, 2)))
