"""Live simulation sessions, server side: start, relay, limit, stop.

A `Session` is one worker process (worker.py) and the pipe to it. The `SessionManager`
enforces `SimLimits.max_sessions` (all learners together) and stops sessions that are closed
or idle; stopping terminates the process, so all of its memory goes back to the system.
Learners beyond the cap wait in a first-come first-served queue of at most
`SimLimits.max_queue` (`enter` → `await wait_turn` → `await start`, `leave` on any exit):
each is told its place when it joins and whenever it changes, and a freed slot goes to the
first in line; beyond the queue, ServerFull.
Workers are counted and stopped by their own process state (lifeline.WorkerHandle), never
through the forkserver, and each exits by itself when the server side goes away.
Reading the pipe never blocks the event loop: `Session.attach` starts a reader thread that
hands each message to the loop (call_soon_threadsafe; add_reader is not used because uvloop
makes the pipe non-blocking under multiprocessing's blocking reads); at most a few state frames
wait in the queue (a slow page sees fewer frames, never a growing backlog).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import multiprocessing
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from genlab.web.simulations.lifeline import WorkerHandle, exit_with_parent
from genlab.web.simulations.schemas import MessageError, SimLimits

_CONTEXT = None
_CONTEXT_LOCK = threading.Lock()
MAX_QUEUED_FRAMES = 3


def _context():
    """forkserver (torch imported once, then each worker forks from it), else spawn."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            try:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["genlab.web.simulations._preload"])
            except ValueError:
                ctx = multiprocessing.get_context("spawn")
            _CONTEXT = ctx
        return _CONTEXT


def warm_up() -> None:
    """Start the forkserver now (it imports torch once), so the first Play starts quickly."""
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


class ServerFull(MessageError):
    """Every simulation slot is taken (and the queue, if there is one, is full too): not the
    learner's fault; the page waits and retries."""

    def __init__(self, running: int, max_sessions: int, queued: int = 0):
        self.running, self.max_sessions, self.queued = running, max_sessions, queued
        waiting = (f", {queued} more learner{'s are' if queued != 1 else ' is'} waiting"
                   if queued else "")
        super().__init__(f"the hub is full: {running} of {max_sessions} live simulations are "
                         f"running (one per learner){waiting}")


# A waiter checks for a free slot when one is released and at least this often (a worker
# that exits by itself frees its slot without telling anyone).
QUEUE_POLL_SECONDS = 1.0


class Ticket:
    """One learner's claim on a slot: "waiting" in line (`place` 1 is first), "reserved" (a
    slot is held for it), "opening" (its worker is starting) or "done"."""

    def __init__(self) -> None:
        self.state = "waiting"
        self.place = 0
        self.joined = time.monotonic()
        self.wake = asyncio.Event()  # set when its place changes or a slot may be free


def _worker_main(conn, lifeline, kind, config, limits, run=None):  # module-level: picklable
    exit_with_parent(lifeline)  # first: before the imports, which take the longest
    from genlab.web.simulations.worker import preload, run_worker

    preload()
    run_worker(conn, kind, config, limits, run)


