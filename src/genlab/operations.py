"""What a learned distribution gives: sampling, interpolation, reconstruction, anomaly scores.

Every function takes a `Run` (genlab.load_run, or `Run.from_state` for a model as it trains,
as the hub's live simulations hold it) and returns tensors in data space: images as float in
[0, 1] (N, C, H, W), points in data coordinates (N, 2). Models are evaluated in eval mode
(genlab.models.evaluating), then put back in the mode they were in.

Inputs `x` (encode, reconstruct, anomaly_scores, data endpoints of interpolate) are read by
their dtype (genlab.data.Normalizer.encode_examples): images as uint8 (any integer dtype) are
raw pixels 0..255, as `Dataset.x` holds them; images as float are image space [0, 1], as
`sample` and `reconstruct` return them, so `reconstruct(run, sample(run, 8))` works; points
are data coordinates. Float images outside [0, 1] and nan/inf are refused (GenlabError).
"""

from __future__ import annotations

import torch

from genlab.config import OPTION_BOUNDS
from genlab.errors import GenlabError, unknown_name
from genlab.limits import check_fits, tensor_bytes
from genlab.models.modes import evaluating

INTERPOLATIONS = ("linear", "slerp")
ANOMALY_METHODS = ("elbo", "iwae")


@torch.no_grad()
def decode_latent(model, ema, z: torch.Tensor, y: torch.Tensor | None, norm) -> torch.Tensor:
    """Latent vectors -> data space: the family's generator (its EMA when there is one), or
    the decoder's mean."""
    from genlab.training.steps import family

    part = family(model.config.kind).generator
    if part is not None:
        net = ema.module if ema is not None else getattr(model, part)
        with evaluating(net):
            x = net(z, y)
    else:
        with evaluating(model):
            x = model.mean(model.decode(z, y))  # E[x | z] in model space
    return norm.decode(x.float())


def _family(run):
    from genlab.training.steps import family

    return family(run.kind)


def _labels(run, n: int, y, device) -> torch.Tensor | None:
    k = run.num_classes
    if k == 0:
        if y is not None:
            raise GenlabError(f"this {run.kind} is not conditional: it takes no class")
        return None
    if y is None:
        return (torch.arange(n) % k).to(device)  # every class in turn
    y = torch.as_tensor(y, dtype=torch.int64)
    if y.dim() == 0:
        y = y.expand(n)
    if len(y) != n or bool(((y < 0) | (y >= k)).any()):
        raise GenlabError(f"class must be in [0, {k - 1}] (one or {n} of them)")
    return y.to(device)


def _latent(run, n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, run.latent_dim, generator=gen).to(run.device)  # z ~ N(0, I)


def sample(run, n: int, y=None, seed: int = 0, batch_size: int = 1024) -> torch.Tensor:
    """`n` samples in data space. `y`: a class (int) or n classes for a conditional model
    (default: the classes in turn). An autoencoder has no prior: its N(0, I) samples show why
    VAEs regularize the latent space."""
    OPTION_BOUNDS["n"].check("n", n)
    OPTION_BOUNDS["seed"].check("seed", seed)
    shape = tuple(run.config.model.data_shape)
    # the latents, the output and one batch in flight, before any of it is allocated
    check_fits(f"sampling n={n}", tensor_bytes(n, run.latent_dim) + tensor_bytes(n, *shape)
               + 2 * tensor_bytes(min(n, batch_size), *shape), run.device)
    z = _latent(run, n, seed)
    labels = _labels(run, n, y, run.device)
    parts = [decode_latent(run.model, None, z[i:i + batch_size],
                           None if labels is None else labels[i:i + batch_size], run.normalizer)
             for i in range(0, n, batch_size)]
    return torch.cat(parts).cpu()


