"""VAE lab: a 2-latent VAE (or a plain autoencoder) on mnist5k (or the learner's uploaded
images, uploads.py), trained live by the library's loop body (genlab.training.loop.advance:
the family's vae_step / autoencoder_step) on genlab.models.VAE / Autoencoder; codes and
decodings come from genlab.operations.

The digits are binarized (schemas.VaeConfig.train_config: DataConfig.binarize "dynamic", Burda
et al. 2016 Sec. 5): every training batch afresh as it is drawn, the test split once. So the
Bernoulli decoder's −log p(x|z) the lab shows is a likelihood of binary pixels, in nats.

An autoencoder's codes are not regularized towards the prior N(0, I), so sampling it —
decoding z ~ N(0, I) — lands off its codes ("holes"). To show it, in AE mode a companion VAE
(β = 1, the same width, learning rate, batch and seed) trains in lockstep, and both decode the
same fixed prior samples; the evaluation classifier (genlab.metrics.features, trained once
and cached under $GENLAB_CACHE) says which share of them it recognizes confidently.

State frame (frames.py):
    latent    float32 (500, 2)   encoder means μ(x) (AE: codes z) of the 500 test digits
                                 (an upload: up to 500 of its images, a fixed shuffle)
    label     uint8   (500,)     their digits (an upload: its classes, or 0)
    orig      uint8   (10, 28, 28) one test digit of each class (a fixed, mixed order) ...
    recon     uint8   (10, 28, 28) ... and their reconstructions (decoder mean at z = μ)
    manifold  uint8   (144, 28, 28) the decoder's mean on a 12×12 grid over the view box,
                                 row-major from the top-left
    prior     uint8   (16, 28, 28) the decoder's mean at 16 fixed z ~ N(0, I)
    prior_v  uint8   (16, 28, 28) AE mode: the companion VAE's, at the same z
    (manifold, prior, prior_v: every 15th frame and on steps/resets)
    meta: step, run, model, beta, loss (−ELBO or AE loss, nats), recon (−log p(x|z)), kl,
          view [z1_min, z1_max, z2_min, z2_max], shown (test indices of orig), pair (default
          interpolation endpoints: two different digits), recognized / recognized_vae (share
          of 500 fixed prior samples the classifier gives one digit ≥ CONFIDENT probability,
          None until measured; uploads: never), classifier (its name, or why there is no
          number yet), data, need_upload, classes (an upload's class names)
Replies (kind 2): {"reply": "decode", "z"} with image uint8 (1, 28, 28);
                  {"reply": "interpolate", "a", "b", "path"} with images uint8 (steps, 28, 28).

A CLI-trained AE/VAE (`genlab serve --run`, from_run.py) opens here as the model: its own data
(the map shows up to 500 of its test examples, a fixed shuffle), normalizer, image size
(images (N, H, W), RGB ones (N, H, W, 3)) and latent size. With more than two latent
dimensions the map is a plane of the latent space: the one through the mean of the shown
codes spanned by their two principal directions c1, c2 (PCA, measured when the run opens),
drawn in the coordinates (z·c1, z·c2) — so the prior N(0, I), projected onto orthonormal
directions, is N(0, I₂) there and its circles stay true — and a point (u, v) of the map
decodes z = m⊥ + u c1 + v c2 (m⊥: the codes' mean minus its part in the plane). meta adds
from_run (the run's name and settings, common.run_meta) and projection ({method, explained,
latent_dim} or None); `latent`, `manifold` and a decode's z are in map coordinates.
"""

from __future__ import annotations

import threading

import torch

from genlab import operations
from genlab.data import binarize_fixed, normalizer_for
from genlab.errors import GenlabError
from genlab.models import evaluating
from genlab.web.simulations.common import (
    LiveTraining,
    cached_dataset,
    open_run,
    run_meta,
    to_uint8,
)
from genlab.web.simulations.frames import KIND_REPLY, KIND_STATE, encode_frame

MANIFOLD = 12
MANIFOLD_EVERY = 15
PRIOR_SHOWN = 16  # prior samples drawn on the page
PRIOR_SCORED = 500  # prior samples the classifier scores
CONFIDENT = 0.9  # "recognized": the classifier gives one digit at least this probability
SHOWN_SEED = 12  # which test digit of each class is shown, and in which order
SHOWN = 10  # test images shown with their reconstructions
SHOWN_TEST = 500  # test images on the map


