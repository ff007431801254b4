"""The `genlab` command line: fast help, the commands, one-line errors with exit status 2."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import cli_env, run_cli
from PIL import Image


def _one_error_line(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_help_does_not_import_torch():
    code = ("import sys; from genlab.cli import build_parser; build_parser(); "
            "import genlab; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], env=cli_env(), check=True)
    for args in (["--help"], ["sample", "--help"], ["train", "--help"]):
        proc = subprocess.run([sys.executable, "-m", "genlab", *args], env=cli_env(),
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "usage: genlab" in proc.stdout


def test_train_flags_are_all_there():
    proc = run_cli("train", "--help")
    for flag in ("--steps", "--epochs", "--batch-size", "--lr", "--lr-d", "--seed", "--latent-dim",
                 "--beta", "--kl-warmup", "--loss", "--spectral-norm", "--minibatch-disc",
                 "--minibatch-std", "--pack", "--n-critic", "--gp-weight", "--ema", "--conditional",
                 "--likelihood", "--arch", "--hidden-dim", "--depth", "--filters", "--preset",
                 "--image-size", "--holdout-class", "--data-dir", "--download", "--device",
                 "--precision", "--compile", "--deterministic", "--checkpoint-every",
                 "--sample-every", "--resume", "--force"):
        assert flag in proc.stdout, flag


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "vae"
    run_cli("train", "vae", "--data", "digits", "--steps", "40", "--batch-size", "32",
            "--hidden-dim", "32", "--conditional", "--out", out, check=True)
    return out


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "gan"
    run_cli("train", "gan", "--data", "ring8", "--steps", "10", "--batch-size", "32",
            "--hidden-dim", "16", "--out", out, check=True)
    return out


def test_train_writes_a_run_folder(vae_run):
    for name in ("config.json", "metrics.jsonl", "final.json", "checkpoints/latest.json",
                 "samples/step_0000040.png"):
        assert (vae_run / name).exists(), name


def test_sample_interpolate_reconstruct_anomaly(vae_run, tmp_path):
    run_cli("sample", vae_run, "--n", "20", "--out", tmp_path / "s.png", check=True)
    assert Image.open(tmp_path / "s.png").size[0] > 64
    run_cli("sample", vae_run, "--n", "5", "--class", "7", "--out", tmp_path / "s.npy", check=True)
    assert np.load(tmp_path / "s.npy").shape == (5, 1, 8, 8)
    run_cli("interpolate", vae_run, "--out", tmp_path / "i.png", "--from", "0", "--to", "5",
            "--method", "slerp", "--steps", "6", check=True)
    assert Image.open(tmp_path / "i.png").size[0] > Image.open(tmp_path / "i.png").size[1]
    run_cli("reconstruct", vae_run, "--data", "digits", "--out", tmp_path / "r.png", check=True)
    assert (tmp_path / "r.png").exists()
    run_cli("anomaly", vae_run, "--data", "digits", "--out", tmp_path / "a.csv", "--method",
            "iwae", "--k", "5", check=True)
    rows = list(csv.reader((tmp_path / "a.csv").open()))
    assert rows[0] == ["index", "label", "score"] and len(rows) > 100
    scores = [float(r[2]) for r in rows[1:]]
    assert scores == sorted(scores, reverse=True)  # most anomalous first


def test_points_sample_to_csv_and_npy(gan_run, tmp_path):
    run_cli("sample", gan_run, "--n", "30", "--out", tmp_path / "p.csv", check=True)
    rows = list(csv.reader((tmp_path / "p.csv").open()))
    assert len(rows) == 30 and len(rows[0]) == 2
    run_cli("sample", gan_run, "--n", "30", "--out", tmp_path / "p.png", check=True)  # scatter


def test_user_errors_are_one_line_exit_2(tmp_path, vae_run, gan_run):
    _one_error_line(run_cli("train", "vae", "--data", "nope", "--out", tmp_path / "a"),
                    "unknown dataset 'nope'")
    _one_error_line(run_cli("train", "gam", "--out", tmp_path / "a"), "gam")
    _one_error_line(run_cli("train", "gan", "--data", "ring8", "--loss", "wgan",
                            "--out", tmp_path / "a"), "unknown loss 'wgan'")
    _one_error_line(run_cli("train", "gan", "--data", "ring8", "--lr", "-1", "--out",
                            tmp_path / "a"), "argument --lr: must be a number in (0, 1]")
    _one_error_line(run_cli("train", "gan", "--data", "ring8", "--steps", "0", "--out",
                            tmp_path / "a"), "--steps")
    _one_error_line(run_cli("train", "gan", "--data", "ring8", "--batch-size", "abc", "--out",
                            tmp_path / "a"), "--batch-size")
    _one_error_line(run_cli("train", "vae", "--data", f"csv:{tmp_path / 'missing.csv'}",
                            "--out", tmp_path / "a"), "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\nthree,4\n")
    _one_error_line(run_cli("train", "vae", "--data", f"csv:{bad}", "--out", tmp_path / "a"),
                    "bad.csv")
    _one_error_line(run_cli("train", "gan", "--resume", "--out", vae_run),
                    "trained a vae, not a gan")
    _one_error_line(run_cli("train", "vae", "--resume", "--out", tmp_path / "none"),
                    "cannot resume")
    _one_error_line(run_cli("train", "vae", "--data", "digits", "--out", vae_run), "not empty")
    _one_error_line(run_cli("sample", tmp_path / "none", "--out", tmp_path / "s.png"),
                    "no such run")
    _one_error_line(run_cli("sample", gan_run, "--out", tmp_path / "s.gif"), "unknown output")
    _one_error_line(run_cli("anomaly", gan_run, "--out", tmp_path / "a.csv"), "no likelihood")
    _one_error_line(run_cli("interpolate", vae_run, "--out", tmp_path / "i.png", "--method",
                            "cubic"), "unknown interpolation")
    _one_error_line(run_cli("train", "vae", "--data", "digits", "--device", "cuda:7",
                            "--out", tmp_path / "b"), "cuda")


def test_corrupt_checkpoint_is_one_line(tmp_path, gan_run):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(gan_run, copy)
    for f in (copy / "checkpoints").glob("*.safetensors"):
        f.write_bytes(b"\x00" * 10)
    _one_error_line(run_cli("sample", copy, "--out", tmp_path / "s.npy"), "cannot read checkpoint")
