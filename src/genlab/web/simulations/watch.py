"""Watch mode: one live simulation, many viewers (issue 14 §1).

A learner driving a simulation shares it (`{"type": "share"}`); the hub answers with an
unguessable share id (secrets.token_urlsafe) that viewers open at WS /ws/watch/{id}. Every
message the driver's worker sends that a viewer should see (state frames, status lines) is
published once to the share's `Channel`, which hands the same bytes object to every viewer:
no viewer costs the simulation a step or an encode.

Each `Viewer` has one sender task and a latest-frame slot: a new state frame replaces the one
still waiting, so a slow viewer skips frames, while the other messages (status, the end of
the share) wait in a short queue of their own (at most MAX_PENDING_TEXTS, oldest dropped).
A viewer's memory is therefore bounded by one frame and a few short lines, and no viewer's
socket is ever awaited by the driver or by another viewer.

Bounds: SimLimits.max_viewers (viewers of one share) and max_viewers_total (all shares
together); a share ends when its driver's socket closes, and its viewers are told in one line.
`Driver` is the driving connection's side (routes._serve holds one); `serve_viewer` is the
viewer's connection (WS /ws/watch/{id}, routes.py; its messages are listed there). Forking: a
viewer asks, the channel relays the request for the driver worker's snapshot (fork.py), and a
new session starts from it; serve_viewer returns it and routes._serve drives it from then on.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from genlab.web.simulations import frames, protocol
from genlab.web.simulations.frames import KIND_SNAPSHOT, KIND_STATE
from genlab.web.simulations.protocol import CLOSE_WATCH_ENDED, MAX_MESSAGE_BYTES
from genlab.web.simulations.sessions import ServerFull
from genlab.web.simulations.worker import FORK_KEY

MAX_PENDING_TEXTS = 32  # status lines waiting for one slow viewer (the oldest is dropped)
SHARE_ID_BYTES = 16  # 128 random bits: a share cannot be guessed
SNAPSHOT_TIMEOUT_S = 30.0


class WatchRefused(Exception):
    """A watch request the hub refuses; `str()` is the one line the viewer sees."""


def is_state_frame(data: bytes) -> bool:
    return data[:4] == b"GLF1" and data[4] == KIND_STATE


def is_snapshot(data: bytes) -> bool:
    return data[:4] == b"GLF1" and data[4] == KIND_SNAPSHOT


class Viewer:
    """One viewer's outgoing side: the newest state frame not yet sent (one slot), the other
    messages (bounded), and `run()`, the one task that sends them — in the order they were
    offered, except that a frame replaced by a newer one is never sent."""

    def __init__(self, send_bytes: Callable[[bytes], Awaitable[None]],
                 send_text: Callable[[str], Awaitable[None]]):
        self._send_bytes, self._send_text = send_bytes, send_text
        self.frame: bytes | None = None
        self.texts: collections.deque[tuple[int, str]] = collections.deque(
            maxlen=MAX_PENDING_TEXTS)
        self.sent = self.skipped = 0
        self.closing = False
        self._order = itertools.count()
        self._frame_at = 0
        self._ready = asyncio.Event()

    def offer_frame(self, data: bytes) -> None:
        if self.frame is not None:
            self.skipped += 1  # this viewer is behind: it gets the newest frame only
        self.frame, self._frame_at = data, next(self._order)
        self._ready.set()

    def offer_text(self, text: str) -> None:
        self.texts.append((next(self._order), text))
        self._ready.set()

    def finish(self, text: str | None = None) -> None:
        """Send what waits (and `text`), then end `run()`."""
        if text is not None:
            self.offer_text(text)
        self.closing = True
        self._ready.set()

    async def run(self) -> None:
        """Send until `finish()`; an error of the socket (the viewer left) ends it."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self.texts or self.frame is not None:
                if self.texts and (self.frame is None or self.texts[0][0] < self._frame_at):
                    await self._send_text(self.texts.popleft()[1])
                else:
                    frame, self.frame = self.frame, None
                    await self._send_bytes(frame)
                    self.sent += 1
            if self.closing:
                return


