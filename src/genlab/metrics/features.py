"""The evaluation networks whose features FID / KID / precision-recall are computed on.

FID as defined by Heusel et al. 2017 (https://arxiv.org/abs/1706.08500) uses the pool3
features (2048-d) of the TF Inception-v3 graph `inception-2015-12-05`. Its weights cannot be
downloaded on machines without internet, so genlab offers two extractors:

- `FeatureExtractor.for_dataset(name)`: a small CNN classifier trained by genlab on the data
  set itself (fixed seed, a few epochs), cached on disk under `$GENLAB_CACHE` (else
  `$XDG_CACHE_HOME/genlab`, else `~/.cache/genlab`) in `classifiers/`, keyed by the data set
  name, a SHA-256 of its train/test tensors, the architecture version and the training
  settings; weights in safetensors, metadata (with the held-out test accuracy) in JSON.
  Features are the penultimate layer (128-d). On mnist5k (4,500 train / 500 test), 4 epochs
  take ≈ 25 s on one core of the 2-core dev machine and reach ≈ 96% test accuracy. Scores
  computed with it are *genlab* scores, comparable with each other, not with published
  Inception FIDs — its `name` says which network was used (e.g.
  "genlab-classifier-mnist5k-v1 (test acc 96.0%)").
- `InceptionFeatures.from_file(path)`: the TorchScript translation of that TF graph published
  with stylegan2-ada-pytorch (`inception-2015-12-05.pt`), when a local copy exists; called as
  in its metric code: uint8-range RGB images, `return_features=True` -> (N, 2048).

Input convention for both: images float in [0, 1], (N, C, H, W) (uint8 0..255 is accepted).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F

from genlab.cache import cache_dir  # re-exported: the cache folder is defined once
from genlab.errors import GenlabError
from genlab.training.atomic import atomic_path

__all__ = ["ARCH_VERSION", "ClassifierNet", "FeatureExtractor", "InceptionFeatures", "cache_dir"]

ARCH_VERSION = 1  # bump when ClassifierNet or its training recipe changes: new cache keys
FEATURE_DIM = 128
BATCH = 500  # evaluation batch


class ClassifierNet(nn.Module):
    """Two 3x3 conv blocks with batch norm, pooled to a 4x4 grid, a 128-d penultimate layer."""

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),  # (B, 32, H, W)
            nn.MaxPool2d(2),  # (B, 32, H/2, W/2)
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),  # (B, 64, H/2, W/2)
            nn.MaxPool2d(2),  # (B, 64, H/4, W/4)
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),  # (B, 64·4·4) = (B, 1024)
            nn.Linear(64 * 16, FEATURE_DIM), nn.ReLU(),  # (B, 128) penultimate features
        )
        self.head = nn.Linear(FEATURE_DIM, num_classes)  # (B, num_classes) logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x - 0.5)  # centre [0, 1] pixels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _as_unit_float(x: torch.Tensor) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x)
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    return x.float()


def _data_hash(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def _accuracy(net: ClassifierNet, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(_as_unit_float(x[i:i + BATCH])).argmax(1)
                          for i in range(0, len(x), BATCH)])
    return float((pred == y).double().mean())


def train_classifier(train_x, train_y, test_x, test_y, num_classes: int, epochs: int = 4,
                     seed: int = 0, batch_size: int = 64, lr: float = 1e-3,
                     max_steps: int | None = None) -> tuple[ClassifierNet, float]:
    """Train a ClassifierNet with Adam and a fixed seed; returns (network, test accuracy)."""
    with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG untouched
        torch.manual_seed(seed)
        net = ClassifierNet(train_x.shape[1], num_classes)
        order = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        step = 0
        for _ in range(epochs):
            net.train()
            perm = torch.randperm(len(train_x), generator=order)
            for i in range(0, len(perm) - batch_size + 1, batch_size):
                idx = perm[i:i + batch_size]
                loss = F.cross_entropy(net(_as_unit_float(train_x[idx])), train_y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
                if max_steps is not None and step >= max_steps:
                    break
            if max_steps is not None and step >= max_steps:
                break
    net.eval()
    return net, _accuracy(net, test_x, test_y)


class FeatureExtractor:
    """A trained classifier used as the evaluation network: `.features`, `.predict`, `.name`."""

    def __init__(self, network: ClassifierNet, dataset: str, test_accuracy: float,
                 image_shape: tuple[int, ...], trained: bool = False, path: Path | None = None):
        self.network = network.eval()
        self.dataset = dataset
        self.test_accuracy = test_accuracy
        self.image_shape = tuple(image_shape)
        self.trained = trained  # True when this call trained it, False when loaded from cache
        self.path = path
        self.feature_dim = FEATURE_DIM

    @property
    def name(self) -> str:
        return (f"genlab-classifier-{self.dataset}-v{ARCH_VERSION} "
                f"(test acc {100 * self.test_accuracy:.1f}%)")

    def __repr__(self) -> str:
        return f"FeatureExtractor({self.name})"

    def to(self, device) -> FeatureExtractor:
        """Run the network on `device` (inputs are moved there batch by batch)."""
        self.network.to(device)
        return self

    def _batches(self, x, fn):
        x = _as_unit_float(x)
        if tuple(x.shape[1:]) != self.image_shape:
            raise GenlabError(f"{self.name} takes images of shape {self.image_shape}, "
                              f"got {tuple(x.shape[1:])}")
        device = next(self.network.parameters()).device
        with torch.no_grad():
            return torch.cat([fn(x[i:i + BATCH].to(device)).cpu() for i in range(0, len(x), BATCH)])

    def features(self, x) -> torch.Tensor:
        """Penultimate-layer features (N, 128) of images (N, C, H, W) in [0, 1], on the CPU."""
        return self._batches(x, self.network.features)

    def predict(self, x) -> torch.Tensor:
        """Predicted classes (N,) int64."""
        return self._batches(x, lambda b: self.network(b).argmax(dim=1))

    def probabilities(self, x) -> torch.Tensor:
        """Class probabilities (N, num_classes): the softmax of the classifier's logits."""
        return self._batches(x, lambda b: self.network(b).softmax(dim=1))

    @classmethod
    def from_data(cls, dataset: str, train_x, train_y, test_x, test_y, num_classes: int,
                  cache: str | Path | None = None, epochs: int = 4, seed: int = 0,
                  max_steps: int | None = None) -> FeatureExtractor:
        """Load the cached classifier for exactly this data and recipe, or train and cache it.

        x: uint8 (N, C, H, W) 0..255 or float in [0, 1]; y: int64 (N,)."""
        if train_x.ndim != 4 or test_x.ndim != 4:
            raise GenlabError(f"{dataset}: the evaluation classifier needs images (N, C, H, W)")
        recipe = {"arch_version": ARCH_VERSION, "epochs": epochs, "seed": seed,
                  "max_steps": max_steps, "num_classes": num_classes}
        digest = _data_hash(train_x, train_y, test_x, test_y)
        key = hashlib.sha256((digest + json.dumps(recipe, sort_keys=True)).encode()).hexdigest()
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset)
        root = Path(cache).expanduser() if cache is not None else cache_dir()
        stem = root / "classifiers" / f"{safe}-v{ARCH_VERSION}-{key[:16]}"
        weights, meta_path = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
        shape = tuple(train_x.shape[1:])
        if weights.is_file() and meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text())
                net = ClassifierNet(shape[0], num_classes)
                net.load_state_dict(load_file(str(weights)))
                return cls(net, dataset, float(meta["test_accuracy"]), shape, False, weights)
            except Exception:  # noqa: BLE001 - a corrupt cache entry: train again, overwrite it
                pass
        net, acc = train_classifier(train_x, train_y, test_x, test_y, num_classes,
                                    epochs=epochs, seed=seed, max_steps=max_steps)
        meta = {"dataset": dataset, "data_sha256": digest, "image_shape": list(shape),
                "test_accuracy": acc, "num_train": len(train_x), "num_test": len(test_x),
                **recipe}
        state = {k: v.contiguous() for k, v in net.state_dict().items()}
        with atomic_path(weights) as tmp:
            save_file(state, str(tmp))
        with atomic_path(meta_path) as tmp:
            tmp.write_text(json.dumps(meta, indent=2))
        return cls(net, dataset, acc, shape, True, weights)

    @classmethod
    def for_dataset(cls, name: str = "mnist5k", cache: str | Path | None = None,
                    data_dir: str | None = None, epochs: int = 4, seed: int = 0,
                    **load_options) -> FeatureExtractor:
        """The evaluation classifier of a genlab data set (trained on its train split, scored on
        its test split), from the cache when present."""
        from genlab.data import load_dataset

        train = load_dataset(name, "train", data_dir=data_dir, **load_options)
        test = load_dataset(name, "test", data_dir=data_dir, **load_options)
        if train.kind != "image" or train.y is None or test.y is None:
            raise GenlabError(f"{name}: an evaluation classifier needs labelled images")
        binarize = load_options.get("binarize", "none")
        label = name if binarize == "none" else f"{name}-binarized-{binarize}"
        return cls.from_data(label, train.x, train.y, test.x, test.y, train.num_classes,
                             cache=cache, epochs=epochs, seed=seed)


