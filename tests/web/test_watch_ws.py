"""Watch mode over real WebSockets (uvicorn in a thread, websockets clients): a driver and two
viewers get identical frame bytes; viewers' commands are refused; the share ends when the
driver leaves; a fork starts from the driver's weights and then trains on its own; limits."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import numpy as np
import pytest

websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed  # noqa: E402

from genlab.web.simulations.frames import decode_frame  # noqa: E402
from genlab.web.simulations.protocol import CLOSE_WATCH_ENDED  # noqa: E402

CONFIG = {"data": "ring8", "loss": "non-saturating", "width": 32, "depth": 2, "batch": 64,
          "speed": 2}


@contextlib.contextmanager
def hub(**limits):
    import uvicorn

    from genlab.web.app import create_app
    from genlab.web.server import address, bind_socket, uvicorn_config

    sock = bind_socket("127.0.0.1", 0)
    url = address(sock).rstrip("/").replace("http://", "ws://")
    server = uvicorn.Server(uvicorn_config(create_app(**limits)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.02)
    try:
        with contextlib.ExitStack() as sockets:
            OPEN.append(sockets)
            yield url
    finally:
        OPEN.clear()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


OPEN: list[contextlib.ExitStack] = []  # the running hub's sockets, closed with it


def connect(url: str, path: str):
    return OPEN[-1].enter_context(websockets_sync.connect(url + path, open_timeout=30,
                                                          max_size=None))


def until(ws, want, timeout: float = 60.0):
    """Messages of `ws` until want(message) (text decoded from JSON); the last one."""
    deadline = time.monotonic() + timeout
    while True:
        raw = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        msg = json.loads(raw) if isinstance(raw, str) else raw
        if want(msg):
            return msg


def frame_at(step: int):
    return lambda m: isinstance(m, bytes) and m[4] == 1 and decode_frame(m)[1] == step


def drive(url: str, name: str = "Ada"):
    ws = connect(url, "/ws/sim/gan2d")
    assert json.loads(ws.recv(timeout=30))["type"] == "hello"
    ws.send(json.dumps({"type": "config", "config": CONFIG}))
    ws.send(json.dumps({"type": "share", "name": name}))
    shared = until(ws, lambda m: isinstance(m, dict) and m.get("type") == "shared")
    until(ws, frame_at(0))  # the worker runs
    return ws, shared


def watch(url: str, share_id: str):
    ws = connect(url, f"/ws/watch/{share_id}")
    hello = json.loads(ws.recv(timeout=30))
    return ws, hello


def step(ws, n: int = 1) -> None:
    ws.send(json.dumps({"type": "step", "n": n}))


def test_driver_and_two_viewers_get_identical_frames_and_viewers_cannot_drive():
    with hub() as url:
        driver, shared = drive(url, "  Ada   Lovelace ")
        assert shared["name"] == "Ada Lovelace" and shared["viewers"] == 0
        v1, hello1 = watch(url, shared["id"])
        v2, hello2 = watch(url, shared["id"])
        assert hello1["watch"]["driver"] == "Ada Lovelace" and hello1["watch"]["kind"] == "gan2d"
        assert hello1["watch"]["config"]["width"] == 32 and hello2["watch"]["viewers"] == 2
        until(driver, lambda m: isinstance(m, dict) and m == {"type": "viewers", "viewers": 2})
        for n in (1, 2, 3):
            step(driver)
            want = frame_at(n)
            mine = until(driver, want)
            assert until(v1, want) == mine and until(v2, want) == mine  # the same bytes
        v1.send(json.dumps({"type": "play"}))
        refused = until(v1, lambda m: isinstance(m, dict) and m.get("type") == "error")
        assert refused["message"] == (
            "you are watching Ada Lovelace's simulation: only its driver can play, pause or "
            "change it (press Fork to train a copy of your own)")
        v2.send(json.dumps({"type": "config", "config": {"width": 512}}))
        assert until(v2, lambda m: isinstance(m, dict) and m.get("type") == "error")
        step(driver)  # the driver still decides: its next frame is step 4, not a played run
        assert decode_frame(until(driver, frame_at(4)))[1] == 4
        driver.send(json.dumps({"type": "config", "config": {**CONFIG, "speed": 3}}))
        settings = until(v1, lambda m: isinstance(m, dict) and m.get("type") == "settings")
        assert settings["config"]["speed"] == 3  # the viewers see the driver's new settings
        v2.close()
        until(driver, lambda m: isinstance(m, dict) and m == {"type": "viewers", "viewers": 1})
        driver.close()  # the share ends: the viewer is told in one line, then closed
        closed = until(v1, lambda m: isinstance(m, dict) and m.get("type") == "closed")
        assert closed["reason"] == ("Ada Lovelace stopped sharing: the simulation you watched "
                                    "has ended")
        with pytest.raises(ConnectionClosed) as info:
            until(v1, lambda m: False, timeout=10)
        assert info.value.rcvd.code == CLOSE_WATCH_ENDED
        _, refused = watch(url, shared["id"])  # an ended share: refused in one line
        assert refused["message"].startswith(
            "no live simulation is shared under this code")


def test_a_fork_starts_from_the_drivers_weights_then_trains_on_its_own():
    with hub() as url:
        driver, shared = drive(url)
        step(driver, 5)
        at_fork = decode_frame(until(driver, frame_at(5)))
        viewer, _ = watch(url, shared["id"])
        viewer.send(json.dumps({"type": "fork"}))
        hello = until(viewer, lambda m: isinstance(m, dict) and m.get("type") == "hello")
        assert hello["forked"]["from"] == "Ada" and hello["forked"]["step"] == 5
        assert hello["forked"]["config"]["width"] == 32 and "upload" in hello
        first = decode_frame(until(viewer, lambda m: isinstance(m, bytes)))
        assert first[1] == 5 and first[2]["step"] == 5
        for name in ("fake", "real", "heat", "arrow"):  # the same model, the same fixed noise
            np.testing.assert_array_equal(first[3][name], at_fork[3][name], err_msg=name)
        assert first[2]["loss_d"] == at_fork[2]["loss_d"]
        until(driver, lambda m: isinstance(m, dict) and m == {"type": "viewers", "viewers": 0})
        # independent from here: the fork's steps are its own, the driver's its own
        step(viewer, 3)
        forked8 = decode_frame(until(viewer, frame_at(8)))
        step(driver, 1)
        driven6 = decode_frame(until(driver, frame_at(6)))
        assert not np.array_equal(forked8[3]["fake"], driven6[3]["fake"])
        # and the same model trained on: 3 steps of the driver from 5 land where the fork did
        step(driver, 2)
        driven8 = decode_frame(until(driver, frame_at(8)))
        np.testing.assert_allclose(driven8[3]["fake"], forked8[3]["fake"], rtol=0, atol=1e-5)
        driver.close()
        viewer.send(json.dumps({"type": "step", "n": 1}))  # the fork outlives the driver
        assert decode_frame(until(viewer, frame_at(9)))[1] == 9


def test_limits_unknown_shares_and_a_full_hub_are_refused_in_one_line():
    with hub(max_viewers=1, max_sessions=1) as url:
        driver, shared = drive(url)
        viewer, hello = watch(url, shared["id"])
        assert "watch" in hello
        second, refused = watch(url, shared["id"])
        assert refused == {"type": "error", "message": (
            "Ada's simulation already has its maximum of 1 viewers on this hub (max_viewers)")}
        with pytest.raises(ConnectionClosed) as info:
            second.recv(timeout=10)
        assert info.value.rcvd.code == CLOSE_WATCH_ENDED
        guess, refused = watch(url, "x" * 22)
        assert refused["type"] == "error" and "no live simulation" in refused["message"]
        viewer.send(json.dumps({"type": "fork"}))  # the one slot is the driver's: keep watching
        full = until(viewer, lambda m: isinstance(m, dict) and m.get("type") == "full")
        assert full["watching"] is True and full["max_sessions"] == 1
        step(driver)
        assert until(viewer, frame_at(1))
        with pytest.raises(Exception) as other_site:  # another site's page may not watch
            with websockets_sync.connect(f"{url}/ws/watch/{shared['id']}", open_timeout=30,
                                         origin="http://evil.example") as ws:
                ws.recv(timeout=10)
        assert "403" in str(other_site.value) or "1008" in str(other_site.value)
