"""Learners beyond the session cap wait in line (sessions.SessionManager, routes.py): the line's
bookkeeping on its own, then real WebSocket clients against a real `genlab serve`."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from async_helpers import run_coroutine  # noqa: E402

from genlab.web.simulations.frames import KIND_STATE, decode_frame
from genlab.web.simulations.schemas import SimLimits
from genlab.web.simulations.sessions import ServerFull, SessionManager


# ------------------------------------------------------------------ the line, no workers
class Counted(SessionManager):
    """A manager whose running workers are a number the test sets (no processes)."""

    running = 0

    def _running(self) -> int:
        return self.running


def test_line_is_first_come_first_served_with_places_and_bounded():
    async def scenario():
        manager = Counted(SimLimits(max_sessions=1, max_queue=3))
        now = manager.enter()
        assert now.state == "reserved"  # a free slot: no waiting
        manager.running = 1  # its worker runs
        manager.leave(now)  # (what start does once the worker is counted)
        told: dict[str, list] = {"a": [], "b": [], "c": []}
        tickets = {name: manager.enter() for name in "abc"}
        with pytest.raises(ServerFull, match="1 of 1 live simulations are running .*3 more"):
            manager.enter()  # the line is full
        with pytest.raises(ServerFull):
            manager.open("gan2d", {})  # nobody jumps the line either

        async def wait(name):
            await manager.wait_turn(tickets[name], lambda *p: _note(told[name], p))
            return name
        tasks = {name: asyncio.create_task(wait(name)) for name in "abc"}
        await asyncio.sleep(0.05)
        assert told == {"a": [(1, 0, 1)], "b": [(2, 1, 1)], "c": [(3, 2, 1)]}
        tasks["b"].cancel()  # b's page closes: it leaves the line at once
        manager.leave(tickets["b"])
        await asyncio.sleep(0.05)
        assert told["c"] == [(3, 2, 1), (2, 1, 1)] and told["a"] == [(1, 0, 1)]
        assert manager.queued() == 2
        manager.running = 0
        manager._slot_freed()  # a worker exited: the first in line gets the slot
        assert await asyncio.wait_for(tasks["a"], 5) == "a"
        assert tickets["a"].state == "reserved" and manager._reserved == 1
        await asyncio.sleep(0.05)
        assert told["c"][-1] == (1, 0, 1) and not tasks["c"].done()  # the slot is a's
        manager.leave(tickets["a"])  # a's worker failed to start: the slot goes to c
        assert await asyncio.wait_for(tasks["c"], 5) == "c"
        assert manager.queued() == 0 and manager._reserved == 1
        manager.leave(tickets["c"])
        manager.leave(tickets["c"])  # twice: harmless
        assert manager._reserved == 0

    run_coroutine(scenario())


async def _note(into: list, place: tuple) -> None:
    into.append(place)


def test_max_queue_zero_refuses_at_once_and_bounds_are_checked():
    async def scenario():
        manager = Counted(SimLimits(max_sessions=1, max_queue=0))
        manager.running = 1
        with pytest.raises(ServerFull):
            manager.enter()
    run_coroutine(scenario())
    with pytest.raises(ValueError, match=r"max_queue must be an integer in \[0, 1024\], got 5000"):
        SimLimits(max_queue=5000)


# ------------------------------------------------------------------ over real sockets
websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed  # noqa: E402

CONFIG = {"data": "ring8", "width": 16, "batch": 32}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from hub_process import Hub

    h = Hub(tmp_path_factory.mktemp("hub") / "hub.log", "--max-sessions", "1",
            "--max-queue", "2", "--idle-seconds", "30")
    yield h
    h.stop()
    assert "Traceback" not in h.output(), h.output()


def connect(hub, kind="gan2d"):
    ws = websockets_sync.connect(f"{hub.ws_url}/ws/sim/{kind}", open_timeout=30, max_size=None,
                                 legacy=True)
    assert json.loads(ws.recv(timeout=30))["type"] == "hello"
    return ws


def next_text(ws, timeout=60):
    """The next JSON text message (state frames before it are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        msg = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(msg, str):
            return json.loads(msg)


def first_frame(ws, timeout=90):
    """(step, meta) of the next state frame."""
    deadline = time.monotonic() + timeout
    while True:
        msg = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(msg, bytes):
            kind, step, meta, _ = decode_frame(msg)
            if kind == KIND_STATE:
                return step, meta


def queued(place, running=1):
    return {"type": "queued", "place": place, "ahead": place - 1, "running": running,
            "max_sessions": 1}


def test_queue_places_disconnect_overflow_and_admission(hub):
    running = connect(hub)
    running.send(json.dumps({"type": "config", "config": CONFIG}))
    first_frame(running)  # its worker runs
    b, c, d = connect(hub), connect(hub), connect(hub)
    for ws in (b, c):
        ws.send(json.dumps({"type": "config", "config": CONFIG}))
    assert next_text(b) == queued(1)
    assert next_text(c) == queued(2)
    assert hub.get("/api/sim/status") == {"running": 1, "max_sessions": 1, "queued": 2}
    # the line holds 2: the next learner is told the hub is full, and the socket closes 4001
    d.send(json.dumps({"type": "play"}))
    full = next_text(d)
    assert full["type"] == "full" and "2 more learners are waiting" in full["message"]
    with pytest.raises(ConnectionClosed) as info:
        d.recv(timeout=30)
    assert info.value.rcvd.code == 4001
    b.close()  # a learner in line leaves: the one behind moves up at once
    assert next_text(c, timeout=10) == queued(1)
    # what c asks for while it waits applies when it starts: its last settings, and Play
    c.send(json.dumps({"type": "config", "config": {**CONFIG, "loss": "least-squares"}}))
    c.send(json.dumps({"type": "play"}))
    c.send(json.dumps({"type": "ping"}))  # a heartbeat keeps the queued socket
    e = connect(hub)
    e.send(json.dumps({"type": "config", "config": CONFIG}))
    assert next_text(e) == queued(2)
    left = time.monotonic()
    running.close()  # a slot frees: c (first in line) starts by itself, e moves up
    admitted = next_text(c)
    assert admitted["type"] == "admitted" and admitted["waited_seconds"] > 0
    step, meta = first_frame(c)
    assert meta["loss"] == "least-squares"
    deadline = time.monotonic() + 30
    while first_frame(c)[0] <= step:  # it trains without being asked again
        assert time.monotonic() < deadline
    assert next_text(e, timeout=10) == queued(1)
    assert time.monotonic() - left < 60
    assert hub.get("/api/sim/status")["queued"] == 1
    e.close()
    c.close()
    deadline = time.monotonic() + 10
    while hub.get("/api/sim/status") != {"running": 0, "max_sessions": 1, "queued": 0}:
        assert time.monotonic() < deadline, hub.get("/api/sim/status")
        time.sleep(0.1)


def test_an_upload_while_in_line_is_refused_for_now_and_the_place_is_kept():
    """An HTTP request does not wait in line: 503 with the reason; the learner stays queued."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from genlab.web.simulations import create_router
    from genlab.web.simulations.uploads import TOKEN_HEADER, URL

    router = create_router(max_sessions=1)
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        with client.websocket_connect("/ws/sim/gan2d") as first:
            json.loads(first.receive_text())  # hello
            first.send_text(json.dumps({"type": "config", "config": CONFIG}))
            while "bytes" not in first.receive():  # its worker runs
                pass
            with client.websocket_connect("/ws/sim/gan2d") as second:
                token = json.loads(second.receive_text())["upload"]["token"]
                second.send_text(json.dumps({"type": "config", "config": CONFIG}))
                assert json.loads(second.receive_text()) == queued(1)
                r = client.post(URL, headers={TOKEN_HEADER: token},
                                files=[("file", ("a.csv", b"1,2\n" * 20))])
                assert r.status_code == 503
                assert r.json()["message"] == ("the hub is full: 1 of 1 live simulations are "
                                               "running (one per learner), 1 more learner is "
                                               "waiting")
                assert router.manager.queued() == 1 and len(router.manager) == 1
        deadline = time.monotonic() + 10
        while (len(router.manager) or router.manager.queued()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(router.manager) == 0 and router.manager.queued() == 0
