"""Play the GAN playground over a real WebSocket (Starlette TestClient) and read its frames."""

from __future__ import annotations

import json
import time

import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient

from genlab.web.simulations import create_router
from genlab.web.simulations.frames import decode_frame


def test_gan_playground_plays_and_streams_binary_frames():
    router = create_router()
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client, client.websocket_connect("/ws/sim/gan2d") as ws:
        ws.send_text(json.dumps({"type": "config", "config": {
            "data": "ring8", "loss": "wgan-gp", "n_critic": 2, "width": 64, "batch": 128,
            "speed": 5}}))
        ws.send_text(json.dumps({"type": "play"}))
        frames, t0 = [], time.monotonic()
        while len(frames) < 12 and time.monotonic() - t0 < 60:
            message = ws.receive()
            if message.get("bytes"):
                frames.append(decode_frame(message["bytes"]))
            elif message.get("text"):
                assert json.loads(message["text"])["type"] != "error", message["text"]
        assert len(frames) == 12
        kind, step, meta, arrays = frames[-1]
        assert kind == 1 and step > frames[0][1] and step == meta["step"]
        assert arrays["real"].shape == (512, 2) and arrays["fake"].shape == (512, 2)
        assert arrays["heat"].shape == (40, 40) and arrays["arrow"].shape == (64, 4)
        assert np.isfinite(arrays["fake"]).all() and np.isfinite(arrays["heat"]).all()
        assert meta["num_modes"] == 8 and 0 <= meta["modes"] <= 8 and meta["loss_d"] is not None
        # pause: the status arrives after every frame sent before it; then steps are exact
        ws.send_text(json.dumps({"type": "pause"}))
        while ws.receive().get("text") != json.dumps({"type": "status", "playing": False}):
            pass
        steps = []
        for n in (1, 3):
            ws.send_text(json.dumps({"type": "step", "n": n}))
            message = ws.receive()
            while not message.get("bytes"):
                message = ws.receive()
            steps.append(decode_frame(message["bytes"])[1])
        assert steps[1] == steps[0] + 3


def test_drawn_points_train_once_there_are_enough():
    router = create_router()
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client, client.websocket_connect("/ws/sim/gan2d") as ws:
        ws.send_text(json.dumps({"type": "config", "config": {"data": "drawn", "width": 32,
                                                              "batch": 16, "loss": "hinge"}}))
        ws.send_text(json.dumps({"type": "step", "n": 1}))
        errors = []
        while not errors:
            message = ws.receive()
            if message.get("text") and json.loads(message["text"])["type"] == "error":
                errors.append(json.loads(message["text"])["message"])
        assert "draw at least 10 points" in errors[0]
        points = [[0.5 * np.cos(t), 0.5 * np.sin(t)] for t in np.linspace(0, 6.2, 40)]
        ws.send_text(json.dumps({"type": "points", "points": points}))
        ws.send_text(json.dumps({"type": "step", "n": 2}))
        while True:
            message = ws.receive()
            if message.get("text"):
                assert json.loads(message["text"])["type"] != "error", message["text"]
            elif decode_frame(message["bytes"])[1] == 2:
                _, _, meta, arrays = decode_frame(message["bytes"])
                break
        assert meta["view"] == [-1.0, 1.0, -1.0, 1.0] and arrays["fake"].shape == (512, 2)
        assert "modes" not in meta  # no mode protocol for drawn data


def test_steps_per_second_limit_caps_steps_per_frame():
    router = create_router(max_steps_per_second=60, frames_per_second=30)  # ≤ 2 per frame
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client, client.websocket_connect("/ws/sim/gan2d") as ws:
        ws.send_text(json.dumps({"type": "config", "config": {
            "data": "ring8", "loss": "hinge", "n_critic": 1, "width": 16, "batch": 32,
            "speed": 100}}))
        ws.send_text(json.dumps({"type": "play"}))
        steps = []
        while len(steps) < 8:
            message = ws.receive()
            if message.get("bytes"):
                steps.append(decode_frame(message["bytes"])[1])
        gaps = [b - a for a, b in zip(steps[1:], steps[2:])]  # frames are dropped, never merged
        assert max(steps) > 0 and all(0 <= g for g in gaps)
        assert max(gaps) <= 2 * (1 + 3)  # ≤ 2 steps a frame; at most 3 stale frames dropped
