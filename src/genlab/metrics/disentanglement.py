"""Disentanglement scores for data with known generative factors: MIG and the FactorVAE score.

Chen, Li, Grosse, Duvenaud, "Isolating Sources of Disentanglement in Variational
Autoencoders", NeurIPS 2018, https://arxiv.org/abs/1802.04942 (Sec. 5, Eq. 8):

    MIG = 1/K Σ_k 1/H(v_k) ( I(z_{j(1)}; v_k) − I(z_{j(2)}; v_k) ),
    j(1), j(2) = the latents with the largest and second-largest MI with factor v_k

Kim & Mnih, "Disentangling by Factorising", ICML 2018, https://arxiv.org/abs/1802.05983
(Sec. 4): fix one factor k in a batch of L = 64 samples, normalise each latent by its std over
the data, take d* = argmin_d Var_batch(z_d / s_d); a majority-vote classifier d* -> k is
trained on the votes; the score is its accuracy on fresh votes.

Settings follow google-research/disentanglement_lib (Locatello et al. 2019), files
evaluation/metrics/{mig,factor_vae,utils}.py and config/.../metric_configs/{mig,
factor_vae_metric}.gin:
- MIG: num_train = 10000 codes (sampled in batches of 16); each latent discretised with a
  20-bin histogram (`np.digitize(z, np.histogram(z, 20)[1][:-1])`); I(z_j; v_k) by
  `sklearn.metrics.mutual_info_score` (nats); H(v_k) = mutual_info_score(v_k, v_k); the mean
  of the normalised gaps over factors.
- FactorVAE: batch_size = 64, num_train = 10000 votes, num_eval = 5000 votes,
  num_variance_estimate = 10000; latents whose std over the data is below 0.05 are pruned
  (`prune_dims.threshold = 0.05` on sqrt(variance)); variances with ddof = 1; reported score
  = eval accuracy (train accuracy too).
DEVIATION: disentanglement_lib stores a vote at the argmin's position *among the active
latents* but reads it back as a latent index; here the vote goes to the latent itself. The two
agree whenever no latent is pruned. Votes are drawn several at a time (one render/represent
call per chunk), so the random stream differs from disentanglement_lib's, not the estimator.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import mutual_info_score

from genlab.errors import GenlabError

__all__ = [
    "discretize",
    "mutual_information_matrix",
    "mig",
    "sample_codes",
    "factor_vae_score",
]


def _numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def discretize(codes, num_bins: int = 20) -> np.ndarray:
    """Histogram-discretise each latent column of codes (N, L) into bins 1..num_bins."""
    c = _numpy(codes).astype(np.float64)
    if c.ndim != 2:
        raise GenlabError(f"codes must have shape (N, L), got {c.shape}")
    out = np.zeros(c.shape, dtype=np.int64)
    for j in range(c.shape[1]):
        edges = np.histogram(c[:, j], num_bins)[1]  # num_bins + 1 edges over [min, max]
        out[:, j] = np.digitize(c[:, j], edges[:-1])  # 1..num_bins (max value -> last bin)
    return out


def mutual_information_matrix(codes, factors, num_bins: int = 20) -> np.ndarray:
    """I(z_j; v_k) in nats for every latent j and factor k: (L, F)."""
    z = discretize(codes, num_bins)  # (N, L)
    v = _numpy(factors)
    if v.ndim != 2 or v.shape[0] != z.shape[0]:
        raise GenlabError(f"factors must have shape ({z.shape[0]}, F), got {v.shape}")
    m = np.zeros((z.shape[1], v.shape[1]))
    for j in range(z.shape[1]):
        for k in range(v.shape[1]):
            m[j, k] = mutual_info_score(v[:, k], z[:, j])
    return m


def mig(codes, factors, num_bins: int = 20) -> dict:
    """Mutual Information Gap of codes (N, L) against discrete factors (N, F).

    Returns {"mig", "per_factor" (F,), "mutual_information" (L, F), "factor_entropy" (F,)}."""
    v = _numpy(factors)
    m = mutual_information_matrix(codes, v, num_bins)  # (L, F)
    if m.shape[0] < 2:
        raise GenlabError("MIG needs at least 2 latent dimensions")
    entropy = np.array([mutual_info_score(v[:, k], v[:, k]) for k in range(v.shape[1])])  # H(v_k)
    if (entropy <= 0).any():
        constant = [int(k) for k in np.flatnonzero(entropy <= 0)]
        raise GenlabError(f"factors {constant} are constant in the sample: MIG is undefined")
    top = np.sort(m, axis=0)[::-1]  # (L, F), descending MI per factor
    per_factor = (top[0] - top[1]) / entropy  # normalised gap
    return {
        "mig": float(per_factor.mean()),
        "per_factor": per_factor.tolist(),
        "mutual_information": m,
        "factor_entropy": entropy,
    }


# ---------------------------------------------------------------- sampling ground-truth data


def _uniform_sampler(factor_sizes):
    sizes = np.asarray(factor_sizes, dtype=np.int64)

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, sizes, size=(n, sizes.size))  # (n, F), factors independent

    return sample


def _codes_of(represent, render, factors: np.ndarray, chunk: int) -> np.ndarray:
    """represent(render(factors)) in chunks of `chunk` rows: (n, F) -> (n, L) float64."""
    parts = []
    for start in range(0, factors.shape[0], chunk):
        parts.append(_numpy(represent(render(factors[start:start + chunk]))).astype(np.float64))
    codes = np.concatenate(parts, axis=0)
    if codes.ndim != 2 or codes.shape[0] != factors.shape[0]:
        raise GenlabError(f"represent must return (N, L) codes, got shape {codes.shape}")
    return codes


def sample_codes(represent: Callable, render: Callable, factor_sizes, num: int,
                 rng: np.random.Generator, sample_factors: Callable | None = None,
                 batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Draw `num` factor vectors, render and represent them: (codes (num, L), factors (num, F)).

    render(factors (n, F) int) -> observations; represent(observations) -> codes (n, L);
    sample_factors(n, rng) -> (n, F) (default: each factor uniform over range(size))."""
    sampler = sample_factors or _uniform_sampler(factor_sizes)
    factors = np.asarray(sampler(num, rng))
    return _codes_of(represent, render, factors, batch_size), factors


