"""A simulation's worker never outlives its use: a real `genlab serve`, real kills.

Seen in a browser before the fix: the forkserver was killed (as an out-of-memory kill would),
the VAE lab's worker kept training under PID 1 for minutes after its page closed, and
/api/sim/status said 0 running."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hub_process import Hub, children, forkserver_of, running_pid, wait_until

websockets_sync = pytest.importorskip("websockets.sync.client")


def play(hub: Hub, kind: str, config: dict):
    """Open `kind`, configure it, press Play and wait for two live frames; the socket."""
    ws = hub.sockets.enter_context(
        websockets_sync.connect(f"{hub.ws_url}/ws/sim/{kind}", open_timeout=30))
    assert json.loads(ws.recv(timeout=30))["type"] == "hello"
    ws.send(json.dumps({"type": "config", "config": config}))
    ws.send(json.dumps({"type": "play"}))
    frames = 0
    while frames < 2:
        message = ws.recv(timeout=60)
        if isinstance(message, bytes):
            frames += 1
        else:
            assert json.loads(message)["type"] != "error", message
    return ws


def workers(forkserver: int) -> list[int]:
    return children(forkserver)


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path / "hub.log", "--max-sessions", "2", "--idle-seconds", "60")
    with contextlib.ExitStack() as h.sockets:
        yield h
        h.stop()


@pytest.mark.slow  # a real hub and its forkserver: 10-40 s on a shared machine
def test_killing_the_forkserver_leaves_no_worker_and_the_count_follows(hub):
    ws = play(hub, "vae", {"width": 64, "batch": 64})
    forkserver = forkserver_of(hub.proc.pid)
    (worker,) = workers(forkserver)
    assert hub.running() == 1
    os.kill(forkserver, signal.SIGKILL)  # what an out-of-memory kill does
    ws.close()
    # the worker goes (its parent-death signal, else the server stops it by its own pid)
    assert wait_until(lambda: not running_pid(worker), 5), "the worker outlived its page"
    assert wait_until(lambda: hub.running() == 0, 5)
    # the hub still works: a new forkserver, a new worker, counted
    ws = play(hub, "gan2d", {"data": "ring8", "width": 16, "batch": 32})
    assert hub.running() == 1
    ws.close()
    assert wait_until(lambda: hub.running() == 0, 5)
    assert "Traceback" not in hub.output()


@pytest.mark.slow  # a real hub and its forkserver: 10-40 s on a shared machine
def test_a_worker_whose_forkserver_died_is_counted_until_it_exits(hub):
    """Kill the forkserver while the page stays open: the count is the worker's own state."""
    ws = play(hub, "gan2d", {"data": "ring8", "width": 16, "batch": 32})
    forkserver = forkserver_of(hub.proc.pid)
    (worker,) = workers(forkserver)
    os.kill(forkserver, signal.SIGKILL)
    assert wait_until(lambda: hub.running() == int(running_pid(worker)), 5)
    assert wait_until(lambda: not running_pid(worker), 5)
    assert hub.running() == 0
    ws.close()


@pytest.mark.slow  # a real hub and its forkserver: 10-40 s on a shared machine
def test_killing_the_server_leaves_no_worker(hub):
    sockets = [play(hub, "gan2d", {"data": "ring8", "width": 16, "batch": 32}),
               play(hub, "vae", {"width": 64, "batch": 64})]
    forkserver = forkserver_of(hub.proc.pid)
    pids = workers(forkserver)
    assert len(pids) == 2 and hub.running() == 2
    hub.proc.kill()  # SIGKILL: no cleanup of any kind runs in the server
    hub.proc.wait()
    assert wait_until(lambda: not any(map(running_pid, pids + [forkserver])), 5), \
        [p for p in pids + [forkserver] if running_pid(p)]
    for ws in sockets:
        ws.close()


def test_the_lifeline_alone_stops_a_busy_worker():
    """The server's end of the lifeline closes (as when the server dies): the worker exits
    even though the forkserver lives and no stop message was sent."""
    from genlab.web.simulations.schemas import SimLimits
    from genlab.web.simulations.sessions import SessionManager

    manager = SessionManager(SimLimits())
    session = manager.open("gan2d", {"data": "ring8", "width": 16, "batch": 32})
    try:
        session.send("play")
        assert session.conn.poll(60)  # it is up and sending frames
        t0 = time.monotonic()
        session.lifeline.close()
        assert session.worker.wait(3.0), "the worker ignored its lifeline"
        assert time.monotonic() - t0 < 3.0 and len(manager) == 0
    finally:
        manager.close_all()


def test_a_worker_is_tracked_by_its_own_pid_not_its_parent():
    """An orphan (its parent exited, as the forkserver did) is still seen, signalled and
    waited for by WorkerHandle."""
    from genlab.web.simulations.lifeline import WorkerHandle

    out = subprocess.run(["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"], capture_output=True,
                         text=True, check=True)
    handle = WorkerHandle(int(out.stdout))
    try:
        assert handle.alive()
        handle.signal(signal.SIGTERM)
        assert handle.wait(5.0) and not handle.alive()
    finally:
        handle.close()
        if running_pid(handle.pid):
            os.kill(handle.pid, signal.SIGKILL)


if sys.platform != "linux":  # /proc, pidfds and the forkserver are what these tests read
    pytestmark = pytest.mark.skip("Linux only")
