"""genlab: generative models you can train, resume, evaluate and watch learn.

    import genlab
    cfg = genlab.TrainConfig(model=genlab.ModelConfig(kind="vae"), data=genlab.DataConfig("mnist5k"))
    for event in genlab.train(cfg, "runs/vae1"):
        ...
    run = genlab.load_run("runs/vae1")
    x = genlab.sample(run, 64)                      # images in [0, 1] / points in data coordinates
    strip = genlab.interpolate(run, 10, method="slerp")
    x_hat = genlab.reconstruct(run, x_raw)
    scores = genlab.anomaly_scores(run, dataset, method="iwae", k=100)

Names are imported on first use, so `import genlab` (and `genlab --help`) does not load torch.
`genlab.train` is the function (genlab.training.loop.train); no submodule shares its name.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "TrainConfig": "genlab.config", "ModelConfig": "genlab.config", "DataConfig": "genlab.config",
    "resolve": "genlab.config",
    "GenlabError": "genlab.errors",
    "train": "genlab.training.loop", "TrainingDiverged": "genlab.training.loop",
    "load_run": "genlab.runs", "Run": "genlab.runs",
    "sample": "genlab.operations", "interpolate": "genlab.operations",
    "reconstruct": "genlab.operations", "anomaly_scores": "genlab.operations",
    "encode": "genlab.operations",
    "load_dataset": "genlab.data", "build_model": "genlab.models",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__