def shown_indices(labels: torch.Tensor | None, n: int, seed: int = SHOWN_SEED) -> list[int]:
    """Up to SHOWN of the indices 0..n-1: one per class, the classes in a shuffled order, then
    (fewer classes, or no labels) others of a fixed shuffle; a pure function of `seed` (the
    mnist5k test split is sorted by label, so its first digits are all 0s)."""
    g = torch.Generator().manual_seed(seed)
    out: list[int] = []
    if labels is not None:
        classes = torch.unique(labels)
        for c in classes[torch.randperm(len(classes), generator=g)].tolist()[:SHOWN]:
            idx = torch.nonzero(labels == c).flatten()
            out.append(int(idx[torch.randint(len(idx), (1,), generator=g)]))
    rest = [i for i in torch.randperm(n, generator=g).tolist() if i not in out]
    return out + rest[:max(0, min(SHOWN, n) - len(out))]


class _Classifier:
    """The evaluation classifier of mnist5k, loaded (or, the first time on a machine, trained:
    ≈ 30 s) in a background thread so training never waits for it."""

    def __init__(self):
        self.net, self.status, self._thread = None, "the evaluation classifier is loading", None

    def get(self):
        if self.net is None and self._thread is None:
            self._thread = threading.Thread(target=self._load, daemon=True)
            self._thread.start()
        return self.net

    def _load(self) -> None:
        try:
            from genlab.metrics.features import FeatureExtractor

            net = FeatureExtractor.for_dataset("mnist5k")
            self.status = net.name
            self.net = net
        except Exception as e:  # noqa: BLE001 - the lab trains on; the page says why
            self.status = f"no classifier: {e}"


CLASSIFIER = _Classifier()  # one per worker process


def recognized_share(classifier, images: torch.Tensor) -> float:
    """Share of `images` (N, 1, 28, 28) in [0, 1] to which `classifier` gives one class a
    probability ≥ CONFIDENT."""
    return float((classifier.probabilities(images).max(dim=1).values >= CONFIDENT)
                 .double().mean())