class InceptionFeatures:
    """Inception-v3 pool3 features from a local TorchScript file (stylegan2-ada-pytorch's
    `inception-2015-12-05.pt`, a direct translation of the TF FID graph)."""

    name = "inception-2015-12-05 (TorchScript)"
    feature_dim = 2048

    def __init__(self, module: torch.jit.ScriptModule, path: Path):
        self.module = module.eval()
        self.path = path
        self.device = torch.device("cpu")

    def to(self, device) -> InceptionFeatures:
        self.device = torch.device(device)
        self.module.to(self.device)
        return self

    @classmethod
    def from_file(cls, path: str | Path | None) -> InceptionFeatures:
        hint = ("Inception weights cannot be downloaded here: pass a local TorchScript "
                "inception-2015-12-05.pt (stylegan2-ada-pytorch), or use the genlab classifier "
                "(FeatureExtractor.for_dataset)")
        if path is None:
            raise GenlabError(f"no Inception weights given. {hint}")
        path = Path(path).expanduser()
        if not path.is_file():
            raise GenlabError(f"{path}: file not found. {hint}")
        try:
            with warnings.catch_warnings():  # TorchScript is the format the weights ship in
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location="cpu")
        except Exception as e:  # noqa: BLE001 - any load failure is a bad user file
            raise GenlabError(
                f"{path}: not a TorchScript module ({type(e).__name__}); a pytorch-fid state "
                f"dict (pt_inception-*.pth) is not supported. {hint}") from None
        return cls(module, path)

    def features(self, x, batch_size: int = 100) -> torch.Tensor:
        """Pool3 features (N, 2048) of images (N, C, H, W) in [0, 1]; grey images -> RGB."""
        x = _as_unit_float(x)
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise GenlabError(f"Inception takes (N, 1 or 3, H, W) images, got {tuple(x.shape)}")
        out = []
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                b = x[i:i + batch_size]
                if b.shape[1] == 1:
                    b = b.repeat(1, 3, 1, 1)  # (B, 3, H, W)
                b = (b * 255).round().clamp(0, 255).to(torch.uint8)  # as in the reference
                out.append(self.module(b.to(self.device), return_features=True).float().cpu())
        return torch.cat(out)

    def predict(self, x):
        raise GenlabError("InceptionFeatures gives features only; for classes use the genlab "
                          "classifier (FeatureExtractor.for_dataset)")
