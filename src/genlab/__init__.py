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
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

_LAZY = {
    "TrainConfig": "genlab.config", "ModelConfig": "genlab.config", "DataConfig": "genlab.config",
    "resolve": "genlab.config",
    "GenlabError": "genlab.errors",
    "train": "genlab.train", "TrainingDiverged": "genlab.train",
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


class _Package(types.ModuleType):
    """`genlab.train` is the public function, whatever is imported. Python's import system
    binds a submodule on its package as it is first imported (`import genlab.train`, or
    `from genlab import TrainingDiverged`, which imports genlab/train.py), and that would
    replace the function with the module: `genlab.train(cfg, out)` -> "'module' object is not
    callable". This package refuses that one binding; the module stays importable by its name
    (`from genlab.train import build_state`, `importlib.import_module("genlab.train")`).
    (A module class of its own: the documented way to customize a module's attribute
    setting, https://docs.python.org/3/reference/datamodel.html#customizing-module-attribute-access)"""

    def __setattr__(self, name: str, value) -> None:
        if name in _FUNCTIONS_NAMED_LIKE_MODULES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


_FUNCTIONS_NAMED_LIKE_MODULES = {"train"}  # public function -> its submodule of the same name
sys.modules[__name__].__class__ = _Package
