"""HTTP and WebSocket routes of the live simulations (mounted by genlab.web.app).

    WS  /ws/sim/{kind}       kind: gan2d | vae | dcgan | beyond. The page sends JSON text
                             messages (schemas.py); the server answers with binary frames
                             (frames.py) and small JSON text messages:
                             {"type": "hello", "heartbeat_seconds", "max_message_bytes"} first;
                             {"type": "error", "message"} — shown on the page;
                             {"type": "status", "playing"} ; {"type": "closed", "reason"};
                             {"type": "queued", "place", "ahead", "running", "max_sessions"}
                             when every slot is taken: the learner waits in line (first come,
                             first served; sessions.py), told again whenever its place
                             changes; its simulation starts by itself when a slot frees, with
                             the settings and Play/Pause it sent meanwhile, announced by
                             {"type": "admitted", "waited_seconds"};
                             {"type": "full", "running", "max_sessions", "message"} when the
                             line is full too (max_queue), then a close with CLOSE_FULL: the
                             page retries.
                             Close codes and the message bound: protocol.py.
                             Watch mode (watch.py): {"type": "share", "name"} shares it,
                             answered by {"type": "shared", "id", "name", "viewers"}; then
                             {"type": "viewers", "viewers"} whenever a viewer comes or goes.
    WS  /ws/watch/{id}       a viewer of a shared simulation: {"type": "hello", ...,
                             "watch": {"id", "kind", "driver", "viewers", "config"}} first, then
                             the driver's own state frames and status lines (the same bytes;
                             a slow viewer skips frames), {"type": "settings", "config"} when
                             the driver's change. The viewer may send {"type": "ping"}
                             and {"type": "fork"}; anything else is refused in one line
                             ({"type": "error"}). Fork: a session of its own from the driver's
                             current weights — a new "hello" with "forked": {"from", "step",
                             "config"}, then this socket is a driver's (as /ws/sim/{kind}); no
                             free slot: {"type": "full", "watching": true, ...} and it keeps
                             watching. An unknown or ended share, or a viewer limit: an error
                             line, then close CLOSE_WATCH_ENDED; when the driver leaves, its
                             viewers get {"type": "closed", "reason"} and that close.
    GET /api/sim/limits      the server's limits and every setting's default and bounds
    GET /api/sim/presets     named GAN playground configurations (mode collapse and remedies)
    GET /api/sim/status      {"running": n, "max_sessions": m, "queued": q}
    POST /api/sim/upload     the learner's own data for the session whose "hello" gave the
                             token (header X-Genlab-Upload): uploads.py. Answers
                             {"ok", "message"} (one line: what was loaded, or which file and why
                             not), once the simulation's worker has decoded it.

Trained runs (`genlab serve --run/--runs`): a config message may carry "run": an id of the
server's run list (`runs`, genlab.web.runs_browser.RunList); the route resolves it to the run's
path — a page never names a path — and checks that the run fits this lab, and the worker opens
it as the lab's model (from_run.py). An id the list does not hold, or a run of another lab, is
one line on the page.

A worker process starts at the first message that needs one (play, step, config...), so an
open page costs nothing until the learner presses Play. The socket (and its worker) is closed
after `idle_seconds` without a message: the page sends {"type": "ping"} while it is visible,
every `heartbeat_seconds` (from "hello": at most a third of idle_seconds).
No message names a file; nothing here reads or writes one (uploads stay in memory).
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from dataclasses import fields
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketState

from genlab.errors import GenlabError
from genlab.web.origin import same_origin
from genlab.web.simulations import protocol, uploads, watch
from genlab.web.simulations.challenges import LockedSetting, Locks
from genlab.web.simulations.protocol import (
    CLOSE_FULL,
    CLOSE_IDLE,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED,
    MAX_MESSAGE_BYTES,
)
from genlab.web.simulations.schemas import (
    CONFIGS,
    GAN_PRESETS,
    MessageError,
    SimLimits,
    field_list,
    parse_config,
    parse_message,
)
from genlab.web.simulations.sessions import ServerFull, SessionManager, warm_up

PRESETS = GAN_PRESETS  # schemas.py
PING = "ping"
# messages kept for the worker while the learner waits in line (older ones are dropped; of
# play / pause only the last is kept; settings are not kept: the worker starts with the last)
PENDING_MESSAGES = 16


_WARM = threading.Event()


def _warm_up_once() -> None:
    if not _WARM.is_set():
        _WARM.set()
        threading.Thread(target=warm_up, name="genlab-sim-warmup", daemon=True).start()


def _bounds(kind: str) -> list[dict[str, Any]]:
    return field_list(kind)  # the controls the page shows (schemas.py), as it embeds them


def create_router(runs=None, **limits: Any) -> APIRouter:
    """A router with its own session manager; unknown limit names are refused. `runs`: the
    trained runs a page may open in a lab (runs_browser.RunList), or None."""
    known = {f.name for f in fields(SimLimits)}
    unknown = set(limits) - known
    if unknown:
        raise TypeError(f"unknown simulation limit(s): {', '.join(sorted(unknown))}")
    lim = SimLimits(**{k: v for k, v in limits.items() if v is not None})
    manager = SessionManager(lim)
    slots = uploads.Slots()
    shares = watch.Shares(lim)
    router = APIRouter()
    router.manager = manager  # tests and the app can inspect it
    router.slots = slots
    router.shares = shares

    @router.get("/api/sim/limits")
    def get_limits() -> dict:
        return {"limits": lim.to_dict(), "settings": {k: _bounds(k) for k in CONFIGS}}

    @router.get("/api/sim/presets")
    def get_presets() -> dict:
        return {"gan2d": PRESETS}

    @router.get("/api/sim/status")
    def get_status() -> dict:
        """The page asks once when it mounts: that also starts the forkserver (torch and the
        digits load while the learner reads), so the first Play starts quickly."""
        _warm_up_once()
        manager.reap()
        return {"running": len(manager), "max_sessions": lim.max_sessions,
                "queued": manager.queued()}

    @router.post(uploads.URL)
    async def upload(request: Request) -> JSONResponse:
        def answer(ok: bool, message: str, status: int = 200) -> JSONResponse:
            return JSONResponse({"ok": ok, "message": message}, status_code=status)

        if not same_origin(request.scope):  # another site's page may not send us files
            return answer(False, "uploads come from the hub's own page", 403)
        slot = slots.get(request.headers.get(uploads.TOKEN_HEADER))
        if slot is None:
            return answer(False, "no live simulation holds this upload token (reload the "
                                 "page)", 403)
        try:
            body = await uploads.read_body(request.stream(),
                                           request.headers.get("content-length"), lim)
            files = await uploads.parse_form(request.headers, body, lim)
            received = await asyncio.to_thread(uploads.receive, slot.kind, files, lim)
            verdict = await slot.deliver(received)
        except uploads.UploadError as e:
            return answer(False, str(e), e.status)
        except ServerFull as full:
            return answer(False, str(full), 503)
        return answer(verdict["ok"], verdict["message"], 200 if verdict["ok"] else 400)

    @router.websocket("/ws/sim/{kind}")
    async def simulation(websocket: WebSocket, kind: str) -> None:
        if not same_origin(websocket.scope):  # another site's page may not drive our CPUs
            await websocket.close(code=CLOSE_POLICY)
            return
        await websocket.accept()
        if kind not in CONFIGS:
            await _error(websocket, f"unknown simulation {kind!r}: choose one of "
                                    f"{', '.join(CONFIGS)}")
            await websocket.close(code=CLOSE_POLICY, reason=f"unknown simulation {kind!r:.60}")
            return
        slot = slots.open(kind)
        try:
            await websocket.send_text(json.dumps(_hello(kind, slot, lim)))
            await _serve(websocket, kind, manager, slot, shares, runs=runs)
        finally:  # the session's data goes with its connection
            slots.close(slot)

    @router.websocket("/ws/watch/{share_id}")
    async def watching(websocket: WebSocket, share_id: str) -> None:
        if not same_origin(websocket.scope):
            await websocket.close(code=CLOSE_POLICY)
            return
        await websocket.accept()
        forked = await watch.serve_viewer(websocket, shares, share_id, manager)
        if forked is None:
            return
        session, config, driver_name = forked
        slot = slots.open(session.kind)
        try:
            hello = _hello(session.kind, slot, lim)
            hello["forked"] = {"from": driver_name, "step": config.pop("step"), "config": config}
            await websocket.send_text(json.dumps(hello))
            await _serve(websocket, session.kind, manager, slot, shares, forked=(session, config))
        finally:
            slots.close(slot)

    return router


def _hello(kind: str, slot: uploads.Slot, lim: SimLimits) -> dict[str, Any]:
    hello = {"type": "hello", "heartbeat_seconds": protocol.heartbeat_seconds(lim.idle_seconds),
             "max_message_bytes": MAX_MESSAGE_BYTES}
    if kind in uploads.UPLOAD_LABS:
        hello["upload"] = {"url": uploads.URL, "token": slot.token, "max_bytes": lim.upload_bytes}
    return hello


def _connected(websocket: WebSocket) -> bool:
    return (websocket.client_state == WebSocketState.CONNECTED
            and websocket.application_state == WebSocketState.CONNECTED)


async def _error(websocket: WebSocket, message: str) -> None:
    await websocket.send_text(json.dumps({"type": "error", "message": message}))


def _run_path(runs, run_id: int | None, kind: str) -> str | None:
    """The path of the server's run `run_id` for lab `kind` (None: the lab's own model)."""
    if run_id is None:
        return None
    if runs is None:
        raise MessageError("this hub opens no trained runs (start it with genlab serve --run "
                           "RUN or --runs DIR)")
    try:
        return str(runs.path_for(run_id, kind))
    except GenlabError as e:
        raise MessageError(str(e)) from None


async def _serve(websocket: WebSocket, kind: str, manager: SessionManager,
                 slot: uploads.Slot, shares: watch.Shares, forked=None, runs=None) -> None:
    """One driving connection. `forked`: (session, config) of a viewer's fork (watch.py);
    `runs`: the trained runs a config may name (runs_browser.RunList), or None."""
    lim = manager.limits
    session = None
    config: dict[str, Any] = {}
    run_path: str | None = None  # the trained run the lab shows (the server's path), or None
    driver = watch.Driver(shares, kind, websocket.send_text, lambda: session, lambda: config)
    bad_config: str | None = None
    locks = Locks(kind)  # teacher mode: the challenge and the settings it locks
    challenge: dict[str, Any] | None = None
    pump: asyncio.Task | None = None
    starting = asyncio.Lock()  # the page's messages and an upload may both start it
    ticket = None  # this learner's claim on a slot while it waits or its worker starts
    admission: asyncio.Task | None = None  # waits in line, then starts the session
    pending: collections.deque = collections.deque(maxlen=PENDING_MESSAGES)

    async def start():
        """The connection's running session for an upload: the one running, else one started
        now; ServerFull when no slot is free now (an HTTP request does not wait in line)."""
        async with starting:
            if session is not None and not session.closed:
                return session
            if admission is not None:  # the learner waits in line already
                raise manager.full()
            claim = manager.enter(wait=False)
            try:
                return await _open(claim)
            finally:
                manager.leave(claim)

    async def _open(claim):
        nonlocal session, pump
        if session is not None:
            manager.release(session)
            session = None
        if pump is not None:
            pump.cancel()
        session = await manager.start(claim, kind, config, run_path)
        session.attach(asyncio.get_running_loop())
        pump = asyncio.create_task(forward())
        if slot.accepted is not None:  # a restarted worker gets the learner's data back
            session.send("upload", slot.accepted)
        return session

    async def tell_place(place: int, ahead: int, running: int) -> None:
        await websocket.send_text(json.dumps({
            "type": "queued", "place": place, "ahead": ahead, "running": running,
            "max_sessions": lim.max_sessions}))

    async def admit() -> None:
        """Wait in line (if every slot is taken), then start the worker with the settings
        the page sent last and relay what it asked for meanwhile."""
        nonlocal admission
        try:
            await manager.wait_turn(ticket, tell_place)
            try:
                async with starting:
                    await _open(ticket)
            except OSError as e:  # no process could be started (memory, process limit)
                await _error(websocket, f"the simulation could not start in the server: {e}")
                await websocket.send_text(json.dumps({"type": "status", "playing": False}))
                return
            if ticket.place:  # it waited: the page stops showing its place
                await websocket.send_text(json.dumps({
                    "type": "admitted",
                    "waited_seconds": round(time.monotonic() - ticket.joined, 3)}))
            if challenge is not None:
                session.send("challenge", challenge)
            if bad_config is not None:  # never train settings the page did not show
                pending.clear()
                await websocket.send_text(json.dumps({"type": "status", "playing": False}))
            while pending:
                _relay(session, pending.popleft(), config)
        except (WebSocketDisconnect, RuntimeError, OSError):
            if _connected(websocket):  # not a send to a page that has left: a fault
                raise
            # the page left while it waited: the receive loop ends the connection
        finally:
            manager.leave(ticket)
            admission = None

    def keep(msg) -> None:
        """Keep `msg` for the worker that is starting (or waiting for a slot)."""
        if msg.type in ("play", "pause"):
            for old in [m for m in pending if m.type in ("play", "pause")]:
                pending.remove(old)
        if msg.type != "config":
            pending.append(msg)

    slot.start = start

    async def forward() -> None:  # worker → page
        while True:
            data = await session.next_message()
            if data is None:
                await websocket.send_text(json.dumps(
                    {"type": "closed", "reason": "the simulation stopped; press Play to start "
                                                 "again"}))
                return
            if driver.publish(data):  # watch.py: the viewers' copy; a snapshot is not the page's
                continue
            if data[:1] == b"{":
                if data.startswith(b'{"type": "upload"'):  # the worker's verdict on an upload
                    slot.verdict(json.loads(data))
                await websocket.send_text(data.decode())
            else:
                await websocket.send_bytes(data)

    if forked is not None:  # its worker already runs, from the driver's weights
        session, config = forked
        session.attach(asyncio.get_running_loop())
        pump = asyncio.create_task(forward())
    try:
        while True:
            try:
                message = await asyncio.wait_for(websocket.receive(), timeout=lim.idle_seconds)
            except asyncio.TimeoutError:
                await websocket.send_text(json.dumps(
                    {"type": "closed", "reason": f"stopped after {lim.idle_seconds:g} s without "
                                                 "a message; press Play to start again"}))
                await websocket.close(code=CLOSE_IDLE, reason="idle")
                return
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:  # a binary frame
                await websocket.close(code=CLOSE_UNSUPPORTED,
                                      reason="the hub accepts JSON text messages only")
                return
            if len(raw) * 4 > MAX_MESSAGE_BYTES and len(raw.encode()) > MAX_MESSAGE_BYTES:
                await websocket.close(code=CLOSE_TOO_BIG, reason=(
                    f"a message may have at most {MAX_MESSAGE_BYTES} bytes"))
                return
            try:
                data = json.loads(raw)
            except RecursionError:
                await websocket.close(code=CLOSE_POLICY, reason=(
                    "a message nested too deeply (the hub's nest at most 3 levels)"))
                return
            except ValueError:
                await _error(websocket, "a message must be JSON")
                continue
            if isinstance(data, dict) and data.get("type") == PING:
                if session is not None:
                    session.last_seen = time.monotonic()
                continue
            try:
                msg = parse_message(data)
                if msg.type == "share":
                    await driver.share(msg.name)
                    continue
                run_changed = False
                if msg.type == "config":
                    try:
                        new = parse_config(kind, msg.config, lim).model_dump()
                        wanted = _run_path(runs, msg.run, kind)  # refuses an unknown id
                        challenge = locks.apply(new, msg.challenge)  # refuses a locked change
                        config, bad_config = new, None
                        run_changed, run_path = wanted != run_path, wanted
                    except LockedSetting:  # refused; the settings in use stay valid
                        raise
                    except MessageError as e:
                        bad_config = str(e)
                        raise
                elif bad_config is not None:  # never train settings the page did not show
                    await _error(websocket, f"fix the settings first: {bad_config}")
                    await websocket.send_text(json.dumps({"type": "status", "playing": False}))
                    continue
                if session is None or session.closed:
                    if admission is None:  # a slot now, or a place in line, or "full"
                        try:
                            ticket = manager.enter()
                        except ServerFull as full:  # not the learner's fault: say so, page retries
                            await websocket.send_text(json.dumps({
                                "type": "full", "running": full.running,
                                "max_sessions": full.max_sessions, "message": str(full)}))
                            await websocket.close(code=CLOSE_FULL, reason="the hub is full")
                            return
                        admission = asyncio.create_task(admit())
                    keep(msg)  # the worker starts with the settings (and run); the rest follows
                    continue
                _relay(session, msg, config)
                if run_changed:  # after the settings: the run opens with them (its speed)
                    session.send("run", run_path)
                if msg.type == "config":
                    session.send("challenge", challenge)
            except MessageError as e:
                await _error(websocket, str(e))
    except WebSocketDisconnect:
        pass
    finally:  # also when the task is cancelled (server shutdown): nothing awaited here
        driver.end()
        if admission is not None:  # a learner in line leaves it at once
            admission.cancel()
        if ticket is not None:
            manager.leave(ticket)
        if pump is not None:
            pump.cancel()
        if session is not None:
            manager.release(session)


def _relay(session, msg, config: dict[str, Any]) -> None:
    if msg.type == "config":
        session.send("config", config)
    elif msg.type in ("play", "pause", "reset"):
        session.send(msg.type)
    elif msg.type == "step":
        session.send("step", msg.n)
    else:
        session.send("msg", msg.model_dump())

