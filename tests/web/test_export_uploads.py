"""Issue 13 §1/§2: a lab trained on UPLOADED data exports a config naming that data (shipped
beside it), and the exported `genlab train --config` command trains on the same data."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import cli_env  # noqa: E402

import genlab  # noqa: E402
from genlab.config import TrainConfig  # noqa: E402
from genlab.training.loop import load_training_data  # noqa: E402
from genlab.web.simulations import uploads  # noqa: E402
from genlab.web.simulations.export_run import export_zip  # noqa: E402
from genlab.web.simulations.schemas import SimLimits  # noqa: E402
from genlab.web.simulations.worker import build  # noqa: E402

LIM = SimLimits()


def _upload(sim, kind, files):
    ds = uploads.decode(kind, uploads.receive(kind, files, LIM).to_message(1), LIM)
    uploads.apply(sim, ds)
    return ds


def _picture(k: int, size: int = 20) -> bytes:
    a = np.zeros((size, size), np.uint8)
    a[2:size - 2, k % (size - 4):k % (size - 4) + 3] = 40 + 15 * k
    out = io.BytesIO()
    Image.fromarray(a).save(out, "PNG")
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _export_and_train(sim, kind, tmp_path, monkeypatch):
    """Export `sim`, unzip it, run its command (2 steps) in a subprocess; the config the
    new run stored, and the data it names, read from the unzipped folder."""
    data, cfg, name = export_zip(sim, kind)
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    folder = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "genlab", "train", "--config", "config.json",
                           "--steps", "2", "--out", "again", "--quiet"], cwd=folder,
                          env=cli_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert genlab.load_run(folder / "again").step == 2
    stored = TrainConfig.from_dict(json.loads((folder / "again" / "config.json").read_text()))
    monkeypatch.chdir(folder)  # the config names the data beside it
    return cfg, stored, load_training_data(stored)


@pytest.mark.slow
def test_uploaded_points_go_with_the_export(tmp_path, monkeypatch):
    sim = build("gan2d", {"data": "uploaded", "width": 16}, LIM)
    points = [(0.013 * i - 0.7, np.sin(i) * 0.3 + 1e-7 * i) for i in range(40)]
    text = "x,y\n" + "".join(f"{x},{y}\n" for x, y in points)
    uploaded = _upload(sim, "gan2d", [("mine.csv", text.encode())])
    sim.train_step()
    cfg, stored, trained_on = _export_and_train(sim, "gan2d", tmp_path, monkeypatch)
    assert cfg.data.name == stored.data.name == "csv:uploaded_points.csv"
    assert torch.equal(trained_on.x, uploaded.x)  # the very float32 points


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["vae", "dcgan"])
def test_uploaded_images_go_with_the_export(kind, tmp_path, monkeypatch):
    sim = build(kind, {"data": "uploaded"} | ({"width": 16} if kind == "vae" else {"filters": 4}),
                LIM)
    members = {f"{c}/{k}.png": _picture(k + 3 * i) for i, c in enumerate(["cats", "dogs"])
               for k in range(6)}
    members.update({f"loose{k}.png": _picture(10 + k, size=34) for k in range(3)})
    uploaded = _upload(sim, kind, [("set.zip", _zip(members))])
    assert uploaded.num_classes == 3  # cats, dogs and the top level
    sim.train_step()
    cfg, stored, trained_on = _export_and_train(sim, kind, tmp_path, monkeypatch)
    assert cfg.data.name == stored.data.name == "folder:uploaded_images"
    assert stored.data.image_size == 28 and stored.data.test_fraction == 0.0
    assert trained_on.x.shape == uploaded.x.shape  # every image, 28×28 grey

    def as_set(ds):
        return sorted((int(y), x.numpy().tobytes()) for x, y in zip(ds.x, ds.y))

    assert as_set(trained_on) == as_set(uploaded)  # the same pixels, in the same classes
    # the classes keep their names; the loose images' one is the folder's (folder: names it)
    assert trained_on.class_names == ["cats", "dogs", "uploaded_images"]
    assert uploaded.class_names == ["cats", "dogs", uploads.ROOT_CLASS]
