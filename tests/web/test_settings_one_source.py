"""The page's controls, the diagrams and the server's validation come from one definition of
every simulation setting: the pydantic models of genlab.web.simulations.schemas."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import annotated_types
import pytest

from genlab.config import GAN_LOSSES
from genlab.errors import GenlabError
from genlab.web import diagrams, lesson
from genlab.web.simulations import schemas

STATIC = Path(lesson.__file__).resolve().parent / "static"


def embedded_settings(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="sim-settings">(.*?)</script>', page, re.S)
    assert m, "the page embeds no settings"
    return json.loads(m.group(1))


def bounds_of(info) -> dict:
    """min / max of a pydantic field, read from its constraints (not from the JSON schema)."""
    out = {}
    for c in info.metadata:
        if isinstance(c, (annotated_types.Ge, annotated_types.Gt)):
            out["min"] = c.ge if isinstance(c, annotated_types.Ge) else c.gt
        if isinstance(c, (annotated_types.Le, annotated_types.Lt)):
            out["max"] = c.le if isinstance(c, annotated_types.Le) else c.lt
    return out


def test_the_page_embeds_the_field_lists_the_server_serves(client):
    page = client.get("/").text
    embedded = embedded_settings(page)
    assert embedded == schemas.field_lists()
    assert client.get("/api/sim/limits").json()["settings"] == embedded
    assert client.get("/api/architecture/settings").json() == {
        sim: embedded[sim] for sim in diagrams.TITLES}


@pytest.mark.parametrize("kind", list(schemas.CONFIGS))
def test_each_control_is_its_pydantic_field(kind):
    model = schemas.CONFIGS[kind]
    fields = schemas.field_list(kind)
    assert [f["name"] for f in fields] == list(model.model_fields)
    for f in fields:
        info = model.model_fields[f["name"]]
        assert f["label"] == info.title and f["value"] == info.default
        assert f.get("help") == info.description
        assert {k: f[k] for k in ("min", "max") if k in f} == bounds_of(info)
        if typing.get_origin(info.annotation) is typing.Literal:
            assert [v for v, _label in f["choices"]] == list(typing.get_args(info.annotation))


def test_loss_choices_are_the_librarys():
    gan2d = {f["name"]: f for f in schemas.field_list("gan2d")}
    assert [v for v, _ in gan2d["loss"]["choices"]] == list(GAN_LOSSES)
    dcgan = {f["name"]: f for f in schemas.field_list("dcgan")}
    assert set(v for v, _ in dcgan["loss"]["choices"]) < set(GAN_LOSSES)


def test_no_script_names_a_loss_or_lists_settings():
    words = re.compile(r"\b(" + "|".join(map(re.escape, GAN_LOSSES)) + r")\b", re.I)
    for path in sorted(STATIC.rglob("*.js")):
        text = path.read_text(encoding="utf-8")
        assert not words.search(text), f"{path.name} names a loss: {words.search(text).group()}"
        # a server setting's bounds are never written in a script
        for kind in schemas.CONFIGS:
            for name in schemas.CONFIGS[kind].model_fields:
                assert not re.search(rf'name: "{name}",[^}}]*\bmin:', text), (path.name, name)


class NarrowGan(schemas.GanConfig):
    """The playground with one bound changed, to follow it through every consumer."""

    width: int = schemas.setting(64, "Width", "hidden units per layer, G and D", step=8, ge=8,
                                 le=96, shapes_model=True)


def test_changing_a_bound_in_the_model_changes_page_validation_and_diagram(monkeypatch):
    monkeypatch.setitem(schemas.CONFIGS, "gan2d", NarrowGan)
    # the page
    width = next(f for f in embedded_settings(lesson.build_page())["gan2d"]
                 if f["name"] == "width")
    assert width["max"] == 96
    # the server's validation of a simulation's settings
    with pytest.raises(schemas.MessageError, match=r"width must be ≤ 96 \(got 128\)"):
        schemas.parse_config("gan2d", {"width": 128})
    assert schemas.parse_config("gan2d", {"width": 96}).width == 96
    # the diagram
    with pytest.raises(GenlabError, match="width must be ≤ 96"):
        diagrams.describe("gan2d", {"width": "128"})
    drawn = diagrams.describe("gan2d", {"width": "96"})
    assert drawn["blocks"][0]["layers"][0]["shape"] == [96]


def test_a_diagram_refuses_what_its_simulation_refuses():
    for raw in ({"width": "4096"}, {"loss": "wgan"}, {"pack": "3", "batch": "128"},
                {"show_heat": "1"}):
        with pytest.raises(schemas.MessageError) as sim_error:
            schemas.parse_config("gan2d", raw)
        with pytest.raises(GenlabError) as diagram_error:
            diagrams.describe("gan2d", raw)
        assert str(diagram_error.value) == str(sim_error.value)


@pytest.mark.parametrize("kind", ["gan2d", "vae", "dcgan"])
def test_the_diagram_draws_the_model_its_simulation_trains(kind):
    """Same settings -> the same resolved ModelConfig as the simulation's own state."""
    from genlab.web.simulations.common import cached_dataset, make_state

    cfg = schemas.parse_config(kind, {})
    drawn = diagrams.describe(kind, {})
    data = {"gan2d": "ring8", "vae": "mnist5k", "dcgan": "mnist5k"}[kind]
    if kind == "gan2d":
        from genlab.data import load_dataset

        ds = load_dataset(data, "train", n_train=512, n_test=10)
    else:
        ds = cached_dataset(data, "train")
    state = make_state(cfg.train_config(), ds)
    trained = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(state.cfg.model).items()}
    assert drawn["config"] == trained
    assert drawn["params_total"] == sum(p.numel() for p in state.model.parameters())
