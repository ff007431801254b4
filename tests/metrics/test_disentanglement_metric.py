import math

import numpy as np
import pytest

from genlab.errors import GenlabError
from genlab.metrics.disentanglement import (
    discretize,
    factor_vae_score,
    mig,
    mutual_information_matrix,
    sample_codes,
)

SIZES = (3, 6, 10)  # at most 20 values per factor: a 20-bin histogram keeps them apart


def identity_render(factors):
    return factors.astype(np.float64)


def test_discretize_matches_histogram_rule():
    codes = np.arange(20.0)[:, None]  # 20 evenly spaced values, one per bin
    assert discretize(codes, 20)[:, 0].tolist() == list(range(1, 21))
    two = discretize(np.array([[0.0], [0.49], [0.51], [1.0]]), 2)
    assert two[:, 0].tolist() == [1, 1, 2, 2]


def test_mutual_information_by_hand():
    # z copies v on half the data and is constant-ish elsewhere: compute I from the joint table
    v = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    z = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    joint = np.zeros((2, 2))
    for a, b in zip(v, (z > 0.5).astype(int)):
        joint[a, b] += 1
    joint /= joint.sum()
    pv, pz = joint.sum(1), joint.sum(0)
    expected = sum(
        joint[a, b] * math.log(joint[a, b] / (pv[a] * pz[b]))
        for a in range(2) for b in range(2) if joint[a, b] > 0
    )
    m = mutual_information_matrix(z[:, None], v[:, None], num_bins=2)
    assert m.shape == (1, 1) and m[0, 0] == pytest.approx(expected)


def test_mig_perfect_and_random_codes():
    rng = np.random.default_rng(0)
    codes, factors = sample_codes(lambda x: x, identity_render, SIZES, 10000, rng)
    assert codes.shape == (10000, 3) and factors.shape == (10000, 3)
    perfect = mig(codes, factors)
    assert perfect["mig"] > 0.99
    assert np.allclose(perfect["factor_entropy"], np.log(SIZES), atol=0.01)
    # a scaled and permuted copy is just as disentangled
    assert mig(codes[:, ::-1] * [5.0, -1.0, 0.1], factors)["mig"] == pytest.approx(perfect["mig"])
    random = mig(rng.normal(size=(10000, 5)), factors)
    assert random["mig"] < 0.01
    # two latents copying factor 0: no gap for it; factor 1 has its own latent -> MIG = 1/2
    doubled = np.stack([factors[:, 0], factors[:, 0] + 0.01, factors[:, 1]], 1)
    r = mig(doubled, factors[:, :2])
    assert r["per_factor"][0] == pytest.approx(0.0, abs=1e-12)
    assert r["mig"] == pytest.approx(0.5, abs=0.01)


def test_mig_constant_factor_is_an_error():
    with pytest.raises(GenlabError, match="constant"):
        mig(np.random.default_rng(0).normal(size=(50, 2)), np.zeros((50, 1), dtype=int))


def run_factor_vae(represent, seed=0, **kw):
    settings = dict(batch_size=64, num_train=600, num_eval=300, num_variance_estimate=2000)
    settings.update(kw)
    return factor_vae_score(represent, identity_render, SIZES, np.random.default_rng(seed), **settings)


def test_factor_vae_perfect_representation_scores_one():
    r = run_factor_vae(lambda x: x * [1.0, 10.0, 0.1])  # scale does not matter (above 0.05 std)
    assert r == {"eval_accuracy": 1.0, "train_accuracy": 1.0, "num_active_dims": 3}


def test_factor_vae_prunes_collapsed_latents():
    def represent(x):  # latent 0 collapsed to the prior mean (std 0.01 < 0.05)
        noise = np.random.default_rng(1).normal(size=(x.shape[0], 1)) * 0.01
        return np.concatenate([noise, x], axis=1)

    r = run_factor_vae(represent)
    assert r["num_active_dims"] == 3 and r["eval_accuracy"] == 1.0


def test_factor_vae_random_representation_is_at_chance():
    noise = np.random.default_rng(5)
    r = run_factor_vae(lambda x: noise.normal(size=(x.shape[0], 6)), num_eval=2000)
    assert r["eval_accuracy"] == pytest.approx(1 / len(SIZES), abs=0.06)


def test_factor_vae_prune_threshold_is_on_the_std():
    # factor 2 has std 2.87; scaled by 0.01 its latent's std 0.029 < 0.05: pruned, and the votes
    # for factor 2 then land on another latent
    r = run_factor_vae(lambda x: x * [1.0, 1.0, 0.01])
    assert r["num_active_dims"] == 2 and r["eval_accuracy"] < 0.8


def test_factor_vae_everything_collapsed():
    r = run_factor_vae(lambda x: np.zeros((x.shape[0], 4)))
    assert r == {"eval_accuracy": 0.0, "train_accuracy": 0.0, "num_active_dims": 0}


def test_factor_vae_fixes_the_chosen_factor_in_each_batch():
    seen = []

    def represent(x):
        seen.append(x.reshape(-1, 64, 3))
        return x

    run_factor_vae(represent, num_train=64, num_eval=64, num_variance_estimate=64, votes_per_call=8)
    batches = np.concatenate(seen[1:])  # after the variance estimate
    constant = (batches == batches[:, :1]).all(axis=1)  # (votes, F)
    assert constant.any(axis=1).all()  # every vote's batch holds one factor fixed
