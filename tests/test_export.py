"""`genlab export`: the Hugging Face layout (config.json, model.safetensors, README.md model card,
samples.png) that `genlab.load_run` / `genlab sample` load, end to end through the command line;
`--push` against a fake HfApi (the tests never touch the network)."""

from __future__ import annotations

import json
import os
import shlex

import numpy as np
import pytest
import yaml
from cli_helpers import cli_env, run_cli
from PIL import Image

pytestmark = pytest.mark.slow  # trains two tiny models (a few seconds each)


def _one_error_line(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny conditional VAE on digits with an evaluation in its folder, and a tiny 2-D GAN
    on ring8 with a generator EMA; each exported once."""
    root = tmp_path_factory.mktemp("export")
    vae, gan = root / "vae", root / "gan"
    run_cli("train", "vae", "--data", "digits", "--steps", "40", "--batch-size", "32",
            "--hidden-dim", "32", "--conditional", "--quiet", "--out", vae,
            "--data-dir", root / "my-data", check=True)  # a local folder, not to be published
    run_cli("evaluate", vae, "--sections", "likelihood", "--k", "5", "--iwae-examples", "10",
            "--out", vae / "eval.json", check=True)
    run_cli("train", "gan", "--data", "ring8", "--steps", "40", "--batch-size", "32",
            "--hidden-dim", "16", "--ema", "0.9", "--quiet", "--out", gan, check=True)
    run_cli("evaluate", gan, "--n", "500", "--out", gan / "eval.json", check=True)
    for run in (vae, gan):
        proc = run_cli("export", run, "--to", root / f"{run.name}-hf", check=True)
        assert "exported" in proc.stdout
    return {"root": root, "vae": vae, "gan": gan, "vae_hf": root / "vae-hf",
            "gan_hf": root / "gan-hf"}


def test_export_writes_the_hub_layout_and_a_card(runs):
    from huggingface_hub import ModelCard

    for name, kind in (("vae", "vae"), ("gan", "gan")):
        folder = runs[f"{name}_hf"]
        assert sorted(p.name for p in folder.iterdir()) == [
            "README.md", "config.json", "model.safetensors", "samples.png"]
        config = json.loads((folder / "config.json").read_text())
        assert config["model"]["kind"] == kind and config["genlab"]["version"] == "0.1.0"
        assert config["genlab"]["ema"] is (kind == "gan")
        assert config["data"]["data_dir"] is None  # the trainer's folders are not published
        meta = _front_matter((folder / "README.md").read_text())
        assert meta["library_name"] == "genlab" and meta["license"] == "mit"
        assert kind in meta["tags"] and meta["datasets"] == [config["data"]["name"]]
        card = ModelCard.load(folder / "README.md")  # huggingface_hub's own parser agrees
        assert card.data.library_name == "genlab"
        results = {r.metric_type: r.metric_value for r in card.data.eval_results}
        stored = json.loads((runs[name] / "eval.json").read_text())
        if kind == "vae":
            assert results["likelihood/elbo"] == pytest.approx(stored["likelihood"]["elbo"])
            assert "| likelihood | reconstruction −E log p(x\\|z) |" in card.text
        else:
            assert results["toy2d/frechet_distance_2d"] == pytest.approx(
                stored["toy2d"]["frechet_distance_2d"])
        assert "![" in card.text and "(samples.png)" in card.text
        assert "genlab.load_run(" in card.text and "genlab sample " in card.text
        assert Image.open(folder / "samples.png").size[0] >= 64
    assert "generator's exponential moving average (decay 0.9)" in (
        runs["gan_hf"] / "README.md").read_text()


def test_the_card_command_reproduces_the_config(runs):
    """Parse the card's `genlab train` line with genlab's own parser, resolve it, and get the
    run's resolved config back (device and data_dir aside)."""
    from genlab.cli import _train_overrides, build_parser
    from genlab.config import TrainConfig, resolve

    for name in ("vae", "gan"):
        config = json.loads((runs[f"{name}_hf"] / "config.json").read_text())
        words = shlex.split(config.pop("genlab")["trained_with"])
        assert words[:3] == ["genlab", "train", name]
        assert shlex.join(words) in (runs[f"{name}_hf"] / "README.md").read_text()
        args = build_parser().parse_args(words[1:])
        cfg = TrainConfig.from_dict({"model": {"kind": args.model}})
        for key, value in _train_overrides(args).items():
            section, _, field = key.rpartition(".")
            setattr(getattr(cfg, section) if section else cfg, field, value)
        original = TrainConfig.from_dict(config)
        got = resolve(cfg, "points" if name == "gan" else "image",
                      tuple(original.model.data_shape), original.model.num_classes)
        assert got.to_dict() == original.to_dict()


def test_train_config_from_an_export(runs, tmp_path):
    """The round trip back: `genlab train --config` takes an export's config.json (its "genlab"
    section, which describes the weights, set aside) or the export's folder, as the card says,
    and trains the exported run's config; flags beside it override it."""
    for name in ("vae", "gan"):
        exported = json.loads((runs[f"{name}_hf"] / "config.json").read_text())
        exported.pop("genlab")
        for source in (runs[f"{name}_hf"] / "config.json", runs[f"{name}_hf"]):
            out = tmp_path / f"{name}-{source.name}"
            run_cli("train", "--config", source, "--steps", "2", "--quiet", "--out", out,
                    check=True)
            trained = json.loads((out / "config.json").read_text())
            assert trained["steps"] == 2
            for key in ("model", "loss", "lr", "batch_size", "ema_decay", "seed"):
                assert trained[key] == exported[key], (name, key)
            assert trained["data"]["name"] == exported["data"]["name"]
    assert "genlab train --config path/to/this/folder --out runs/again" in (
        runs["vae_hf"] / "README.md").read_text()


@pytest.mark.parametrize("name,suffix", [("vae", ".png"), ("vae", ".npy"), ("gan", ".npy"),
                                         ("gan", ".png")])
def test_sample_from_the_export_equals_sample_from_the_run(runs, tmp_path, name, suffix):
    a, b = tmp_path / f"export{suffix}", tmp_path / f"run{suffix}"
    run_cli("sample", runs[f"{name}_hf"], "--n", "16", "--seed", "3", "--out", a, check=True)
    run_cli("sample", runs[name], "--n", "16", "--seed", "3", "--out", b, check=True)
    if suffix == ".npy":
        x = np.load(a)
        assert x.shape == ((16, 1, 8, 8) if name == "vae" else (16, 2))
        np.testing.assert_array_equal(x, np.load(b))
    else:
        assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def test_load_run_reads_an_export(runs):
    import genlab

    run, ref = genlab.load_run(runs["gan_hf"]), genlab.load_run(runs["gan"])
    assert (run.kind, run.step, run.ema) == ("gan", ref.step, True)
    assert genlab.sample(run, 8, seed=1).equal(genlab.sample(ref, 8, seed=1))
    with pytest.raises(genlab.GenlabError, match="EMA weights"):
        genlab.load_run(runs["gan_hf"], use_ema=False)
    vae = genlab.load_run(runs["vae_hf"], kind="vae")
    assert vae.num_classes == 10 and not vae.ema
    x = genlab.interpolate(vae, 5, seed=0)
    assert x.shape == (5, 1, 8, 8)


def test_interpolate_and_reconstruct_an_export(runs, tmp_path):
    run_cli("interpolate", runs["vae_hf"], "--steps", "5", "--out", tmp_path / "i.png", check=True)
    run_cli("reconstruct", runs["vae_hf"], "--n", "8", "--out", tmp_path / "r.npy", check=True)
    assert np.load(tmp_path / "r.npy").shape == (8, 1, 8, 8)


def test_a_corrupt_export_is_refused_in_one_line(runs, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(runs["vae_hf"], bad)
    data = bytearray((bad / "model.safetensors").read_bytes())
    data[-5] ^= 0xFF  # one flipped byte in the last tensor
    (bad / "model.safetensors").write_bytes(bytes(data))
    _one_error_line(run_cli("sample", bad, "--n", "4", "--out", tmp_path / "x.npy"),
                    "model.safetensors", "SHA-256")
    assert not (tmp_path / "x.npy").exists()


def test_export_errors_are_one_line_and_write_nothing(runs, tmp_path):
    _one_error_line(run_cli("export", tmp_path / "missing", "--to", tmp_path / "o"),
                    "no such run")
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_error_line(run_cli("export", empty, "--to", tmp_path / "o"), "no checkpoint")
    _one_error_line(run_cli("export", runs["vae"], "--to", tmp_path / "a.txt", "--metrics",
                            runs["gan"] / "eval.json"), "--metrics", "gan")
    assert not (tmp_path / "o").exists() and not (tmp_path / "a.txt").exists()


def test_export_refuses_a_destination_it_may_not_use(runs, tmp_path):
    root = runs["root"]
    # a non-empty --to is refused, and left as it was
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep me")
    _one_error_line(run_cli("export", runs["vae"], "--to", taken), "not empty", "--force")
    assert [p.name for p in taken.iterdir()] == ["mine.txt"]
    # never into (or over) the run folder itself, even with --force
    _one_error_line(run_cli("export", runs["vae"], "--to", runs["vae"], "--force"), "overlaps")
    _one_error_line(run_cli("export", runs["vae"], "--to", runs["vae"] / "hf"), "overlaps")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        _one_error_line(run_cli("export", runs["vae"], "--to", locked / "o"), "cannot write")
    # --force replaces an old export in one rename; no temporary folder stays behind
    run_cli("export", runs["vae"], "--to", taken, "--force", check=True)
    assert sorted(p.name for p in taken.iterdir()) == [
        "README.md", "config.json", "model.safetensors", "samples.png"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


def test_unwritable_destination_is_one_line(runs, tmp_path):
    """--to under a file: the folder cannot be created (also true for root)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_error_line(run_cli("export", runs["gan"], "--to", blocker / "o"), "cannot write",
                    str(blocker / "o"), "a file is in the way")
    _one_error_line(run_cli("export", runs["gan"], "--to", blocker), "is a file")


def test_push_uploads_through_hfapi(runs, tmp_path, monkeypatch, capsys):
    """The push path with a fake HfApi that records its calls."""
    import huggingface_hub

    from genlab.cli import main

    calls = []

    class FakeApi:
        def create_repo(self, repo_id, **kw):
            calls.append(("create_repo", repo_id, kw))
            return f"https://huggingface.co/{repo_id}"

        def upload_folder(self, **kw):
            calls.append(("upload_folder", kw["repo_id"], kw))
            assert sorted(os.listdir(kw["folder_path"]))[0] == "README.md"

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_fake")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    out = tmp_path / "hf"
    assert main(["export", str(runs["gan"]), "--to", str(out), "--push", "me/ring8-gan"]) == 0
    assert [c[:2] for c in calls] == [("create_repo", "me/ring8-gan"),
                                     ("upload_folder", "me/ring8-gan")]
    assert calls[0][2]["exist_ok"] is True and calls[0][2]["repo_type"] == "model"
    assert calls[1][2]["folder_path"] == str(out) and calls[1][2]["repo_type"] == "model"
    assert "pushed to https://huggingface.co/me/ring8-gan" in capsys.readouterr().out
    assert 'snapshot_download("me/ring8-gan")' in (out / "README.md").read_text()

    # a refusal from the Hub, or no network, becomes one line
    from huggingface_hub.utils import HFValidationError

    for error, shown in ((HFValidationError("Repo id must use alphanumeric chars\nmore"),
                          "Repo id must use"),
                         (ConnectionError("Failed to resolve 'huggingface.co'"), "resolve")):
        class RefusingApi(FakeApi):
            def create_repo(self, repo_id, error=error, **kw):
                raise error

        monkeypatch.setattr(huggingface_hub, "HfApi", RefusingApi)
        assert main(["export", str(runs["gan"]), "--to", str(out), "--force", "--push",
                     "me/ring8-gan"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and shown in err[0] and "--push me/ring8-gan" in err[0], err


def test_push_offline_or_without_a_token_is_one_line(runs, tmp_path):
    env = cli_env()
    for key in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        env.pop(key, None)
    env["HF_HOME"] = str(tmp_path / "hf-home")  # no stored token either
    import subprocess
    import sys

    def export(to, **extra):
        return subprocess.run([sys.executable, "-m", "genlab", "export", str(runs["gan"]),
                               "--to", str(tmp_path / to), "--push", "me/x"],
                              env=dict(env, **extra), capture_output=True, text=True, timeout=120)

    _one_error_line(export("a"), "--push me/x", "no Hugging Face token")
    _one_error_line(export("b", HF_HUB_OFFLINE="1", HF_TOKEN="hf_fake"), "HF_HUB_OFFLINE")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # refused first
