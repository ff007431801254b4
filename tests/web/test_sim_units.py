"""Live simulations without a browser: validation, frames, session limits and idle stop."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from genlab.web.simulations import create_router
from genlab.web.simulations.frames import KIND_REPLY, KIND_STATE, decode_frame, encode_frame
from genlab.web.simulations.schemas import MessageError, SimLimits, parse_config, parse_message


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("raw, expected", [
    ({"type": "step", "n": 0}, "n must be ≥ 1"),
    ({"type": "step", "n": 10**6}, "n must be ≤ 100"),
    ({"type": "launch"}, "type must be one of"),
    ({"type": "points", "points": [[0.0, 0.0]] * 2001}, "at most 2000"),
    ({"type": "points", "points": [[0.0, 99.0]]}, "must be ≤ 10"),
    ({"type": "decode", "z": ["x", 1]}, "z.0"),
    ({"type": "score", "image": [0.5] * 10}, "at least 784"),
    ({"type": "play", "extra": 1}, "extra is not a setting"),
    ([1, 2, 3], "JSON object"),
])
def test_bad_messages_give_one_clear_line(raw, expected):
    with pytest.raises(MessageError) as info:
        parse_message(raw)
    message = str(info.value)
    assert expected in message and "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize("kind, raw, expected", [
    ("gan2d", {"width": 4096}, "width must be ≤ 512 (got 4096)"),
    ("gan2d", {"loss": "wgan"}, "loss must be one of"),
    ("gan2d", {"batch": 100, "pack": 8}, "multiple of pack 8"),
    ("gan2d", {"minibatch_disc": True, "batch": 512}, "batch ≤ 128"),
    ("gan2d", {"lr_g": 5.0}, "lr_g must be ≤ 0.01"),
    ("gan2d", {"lr_g": "fast"}, "lr_g"),
    ("gan2d", {"path": "/etc/passwd"}, "path is not a setting"),
    ("vae", {"beta": -1}, "beta must be ≥ 0"),
    ("vae", {"model": "gan"}, "model must be one of"),
    ("dcgan", {"filters": 1000}, "filters must be ≤ 64"),
    ("beyond", {"holdout": 12}, "holdout must be ≤ 9"),
])
def test_out_of_range_settings_are_refused_with_a_reason(kind, raw, expected):
    with pytest.raises(MessageError, match=None) as info:
        parse_config(kind, raw)
    assert expected in str(info.value)


def test_server_limits_tighten_the_bounds():
    with pytest.raises(MessageError, match="width must be ≤ 64 on this server"):
        parse_config("gan2d", {"width": 128}, SimLimits(max_width=64))
    assert parse_config("gan2d", {}).width == 64  # defaults fill what is missing


# ------------------------------------------------------------------ frames
def test_frame_round_trip_keeps_arrays_meta_and_alignment():
    rng = np.random.default_rng(0)
    arrays = {"real": rng.normal(size=(7, 2)).astype(np.float32),
              "heat": rng.normal(size=(5, 3)).astype(np.float32),
              "label": rng.integers(0, 10, size=13).astype(np.uint8),
              "images": rng.integers(0, 256, size=(3, 5, 7)).astype(np.uint8),
              "idx": np.arange(3, dtype=np.int32),
              "scalar": np.float32(2.5)}
    meta = {"loss_d": 0.25, "nan": float("nan"), "modes": 3, "text": "héllo"}
    data = encode_frame(KIND_STATE, 123, meta, arrays)
    kind, step, meta_out, out = decode_frame(data)
    assert (kind, step) == (KIND_STATE, 123)
    assert meta_out == {"loss_d": 0.25, "nan": None, "modes": 3, "text": "héllo"}
    for name, value in arrays.items():
        np.testing.assert_array_equal(out[name], value)
        assert out[name].dtype == np.asarray(value).dtype
    assert len(data) % 4 == 0
    # float64 and torch tensors are sent as float32
    import torch
    _, _, _, out = decode_frame(encode_frame(KIND_REPLY, 0, {}, {"t": torch.ones(2, 2, dtype=torch.float64)}))
    assert out["t"].dtype == np.float32 and out["t"].sum() == 4


def test_frame_rejects_long_names_and_foreign_bytes():
    with pytest.raises(ValueError):
        encode_frame(KIND_STATE, 0, {}, {"a_very_long_name": np.zeros(1, np.float32)})
    with pytest.raises(ValueError):
        decode_frame(b"PNG\x00" + bytes(20))


# ------------------------------------------------------------------ sessions over a socket
def make_client(**limits) -> tuple[TestClient, object]:
    router = create_router(**limits)
    app = FastAPI()
    app.include_router(router)
    return TestClient(app), router.manager


def receive_until(ws, predicate, limit=200):
    for _ in range(limit):
        message = ws.receive()
        if message.get("type") == "websocket.close":
            raise AssertionError(f"socket closed: {message}")
        if predicate(message):
            return message
    raise AssertionError("expected message never came")


def is_text(kind):
    return lambda m: m.get("text") and json.loads(m["text"])["type"] == kind


def greeted(ws):
    """`ws` once the server's first message, the hello with the ping interval, is read."""
    hello = json.loads(ws.receive_text())
    assert hello["type"] == "hello" and 0 < hello["heartbeat_seconds"] <= 15, hello
    return ws