class VaeLab:
    LIVE = {"beta": ("beta",), "lr": ("lr",), "batch": ("batch",), "speed": ()}

    def __init__(self, cfg, limits, run: str | None = None):
        self.limits = limits
        self.uploaded = None  # a Dataset of the learner's images (uploads.py)
        open_run(self, "vae", run)  # self.seed: a CLI-trained run, or None
        self.build(cfg)

    def _use_data(self, cfg) -> None:
        """mnist5k (4500 train, 500 shown), or the uploaded images: a user's set has no
        held-out part, so the map and the reconstructions show (up to 500 of) its images.
        Binarized as train_config says: the train split's batches as they are drawn, the
        shown images once (genlab.data.binarize)."""
        if self.seed is not None:
            return self._use_run_data()
        binarize = cfg.train_config().data.binarize
        self.need_upload = cfg.data == "uploaded" and self.uploaded is None
        self.digits = not (cfg.data == "uploaded" and self.uploaded is not None)
        if not self.digits:
            self.train = self.test = self.uploaded
            test_x = (self.test.x if binarize == "none"
                      else binarize_fixed(self.test.x, self.test.name, "test"))
        else:  # until a set is loaded, the digits
            self.train = cached_dataset("mnist5k", "train")  # grey: binarized as drawn
            self.test = cached_dataset("mnist5k", "test", binarize=binarize)  # once
            test_x = self.test.x
        self.norm = normalizer_for(self.train, "unit")  # Bernoulli decoder: x in [0, 1]
        self._show(test_x)

    def _use_run_data(self) -> None:
        """A CLI-trained run's own data (train and test splits, read as the trainer reads
        them: binarized as the run was) and normalizer."""
        seed = self.seed
        self.need_upload = False
        self.train = seed.dataset("train")
        try:
            self.test = seed.dataset("test")
        except GenlabError:  # e.g. a folder too small for a test split: its training images
            self.test = self.train
        self.norm = seed.run.normalizer
        cfg = seed.run.config
        self.digits = cfg.data.name == "mnist5k" and tuple(cfg.model.data_shape) == (1, 28, 28)
        self._show(self.test.x)

    def _show(self, test_x: torch.Tensor) -> None:
        """The examples the map and the reconstructions show: the mnist5k test split (500),
        else a fixed shuffle of up to 500 of the test examples."""
        shown = torch.arange(min(len(self.test), SHOWN_TEST))
        if not (self.digits and self.seed is None):
            shown = torch.randperm(len(self.test), generator=torch.Generator().manual_seed(0))[
                :SHOWN_TEST]
        self.x_test = self.norm.encode(test_x[shown])  # (500, 1, 28, 28)
        self.classes = None if self.digits else self.test.class_names
        y = None if self.test.y is None else self.test.y[shown]
        self.labels = (torch.zeros(len(shown), dtype=torch.uint8) if y is None
                       else y.to(torch.uint8)).numpy()
        self.shown = shown_indices(y, len(shown))

    def _training(self, cfg) -> LiveTraining:
        # schemas.py: what these settings train; or the run's state, its weights in
        tc = cfg.train_config() if self.seed is None else None
        state = None if self.seed is None else self.seed.training_state(self.train)
        binarize = (tc or state.cfg).data.binarize
        if binarize == "dynamic":
            return LiveTraining(tc, self.train, self.train.x, encode=self.norm.encode,
                                state=state)
        return LiveTraining(tc, self.train, self.norm.encode(self.train.x), state=state)

    def build(self, cfg) -> None:
        self.cfg = cfg
        self._use_data(cfg)
        self.frames = 0
        self.recognized: dict[str, float | None] = {"main": None, "vae": None}
        self.live = self._training(cfg)
        # AE mode: a VAE trained alongside, the contrast for sampling from the prior
        self.companion = (self._training(cfg.model_copy(update={"model": "vae", "beta": 1.0}))
                          if cfg.model == "ae" and self.seed is None else None)
        latent = self.live.state.model.latent_dim
        g = torch.Generator().manual_seed(0)
        self.z_prior = torch.randn(PRIOR_SCORED, latent, generator=g)  # fixed z ~ N(0, I)
        self.plane = None  # more than 2 latent dimensions: the PCA plane the map shows
        if latent > 2:
            with evaluating(self.live.state.model):
                self.plane = principal_plane(self._codes(self.x_test))

    def train_step(self) -> None:
        self.live.train_step()
        if self.companion is not None:
            main, other = self.live.state.cfg, self.companion.state.cfg
            if (other.lr, other.batch_size) != (main.lr, main.batch_size):  # changed live
                self.companion.update(lr=main.lr, batch=main.batch_size)
            self.companion.train_step()

    # -- helpers
    def _codes(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean μ(x) (AE: the code z) of images `x` in [0, 1]."""
        return operations.encode(self.live.as_run(self.norm), x)

    def _on_map(self, z: torch.Tensor) -> torch.Tensor:
        """Latent points (N, L) -> map coordinates (N, 2)."""
        return z if self.plane is None else z @ self.plane["components"].T

    def _off_map(self, p: torch.Tensor) -> torch.Tensor:
        """Map coordinates (N, 2) -> latent points (N, L) of the map's plane."""
        return p if self.plane is None else self.plane["offset"] + p @ self.plane["components"]

    def _decode(self, model, z: torch.Tensor) -> torch.Tensor:
        """`model`'s decoder mean E[x | z], in [0, 1]."""
        return operations.decode_latent(model, None, z, None, self.norm)

    @staticmethod
    def _view(codes: torch.Tensor) -> list[float]:
        lo = torch.quantile(codes, 0.01, dim=0)
        hi = torch.quantile(codes, 0.99, dim=0)
        # keep the prior's ±3σ in view: where the codes lie against N(0, I)
        lo, hi = torch.minimum(lo, torch.full_like(lo, -3)), torch.maximum(hi, torch.full_like(hi, 3))
        center, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * 1.15 + 1e-3
        return [float(center[0]) - half, float(center[0]) + half,
                float(center[1]) - half, float(center[1]) + half]

    def _prior(self, name: str, model, arrays: dict, key: str) -> None:
        """Decode the fixed prior samples; score them when the classifier is there."""
        images = self._decode(model, self.z_prior)  # (500, 1, 28, 28)
        arrays[key] = to_uint8(images[:PRIOR_SHOWN])
        classifier = CLASSIFIER.get() if self.digits else None  # the digits' classifier
        if classifier is not None:
            self.recognized[name] = recognized_share(classifier, images)

    def frame(self, live: bool = False) -> bytes:
        models = [self.live.state.model] + ([self.companion.state.model] if self.companion else [])
        model = models[0]
        with evaluating(*models):  # one switch for the whole frame
            latent = self._codes(self.x_test)  # (500, L)
            codes = self._on_map(latent)  # (500, 2)
            recon = self._decode(model, latent[self.shown])
            view = self._view(codes)
            arrays = {"latent": codes.numpy(), "label": self.labels,
                      "orig": to_uint8(self.x_test[self.shown]), "recon": to_uint8(recon)}
            if self.frames % MANIFOLD_EVERY == 0:
                x0, x1, y0, y1 = view
                # cell centres, row 0 at the top (largest z2)
                zs1 = x0 + (torch.arange(MANIFOLD) + 0.5) * (x1 - x0) / MANIFOLD
                zs2 = y1 - (torch.arange(MANIFOLD) + 0.5) * (y1 - y0) / MANIFOLD
                g2, g1 = torch.meshgrid(zs2, zs1, indexing="ij")
                grid = torch.stack([g1.reshape(-1), g2.reshape(-1)], 1)  # (144, 2)
                arrays["manifold"] = to_uint8(self._decode(model, self._off_map(grid)))
                self._prior("main", model, arrays, "prior")
                if self.companion is not None:
                    self._prior("vae", models[1], arrays, "prior_v")
        self.frames += 1
        last = self.live.last
        trained = self.live.state.cfg  # the lab's settings, or the run's config
        meta = {"step": self.live.step, "run": self.live.run, "model": trained.model.kind,
                "beta": trained.beta, "view": view, "loss": last.get("loss"),
                "recon": last.get("recon"), "kl": last.get("kl"), "shown": self.shown,
                "pair": self.shown[:2], "recognized": self.recognized["main"],
                "recognized_vae": self.recognized["vae"], "confident": CONFIDENT,
                "classifier": CLASSIFIER.status if self.digits
                else f"the digit classifier does not apply to {self.train.name}",
                "data": self.train.name, "need_upload": self.need_upload,
                "classes": None if self.classes is None else list(self.classes),
                "projection": None if self.plane is None else {
                    k: self.plane[k] for k in ("method", "explained", "latent_dim")},
                **run_meta(self)}
        return encode_frame(KIND_STATE, self.live.step, meta, arrays)

    def handle(self, msg: dict) -> bytes | None:
        kind = msg["type"]
        model = self.live.state.model
        with evaluating(model):
            if kind == "decode":
                if len(msg["z"]) != 2:
                    raise GenlabError(f"the latent map has 2 coordinates, got {len(msg['z'])}")
                z = self._off_map(torch.tensor([msg["z"]], dtype=torch.float32))
                return encode_frame(KIND_REPLY, self.live.step,
                                    {"reply": "decode", "z": list(msg["z"])},
                                    {"image": to_uint8(self._decode(model, z))})
            if kind == "interpolate":
                a, b, n = msg["a"], msg["b"], msg["steps"]
                if max(a, b) >= len(self.x_test):
                    raise GenlabError(f"pick test digits 0..{len(self.x_test) - 1}")
                codes = self._codes(self.x_test[[a, b]])  # (2, L)
                path = operations.latent_path(codes[0], codes[1], n)  # (1 − t) z_a + t z_b
                return encode_frame(KIND_REPLY, self.live.step,
                                    {"reply": "interpolate", "a": a, "b": b,
                                     "path": self._on_map(path).tolist()},
                                    {"images": to_uint8(self._decode(model, path))})
        raise GenlabError(f"the VAE lab does not understand {kind!r}")


def principal_plane(codes: torch.Tensor) -> dict:
    """The plane of the latent space the map shows for codes (N, L), L > 2 (PCA): rows
    `components` (2, L), the two right singular vectors of the centred codes with the largest
    singular values (orthonormal); `offset` (L,) the codes' mean minus its part in the plane,
    so z = offset + p · components is the point of the plane at map coordinates p (z ·
    componentsᵀ); `explained`: the share of the codes' variance the plane holds."""
    mean = codes.mean(0)
    _, s, v = torch.linalg.svd(codes - mean, full_matrices=False)
    components = v[:2]  # (2, L)
    offset = mean - (mean @ components.T) @ components
    total = float((s ** 2).sum())
    return {"method": "PCA", "components": components, "offset": offset,
            "explained": float((s[:2] ** 2).sum()) / total if total > 0 else 1.0,
            "latent_dim": int(codes.shape[1])}
