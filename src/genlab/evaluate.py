"""`genlab evaluate RUN`: the metrics papers report, chosen by what the run's model and data are.

    result = genlab.evaluate.evaluate_run("runs/gan1")      # dict, JSON-able
    genlab evaluate runs/gan1 --out eval.json               # the same, printed as a table
                                                            # (genlab.evaluate_cli)

What is computed (each section only where it applies):
- `toy2d`: ring8 / grid25 → the PacGAN protocol (Lin et al. 2018, Sec. 5): 2,500 samples,
  modes covered, high-quality fraction, reverse KL (genlab.metrics.toy2d).
- `samples`: images → Fréchet distance (Heusel et al. 2017), KID mean ± std over subsets
  (Bińkowski et al. 2018), precision/recall k=3 (Kynkäänniemi et al. 2019) and density/coverage
  k=5 (Naeem et al. 2020) between generated samples and the test split, on the features of the
  evaluation network it names: the genlab classifier of the data set (with its test accuracy;
  genlab scores, not comparable with published Inception FIDs) or a local Inception file.
- `mode_count`: images with labels → classes the classifier finds among the samples and
  KL(sample class histogram ‖ test class histogram) (Metz et al. 2017, Sec. 3.3.2).
- `likelihood`: VAEs → test ELBO split into reconstruction and KL (nats per example),
  the IWAE bound L_k (Burda et al. 2016; k = 5000 for the NLL estimate, batched), active units.
- `anomaly`: runs trained with a held-out class → AUROC / AUPRC of that class vs the rest,
  scored by −ELBO (VAE) or the reconstruction error (AE).
- `disentanglement`: runs on `shapes` with an encoder → MIG (Chen et al. 2018) and the
  FactorVAE score (Kim & Mnih 2018), on freshly rendered factor combinations.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from genlab.errors import GenlabError

if TYPE_CHECKING:  # torch is imported inside the functions (see below)
    import torch

# numpy and torch are imported inside the functions: `genlab --help` must not load torch

__all__ = ["evaluate_run", "DEFAULT_SAMPLES", "SECTIONS"]

DEFAULT_SAMPLES = {"points": 2500, "image": 5000}  # PacGAN protocol: 2,500 points
# The IWAE bound L_k tightens with k; Burda et al. 2016 (Sec. 5) report k = 5000, which costs
# k decodes per test example (547 s on the default mnist5k VAE, 20x its training). The default
# k = 100 costs about one training run and reads ~1 nat above k = 5000 there (docs/results/
# speed.md); `--k 5000` is the paper's protocol.
IWAE_K = 100
PAPER_IWAE_K = 5000
SECTIONS = ("toy2d", "samples", "likelihood", "anomaly", "disentanglement")  # samples: + mode_count
IWAE_EXAMPLES = 1000  # test examples the bound is averaged over (cost: k decodes each)


def evaluate_run(run, data: str | None = None, n: int | None = None, k: int = IWAE_K,
                 features: str = "classifier", n_test: int | None = None,
                 iwae_examples: int = IWAE_EXAMPLES, mig_samples: int = 10000,
                 factor_votes: int = 10000, kid_subsets: int = 100, kid_subset_size: int = 1000,
                 classifier_epochs: int = 4, data_dir: str | None = None, seed: int = 0,
                 device: str = "cpu", sections=None, log=None,
                 progress=None) -> dict[str, Any]:
    """Evaluate a run (a `genlab.runs.Run` or a run folder): a JSON-able dict of sections.

    data: evaluation data set (default: the run's). n: generated samples (2,500 for 2D points,
    5,000 for images). k: importance samples of the IWAE bound, averaged over `iwae_examples`
    test examples. features: "classifier" or "inception:PATH". n_test: use at most this many
    test examples (default all). factor_votes: FactorVAE training votes (evaluation: half).
    sections: compute only these of SECTIONS (default: every one that applies).
    log: optional callable(str) told what is being computed. progress: optional
    callable(section, done, total) told how far each section is (units of work: decodes for
    the likelihood, steps elsewhere), for a progress bar with an ETA."""
    from genlab.config import OPTION_BOUNDS
    from genlab.data import load_dataset
    from genlab.runs import Run, load_run

    started = time.perf_counter()
    say = log or (lambda message: None)
    for key, name, value in (("eval_n", "n", n), ("k", "k", k), ("count", "n_test", n_test),
                             ("count", "iwae_examples", iwae_examples),
                             ("factor_votes", "factor_votes", factor_votes),
                             ("seed", "seed", seed)):
        if value is not None:  # before any work: a bad value is refused at once
            OPTION_BOUNDS[key].check(name, value)
    wanted = set(SECTIONS if sections is None else sections)
    if wanted - set(SECTIONS):
        from genlab.errors import unknown_name
        raise unknown_name("section", sorted(wanted - set(SECTIONS))[0], SECTIONS)
    if not isinstance(run, Run):
        run = load_run(run, device=device)
    name = data or run.dataset
    # a run trained on binarized images is scored on the test split binarized once (fixed seed)
    test = load_dataset(name, split="test", data_dir=data_dir or run.config.data.data_dir,
                        image_size=run.config.data.image_size,
                        binarize=run.config.data.binarize)
    if test.example_shape != tuple(run.config.model.data_shape):
        raise GenlabError(f"{name!r} examples have shape {test.example_shape}, but the run "
                          f"models {tuple(run.config.model.data_shape)}")
    if n_test is not None:
        test = test.subset(_first(len(test), n_test, seed))
    n = DEFAULT_SAMPLES[test.kind] if n is None else n
    from genlab.training.steps import family

    fam = family(run.kind)
    can_sample = fam.samples
    if can_sample:  # the samples, their features and the test set's, before any of it is made
        from genlab.limits import check_fits, tensor_bytes
        check_fits(f"evaluating n={n} samples", 3 * tensor_bytes(n, *test.example_shape),
                   run.device)
    result: dict[str, Any] = {"run": str(run.path), "kind": run.kind, "dataset": name,
                              "trained_on": run.dataset, "step": run.step, "ema": run.ema,
                              "seed": seed, "num_test": len(test)}
    holdout = run.config.data.holdout_class
    if holdout is not None:
        result["holdout_class"] = holdout

    timer = _SectionTimer(progress)
    if test.kind == "points" and can_sample and "toy2d" in wanted:
        say(f"PacGAN protocol on {n} samples")
        with timer("toy2d", 1):
            result["toy2d"] = _toy2d(run, test, n, seed)
    if test.kind == "image" and can_sample and "samples" in wanted:
        say(f"sample quality on {n} samples ({features} features)")
        with timer("samples", 5) as advance:
            result.update(_sample_quality(run, test, name, n, features, holdout, kid_subsets,
                                          kid_subset_size, classifier_epochs, data_dir, seed,
                                          say, advance))
    if fam.elbo and "likelihood" in wanted:
        say(f"test ELBO and the IWAE bound (k={k})")
        with timer("likelihood", len(test) + k * min(iwae_examples, len(test))) as advance:
            result["likelihood"] = _likelihood(run, test, k, iwae_examples, seed, advance)
    if holdout is not None and fam.scores and "anomaly" in wanted:
        say(f"anomaly detection of held-out class {holdout}")
        with timer("anomaly", 1):
            result["anomaly"] = _anomaly(run, test, holdout, seed)
    if test.factors is not None and fam.encodes and "disentanglement" in wanted:
        say("disentanglement (MIG, FactorVAE score)")
        with timer("disentanglement", 2) as advance:
            result["disentanglement"] = _disentanglement(run, test, mig_samples, factor_votes,
                                                         seed, advance)
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["section_seconds"] = timer.seconds
    return result


class _SectionTimer:
    """`with timer(section, total) as advance:` times a section into `seconds` and reports
    `advance(units)` calls to the progress callable (the section ends at its total)."""

    def __init__(self, progress):
        self.progress = progress or (lambda section, done, total: None)
        self.seconds: dict[str, float] = {}

    def __call__(self, section: str, total: int):
        import contextlib

        @contextlib.contextmanager
        def timed():
            done = 0
            self.progress(section, 0, total)

            def advance(units: int = 1) -> None:
                nonlocal done
                done = min(total, done + units)
                self.progress(section, done, total)

            started = time.perf_counter()
            yield advance
            self.seconds[section] = round(time.perf_counter() - started, 3)
            self.progress(section, total, total)
        return timed()


def _first(total: int, count: int, seed: int) -> torch.Tensor:
    """A seeded random subset of `count` indices out of `total`, sorted."""
    import torch

    if count < 1:
        raise GenlabError(f"--n-test must be at least 1, got {count}")
    if count >= total:
        return torch.arange(total)
    perm = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    return perm[:count].sort().values


# ------------------------------------------------------------------ sections

def _toy2d(run, test, n: int, seed: int) -> dict:
    from genlab.metrics.frechet import frechet_distance_from_features
    from genlab.metrics.toy2d import mode_coverage, mode_protocol
    from genlab.operations import sample

    x = sample(run, n, seed=seed)  # (n, 2) data coordinates
    out: dict[str, Any] = {"num_samples": n}
    if test.modes is not None:
        protocol = mode_protocol(test.name) if test.name in ("ring8", "grid25") else None
        modes = protocol.modes if protocol is not None else test.modes
        std = protocol.std if protocol is not None else test.mode_std
        report = mode_coverage(x, modes, std)
        out.update(protocol="PacGAN (Lin et al. 2018): high quality = within 3 std of the "
                            "nearest mode", **report.to_dict())
    out["frechet_distance_2d"] = frechet_distance_from_features(test.x, x)  # raw coordinates
    return out


def _feature_network(features: str, name: str, epochs: int, data_dir, image_size,
                     binarize: str = "none"):
    from genlab.metrics.features import FeatureExtractor, InceptionFeatures

    if features == "classifier":  # a binarized run's classifier learns binarized images
        return FeatureExtractor.for_dataset(name, data_dir=data_dir, epochs=epochs,
                                            image_size=image_size,
                                            binarize="none" if binarize == "none" else "fixed")
    if features.startswith("inception:"):
        return InceptionFeatures.from_file(features.partition(":")[2])
    raise GenlabError(f"unknown features {features!r}: choose classifier or inception:PATH")


def _sample_quality(run, test, name, n, features, holdout, kid_subsets, kid_subset_size,
                    epochs, data_dir, seed, say, advance) -> dict:
    import torch

    from genlab.metrics.frechet import frechet_distance_from_features
    from genlab.metrics.kid import kernel_inception_distance
    from genlab.metrics.mode_count import count_modes
    from genlab.metrics.precision_recall import density_coverage, improved_precision_recall
    from genlab.operations import sample

    out: dict[str, Any] = {}
    if features == "classifier" and test.y is None:
        return {"samples": {"skipped": f"{name!r} has no labels to train the evaluation "
                                       "classifier on; pass --features inception:PATH"}}
    net = _feature_network(features, name, epochs, data_dir or run.config.data.data_dir,
                           run.config.data.image_size, run.config.data.binarize).to(run.device)
    real = test
    if holdout is not None and test.y is not None:
        real = test.subset(test.y != holdout)  # the model never saw the held-out class
    say(f"evaluation network: {net.name}")
    advance()
    fake_images = sample(run, n, seed=seed)  # (n, C, H, W) in [0, 1]
    advance()
    f_real = net.features(real.x)  # (N, D)
    advance()
    f_fake = net.features(fake_images)  # (n, D)
    advance()
    samples = {"features": net.name, "feature_dim": int(f_real.shape[1]),
               "classifier_test_accuracy": getattr(net, "test_accuracy", None),
               "num_real": len(real), "num_fake": n,
               "real_set": f"{name} test split" + (f" without class {holdout}"
                                                   if real is not test else "")}
    samples["frechet_distance"] = frechet_distance_from_features(f_real, f_fake)
    kid = kernel_inception_distance(f_real, f_fake, num_subsets=kid_subsets,
                                    subset_size=kid_subset_size, seed=seed)
    samples.update(kid_mean=kid["kid_mean"], kid_std=kid["kid_std"],
                   kid_subset_size=kid["subset_size"], kid_num_subsets=kid["num_subsets"])
    samples.update(improved_precision_recall(f_real, f_fake, k=3))
    samples.update(density_coverage(f_real, f_fake, k=5))
    out["samples"] = samples
    if hasattr(net, "predict") and features == "classifier":
        predicted = net.predict(fake_images)
        histogram = torch.bincount(real.y, minlength=test.num_classes)
        counts = count_modes(predicted, test.num_classes, data_histogram=histogram)
        out["mode_count"] = {"classifier": net.name, "modes_found": counts["modes_found"],
                             "num_classes": counts["num_classes"], "kl": counts["kl"],
                             "counts": counts["counts"],
                             "data_counts": [int(c) for c in histogram]}
    return out


def _is_binary(x) -> bool:
    import torch

    return bool(((x == 0) | (x == 255)).all()) if x.dtype == torch.uint8 else False


def _likelihood(run, test, k: int, iwae_examples: int, seed: int, advance,
                batch: int = 250) -> dict:
    import torch

    with torch.no_grad():
        return _likelihood_terms(run, test, k, iwae_examples, seed, batch, advance)


def _likelihood_terms(run, test, k, iwae_examples, seed, batch, advance) -> dict:
    import torch

    from genlab.metrics.likelihood import active_units, elbo_terms, iwae_bound

    model, norm = run.model, run.normalizer
    if k < 1:
        raise GenlabError(f"--k must be at least 1, got {k}")
    x_all = test.x
    y_all = test.y if run.num_classes else None
    gen = torch.Generator().manual_seed(seed)
    recon, kl = [], []
    for i in range(0, len(x_all), batch):
        x = norm.encode(x_all[i:i + batch].to(run.device))
        y = None if y_all is None else y_all[i:i + batch].to(run.device)
        terms = elbo_terms(model, x, y, generator=gen)
        recon.append(terms["recon"].double().cpu())
        kl.append(terms["kl"].double().cpu())
        advance(len(x))  # one decode per example
    recon_t, kl_t = torch.cat(recon), torch.cat(kl)
    elbo = recon_t - kl_t
    index = _first(len(x_all), iwae_examples, seed)
    bound = []
    for i in range(0, len(index), 50):
        idx = index[i:i + 50]
        x = norm.encode(x_all[idx].to(run.device))
        y = None if y_all is None else y_all[idx].to(run.device)
        bound.append(iwae_bound(model, x, k, y=y, batch_k=100, generator=gen).double().cpu())
        advance(k * len(idx))  # k decodes per example
    bound_t = torch.cat(bound)
    units = [norm.encode(x_all[i:i + 500].to(run.device)) for i in range(0, len(x_all), 500)]
    active = active_units(model, torch.cat(units), y=None if y_all is None else y_all.to(run.device))
    binary = _is_binary(x_all) if test.kind == "image" else False
    likelihood = run.config.model.likelihood
    if likelihood == "bernoulli" and test.kind == "image" and not binary:
        note = ("grey-level pixels under a Bernoulli decoder: the values are cross-entropies, "
                "not log-likelihoods (binarize the data for a likelihood)")
    elif likelihood == "gaussian":
        note = "Gaussian decoder: densities of continuous model-space values (nats)"
    else:
        note = "binary data under a Bernoulli decoder: log-likelihoods in nats"
    return {
        "likelihood": likelihood, "binary_data": binary, "note": note,
        "num_examples": len(x_all),
        "elbo": float(elbo.mean()), "elbo_se": _se(elbo),
        "recon_nll": float(-recon_t.mean()),  # −E_q[log p(x|z)], nats per example
        "kl": float(kl_t.mean()),  # KL(q(z|x) ‖ p(z)), nats per example
        "iwae_k": k, "iwae_examples": len(index), "paper_iwae_k": PAPER_IWAE_K,
        "iwae_bound": float(bound_t.mean()), "nll": float(-bound_t.mean()),
        "nll_se": _se(bound_t),
        "active_units": active["active"], "num_units": active["num_units"],
    }


def _se(values) -> float:
    return float(values.std() / math.sqrt(len(values))) if len(values) > 1 else float("nan")


def _anomaly(run, test, holdout: int, seed: int) -> dict:
    from genlab.metrics.anomaly import anomaly_auc
    from genlab.operations import anomaly_scores
    from genlab.training.steps import family

    if test.y is None:
        raise GenlabError(f"{test.name!r} has no labels: the held-out class cannot be found")
    scores = anomaly_scores(run, test, method="elbo", k=1, seed=seed)
    labels = (test.y == holdout).long()
    out = anomaly_auc(scores, labels)
    out.update(holdout_class=holdout, num_examples=len(test),
               score="-ELBO (nats)" if family(run.kind).elbo else "reconstruction error (nats)")
    if test.class_names:
        out["holdout_name"] = test.class_names[holdout]
    return out


def _disentanglement(run, test, mig_samples: int, factor_votes: int, seed: int,
                     advance) -> dict:
    import numpy as np
    import torch

    from genlab.data import render_shapes
    from genlab.metrics.disentanglement import factor_vae_score, mig, sample_codes
    from genlab.operations import encode

    if test.name != "shapes":
        raise GenlabError(f"disentanglement needs a renderer of {test.name!r}; only shapes has one")
    sizes = list(test.factor_sizes)

    def render(factors):
        return render_shapes(torch.as_tensor(np.asarray(factors)))  # uint8 (B, 1, 64, 64)

    def represent(images):
        return encode(run, images).cpu().numpy()  # posterior mean μ (B, L)

    rng = np.random.default_rng(seed)
    codes, factors = sample_codes(represent, render, sizes, mig_samples, rng, batch_size=500)
    m = mig(codes, factors)
    advance()
    votes = factor_votes
    fv = factor_vae_score(represent, render, sizes, rng, num_train=votes,
                          num_eval=max(1, votes // 2), num_variance_estimate=mig_samples)
    return {"mig": m["mig"], "mig_per_factor": dict(zip(test.factor_names, m["per_factor"])),
            "factor_vae_score": fv["eval_accuracy"],
            "factor_vae_train_accuracy": fv["train_accuracy"],
            "num_active_dims": fv["num_active_dims"], "mig_samples": mig_samples,
            "factor_vae_votes": {"train": votes, "eval": max(1, votes // 2), "batch": 64}}