def test_errors_are_shown_not_raised_and_unknown_simulation_is_refused():
    client, manager = make_client()
    with client:
        with client.websocket_connect("/ws/sim/gan2d") as ws:
            greeted(ws)
            ws.send_text("not json")
            assert "JSON" in json.loads(ws.receive_text())["message"]
            ws.send_text(json.dumps({"type": "config", "config": {"depth": 99}}))
            assert json.loads(ws.receive_text())["message"] == "depth must be ≤ 6 (got 99)"
            ws.send_text(json.dumps({"type": "step", "n": -3}))
            assert "n must be ≥ 1" in json.loads(ws.receive_text())["message"]
            ws.send_text(json.dumps({"type": "play"}))  # the last settings were refused
            assert json.loads(ws.receive_text())["message"] == (
                "fix the settings first: depth must be ≤ 6 (got 99)")
            assert json.loads(ws.receive_text()) == {"type": "status", "playing": False}
            assert len(manager) == 0  # nothing was started by bad messages
        with client.websocket_connect("/ws/sim/nope") as ws:
            assert "unknown simulation 'nope'" in json.loads(ws.receive_text())["message"]
        assert client.get("/api/sim/limits").json()["limits"]["max_sessions"] == 4
        assert "mode-collapse" in client.get("/api/sim/presets").json()["gan2d"]


