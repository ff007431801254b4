import json

import pytest
import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.metrics.features import FeatureExtractor, InceptionFeatures, cache_dir


def bars(n, seed):
    """Two classes of 1x8x8 uint8 images: a bright top half (0) or bottom half (1), plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.rand(n, 1, 8, 8, generator=g) * 80
    x[y == 0, :, :4] += 170
    x[y == 1, :, 4:] += 170
    return x.clamp(0, 255).to(torch.uint8), y


def extractor(cache, seed=0, data_seed=1):
    train_x, train_y = bars(256, data_seed)
    test_x, test_y = bars(64, data_seed + 100)
    return FeatureExtractor.from_data("bars", train_x, train_y, test_x, test_y, 2,
                                      cache=cache, epochs=3, seed=seed)


def test_trains_caches_and_reloads(tmp_path):
    first = extractor(tmp_path)
    assert first.trained and first.test_accuracy > 0.9
    assert first.name == f"genlab-classifier-bars-v1 (test acc {100 * first.test_accuracy:.1f}%)"
    meta = json.loads(first.path.with_suffix(".json").read_text())
    assert meta["test_accuracy"] == first.test_accuracy and meta["dataset"] == "bars"
    assert first.path.suffix == ".safetensors" and first.path.parent == tmp_path / "classifiers"

    second = extractor(tmp_path)  # same data, same recipe: loaded, not trained
    assert not second.trained and second.path == first.path
    x, y = bars(40, 7)
    torch.testing.assert_close(second.features(x), first.features(x))
    assert second.test_accuracy == first.test_accuracy

    other = extractor(tmp_path, data_seed=2)  # different data: a different cache key
    assert other.trained and other.path != first.path


def test_features_predict_and_input_ranges(tmp_path):
    fx = extractor(tmp_path)
    x, y = bars(50, 9)
    f = fx.features(x)
    assert f.shape == (50, 128) and f.dtype == torch.float32
    pred = fx.predict(x)
    assert pred.dtype == torch.int64 and (pred == y).double().mean() > 0.9
    p = fx.probabilities(x)  # the softmax of the logits, whose argmax is the prediction
    assert p.shape == (50, 2)
    torch.testing.assert_close(p.sum(1), torch.ones(50))
    assert torch.equal(p.argmax(1), pred)
    torch.testing.assert_close(p, torch.softmax(fx.network(x.float() / 255), 1))
    # uint8 0..255 and float [0, 1] give the same result
    torch.testing.assert_close(fx.features(x.float() / 255), f)
    with pytest.raises(GenlabError, match="shape"):
        fx.features(torch.zeros(2, 3, 8, 8))


def test_training_is_deterministic_and_leaves_global_rng_alone(tmp_path):
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = extractor(tmp_path / "a")
    after = torch.rand(3)
    b = extractor(tmp_path / "b")
    assert torch.equal(before, after)
    x, _ = bars(10, 3)
    torch.testing.assert_close(a.features(x), b.features(x), rtol=0, atol=0)


def test_corrupt_cache_is_retrained(tmp_path):
    first = extractor(tmp_path)
    first.path.write_bytes(b"not safetensors")
    again = extractor(tmp_path)
    assert again.trained


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("GENLAB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "genlab"


class FakeInception(nn.Module):
    """Stands in for the TorchScript Inception: returns per-channel means of its uint8 input."""

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        assert x.dtype == torch.uint8 and x.shape[1] == 3 and return_features
        return x.float().mean(dim=(2, 3))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_inception_from_a_torchscript_file(tmp_path):
    path = tmp_path / "inception-2015-12-05.pt"
    torch.jit.script(FakeInception()).save(str(path))
    inc = InceptionFeatures.from_file(path)
    grey = torch.full((5, 1, 4, 4), 0.5)
    feats = inc.features(grey, batch_size=2)
    assert feats.shape == (5, 3) and torch.all(feats == 128.0)  # round(0.5 · 255), RGB copies
    with pytest.raises(GenlabError, match="features only"):
        inc.predict(grey)


def test_inception_errors_are_one_clear_line(tmp_path):
    with pytest.raises(GenlabError, match="cannot be downloaded"):
        InceptionFeatures.from_file(None)
    with pytest.raises(GenlabError, match="file not found"):
        InceptionFeatures.from_file(tmp_path / "missing.pt")
    state_dict = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save({"w": torch.zeros(2)}, state_dict)
    with pytest.raises(GenlabError, match="not a TorchScript module"):
        InceptionFeatures.from_file(state_dict)