class Session:
    """One running simulation: its process, its pipe and the queue of outgoing messages."""

    _ids = itertools.count(1)

    def __init__(self, kind: str, config: dict[str, Any], limits: SimLimits,
                 run: str | None = None):
        self.id = next(self._ids)
        self.kind = kind
        self.started = self.last_seen = time.monotonic()
        ctx = _context()
        self.conn, child = ctx.Pipe(duplex=True)
        # nothing is ever written: closing our end (or our death) tells the worker to exit
        lifeline_r, self.lifeline = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_worker_main, name=f"genlab-sim-{kind}-{self.id}",
                                   args=(child, lifeline_r, kind, dict(config),
                                         limits.to_dict(), run),
                                   daemon=True)
        self.process.start()
        child.close()
        lifeline_r.close()
        self.worker = WorkerHandle(self.process.pid)
        self.outbox: collections.deque[bytes] = collections.deque()
        self.ready = asyncio.Event()
        self.closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: threading.Thread | None = None

    # -- parent → worker
    def send(self, *cmd: Any) -> None:
        self.last_seen = time.monotonic()
        if not self.closed:
            try:
                self.conn.send(cmd)
            except (BrokenPipeError, OSError):
                self._gone()

    # -- worker → parent: a reader thread blocks on the pipe, the event loop never does
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._reader = threading.Thread(target=self._read_loop, daemon=True,
                                        name=f"genlab-sim-reader-{self.id}")
        self._reader.start()

    def _read_loop(self) -> None:
        try:
            while True:
                data = self.conn.recv_bytes()
                self._loop.call_soon_threadsafe(self._push, data)
        except (EOFError, OSError, ValueError):
            pass
        except RuntimeError:  # the event loop closed first (the server or a test is ending)
            self.closed = True
            return
        try:
            self._loop.call_soon_threadsafe(self._gone)
        except RuntimeError:  # the loop is already closed
            self.closed = True

    def _push(self, data: bytes) -> None:
        if data[:4] == b"GLF1" and data[4] == 1:  # a state frame: drop stale ones
            stale = [m for m in self.outbox if m[:4] == b"GLF1" and m[4] == 1]
            if len(stale) >= MAX_QUEUED_FRAMES:
                self.outbox.remove(stale[0])
        self.outbox.append(data)
        self.ready.set()

    def _gone(self) -> None:
        self.closed = True
        self.ready.set()

    async def next_message(self) -> bytes | None:
        """The next message for the page, or None once the worker is gone."""
        while not self.outbox:
            if self.closed:
                return None
            self.ready.clear()
            await self.ready.wait()
        return self.outbox.popleft()

    def alive(self) -> bool:
        """Whether the worker process itself still runs (not what the forkserver says)."""
        return self.worker.alive()

    def stop(self) -> None:
        """Stop the worker (politely, then firmly, by its own pid) and release the pipes."""
        self.closed = True
        if self.worker.alive():
            try:
                self.conn.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
        self.lifeline.close()  # the worker's watchdog exits it now, even mid-step
        for sig, wait in ((None, 0.5), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            if sig is not None:
                self.worker.signal(sig)
            if self.worker.wait(wait):
                break
        self.process.join(timeout=0.1)  # collect the exit status (forkserver or child)
        if self._reader is not None:  # it sees the end of the pipe once the worker is gone
            self._reader.join(timeout=2)
        self.conn.close()
        self.worker.close()


class SessionManager:
    """Counts and bounds the running sessions, queues the learners beyond the bound, and
    `reap()` stops the idle ones.

    A session counts while its worker process runs, also while it is being stopped: what the
    count bounds is the memory and the cores the workers hold. A slot granted to a learner
    whose worker is still starting counts too (`_reserved`), so a freed slot goes to one
    learner only."""

    def __init__(self, limits: SimLimits):
        self.limits = limits
        self.sessions: dict[int, Session] = {}
        self.stopping: set[Session] = set()
        self.waiters: collections.deque[Ticket] = collections.deque()  # FIFO, event loop only
        self._reserved = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _running(self) -> int:
        return sum(s.alive() for s in [*self.sessions.values(), *self.stopping])

    def _reserve(self) -> bool:
        """Take a slot if one is free (released again by `_open_reserved`)."""
        with self._lock:
            if self._running() + self._reserved >= self.limits.max_sessions:
                return False
            self._reserved += 1
            return True

    def _open_reserved(self, kind: str, config: dict[str, Any],
                       run: str | None = None) -> Session:
        try:
            session = Session(kind, config, self.limits, run)
            with self._lock:
                self.sessions[session.id] = session
            return session
        finally:
            with self._lock:
                self._reserved -= 1
            self._slot_freed()  # a start that failed gives its slot back

    def in_use(self) -> int:
        """Slots taken: workers running or stopping, and workers being started."""
        with self._lock:
            return self._running() + self._reserved

    def full(self) -> ServerFull:
        return ServerFull(self.in_use(), self.limits.max_sessions, len(self.waiters))

    def open(self, kind: str, config: dict[str, Any], run: str | None = None) -> Session:
        """Start a session now, or ServerFull (also when learners are waiting: no one jumps
        the queue). `run`: the path of a CLI-trained run the worker opens (from_run.py)."""
        if self.waiters or not self._reserve():
            raise self.full()
        return self._open_reserved(kind, config, run)

    # -- the queue, in four calls (event loop only): enter → wait_turn → start, and leave
    def enter(self, wait: bool = True) -> Ticket:
        """A ticket that holds a slot now (state "reserved") if one is free and no one waits,
        else one at the end of the line; ServerFull when `max_queue` learners wait already
        (or `wait` is False)."""
        self._loop = asyncio.get_running_loop()
        ticket = Ticket()
        if not self.waiters and self._reserve():
            ticket.state = "reserved"
            return ticket
        if not wait or len(self.waiters) >= self.limits.max_queue:
            raise self.full()
        self.waiters.append(ticket)
        self._renumber()
        return ticket

    async def wait_turn(self, ticket: Ticket,
                        on_place: Callable[[int, int, int], Awaitable[None]] | None = None,
                        ) -> None:
        """Return once `ticket` holds a slot. While it waits, `await on_place(place, ahead,
        running)` when it joins and whenever its place changes."""
        told = 0
        while ticket.state == "waiting":
            if self.waiters[0] is ticket and self._reserve():
                self.waiters.popleft()
                ticket.state = "reserved"
                self._renumber()
                return
            if on_place is not None and ticket.place != told:
                told = ticket.place
                await on_place(told, told - 1, self.in_use())
                continue
            ticket.wake.clear()
            try:
                await asyncio.wait_for(ticket.wake.wait(), QUEUE_POLL_SECONDS)
            except asyncio.TimeoutError:
                pass
        if ticket.state != "reserved":
            raise RuntimeError(f"a {ticket.state} ticket has no slot")

    async def start(self, ticket: Ticket, kind: str, config: dict[str, Any],
                    run: str | None = None) -> Session:
        """Start the worker of a reserved `ticket`. Cancelled while the worker starts: the
        session is released once it exists (no orphan holds the slot)."""
        if ticket.state != "reserved":
            raise RuntimeError(f"a {ticket.state} ticket has no slot")
        ticket.state = "opening"  # from here `_open_reserved` gives the slot back if it fails
        opening = asyncio.ensure_future(asyncio.to_thread(self._open_reserved, kind, config,
                                                          run))
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(
                lambda t: None if t.cancelled() or t.exception() else self.release(t.result()))
            raise
        finally:
            ticket.state = "done"

    def leave(self, ticket: Ticket) -> None:
        """`ticket` gives up (its learner left): out of the line, or its slot back, at once.
        Safe to call in any state and more than once."""
        if ticket.state == "waiting":
            self.waiters.remove(ticket)
            self._renumber()
        elif ticket.state == "reserved":
            with self._lock:
                self._reserved -= 1
            self._wake_first()
        ticket.state = "done"

    def _renumber(self) -> None:
        """Give every waiter its place; wake the ones whose place changed (and the first,
        which may find a slot)."""
        for place, ticket in enumerate(self.waiters, start=1):
            if ticket.place != place:
                ticket.place = place
                ticket.wake.set()
        self._wake_first()

    def _wake_first(self) -> None:
        if self.waiters:
            self.waiters[0].wake.set()

    def _slot_freed(self) -> None:
        """A worker has exited or a start failed (any thread): the first in line looks."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._wake_first)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def queued(self) -> int:
        """The learners waiting for a slot now."""
        return len(self.waiters)

    def close(self, session: Session) -> None:
        """Stop `session` now (blocking until its worker has exited)."""
        if self._detach(session):
            self._stop(session)

    def release(self, session: Session) -> None:
        """Forget `session` now and stop its worker in a background thread: safe in a
        `finally` of a task that is being cancelled (nothing to await)."""
        if self._detach(session):
            threading.Thread(target=self._stop, args=(session,), daemon=True,
                             name=f"genlab-sim-stop-{session.id}").start()

    def _detach(self, session: Session) -> bool:
        """Move `session` from the running to the stopping ones; False if it was not running."""
        session.closed = True
        with self._lock:
            if self.sessions.pop(session.id, None) is None:
                return False
            self.stopping.add(session)
            return True

    def _stop(self, session: Session) -> None:
        try:
            session.stop()
        finally:
            with self._lock:
                self.stopping.discard(session)
            self._slot_freed()

    def reap(self, now: float | None = None) -> list[Session]:
        """Stop every session with no message from its page for `idle_seconds`, and forget
        those whose worker has exited."""
        now = time.monotonic() if now is None else now
        idle = [s for s in list(self.sessions.values())
                if now - s.last_seen > self.limits.idle_seconds or not s.alive()]
        for s in idle:
            self.close(s)
        return idle

    def close_all(self) -> None:
        for s in list(self.sessions.values()):
            self.close(s)
        deadline = time.monotonic() + 5.0
        while len(self) and time.monotonic() < deadline:  # the ones released just before
            time.sleep(0.05)

    def __len__(self) -> int:
        """The worker processes running now (stopping ones included)."""
        with self._lock:
            return self._running()