class Channel:
    """One shared simulation: its driver's name, its viewers, the newest frame (what a new
    viewer sees first) and the driver's hooks (`driver`: see routes.py)."""

    def __init__(self, share_id: str, kind: str, name: str, shares: Shares, driver: Any):
        self.id, self.kind, self.name = share_id, kind, name
        self.shares, self.driver = shares, driver
        self.viewers: set[Viewer] = set()
        self.last_frame: bytes | None = None
        self.last_status: str | None = None
        self.ended = False
        self._snapshots: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)

    # -- the driver's worker → every viewer
    def publish(self, data: bytes) -> bool:
        """Fan `data` (a message of the driver's worker) out to the viewers; True when it was
        for the channel only (a snapshot answer), which the driver's page must not get."""
        if is_snapshot(data):
            self._answer(data)
            return True
        if is_state_frame(data):
            self.last_frame = data
            for viewer in self.viewers:
                viewer.offer_frame(data)  # the same bytes object for every viewer
        elif data.startswith(b'{"type": "status"'):
            self.last_status = text = data.decode()
            for viewer in self.viewers:
                viewer.offer_text(text)
        return False  # other messages (errors, replies, uploads) are the driver's own

    def publish_text(self, text: str) -> None:
        for viewer in self.viewers:
            viewer.offer_text(text)

    # -- viewers
    def join(self, viewer: Viewer) -> None:
        if self.ended:
            raise WatchRefused(f"{self.name} stopped sharing this simulation")
        limits = self.shares.limits
        if len(self.viewers) >= limits.max_viewers:
            raise WatchRefused(f"{self.name}'s simulation already has its maximum of "
                               f"{limits.max_viewers} viewers on this hub (max_viewers)")
        if self.shares.viewers() >= limits.max_viewers_total:
            raise WatchRefused(f"the hub already has its maximum of {limits.max_viewers_total} "
                               f"viewers in all (max_viewers_total)")
        self.viewers.add(viewer)
        self.driver.viewers_changed()
        if self.last_status is not None:
            viewer.offer_text(self.last_status)
        if self.last_frame is not None:
            viewer.offer_frame(self.last_frame)

    def leave(self, viewer: Viewer) -> None:
        if viewer in self.viewers:
            self.viewers.discard(viewer)
            if not self.ended:
                self.driver.viewers_changed()

    def end(self, reason: str) -> None:
        """The driver left: every viewer is told `reason` (one line), then disconnected."""
        self.ended = True
        self.shares.remove(self)
        line = json.dumps({"type": "closed", "reason": reason})
        for viewer in list(self.viewers):
            viewer.finish(line)
        for future in self._snapshots.values():
            if not future.done():
                future.set_exception(WatchRefused(f"{self.name} stopped sharing before the "
                                                  "fork was ready"))

    # -- forking: the driver's worker serializes its state (fork.py)
    async def snapshot(self, timeout: float = SNAPSHOT_TIMEOUT_S) -> bytes:
        """The driver worker's snapshot frame (KIND_SNAPSHOT), or WatchRefused."""
        if self.ended:
            raise WatchRefused(f"{self.name} stopped sharing this simulation")
        request = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._snapshots[request] = future
        try:
            if not self.driver.request_snapshot(request):
                raise WatchRefused(f"nothing to fork yet: {self.name} has not started the "
                                   "simulation")
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise WatchRefused("the driver's simulation did not answer the fork in "
                               f"{timeout:g} s") from None
        finally:
            self._snapshots.pop(request, None)

    def _answer(self, data: bytes) -> None:
        request = frames.decode_meta(data).get("snapshot")
        future = self._snapshots.get(request)
        if future is not None and not future.done():
            future.set_result(data)


class Shares:
    """Every shared simulation of one hub, by share id, and the viewer bounds."""

    def __init__(self, limits):
        self.limits = limits
        self.channels: dict[str, Channel] = {}
        self._names = itertools.count(1)

    def create(self, kind: str, name: str | None, driver: Any) -> Channel:
        share_id = secrets.token_urlsafe(SHARE_ID_BYTES)
        name = name or f"learner {next(self._names)}"
        channel = Channel(share_id, kind, name, self, driver)
        self.channels[share_id] = channel
        return channel

    def get(self, share_id: str) -> Channel:
        channel = self.channels.get(share_id)
        if channel is None:
            raise WatchRefused("no live simulation is shared under this code (its driver "
                               "stopped sharing, or the link is wrong)")
        return channel

    def remove(self, channel: Channel) -> None:
        if self.channels.get(channel.id) is channel:
            del self.channels[channel.id]

    def viewers(self) -> int:
        return sum(len(c.viewers) for c in self.channels.values())


