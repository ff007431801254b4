"""Every bad value is refused at the entry point, in one line that names the flag or field
(issue 10, section 2): the matrix of tests/bad_values.py in-process, a representative subset in
real `python -m genlab` subprocesses, the memory estimates, and property-based tests of the one
validation layer (genlab.config.Bounds) through the config and the argument types."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bad_values  # noqa: E402
from cli_helpers import run_cli  # noqa: E402

from genlab.config import FIELD_BOUNDS, OPTION_BOUNDS, Bounds, TrainConfig  # noqa: E402
from genlab.errors import GenlabError  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory) -> Path:
    return bad_values.train_fixture_run(tmp_path_factory.mktemp("bad") / "run")


def test_every_bad_value_of_every_numeric_flag_is_refused_in_one_line(fixture_run, tmp_path):
    started = time.perf_counter()
    failures = []
    cases = bad_values.cases()
    for i, case in enumerate(cases):
        outcome, text = bad_values.run_case(case, fixture_run, tmp_path / f"case{i}", timeout=10)
        if outcome != "refused":
            failures.append(f"{outcome}: {case.label}: {text.strip()[-300:]}")
    assert len(cases) > 300
    assert not failures, "\n".join(failures)
    assert time.perf_counter() - started < 60


@pytest.mark.parametrize("args, expected", [
    (["train", "gan", "--data", "ring8", "--lr", "nan"], "argument --lr: must be a number in (0, 1]"),
    (["train", "gan", "--ema", "nan"], "argument --ema: must be a number in [0, 1)"),
    (["train", "vae", "--hidden-dim", "_"], "argument --hidden-dim: must be an integer"),
    (["evaluate", "RUN", "--n", "0"], "argument --n: must be an integer in [2,"),
    (["sample", "RUN", "--n", str(10 ** 13), "--out", "OUT.npy"], "would need about"),
    (["train", "gan", "--data", "ring8", "--hidden-dim", "60000", "--depth", "16", "--steps", "1",
      "--out", "OUT"], "training a gan with hidden_dim 60000, depth 16"),
])
def test_refusals_in_a_real_subprocess(fixture_run, tmp_path, args, expected):
    args = [a.replace("RUN", str(fixture_run)).replace("OUT", str(tmp_path / "x")) for a in args]
    proc = run_cli(*args, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert [line for line in lines if line.startswith("genlab: error:")] == [lines[-1]]
    assert expected in lines[-1], lines[-1]
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


# ------------------------------------------------------------------ memory estimates

@pytest.mark.parametrize("kind, data_kind, shape, extra", [
    ("gan", "points", (2,), {"minibatch_disc": True}),
    ("vae", "image", (1, 28, 28), {"conditional": True}),
    ("dcgan", "image", (1, 32, 32), {"spectral_norm": True}),
    ("ae", "image", (1, 8, 8), {}),
])
def test_the_memory_estimate_counts_the_real_parameters(kind, data_kind, shape, extra):
    from genlab.config import resolve
    from genlab.limits import training_bytes, training_estimate
    from genlab.models import build_model

    cfg = resolve(TrainConfig.from_dict({"model": {"kind": kind, **extra}, "steps": 1}),
                  data_kind, shape, num_classes=10)
    params, activations = training_estimate(cfg)
    assert params == sum(p.numel() for p in build_model(cfg.model).parameters())
    # every model keeps at least its input and output of a batch for backward
    assert activations >= 2 * cfg.batch_size * math.prod(shape)
    assert training_bytes(cfg) >= 4 * 4 * params + 8 * activations


def test_a_model_too_large_for_the_machine_is_refused_before_it_is_built(monkeypatch):
    from genlab import limits, models
    from genlab.config import resolve
    from genlab.data import load_dataset
    from genlab.training.state import build_state

    monkeypatch.setattr(limits, "available_bytes", lambda device=None: 10 ** 6)
    built, real_build = [], models.build_model

    def spy(*args, **kwargs):  # the estimate builds on the meta device; training would not
        model = real_build(*args, **kwargs)
        built.append(next(model.parameters()).device.type)
        return model

    monkeypatch.setattr(models, "build_model", spy)
    cfg = resolve(TrainConfig.from_dict({"model": {"kind": "gan"}, "steps": 1}), "points", (2,))
    with pytest.raises(GenlabError, match=r"hidden_dim 128, depth 3.*would need about .* MB of "
                                          r"memory, 1\.0 MB available"):
        build_state(cfg, load_dataset("ring8"), torch.device("cpu"))
    assert "cpu" not in built  # refused before the model was built in memory


def test_available_memory_is_read_from_the_machine():
    from genlab.limits import available_bytes, format_bytes

    have = available_bytes("cpu")
    assert 10 ** 7 < have < 1 << 60
    assert format_bytes(40_100_000_000) == "40.1 GB"


# ------------------------------------------------------------------ the Python API

def test_genlab_train_refuses_a_bad_config_before_touching_the_folder(tmp_path):
    import genlab

    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("earlier work")
    cfg = genlab.TrainConfig(model=genlab.ModelConfig(kind="gan"), data=genlab.DataConfig("ring8"),
                             steps=1, lr=float("nan"))
    with pytest.raises(GenlabError, match=r"^lr must be a number in \(0, 1\] \(not nan\), got nan"):
        next(genlab.train(cfg, out, force=True))
    assert (out / "keep.txt").read_text() == "earlier work"


@pytest.mark.parametrize("data, settings, message", [
    ("ring8", {"model.hidden_dim": 60000, "model.depth": 8}, "would need about"),  # memory
    ("csv:/nonexistent/points.csv", {}, "points.csv"),  # the data cannot be read
])
def test_force_loses_nothing_when_the_run_is_refused_during_set_up(tmp_path, data, settings,
                                                                    message):
    # --force empties the folder only once the run is set up: a run refused for its data or
    # its memory leaves the earlier work where it was
    import genlab

    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("earlier work")
    cfg = genlab.TrainConfig(model=genlab.ModelConfig(kind="gan"), data=genlab.DataConfig(data),
                             steps=1)
    for key, value in settings.items():
        setattr(cfg.model, key.split(".")[1], value)
    with pytest.raises(GenlabError, match=message):
        next(genlab.train(cfg, out, force=True))
    assert (out / "keep.txt").read_text() == "earlier work"


@pytest.mark.parametrize("edit, message", [
    ({"lr": float("nan")}, "lr must be"),
    ({"ema_decay": float("inf")}, "ema_decay must be"),
    ({"steps": "abc"}, "steps must be an integer"),
    ({"steps": True}, "steps must be an integer"),
    ({"seed": 2 ** 64}, "seed must be an integer in [0, 4294967295]"),
    ({"model": {"depth": 10 ** 20}}, "model.depth must be an integer in [1, 64]"),
    ({"data": {"image_size": 0}}, "data.image_size must be"),
    ({"betas": [0.5, 1.5]}, "betas[1] must be"),
    ({"compile": "yes"}, "compile must be a boolean"),
    ({"model": "vae"}, "config section 'model' must be a mapping"),
])
def test_a_hand_edited_config_json_is_refused_with_the_field_named(edit, message):
    d = TrainConfig().to_dict()
    for key, value in edit.items():
        if isinstance(value, dict):
            d[key].update(value)
        else:
            d[key] = value
    with pytest.raises(GenlabError) as e:
        TrainConfig.from_dict(json.loads(json.dumps(d)))
    assert str(e.value).startswith(message), str(e.value)


def test_operations_refuse_bad_counts_from_python(fixture_run):
    import genlab

    run = genlab.load_run(fixture_run)
    with pytest.raises(GenlabError, match=r"^n must be an integer in \[1, "):
        genlab.sample(run, 0)
    with pytest.raises(GenlabError, match=r"^seed must be an integer in \[0, 4294967295\]"):
        genlab.sample(run, 4, seed=2 ** 70)
    with pytest.raises(GenlabError, match=r"^sampling n=\d+ would need about"):
        genlab.sample(run, 10 ** 13)
    with pytest.raises(GenlabError, match=r"^k must be an integer in \[1, 100000\], got 0"):
        genlab.anomaly_scores(run, [[0.0, 0.0]], k=0)


# ------------------------------------------------------------------ properties

VALUES = st.one_of(st.none(), st.booleans(), st.text(max_size=5),
                   st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                   st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(FIELD_BOUNDS)), value=VALUES)
def test_a_validated_config_holds_only_values_in_range_and_writes_valid_json(name, value):
    d = TrainConfig().to_dict()
    section, _, field = name.rpartition(".")
    default = (d[section] if section else d)[field]
    (d[section] if section else d)[field] = value
    bounds = FIELD_BOUNDS[name]
    try:
        cfg = TrainConfig.from_dict(d)
    except GenlabError as e:
        assert str(e).startswith(f"{name} must be"), str(e)
        assert value is not None or default is not None  # None: "resolve it", where optional
        return
    assert value is None or bounds.problem(value) is None
    if isinstance(value, float):
        assert math.isfinite(value)
    json.dumps(cfg.to_dict(), allow_nan=False)  # config.json never holds NaN / Infinity


@settings(max_examples=300, deadline=None)
@given(bounds=st.sampled_from(sorted(set(FIELD_BOUNDS.values()) | set(OPTION_BOUNDS.values()),
                                     key=repr)),
       text=st.one_of(st.text(max_size=8), st.integers(-(2 ** 70), 2 ** 70).map(str),
                      st.floats().map(repr), st.floats().map(lambda f: f"{f:e}")))
def test_the_flag_types_return_a_number_in_range_or_refuse_naming_the_text(bounds, text):
    from genlab.config import number_type

    parse = number_type(bounds)
    assert parse.__name__ in ("integer", "number")
    try:
        value = parse(text)
    except argparse.ArgumentTypeError as e:
        assert str(e).startswith("must be ") and str(e).endswith(f"got {text!r}")
        return
    assert bounds.problem(value) is None
    assert isinstance(value, bounds.kind)


def test_bounds_describe_open_and_closed_ends():
    assert Bounds(float, 0, 1, low_open=True).describe() == "a number in (0, 1]"
    assert Bounds(int, 1, 64).describe() == "an integer in [1, 64]"
    assert Bounds(int, 1, 64).parse("1e1") == 10  # integers may be written as 1e1
    with pytest.raises(GenlabError, match=r"must be an integer in \[1, 64\], got '2\.5'"):
        Bounds(int, 1, 64).parse("2.5")