def factor_vae_score(represent: Callable, render: Callable, factor_sizes,
                     rng: np.random.Generator, sample_factors: Callable | None = None,
                     batch_size: int = 64, num_train: int = 10000, num_eval: int = 5000,
                     num_variance_estimate: int = 10000, prune_threshold: float = 0.05,
                     votes_per_call: int = 64) -> dict:
    """FactorVAE disentanglement score (Kim & Mnih 2018) with disentanglement_lib settings.

    Returns {"eval_accuracy" (the score), "train_accuracy", "num_active_dims"}."""
    sampler = sample_factors or _uniform_sampler(factor_sizes)
    num_factors = len(factor_sizes)
    chunk = batch_size * votes_per_call

    # global std of each latent over the data (ddof=1), and the pruned mask
    codes = _codes_of(represent, render, np.asarray(sampler(num_variance_estimate, rng)), chunk)
    global_var = codes.var(axis=0, ddof=1)  # (L,)
    active = np.sqrt(global_var) >= prune_threshold  # (L,) collapsed latents pruned
    if not active.any():
        return {"eval_accuracy": 0.0, "train_accuracy": 0.0, "num_active_dims": 0}
    active_idx = np.flatnonzero(active)

    def votes(num_votes: int) -> np.ndarray:
        table = np.zeros((num_factors, global_var.size), dtype=np.int64)  # (F, L)
        done = 0
        while done < num_votes:
            v = min(votes_per_call, num_votes - done)
            fixed = rng.integers(num_factors, size=v)  # (v,) factor kept fixed per vote
            f = np.asarray(sampler(v * batch_size, rng)).reshape(v, batch_size, num_factors)
            rows = np.arange(v)
            f[rows, :, fixed] = f[rows, 0, fixed][:, None]  # fix factor k across the batch
            z = _codes_of(represent, render, f.reshape(v * batch_size, num_factors), chunk)
            local_var = z.reshape(v, batch_size, -1).var(axis=1, ddof=1)  # (v, L)
            ratio = local_var[:, active_idx] / global_var[active_idx]  # Var(z_d / s_d)
            d_star = active_idx[ratio.argmin(axis=1)]  # (v,) latent with least variance
            np.add.at(table, (fixed, d_star), 1)
            done += v
        return table

    train_votes = votes(num_train)
    classifier = train_votes.argmax(axis=0)  # (L,) majority vote: latent -> factor
    latents = np.arange(global_var.size)
    train_accuracy = train_votes[classifier, latents].sum() / train_votes.sum()
    eval_votes = votes(num_eval)
    eval_accuracy = eval_votes[classifier, latents].sum() / eval_votes.sum()
    return {
        "eval_accuracy": float(eval_accuracy),
        "train_accuracy": float(train_accuracy),
        "num_active_dims": int(active.sum()),
    }
