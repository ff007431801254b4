"""genlab.evaluate end to end: a tiny trained run of each kind -> evaluate_run -> the sections
and keys that apply, with sane values; the `genlab evaluate` command on a 2D run."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch

from genlab import train
from genlab.config import DataConfig, ModelConfig, TrainConfig
from genlab.errors import GenlabError
from genlab.evaluate import evaluate_run
from genlab.evaluate_cli import to_jsonable


@pytest.fixture(autouse=True)
def _cache_and_threads(tmp_path_factory, monkeypatch):
    # the evaluation classifier is cached per data set: one cache for this module's tests
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path_factory.getbasetemp() / "genlab-cache"))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _train(out, kind, data, steps=20, holdout=None, **kw):
    model_kw = {k: kw.pop(k) for k in list(kw) if k in ("hidden_dim", "filters", "latent_dim",
                                                       "architecture", "pack")}
    cfg = TrainConfig(model=ModelConfig(kind=kind, **model_kw),
                      data=DataConfig(data, holdout_class=holdout), steps=steps,
                      log_every=steps, **kw)
    for _ in train(cfg, out):
        pass
    return out


def _json_roundtrip(result):
    return json.loads(json.dumps(to_jsonable(result)))


def test_gan_on_ring8_reports_the_pacgan_protocol(tmp_path):
    run = _train(tmp_path / "gan", "gan", "ring8", steps=30, batch_size=64, hidden_dim=32)
    result = _json_roundtrip(evaluate_run(run))
    toy = result["toy2d"]
    assert toy["num_samples"] == 2500 and toy["num_modes"] == 8
    assert 0 <= toy["modes_covered"] <= 8
    assert 0.0 <= toy["high_quality_fraction"] <= 1.0
    assert sum(toy["counts"]) == round(toy["high_quality_fraction"] * 2500)
    assert toy["frechet_distance_2d"] >= 0
    assert "samples" not in result and "likelihood" not in result


def test_dcgan_on_digits_reports_features_and_mode_count(tmp_path):
    run = _train(tmp_path / "dcgan", "dcgan", "digits", steps=8, batch_size=16, filters=8)
    result = _json_roundtrip(evaluate_run(run, n=300, kid_subsets=5, kid_subset_size=100,
                                          classifier_epochs=1))
    s = result["samples"]
    assert s["features"].startswith("genlab-classifier-digits") and "test acc" in s["features"]
    assert 0.0 < s["classifier_test_accuracy"] <= 1.0
    assert s["num_fake"] == 300 and s["feature_dim"] == 128
    assert s["frechet_distance"] > 0
    assert math.isfinite(s["kid_mean"]) and s["kid_std"] >= 0 and s["kid_num_subsets"] == 5
    for key in ("precision", "recall", "coverage"):
        assert 0.0 <= s[key] <= 1.0
    assert s["density"] >= 0
    mc = result["mode_count"]
    assert mc["num_classes"] == 10 and 1 <= mc["modes_found"] <= 10
    assert sum(mc["counts"]) == 300 and mc["kl"] >= 0


def test_vae_with_holdout_reports_likelihood_and_anomaly(tmp_path):
    run = _train(tmp_path / "vae", "vae", "digits", steps=40, batch_size=32, hidden_dim=32,
                 latent_dim=4, holdout=3)
    result = _json_roundtrip(evaluate_run(run, n=200, k=20, iwae_examples=30, kid_subsets=5,
                                          kid_subset_size=100, classifier_epochs=1))
    lik = result["likelihood"]
    assert lik["num_examples"] == result["num_test"] and lik["iwae_k"] == 20
    assert lik["elbo"] == pytest.approx(-lik["recon_nll"] - lik["kl"])
    assert lik["kl"] >= 0 and lik["recon_nll"] > 0
    assert lik["nll"] > 0 and 0 <= lik["active_units"] <= lik["num_units"] == 4
    assert lik["binary_data"] is False and "not log-likelihoods" in lik["note"]
    # the IWAE bound is tighter than the ELBO (on the same examples up to sampling noise)
    assert lik["nll"] < -lik["elbo"] + 5.0
    an = result["anomaly"]
    assert an["holdout_class"] == 3 and 0.0 <= an["auroc"] <= 1.0 and 0.0 < an["auprc"] <= 1.0
    assert an["anomaly_fraction"] == pytest.approx(0.1, abs=0.03)
    assert "without class 3" in result["samples"]["real_set"]


def test_every_section_reports_its_progress_and_its_time(tmp_path):
    run = _train(tmp_path / "vae", "vae", "digits", steps=20, batch_size=32, hidden_dim=32,
                 latent_dim=4, holdout=3)
    calls: dict[str, list[tuple[int, int]]] = {}
    result = evaluate_run(run, n=200, k=20, iwae_examples=30, kid_subsets=5,
                          kid_subset_size=100, classifier_epochs=1,
                          progress=lambda section, done, total: calls.setdefault(
                              section, []).append((done, total)))
    assert set(calls) == set(result["section_seconds"]) == {"samples", "likelihood", "anomaly"}
    for section, seen in calls.items():
        done = [d for d, _ in seen]
        assert done == sorted(done) and done[0] == 0, section  # never goes back
        assert seen[-1][0] == seen[-1][1], section  # ends at its total
        if seen[-1][1] > 1:  # a section of several units reports along the way
            assert len({d for d, _ in seen}) > 2, section
    # the likelihood counts decodes: one per test example for the ELBO, k per IWAE example
    assert calls["likelihood"][-1][1] == result["num_test"] + 20 * 30
    assert result["likelihood"]["paper_iwae_k"] == 5000


def test_the_default_iwae_k_is_cheap_and_the_paper_is_one_flag_away(cli):
    from genlab.evaluate import IWAE_K, PAPER_IWAE_K

    assert IWAE_K * 20 <= PAPER_IWAE_K  # the default costs a 20th of Burda et al.'s k = 5000
    help_text = cli("evaluate", "--help", check=True).stdout
    assert f"--k {PAPER_IWAE_K}" in " ".join(help_text.split())


def test_vae_on_shapes_reports_disentanglement(tmp_path):
    run = _train(tmp_path / "bvae", "vae", "shapes", steps=3, batch_size=16, hidden_dim=16,
                 latent_dim=4, architecture="mlp")
    result = _json_roundtrip(evaluate_run(run, k=2, iwae_examples=4, n_test=50,
                                          mig_samples=300, factor_votes=20,
                                          sections=("likelihood", "disentanglement")))
    d = result["disentanglement"]
    assert 0.0 <= d["mig"] <= 1.0 and set(d["mig_per_factor"]) == {
        "shape", "scale", "orientation", "posX", "posY"}
    assert 0.0 <= d["factor_vae_score"] <= 1.0
    assert d["factor_vae_votes"] == {"train": 20, "eval": 10, "batch": 64}
    assert result["likelihood"]["binary_data"] is True  # shapes are 0/255 images
    assert "samples" not in result  # not asked for
    assert result["likelihood"]["num_examples"] == result["num_test"] == 50


def test_wrong_evaluation_data_is_a_one_line_error(tmp_path):
    run = _train(tmp_path / "gan", "gan", "ring8", steps=2, batch_size=16, hidden_dim=8)
    with pytest.raises(GenlabError, match="shape"):
        evaluate_run(run, data="digits")
    with pytest.raises(GenlabError, match="unknown section"):
        evaluate_run(run, sections=("toy2d", "fid"))
    with pytest.raises(GenlabError, match="unknown features"):
        evaluate_run(_train(tmp_path / "d", "dcgan", "digits", steps=1, batch_size=8,
                            filters=4), n=10, features="vgg")


def test_cli_evaluate_on_a_2d_run(tmp_path, cli):
    run = _train(tmp_path / "gan", "gan", "grid25", steps=20, batch_size=64, hidden_dim=32)
    out = tmp_path / "eval.json"
    proc = cli("evaluate", run, "--out", out, check=True)
    assert "modes covered" in proc.stdout and "high-quality" in proc.stdout
    assert "reverse KL" in proc.stdout
    result = json.loads(out.read_text())
    assert result["toy2d"]["num_modes"] == 25 and result["toy2d"]["num_samples"] == 2500
    assert re.search(r"^evaluated in [0-9.]+ s \(toy2d [0-9.]+ s\)$", proc.stdout, re.M)
    bad = cli("evaluate", tmp_path / "missing")
    assert bad.returncode == 2 and bad.stderr.startswith("genlab: error:")
    assert len(bad.stderr.strip().splitlines()) == 1


def test_a_dynamically_binarized_vae_is_scored_on_the_fixed_binarized_test_split(tmp_path):
    cfg = TrainConfig(model=ModelConfig(kind="vae", hidden_dim=16, latent_dim=4),
                      data=DataConfig("digits", binarize="dynamic"), steps=10, batch_size=32,
                      log_every=10)
    for _ in train(cfg, tmp_path / "vae"):
        pass
    lik = evaluate_run(tmp_path / "vae", k=5, iwae_examples=10,
                       sections=("likelihood",))["likelihood"]
    assert lik["binary_data"] is True and "nats" in lik["note"]


def test_a_binarized_run_is_scored_with_a_classifier_trained_on_binarized_images(
        tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    cfg = TrainConfig(model=ModelConfig(kind="vae", hidden_dim=16, latent_dim=4),
                      data=DataConfig("digits", binarize="dynamic"), steps=10, batch_size=32,
                      log_every=10)
    for _ in train(cfg, tmp_path / "vae"):
        pass
    samples = evaluate_run(tmp_path / "vae", n=200, classifier_epochs=1, kid_subsets=5,
                           kid_subset_size=50, sections=("samples",))["samples"]
    assert "digits-binarized-fixed" in samples["features"]
    meta = [json.loads(p.read_text()) for p in (tmp_path / "cache").rglob("*.json")]
    assert [m["dataset"] for m in meta] == ["digits-binarized-fixed"]