@torch.no_grad()
def encode(run, x: torch.Tensor, y=None) -> torch.Tensor:
    """Examples (uint8 raw pixels, float images in [0, 1], or points; see the module
    docstring) -> latent codes (the posterior mean μ for a VAE)."""
    if not _family(run).encodes:
        raise GenlabError(f"a {run.kind} has no encoder; use an ae or vae run")
    x = _as_examples(run, x)
    labels = _labels(run, len(x), y, run.device) if run.num_classes else None
    with evaluating(run.model):
        out = run.model.encode(run.normalizer.encode_examples(x), labels)
    return (out[0] if isinstance(out, tuple) else out).float()


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016, "Sampling Generative Networks"):
    slerp(z0, z1; t) = sin((1−t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1, cos Ω = ẑ0·ẑ1."""
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(torch.sin(omega)) < 1e-6:  # (anti)parallel: fall back to a straight line
        return (1 - t)[:, None] * z0 + t[:, None] * z1
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so)[:, None] * z0 + (torch.sin(t * omega) / so)[:, None] * z1


def latent_path(z0: torch.Tensor, z1: torch.Tensor, n_steps: int,
                method: str = "linear") -> torch.Tensor:
    """`n_steps` latent vectors (n_steps, latent_dim) from z0 to z1: z_t = (1 − t) z0 + t z1,
    or `slerp`, at t evenly spaced over [0, 1]."""
    t = torch.linspace(0, 1, n_steps, device=z0.device)
    return slerp(z0, z1, t) if method == "slerp" else (1 - t)[:, None] * z0 + t[:, None] * z1


def interpolate(run, n_steps: int = 10, method: str = "linear", start=None, end=None,
                y=None, seed: int = 0, space: str = "auto") -> torch.Tensor:
    """`n_steps` points on the path from `start` to `end` in latent space, decoded to data space.

    `start`/`end`: latent vectors (latent_dim,), or data examples (one row of Dataset.x) that an
    AE/VAE encodes; None draws z ~ N(0, I) (seeded). `space` = "latent" | "data" settles an
    ambiguous shape (2D points with latent_dim 2); "auto" takes a latent-sized vector as latent.
    """
    if method not in INTERPOLATIONS:
        raise unknown_name("interpolation", method, INTERPOLATIONS)
    OPTION_BOUNDS["steps"].check("steps", n_steps)
    OPTION_BOUNDS["seed"].check("seed", seed)
    check_fits(f"an interpolation of steps={n_steps}",
               tensor_bytes(n_steps, run.latent_dim) + 2 * tensor_bytes(
                   n_steps, *run.config.model.data_shape), run.device)
    defaults = _latent(run, 2, seed)
    z0 = _endpoint(run, start, defaults[0], space, y)
    z1 = _endpoint(run, end, defaults[1], space, y)
    z = latent_path(z0, z1, n_steps, method)
    labels = _labels(run, n_steps, y, run.device) if run.num_classes else None
    if labels is not None and y is None:
        labels = labels[:1].expand(n_steps)  # one class along the path
    return decode_latent(run.model, None, z, labels, run.normalizer).cpu()


def _endpoint(run, value, default: torch.Tensor, space: str, y) -> torch.Tensor:
    if value is None:
        return default
    value = torch.as_tensor(value)
    data_shape = tuple(run.config.model.data_shape)
    is_latent = tuple(value.shape) == (run.latent_dim,)
    is_data = tuple(value.shape) == data_shape
    if space == "latent" or (space == "auto" and is_latent):
        if not is_latent:
            raise GenlabError(f"a latent endpoint needs shape ({run.latent_dim},), "
                              f"got {tuple(value.shape)}")
        return value.to(run.device, torch.float32)
    if not is_data:
        raise GenlabError(f"an endpoint must be a latent vector ({run.latent_dim},) or a data "
                          f"example {data_shape}, got {tuple(value.shape)}")
    label = None if y is None else torch.as_tensor(y).reshape(1)
    return encode(run, value[None], label)[0]


def _as_examples(run, x) -> torch.Tensor:
    """`x` as a tensor on the run's device, its shape checked (its values are read by
    Normalizer.encode_examples)."""
    x = torch.as_tensor(x)
    shape = tuple(run.config.model.data_shape)
    if tuple(x.shape[1:]) != shape:
        raise GenlabError(f"examples must have shape (N, {', '.join(map(str, shape))}) "
                          f"for this {run.dataset} model, got {tuple(x.shape)}")
    return x.to(run.device)


@torch.no_grad()
def reconstruct(run, x, y=None) -> torch.Tensor:
    """decode(encode(x)) in data space (a VAE decodes its posterior mean μ): images as float
    in [0, 1]. `x`: uint8 raw pixels or float images in [0, 1] (e.g. `sample`'s output)."""
    z = encode(run, x, y)
    labels = _labels(run, len(z), y, run.device) if run.num_classes else None
    return decode_latent(run.model, None, z, labels, run.normalizer).cpu()


@torch.no_grad()
def anomaly_scores(run, dataset, method: str = "elbo", k: int = 1, batch_size: int = 256,
                   seed: int = 0) -> torch.Tensor:
    """One score per example of `dataset` (a genlab Dataset or raw tensor): higher = more
    anomalous. VAE: −ELBO (k-sample average) or the negative IWAE bound with k samples
    (Burda et al. 2016), in nats of model space; AE: −log p(x | x̂) (reconstruction error).
    Raw tensors are read by dtype as `encode` reads them (uint8 0..255, float [0, 1])."""
    if method not in ANOMALY_METHODS:
        raise unknown_name("anomaly method", method, ANOMALY_METHODS)
    OPTION_BOUNDS["k"].check("k", k)
    OPTION_BOUNDS["seed"].check("seed", seed)
    if not _family(run).scores:
        raise GenlabError(f"a {run.kind} has no likelihood to score examples with; "
                          "use an ae or vae run")
    if not _family(run).elbo and method == "iwae":
        raise GenlabError("an autoencoder has no IWAE bound; use --method elbo "
                          "(its reconstruction error)")
    x_all = dataset.x if hasattr(dataset, "x") else torch.as_tensor(dataset)
    y_all = getattr(dataset, "y", None)
    x_all = _as_examples(run, x_all)
    if run.num_classes and y_all is None:
        raise GenlabError("a conditional model needs the examples' classes to score them")
    gen = torch.Generator().manual_seed(seed)
    out = []
    with evaluating(run.model):
        for i in range(0, len(x_all), batch_size):
            x = run.normalizer.encode_examples(x_all[i:i + batch_size])
            y = None if not run.num_classes else y_all[i:i + batch_size].to(run.device)
            out.append(_score_batch(run, x, y, method, k, gen))
    return torch.cat(out).cpu()


def _score_batch(run, x, y, method, k, gen) -> torch.Tensor:
    from genlab import losses

    model = run.model
    if not _family(run).elbo:  # an autoencoder: its reconstruction error
        return -losses.reconstruction_log_likelihood(x, model(x, y).float(),
                                                     run.config.model.likelihood)
    from genlab.metrics.likelihood import elbo_terms, iwae_bound

    if method == "iwae":
        return -iwae_bound(model, x, k=k, y=y, generator=gen)  # −L_k (Burda et al. 2016, Eq. 8)
    return -elbo_terms(model, x, y, n_samples=k, generator=gen)["elbo"]  # −ELBO


def reference_points(run, n: int = 2500, seed: int = 0):
    """For a 2D run: (a seeded subset of `n` of its training points (N, 2), its mode centres or
    None) — what a scatter of samples is drawn against, as the training loop's own sample
    PNGs do. (None, None) when the data set cannot be loaded any more (a moved csv file)."""
    from genlab.data import load_dataset

    cfg = run.config.data
    try:
        ds = load_dataset(cfg.name, split="train", data_dir=cfg.data_dir,
                          holdout_class=cfg.holdout_class)
    except (GenlabError, OSError):
        return None, None
    if ds.kind != "points":
        raise GenlabError(f"{cfg.name!r} is not a 2D data set")
    index = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n]
    return ds.x[index], ds.modes
