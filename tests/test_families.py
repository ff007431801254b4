"""The family table (genlab.training.steps.FAMILIES) is the one place a model kind's behaviour
is decided; config's settings side agrees with it; `from genlab import train` is the function."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from genlab.config import KIND_DEFAULTS, MODEL_KINDS, DataConfig, ModelConfig, TrainConfig
from genlab.training.steps import FAMILIES, family

SRC = Path(__file__).resolve().parents[1] / "src" / "genlab"


def test_every_model_kind_has_a_family_and_config_agrees_with_it():
    assert set(FAMILIES) == set(MODEL_KINDS)
    for (kind, _), defaults in KIND_DEFAULTS.items():
        assert ("loss" in defaults) == FAMILIES[kind].adversarial, kind  # config's is_gan
    from genlab.models import MODELS

    for kind in FAMILIES:
        has_points_row = (kind, "points") in KIND_DEFAULTS
        assert has_points_row == (MODELS[kind].ARCHITECTURE != "conv"), kind  # dcgan: images


def test_unknown_kind_names_the_choices():
    from genlab.errors import GenlabError

    with pytest.raises(GenlabError, match="unknown model 'flow': choose one of"):
        family("flow")


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_the_state_is_built_from_the_table(kind):
    from genlab.config import resolve
    from genlab.data.dataset import Dataset
    from genlab.training.state import build_state

    x = torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8)
    cfg = TrainConfig(model=ModelConfig(kind=kind, architecture="mlp", hidden_dim=16, depth=1,
                                        filters=8, latent_dim=4),
                      data=DataConfig("tiny"), steps=2, batch_size=8, precision="fp32")
    cfg = resolve(cfg, "image", (1, 8, 8), 0, 64)
    state = build_state(cfg, Dataset(name="tiny", kind="image", x=x), torch.device("cpu"))
    fam = FAMILIES[kind]
    assert list(state.optimizers) == [name for name, _, _ in fam.optimizers]
    for name, part, _ in fam.optimizers:  # each optimizer holds exactly its part's parameters
        module = getattr(state.model, part) if part else state.model
        held = {id(p) for g in state.optimizers[name].param_groups for p in g["params"]}
        assert held == {id(p) for p in module.parameters()}
    units = [u for u in (state.units.model, state.units.generator, state.units.discriminator)
             if u is not None]
    assert units and not state.dist.enabled


def test_no_module_decides_by_the_kind_name():
    """Outside the table no module compares a model kind with a family's name or probes a
    model with hasattr (the hub's simulation names, web/, are its own and not model kinds)."""
    names = "|".join(sorted(FAMILIES))
    compared = re.compile(rf"kind\s*(==|!=|\bin\b|\bnot in\b)\s*\(?[\"']({names})[\"']")
    probed = re.compile(r"hasattr\([^)]*[\"'](generator|discriminator|encode|decode)[\"']")
    offenders = [f"{path.relative_to(SRC)}:{i}: {line.strip()}"
                 for path in SRC.rglob("*.py") if "web" not in path.relative_to(SRC).parts
                 for i, line in enumerate(path.read_text().splitlines(), 1)
                 if compared.search(line) or probed.search(line)]
    assert not offenders, offenders
    assert compared.search('if cfg.model.kind in ("gan", "dcgan"):')  # the check can fail
    assert probed.search('if hasattr(model, "generator"):')


def test_genlab_train_is_the_function(tmp_path):
    import genlab
    from genlab import train

    assert callable(train) and genlab.train is train
    cfg = TrainConfig(model=ModelConfig(kind="ae", hidden_dim=8, depth=1, latent_dim=2),
                      data=DataConfig("ring8"), steps=3, batch_size=16, log_every=1)
    events = [e["event"] for e in train(cfg, tmp_path / "run")]
    assert events[0] == "start" and events[-1] == "done"
