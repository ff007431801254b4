"""What a misbehaving client does to a real `genlab serve`: every refusal is a close code and a
reason, never a traceback in the log, and the next learner is served as before."""

from __future__ import annotations

import contextlib
import json
import urllib.request

import pytest
from hub_process import Hub

websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed  # noqa: E402

from genlab.web.simulations.protocol import CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_UNSUPPORTED, MAX_MESSAGE_BYTES  # noqa: E402


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("hub") / "hub.log", "--idle-seconds", "30")
    yield h
    h.stop()
    assert "Traceback" not in h.output(), h.output()


@contextlib.contextmanager
def sim(hub: Hub, kind: str = "gan2d"):
    with websockets_sync.connect(f"{hub.ws_url}/ws/sim/{kind}", open_timeout=30,
                                 max_size=None) as ws:
        hello = json.loads(ws.recv(timeout=30))
        upload = hello.pop("upload", None)  # the labs that take uploads: their token (uploads.py)
        assert hello == {"type": "hello", "heartbeat_seconds": 10.0,  # a third of 30 s
                         "max_message_bytes": MAX_MESSAGE_BYTES}
        assert (upload is not None) == (kind in ("gan2d", "vae", "dcgan"))
        yield ws


def closed_by_server(ws) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as info:
        for _ in range(100):
            ws.recv(timeout=30)
    return info.value.rcvd.code, info.value.rcvd.reason


def still_serves(hub: Hub) -> None:
    """Another learner's socket answers as usual."""
    with sim(hub) as ws:
        ws.send(json.dumps({"type": "step", "n": 0}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "error", "message": "n must be ≥ 1 (got 0)"}


def test_the_largest_real_message_passes_and_a_bigger_one_closes_1009(hub):
    points = [[-0.9922, -0.9922]] * 2000  # the page's worst case: 36,028 bytes
    with sim(hub) as ws:  # read and answered (refused for its extra field: no worker starts)
        ws.send(json.dumps({"type": "points", "points": points, "x": 1}))
        assert json.loads(ws.recv(timeout=30))["message"] == "x is not a setting"
    with sim(hub) as ws:
        ws.send(json.dumps({"type": "points", "points": [[0.5, 0.5]] * 11_000}))  # ≈ 120 KB
        code, reason = closed_by_server(ws)
    assert code == CLOSE_TOO_BIG and reason
    still_serves(hub)
    assert "Traceback" not in hub.output()


def test_a_binary_frame_closes_1003_with_a_reason(hub):
    with sim(hub) as ws:
        ws.send(b"\x00\x01binary")
        assert closed_by_server(ws) == (CLOSE_UNSUPPORTED, "the hub accepts JSON text messages only")
    still_serves(hub)
    assert "Traceback" not in hub.output()


def test_json_nested_too_deep_closes_1008_with_a_reason(hub):
    with sim(hub) as ws:
        ws.send("[" * 5000 + "]" * 5000)
        code, reason = closed_by_server(ws)
    assert code == CLOSE_POLICY and "nested too deeply" in reason
    still_serves(hub)
    assert "Traceback" not in hub.output()


def test_a_message_without_type_lists_the_types(hub):
    with sim(hub) as ws:
        ws.send(json.dumps({"n": 3}))
        message = json.loads(ws.recv(timeout=30))["message"]
    assert message.startswith("a message needs a 'type', one of config, play, pause")
    assert "discriminator" not in message


def test_head_of_the_page_is_200_without_a_body(hub):
    request = urllib.request.Request(hub.url + "/", method="HEAD")
    with urllib.request.urlopen(request, timeout=30) as r:
        assert r.status == 200 and r.read() == b""
        assert r.headers["content-type"].startswith("text/html")


def test_an_origin_with_another_scheme_is_refused(hub):
    host = hub.url.removeprefix("http://")
    with sim(hub):  # same scheme, host and port: accepted (asserted inside)
        pass
    with websockets_sync.connect(f"{hub.ws_url}/ws/sim/gan2d", origin=f"http://{host}") as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
    with pytest.raises(Exception) as refused:  # https page, ws:// hub: not the same origin
        with websockets_sync.connect(f"{hub.ws_url}/ws/sim/gan2d",
                                     origin=f"https://{host}") as ws:
            ws.recv(timeout=30)
    assert "403" in str(refused.value) or "1008" in str(refused.value)
