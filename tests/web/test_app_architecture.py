"""/api/architecture: the layers of the real model for given settings, and clear 4xx errors."""

from __future__ import annotations

import pytest
import torch

from genlab.config import ModelConfig, TrainConfig, resolve
from genlab.models import build_model, describe_layers


def _shapes(block):
    return [layer["shape"] for layer in block["layers"]]


def _block(data, role):
    return next(b for b in data["blocks"] if b["role"] == role)


def test_vae_default_is_encoder_latent_decoder(client):
    data = client.get("/api/architecture", params={"sim": "vae"}).json()
    assert [b["role"] for b in data["blocks"]] == ["encoder", "latent", "decoder"]
    assert data["model"] == "VAE"
    latent = _block(data, "latent")
    assert [layer["type"] for layer in latent["layers"]] == ["μ", "log σ²", "z = μ + σ⊙ε"]
    assert _shapes(_block(data, "decoder"))[-1] == [1, 28, 28]


def test_vae_shapes_follow_the_settings(client):
    data = client.get("/api/architecture", params={"sim": "vae", "width": 64}).json()
    enc = _block(data, "encoder")
    assert enc["input_shape"] == [1, 28, 28]
    assert _shapes(enc) == [[784], [64], [64], [4]]  # Flatten, 2 hidden layers, [μ, log σ²]
    assert _shapes(_block(data, "latent")) == [[2], [2], [2]]  # the lab's 2-D latent map
    assert _shapes(_block(data, "decoder")) == [[64], [64], [784], [1, 28, 28]]
    assert _block(data, "encoder")["layers"][1]["params"] == 784 * 64 + 64
    # the whole model, counted independently
    cfg = resolve(TrainConfig(model=ModelConfig(kind="vae", latent_dim=2, hidden_dim=64, depth=2,
                                                architecture="mlp"), steps=1),
                  "image", (1, 28, 28))
    model = build_model(cfg.model)
    assert data["params_total"] == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", ["latent", "depth", "architecture"])
def test_vae_diagram_refuses_what_the_lab_fixes(client, name):
    r = client.get("/api/architecture", params={"sim": "vae", name: "3"})
    assert r.status_code == 422
    assert r.json()["detail"] == f"{name} is not a setting"


def test_gan2d_matches_describe_layers_of_the_real_model(client):
    params = {"sim": "gan2d", "width": 32, "depth": 2, "latent": 4, "pack": 2,
              "minibatch_disc": "true"}
    data = client.get("/api/architecture", params=params).json()
    gen = _block(data, "generator")
    assert gen["input_shape"] == [4]
    assert _shapes(gen) == [[32], [32], [2]]
    cfg = resolve(TrainConfig(model=ModelConfig(kind="gan", latent_dim=4, hidden_dim=32, depth=2,
                                                pack=2, minibatch_disc=True,
                                                discriminator_norm="none"),
                              loss="wgan-gp", steps=1, batch_size=256), "points", (2,))
    model = build_model(cfg.model)
    traced = describe_layers(model.discriminator, (torch.zeros(4, 2),))
    names = [n for layer in _block(data, "discriminator")["layers"] for n in layer["names"]]
    assert names == [row[0] for row in traced]
    assert any(layer["type"] == "MinibatchDiscrimination"
               for layer in _block(data, "discriminator")["layers"])


def test_dcgan_generator_upsamples_to_28(client):
    data = client.get("/api/architecture", params={"sim": "dcgan", "filters": 8, "latent": 16}).json()
    gen = _block(data, "generator")
    assert gen["input_shape"] == [16]
    shapes = _shapes(gen)
    assert shapes[-1] == [1, 28, 28]
    assert [s[1] for s in shapes if len(s) == 3] == [7, 14, 28]
    assert _shapes(_block(data, "discriminator"))[-1] == [1, 1, 1]


def test_unrelated_settings_are_ignored_and_listed(client):
    r = client.get("/api/architecture", params={"sim": "gan2d", "lr_g": 0.01, "speed": 5})
    assert r.status_code == 200
    assert r.json()["ignored"] == ["lr_g", "speed"]


@pytest.mark.parametrize("params, message", [
    ({"sim": "vae", "width": 4096}, "width must be ≤ 512"),
    ({"sim": "gan2d", "depth": 0}, "depth must be ≥ 1"),
    ({"sim": "dcgan", "filters": "lots"}, "filters must be an integer"),
    ({"sim": "dcgan", "loss": "wgan"}, "loss must be one of"),
    ({"sim": "dcgan", "loss": "minimax"}, "loss must be one of"),  # not offered by the lab
    ({"sim": "gan2d", "lr_g": 5}, "lr_g must be ≤ 0.01"),  # checked, though it shapes nothing
    ({"sim": "gan2d", "spectral_norm": "maybe"}, "spectral_norm must be true or false"),
    ({"sim": "nope"}, "unknown simulation 'nope'"),
])
def test_out_of_range_settings_are_refused_clearly(client, params, message):
    r = client.get("/api/architecture", params=params)
    assert r.status_code == 422
    assert message in r.json()["detail"]


def test_settings_schema_lists_the_bounds_the_endpoint_enforces(client):
    schema = client.get("/api/architecture/settings").json()
    assert set(schema) == {"gan2d", "vae", "dcgan"}
    width = next(f for f in schema["vae"] if f["name"] == "width")
    assert (width["kind"], width["value"], width["min"], width["max"]) == ("int", 256, 16, 512)
    loss = next(f for f in schema["gan2d"] if f["name"] == "loss")
    assert "wgan-gp" in [value for value, _label in loss["choices"]]
    assert next(f for f in schema["gan2d"] if f["name"] == "spectral_norm")["kind"] == "bool"
    # one past each bound is refused, each bound itself accepted
    for sim, fields in schema.items():
        for f in fields:
            if f["kind"] != "int":
                continue
            assert client.get("/api/architecture",
                              params={"sim": sim, f["name"]: f["max"] + 1}).status_code == 422
            assert client.get("/api/architecture",
                              params={"sim": sim, f["name"]: f["min"]}).status_code == 200