class Driver:
    """The driving connection's side of watch mode (routes._serve holds one per socket):
    `share()` opens its channel, `publish()` fans its worker's messages out, `end()` closes it.
    `session()` and `config()` read the connection's current session and settings."""

    def __init__(self, shares: Shares, kind: str, send_text: Callable[[str], Awaitable[None]],
                 session: Callable[[], Any], config: Callable[[], dict]):
        self.shares, self.kind, self._send_text = shares, kind, send_text
        self.session, self.config = session, config
        self.channel: Channel | None = None
        self._notes: set[asyncio.Task] = set()
        self._shown: dict | None = None  # the settings the viewers were last told

    async def share(self, name: str) -> None:
        name = " ".join(name.split())  # one line, single spaces
        if self.channel is None:
            self.channel = self.shares.create(self.kind, name, self)
        elif name:
            self.channel.name = name
        await self._send_text(json.dumps({"type": "shared", "id": self.channel.id,
                                          "name": self.channel.name,
                                          "viewers": len(self.channel.viewers)}))

    def publish(self, data: bytes) -> bool:
        """Channel.publish, when shared; True: the message is not the driver page's. New
        settings reach the viewers before the first frame trained with them."""
        if self.channel is None:
            return False
        config = self.config()
        if is_state_frame(data) and config is not self._shown:
            self._shown = config
            self.channel.publish_text(json.dumps({"type": "settings", "config": config}))
        return self.channel.publish(data)

    def request_snapshot(self, request: int) -> bool:
        session = self.session()
        if session is None or session.closed:
            return False
        session.send("snapshot", request)
        return True

    def viewers_changed(self) -> None:
        """Tell the driver's page how many watch (without waiting for its socket)."""
        if self.channel is None:
            return
        task = asyncio.ensure_future(self._note({"type": "viewers",
                                                 "viewers": len(self.channel.viewers)}))
        self._notes.add(task)
        task.add_done_callback(self._notes.discard)

    async def _note(self, message: dict) -> None:
        try:
            await self._send_text(json.dumps(message))
        except Exception:  # noqa: BLE001 - the driver is leaving; end() follows
            pass

    def end(self) -> None:
        if self.channel is not None:
            self.channel.end(f"{self.channel.name} stopped sharing: the simulation you watched "
                             "has ended")
            self.channel = None
        for task in self._notes:
            task.cancel()


async def serve_viewer(websocket: WebSocket, shares: Shares, share_id: str,
                       manager) -> tuple | None:
    """A viewer's connection until it leaves (None) or forks: (session, config, driver name)
    — the session already started from the driver's weights."""
    lim = manager.limits
    viewer = Viewer(websocket.send_bytes, websocket.send_text)
    try:
        channel = shares.get(share_id[:64])
        channel.join(viewer)
    except WatchRefused as e:
        await websocket.send_text(json.dumps({"type": "error", "message": str(e)}))
        await websocket.close(code=CLOSE_WATCH_ENDED, reason="not watching")
        return None
    forking = False

    async def send_all() -> None:  # the viewer's one sender task (Viewer.run)
        try:
            await viewer.run()
            if not forking:  # the driver left: the reason was the last line sent
                await websocket.close(code=CLOSE_WATCH_ENDED, reason="the share ended")
        except Exception:  # noqa: BLE001 - the viewer's socket went away
            channel.leave(viewer)

    hello = {"type": "hello", "heartbeat_seconds": protocol.heartbeat_seconds(lim.idle_seconds),
             "max_message_bytes": MAX_MESSAGE_BYTES,
             "watch": {"id": channel.id, "kind": channel.kind, "driver": channel.name,
                       "viewers": len(channel.viewers), "config": channel.driver.config()}}
    try:
        await websocket.send_text(json.dumps(hello))
    except Exception:  # noqa: BLE001 - gone already
        channel.leave(viewer)
        return None
    sender = asyncio.create_task(send_all())
    refused = (f"you are watching {channel.name}'s simulation: only its driver can play, "
               "pause or change it (press Fork to train a copy of your own)")
    try:
        while not sender.done():
            try:
                message = await asyncio.wait_for(websocket.receive(), timeout=lim.idle_seconds)
            except asyncio.TimeoutError:
                viewer.finish(json.dumps({"type": "closed", "reason": (
                    f"stopped watching after {lim.idle_seconds:g} s without a message")}))
                await sender
                return None
            if message["type"] == "websocket.disconnect":
                return None
            raw = message.get("text")
            if raw is None or len(raw) > MAX_MESSAGE_BYTES:
                viewer.offer_text(json.dumps({"type": "error", "message": refused}))
                continue
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):
                data = None
            if data == {"type": "ping"}:
                continue
            if data != {"type": "fork"}:
                viewer.offer_text(json.dumps({"type": "error", "message": refused}))
                continue
            try:
                frame = await channel.snapshot()
                meta = frames.decode_meta(frame)
                if "error" in meta:
                    raise WatchRefused(meta["error"])
                config = {**meta["config"], FORK_KEY: frame}
                session = await asyncio.to_thread(manager.open, channel.kind, config)
            except WatchRefused as e:
                viewer.offer_text(json.dumps({"type": "error", "message": str(e)}))
                continue
            except ServerFull as full:  # keep watching; the page may ask again
                viewer.offer_text(json.dumps({
                    "type": "full", "watching": True, "running": full.running,
                    "max_sessions": full.max_sessions, "message": str(full)}))
                continue
            forking = True
            channel.leave(viewer)
            viewer.finish()
            await sender  # what was queued for the viewer goes first
            config.pop(FORK_KEY)
            config["step"] = frames.decode_meta(frame).get("step", 0)
            return session, config, channel.name
        return None
    except WebSocketDisconnect:
        return None
    finally:
        channel.leave(viewer)
        if not sender.done():
            sender.cancel()