def test_concurrent_session_limit_and_idle_stop_free_the_worker():
    client, manager = make_client(max_sessions=1, max_queue=0, idle_seconds=3.0)  # no line
    with client:
        with client.websocket_connect("/ws/sim/gan2d") as first:
            first.send_text(json.dumps({"type": "config", "config": {"data": "ring8"}}))
            deadline = time.monotonic() + 60  # the first worker waits for the forkserver
            while not len(manager) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(manager) == 1
            (session,) = manager.sessions.values()
            with client.websocket_connect("/ws/sim/vae") as second:
                greeted(second).send_text(json.dumps({"type": "play"}))
                reply = json.loads(second.receive_text())  # full: not an error of the page's
                assert reply == {"type": "full", "running": 1, "max_sessions": 1, "message": (
                    "the hub is full: 1 of 1 live simulations are running (one per learner)")}
                closed = second.receive()
                assert closed["type"] == "websocket.close" and closed["code"] == 4001
            # no message for idle_seconds: the server says why, closes, and frees the worker
            t0 = time.monotonic()
            closed = receive_until(first, is_text("closed"))
            assert "without a message" in json.loads(closed["text"])["reason"]
            assert time.monotonic() - t0 < 10
        deadline = time.monotonic() + 5
        while (len(manager) or session.process.is_alive()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(manager) == 0 and not session.process.is_alive()


def test_closing_the_socket_stops_the_worker():
    client, manager = make_client()
    with client:
        with client.websocket_connect("/ws/sim/gan2d") as ws:
            ws.send_text(json.dumps({"type": "config", "config": {"data": "ring8", "width": 32}}))
            receive_until(ws, lambda m: m.get("bytes"))
            (session,) = manager.sessions.values()
        deadline = time.monotonic() + 5
        while session.process.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not session.process.is_alive() and len(manager) == 0


def test_a_page_from_another_origin_cannot_open_a_simulation():
    from starlette.websockets import WebSocketDisconnect

    client, manager = make_client()
    with client:
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect("/ws/sim/gan2d",
                                          headers={"origin": "http://evil.example"}) as ws:
                ws.receive_text()
        with client.websocket_connect("/ws/sim/gan2d",
                                      headers={"origin": "http://testserver"}) as ws:
            greeted(ws).send_text(json.dumps({"type": "step", "n": 0}))
            assert json.loads(ws.receive_text())["type"] == "error"


def test_live_settings_apply_in_place_and_shape_changes_rebuild():
    from genlab.web.simulations.common import reconfigure
    from genlab.web.simulations.gan2d import GanPlayground

    sim = GanPlayground(parse_config("gan2d", {"data": "ring8", "width": 16, "batch": 32,
                                               "loss": "hinge", "n_critic": 1}), SimLimits())
    sim.train_step()
    live, model = sim.live, sim.live.state.model
    reconfigure(sim, parse_config("gan2d", {"data": "ring8", "width": 16, "batch": 64,
                                            "loss": "hinge", "n_critic": 2, "lr_d": 5e-4}))
    st = sim.live.state
    assert sim.live is live and st.model is model and st.step == 1
    sim.train_step()  # the rates apply from the next step on (loop.advance sets them)
    assert st.optimizers["d"].param_groups[0]["lr"] == 5e-4
    assert st.optimizers["g"].param_groups[0]["lr"] == 1e-3  # lr_g unchanged
    assert st.cfg.n_critic == 2 and st.sampler.batch_size == 64
    reconfigure(sim, parse_config("gan2d", {"data": "ring8", "width": 32, "batch": 64,
                                            "loss": "hinge"}))
    assert sim.live.run > live.run and sim.live.step == 0  # a new model
    _, step, meta, arrays = decode_frame(sim.frame())
    assert step == 0 and meta["num_modes"] == 8 and arrays["heat"].shape == (40, 40)


def test_presets_are_valid_and_each_remedy_switches_one_fix_on():
    from genlab.web.simulations.schemas import GAN_PRESETS

    base = GAN_PRESETS["mode-collapse"]["values"]
    assert base["loss"] == "minimax" and base["data"] == "grid25"
    fixes = {"wgan-gp": {"loss"}, "spectral-norm": {"spectral_norm"}, "packing": {"pack"},
             "minibatch-discrimination": {"minibatch_disc", "batch"}}  # MBD: batch ≤ 128
    for name, preset in GAN_PRESETS.items():
        parse_config("gan2d", preset["values"], SimLimits())  # every preset is accepted
        changed = {k for k, v in preset["values"].items() if base[k] != v}
        assert changed == fixes.get(name, set()), name


def test_the_route_bounds_messages_itself_and_greets_with_the_heartbeat():
    """Without uvicorn's ws_max_size (another server, the TestClient) the route refuses an
    oversized message with 1009 too; a short idle limit shortens the page's ping interval."""
    from genlab.web.simulations.protocol import CLOSE_TOO_BIG, MAX_MESSAGE_BYTES

    client, manager = make_client(idle_seconds=6.0)
    with client, client.websocket_connect("/ws/sim/gan2d") as ws:
        assert json.loads(ws.receive_text())["heartbeat_seconds"] == 2.0  # a third of 6 s
        ws.send_text(" " * (MAX_MESSAGE_BYTES - 2) + "{}")  # at the bound: read
        assert "type" in json.loads(ws.receive_text())["message"]
        ws.send_text("é" * (MAX_MESSAGE_BYTES // 2 + 1))  # bytes, not characters, count
        closed = ws.receive()
        assert closed["type"] == "websocket.close" and closed["code"] == CLOSE_TOO_BIG
        assert closed["reason"] == f"a message may have at most {MAX_MESSAGE_BYTES} bytes"
    assert len(manager) == 0


@pytest.mark.parametrize("scheme, host, origin, same", [
    ("ws", "127.0.0.1:8000", "http://127.0.0.1:8000", True),
    ("ws", "localhost:8000", "http://LOCALHOST:8000", True),
    ("wss", "hub.example", "https://hub.example:443", True),
    ("ws", "hub.example", "http://hub.example:80", True),
    ("ws", "[::1]:8000", "http://[::1]:8000", True),
    ("ws", "127.0.0.1:8000", "https://127.0.0.1:8000", False),  # the scheme differs
    ("wss", "127.0.0.1:8000", "http://127.0.0.1:8000", False),
    ("ws", "127.0.0.1:8000", "http://127.0.0.1:8001", False),
    ("ws", "127.0.0.1:8000", "http://127.0.0.1", False),
    ("ws", "127.0.0.1:8000", "http://evil.example:8000", False),
    ("ws", "127.0.0.1:8000", "null", False),
    ("ws", "127.0.0.1:8000", "http://127.0.0.1:notaport", False),
])
def test_same_origin_compares_scheme_host_and_port(scheme, host, origin, same):
    from genlab.web.origin import same_origin

    scope = {"scheme": scheme, "headers": [(b"host", host.encode()), (b"origin", origin.encode())]}
    assert same_origin(scope) is same
    assert same_origin({"scheme": scheme, "headers": [(b"host", host.encode())]})  # a script
